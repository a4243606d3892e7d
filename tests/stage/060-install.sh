#!/usr/bin/env bash
# 060-install — `make install DESTDIR=… PREFIX=/usr` lays out what a packager
# expects (issue 13): every stage as streamrec-STAGE (names that cannot
# collide), no test tool (kafka-mock, …) and no bare generic name such as
# bin/ingest; units whose ExecStart= is the installed binary under PREFIX
# (nothing left of /usr/local); a man page per command (help2man, from
# --help) that man can render; bash completion that completes flags;
# example.env, the docs, schemas and the alerter's default rules.
source "$(dirname "$0")/../lib.sh"
command -v help2man >/dev/null || { echo "SKIP: no help2man (Debian package help2man, which 'make deps' installs)"; exit 0; }
D=$T/pkg
STAGES="ingest aggregate drift experiment-analyzer recommender cache-writer alerter fbcat"
# the build the tests run (build/asan when STREAMREC_BIN says so): up to date,
# so install only copies and generates
san=; case $BIN in */asan/bin) san="SAN=1 CC=clang" ;; esac
make -C "$ROOT" --no-print-directory install $san BUILD="${BIN%/bin}" DESTDIR="$D" PREFIX=/usr >"$T/install.log" 2>&1 ||
  die "make install failed: $(tail -5 "$T/install.log")"

expect_eq "binaries" "$(ls "$D/usr/bin" | sort | tr '\n' ' ')" \
  "$(for s in $STAGES; do echo streamrec-$s; done | sort | tr '\n' ' ')"
for s in $STAGES; do
  "$D/usr/bin/streamrec-$s" --version >/dev/null 2>&1 || fail "streamrec-$s --version does not run"
done
[ -z "$(find "$D" -name 'kafka-mock*' -o -name 'gen-events*')" ] || fail "a test tool was installed"

U=$D/usr/lib/systemd/system
for f in "$ROOT"/systemd/*.service "$ROOT"/systemd/*.timer "$ROOT"/systemd/*.target; do
  [ -f "$U/$(basename "$f")" ] || fail "unit $(basename "$f") not installed"
done
for s in ingest aggregate drift experiment-analyzer recommender cache-writer alerter; do
  grep -q "^ExecStart=/usr/bin/streamrec-$s " "$U/streamrec-$s@.service" ||
    fail "streamrec-$s@.service: ExecStart is not /usr/bin/streamrec-$s: $(grep ExecStart= "$U/streamrec-$s@.service")"
done
grep -q '^ExecStart=/usr/bin/streamrec-recommender train ' "$U/streamrec-recommender-train@.service" ||
  fail "training unit does not run /usr/bin/streamrec-recommender train"
if grep -l '/usr/local' "$U"/*; then fail "a unit still names /usr/local"; fi
grep -q 'file:///usr/share/doc/streamrec/systemd/README.md' "$U/streamrec-ingest@.service" ||
  fail "units' Documentation= does not point at the installed docs"
if command -v systemd-analyze >/dev/null; then
  # verify the installed units against the installed binaries (their paths
  # mapped into DESTDIR, as systemd-analyze checks that they exist)
  mkdir -p "$T/u"
  for f in "$U"/*; do sed "s|/usr/bin/|$D/usr/bin/|g" "$f" >"$T/u/$(basename "$f")"; done
  for f in "$T"/u/*; do
    out=$(cd "$T/u" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "./$(basename "$f")" 2>&1)
    [ -z "$out" ] || fail "$(basename "$f"): $out"
  done
fi

M=$D/usr/share/man/man1
for s in $STAGES; do
  [ -s "$M/streamrec-$s.1" ] || { fail "no man page streamrec-$s.1"; continue; }
  out=$(MANWIDTH=80 man -l "$M/streamrec-$s.1" 2>&1)
  grep -q "^NAME" <<<"$out" && grep -qE "streamrec-$s +- " <<<"$out" || fail "man streamrec-$s: no NAME line"
  grep -q -- "--help" <<<"$out" || fail "man streamrec-$s lists no flags"
done
grep -q -- '--window' <<<"$(man -l "$M/streamrec-aggregate.1" 2>&1)" || fail "aggregate's man page lacks --window"

C=$D/usr/share/bash-completion/completions
for s in $STAGES; do
  [ -f "$C/streamrec-$s" ] || { fail "no bash completion for streamrec-$s"; continue; }
  bash -n "$C/streamrec-$s" || fail "completion for streamrec-$s does not parse"
done
# complete "streamrec-aggregate --win" and "streamrec-recommender tr"
got=$(bash -c 'source "$1"; COMP_WORDS=(streamrec-aggregate --win); COMP_CWORD=1; _streamrec_aggregate; echo "${COMPREPLY[*]}"' _ "$C/streamrec-aggregate")
expect_eq "completes --win" "$got" "--window"
got=$(bash -c 'source "$1"; COMP_WORDS=(streamrec-recommender tr); COMP_CWORD=1; _streamrec_recommender; echo "${COMPREPLY[*]}"' _ "$C/streamrec-recommender")
expect_eq "completes the train subcommand" "$got" "train"
got=$(bash -c 'source "$1"; COMP_WORDS=(streamrec-recommender train --itera); COMP_CWORD=2; _streamrec_recommender; echo "${COMPREPLY[*]}"' _ "$C/streamrec-recommender")
expect_eq "completes a flag of train" "$got" "--iterations"

S=$D/usr/share/streamrec
cmp -s "$S/example.env" "$ROOT/systemd/example.env" || fail "example.env not installed"
for f in alerter/rules.default.yaml alerter/rules.default.alerter.yaml monitoring/grafana-streamrec-dashboard.json \
         monitoring/grafana-streamrec-provider.yml monitoring/prometheus-streamrec-rules.yml; do
  [ -f "$S/$f" ] || fail "$f not installed"
done
[ -n "$(ls "$S/schemas"/*.fbs 2>/dev/null)" ] || fail "schemas not installed"
for f in README.md systemd/README.md ingest/README.md cache-writer/README.md; do
  [ -f "$D/usr/share/doc/streamrec/$f" ] || fail "doc $f not installed"
done
finish
