# 40-recommender.sh — demo section: train the default (hybrid) model on the
# ingested events with goodbooks metadata (authors as categories, titles as
# text), serve the event stream with business rules, and run the users batch.
# Writes $DEMO/model.db and $DEMO/recs.rec (read by 50-cache-writer.sh).
section "recommender: train on the events, serve lists as users act (rules: a blocked book, one promoted, at most 2 per author)"
# gen-events items b1..b10000 are goodbooks book_ids: authors become categories
zstd -dc "$DATA/goodbooks-10k/books.csv.zst" | python3 -c '
import csv, sys
r = csv.DictReader(sys.stdin); w = csv.writer(sys.stdout)
w.writerow(["item", "authors", "title"])
for b in r:
    w.writerow(["b" + b["book_id"], "|".join(a.strip() for a in b["authors"].split(",")), b["title"]])
' > "$DEMO/books.csv"
"$BIN/recommender" train --in "$DEMO/events.rec" --model "$DEMO/model.db" --items "$DEMO/books.csv" \
  --item-map id=item,categories=authors,text=title 2>"$DEMO/train.log"
jq -r 'select(.msg=="model written") | "  model \(.model_version): \(.algorithm), \(.items) items, \(.users) users, \(.interactions) interactions, trained in \(.seconds)s"' "$DEMO/train.log"

# the most popular book is blocked, the 20th promoted (x1.5), 2 books per author at most
top=$("$BIN/fbcat" --type Event < "$DEMO/events.rec" | jq -r 'select(.type=="purchase" or .type=="click") | .item_id' \
  | sort | uniq -c | sort -rn | awk 'NR==1 {b=$2} NR==20 {p=$2} END {print b, p}')
read -r blocked promoted <<<"$top"
cat > "$DEMO/rules.yaml" <<EOF
filter:
  blocked: { items: [$blocked] }
boost:
  promoted: { factor: 1.5, items: [$promoted] }
diversity:
  max_per_category: 2
EOF
echo "  rules.yaml: $("$BIN/recommender" --model "$DEMO/model.db" --rules "$DEMO/rules.yaml" --check | sed -n 's/^rules: //p')"
"$BIN/recommender" --model "$DEMO/model.db" --rules "$DEMO/rules.yaml" --in "$DEMO/events.rec" \
  --out "$DEMO/recs.rec" --metrics-file "$DEMO/recommender.prom" 2>"$DEMO/recommender.log"
jq -r 'select(.msg=="done") | "  \(.events) interactions read (\(.not_interaction) impressions/exposures ignored) -> \(.lists) lists; scoring p50 \(.p50_us) us, p99 \(.p99_us) us per list"' "$DEMO/recommender.log"
printf '  blocked %s appears in %s lists\n' "$blocked" \
  "$("$BIN/fbcat" < "$DEMO/recs.rec" | jq --arg b "$blocked" '[.items[].item_id] | index($b)' | grep -vc null)"
echo "  three lists (fbcat), with titles:"
"$BIN/fbcat" < "$DEMO/recs.rec" 2>/dev/null | head -n 3 | python3 -c '
import csv, json, sys
books = {r["item"]: (r["title"], r["authors"]) for r in csv.DictReader(open(sys.argv[1]))}
for line in sys.stdin:
    r = json.loads(line)
    print("    %s (%s %s):" % (r["user_id"], r["algorithm"], r["model_version"]))
    for x in r["items"][:4]:
        t, a = books.get(x["item_id"], ("?", "?"))
        print("      %-6s %6.3f  %.45s — %.30s" % (x["item_id"], x["score"], t, a.replace("|", ", ")))
    print("      … %d items" % len(r["items"]))
' "$DEMO/books.csv"
echo "  the nightly batch: printf 'u1\nnew-user\n' | recommender --model model.db --rules rules.yaml --in events.rec --users - --format json"
printf 'u1\nnew-user\n' | "$BIN/recommender" --model "$DEMO/model.db" --rules "$DEMO/rules.yaml" --in "$DEMO/events.rec" --users - --format json \
  2>/dev/null | jq -c '{user_id, items: [.items[:4][].item_id]}' | sed 's/^/    /'
