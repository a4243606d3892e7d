#!/usr/bin/env bash
# 147-ingest-event-fast-path — fbrec_encode writes an Event by a direct path
# (fbencode.c fb_enc_event), not by the per-type plan every other record takes;
# tests/unit/test_fbrec.c compares its bytes with the plain schema walk's.
# Here ingest's output on tricky lines is decoded and checked, and one
# thread and two must give the same bytes. The lines: escapes and \u0000-free
# unicode (surrogate pairs, 2-4 byte UTF-8), numbers with exponents and
# large integers, value -0.0 and 0, position 0 / absent (-1) / 2^31-1,
# every event type and a custom one, members in unusual orders, optional
# fields missing, unknown members and metadata (attrs, nested, arrays),
# strings of every length class the string copier handles (0-40 bytes).
# Every line has a ts (an arrival time would differ between runs).
# The decoded records are checked, so an output both thread counts got
# wrong the same way (or empty) does not pass.
source "$(dirname "$0")/../lib.sh"
{
  cat <<'L'
{"user_id":"u1","event_type":"view","ts":"2026-11-23T10:00:00.123Z"}
{"event_type":"click","user_id":"u\"2\\","ts":1795000000,"item_id":"","session_id":"s\u00e9\ud83d\ude00"}
{"ts":1795000000123,"value":-0.0,"user_id":"u3","event_type":"rating","metadata":{"position":0,"source":"e\tmail"}}
{"value":1.5e-3,"event_type":"purchase","user_id":"u4","event_id":"e4","metadata":{"position":2147483647},"timestamp":1795000001}
{"user_id":"u5","event_type":"add_to_cart","value":12345678901234567890,"ts":"2026-11-23"}
{"user_id":"u6","event_type":"exposure","experiment":"exp-1","variant":"B","value":0,"ts":1795000000000000}
{"user_id":"u7","event_type":"book_view","metadata":{"experiment":"x","variant":"y","page":{"kind":"home","n":3}},"tags":["a",1,null,true],"ts":1795000002}
{"user_id":"u8","event_type":"something else","extra":"x","n":1e300,"flag":false,"nothing":null,"ts":1795000003}
{"user_id":"ü","event_type":"impression","item_id":"0123456789abcdef","session_id":"0123456789abcdefg","source":"0123456789abcdef0123456789abcdef","ts":"2026-11-23T10:00:00+02:00"}
{"user_id":"u10","event_type":"impression","item_id":"a","session_id":"ab","source":"abc","experiment":"abcd","variant":"abcdefg","event_id":"abcdefgh","ts":1795000004}
{"user_id":"u11","event_type":"view","value":-1.7976931348623157e308,"ts":"2026-11-23T10:00:00.999999Z","item_id":"0123456789012345678901234567890123456789"}
{"metadata":{"source":"web"},"labels":{"k":"v"},"event_type":"view","user_id":"u12","ts":1795000000.5}
L
  # the generator's events, in their usual field order
  "$GEN_EVENTS" --count 300 --kind interactions --seed 5
} > "$T/in.jsonl"
n=$(wc -l < "$T/in.jsonl")
for th in 1 2; do
  "$BIN/ingest" --threads $th --in "$T/in.jsonl" --out "$T/direct.$th.rec" 2>"$T/direct.$th.err" ||
    fail "ingest --threads $th: exit $? ($(tail -n 2 "$T/direct.$th.err"))"
done
check "one thread and two give the same records" cmp "$T/direct.1.rec" "$T/direct.2.rec"
"$BIN/fbcat" --json-style flatc < "$T/direct.1.rec" > "$T/out.jsonl" || fail "fbcat: exit $?"
expect_eq "records written" "$(wc -l < "$T/out.jsonl")" "$n"
# what the tricky lines became
got=$(head -n 12 "$T/out.jsonl" | jq -c '[.user_id, .type, .value, .position, .item_id, .session_id, .source, .experiment, .variant]')
want='["u1","view",null,null,null,null,null,null,null]
["u\"2\\","click",null,null,"","sé😀",null,null,null]
["u3","rating",-0,0,null,null,"e\tmail",null,null]
["u4","purchase",0.0015,2147483647,null,null,null,null,null]
["u5","add_to_cart",12345678901234567000,null,null,null,null,null,null]
["u6","exposure",null,null,null,null,null,"exp-1","B"]
["u7","view",null,null,null,null,null,"x","y"]
["u8","custom",null,null,null,null,null,null,null]
["ü",null,null,null,"0123456789abcdef","0123456789abcdefg","0123456789abcdef0123456789abcdef",null,null]
["u10",null,null,null,"a","ab","abc","abcd","abcdefg"]
["u11","view",-1.7976931348623157e+308,null,"0123456789012345678901234567890123456789",null,null,null,null]
["u12","view",null,null,null,null,"web",null,null]'
expect_eq "decoded fields of the tricky lines" "$got" "$want"
expect_eq "attrs of line 7" "$(sed -n 7p "$T/out.jsonl" | jq -c '[.attrs[] | [.key, .value]]')" \
  '[["page.kind","home"],["page.n","3"],["tags","[\"a\",1,null,true]"]]'
expect_eq "event_id of line 10" "$(sed -n 10p "$T/out.jsonl" | jq -r .event_id)" "abcdefgh"
expect_eq "ts of line 11" "$(sed -n 11p "$T/out.jsonl" | jq -r .ts)" "1795428000999999"
finish
