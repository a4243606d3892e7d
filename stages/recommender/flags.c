/* flags.c — the serving flag table and its checks (flags.h). */
#include "flags.h"
#include <stddef.h>
#include <string.h>

#define F(member, dv) CLI_FIELD(rec_flags, member, dv)

static const cli_opt serve_opts[] = {
    { "model", 'm', CLI_STR, F(model, NULL), "MODEL.db",
      "model file made by `recommender train`; reloaded on SIGHUP and when the file changes", 0, 0, .required = 1 },
    { "top", 'n', CLI_INT, F(top, "10"), "N", "items per list", 1, 1000 },
    { "flush-interval", 'f', CLI_DURATION, F(flush_us, "1s"), "DURATION",
      "micro-batch: lists for the users seen are written this long after the batch's first event "
      "(and at end of input, and when --max-batch users are pending)", 0, 3600e6 },
    { "max-batch", 0, CLI_INT, F(max_batch, "10000"), "N", "users per micro-batch at most", 1, 10000000 },
    { "max-users", 0, CLI_INT, F(max_users, "1000000"), "N",
      "user histories held; past it the least recently updated user is evicted (counted)", 1, 1e9 },
    { "max-history", 0, CLI_INT, F(max_history, "200"), "N",
      "interactions kept per user; past it the oldest is replaced (counted)", 1, 100000 },
    { "max-catalog", 0, CLI_INT, F(max_catalog, "10000000"), "N",
      "distinct item ids remembered; past it events about new items are refused (counted)", 1, 1e9 },
    { "rules", 'r', CLI_STR, F(rules, NULL), "RULES.yaml",
      "business rules: filters, boosts, diversity (see README.md); re-read on SIGHUP", 0, 0 },
    { "users", 'u', CLI_STR, F(users, NULL), "FILE|-",
      "batch: one list per user_id in FILE (one per line), history from --in if given", 0, 0 },
    { "state-max-age", 0, CLI_DURATION, F(state_max_age_us, "90d"), "DURATION",
      "--state: delete the saved history of users inactive this long (0: keep every user); bounds the file", 0, 0 },
    { "changelog", 0, CLI_STR, F(changelog, NULL), "kafka://HOST:PORT/TOPIC",
      "Kafka input in a group: write each user's history to this topic (partitioned like the input) and read a "
      "partition's histories back when it is assigned, so they follow the partition (README \"Scale-out\")", 0, 0 },
    { "threads", 't', CLI_INT, F(threads, "1"), "N", "scoring threads per micro-batch", 1, 64 },
    { "score-cache-mb", 0, CLI_INT, F(score_cache_mb, "64"), "MIB",
      "memory for per-user EASE sums, updated as events arrive, so a list costs the same on a long history (0: none)",
      0, 1048576 },
    { "check", 0, CLI_BOOL, F(check, NULL), NULL, "load the model and the rules, print what they hold, exit", 0, 0 },
    { 0 }
};

static const cli_spec serve_spec_template = {
    .stage = "recommender",
    .summary = "recommendations on a stream: Event records in, Recommendation records (top N per user seen) out; "
               "subcommands train and eval",
    .usage = "recommender [serve] --model MODEL.db [FLAGS]\n"
             "       recommender train --in EVENTS --model MODEL.db [FLAGS]   (recommender train --help)\n"
             "       recommender eval --in EVENTS [FLAGS]                     (recommender eval --help)",
    .example = "recommender train --in events.rec --model model.db\n"
               "  recommender --model model.db --rules rules.yaml < events.rec | fbcat\n"
               "  recommender --model model.db --users users.txt --top 20 > recs.rec",
    .opts = serve_opts,
};

void rec_flags_start(int argc, char **argv, rec_flags *f)
{
    static cli_spec spec;
    memset(f, 0, sizeof *f);
    spec = serve_spec_template;
    spec.conf = f;
    int first = cli_parse(argc, argv, &spec, &f->common);
    if (first < argc) cli_usage_error(&spec, "unexpected argument '%s'", argv[first]);
    /* the users batch reads history only from an --in on the command line */
    f->events_in = !f->users || cli_given(&spec, "in");
    if (f->users && f->events_in && !strcmp(f->users, "-") && !strcmp(f->common.in, "-"))
        cli_usage_error(&spec, "--users -: stdin cannot carry both the users and the --in events");
    if (f->max_batch >= f->max_users)
        cli_usage_error(&spec, "--max-batch (%lld) must be below --max-users (%lld), so no pending user is evicted",
                        (long long)f->max_batch, (long long)f->max_users);
    if (f->changelog && (f->users || !f->common.in || strncmp(f->common.in, "kafka://", 8)))
        cli_usage_error(&spec, "--changelog needs a Kafka --in (and no --users)");
    if (f->changelog && strncmp(f->changelog, "kafka://", 8))
        cli_usage_error(&spec, "--changelog %s: not a kafka:// URI", f->changelog);
    cli_start(&spec, &f->common);
}

serve_conf rec_flags_serve_conf(const rec_flags *f)
{
    return (serve_conf){
        .model_path = f->model, .rules_path = f->rules, .top = (uint32_t)f->top,
        .limits = { (uint32_t)f->max_users, (uint32_t)f->max_history, (uint32_t)f->max_catalog },
        .threads = (uint32_t)f->threads,
        .state_max_age_us = f->state_max_age_us,
        .score_cache_bytes = (size_t)f->score_cache_mb << 20,
    };
}
