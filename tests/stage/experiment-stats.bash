# experiment-stats.bash — shared by the experiment-analyzer tests that check
# its statistics from the raw events (sourced; not a test).
. "$(dirname "$0")/../lib.sh"
# need_python MODULE...: $PY, a python3 that imports them (/usr/bin's first:
# a python3 earlier on PATH may lack the Debian packages), or the test dies
need_python() {
  local imp; imp="import $(IFS=,; echo "$*")"
  PY=python3; /usr/bin/python3 -c "$imp" 2>/dev/null && PY=/usr/bin/python3
  $PY -c "$imp" || die "needed: $(printf "python3-%s " "$@")"
}
# analyze CONFIG EVENTS OUT [OPTION...]: the JSON-line events EVENTS
# encoded (EVENTS.rec), one analyzer run over them, its JSON rows in OUT;
# the options default to --report-every 0 (the end-of-input report only)
analyze() {
  local cfg=$1 ev=$2 out=$3; shift 3
  [ $# -gt 0 ] || set -- --report-every 0
  "$BIN/fbcat" --encode Event <"$ev" >"$ev.rec" || die "fbcat failed on $ev"
  "$BIN/experiment-analyzer" --config "$cfg" --in "$ev.rec" --format json "$@" >"$out" 2>"$out.err" ||
    { cat "$out.err" >&2; die "analyzer failed on $ev"; }
}
