# libcurl: the webhook: channel (HTTP POST with timeouts, TLS)
alerter_LIBS := -lcurl
DEB_BUILD += libcurl4-openssl-dev
