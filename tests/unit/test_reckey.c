/* test_reckey — the one Kafka key function: every record type's key, a
 * series keyed the same whatever its labels' order and whichever record
 * (Sample or Metric) carries it, no braces without labels, cut at n. */
#include "testhelp.h"
#include "reckey.h"

static char kb[512];
static const char *key_of(const fbrec_desc *d, const void *rec, size_t n)
{
    size_t len = record_key(d, rec, kb, n);
    kb[len] = 0;
    return kb;
}

static void test_series(void)
{
    KeyValue kv[3], rev[3];
    for (int i = 0; i < 3; i++) { KeyValue_init(&kv[i]); KeyValue_init(&rev[i]); }
    kv[0].key = FB_STR("host"); kv[0].value = FB_STR("web-1");
    kv[1].key = FB_STR("endpoint"); kv[1].value = FB_STR("/api");
    kv[2].key = FB_STR("status"); kv[2].value = FB_STR("200");
    rev[0] = kv[2]; rev[1] = kv[0]; rev[2] = kv[1];
    Metric m;
    Metric_init(&m);
    m.name = FB_STR("request.duration_ms");
    CHECK_EQ_STR(key_of(&Metric_desc, &m, sizeof kb), "request.duration_ms");   /* no labels: no braces */
    m.labels = kv; m.labels_count = 3;
    CHECK_EQ_STR(key_of(&Metric_desc, &m, sizeof kb), "request.duration_ms{endpoint=/api,host=web-1,status=200}");
    m.labels = rev;   /* another order, the same series */
    CHECK_EQ_STR(key_of(&Metric_desc, &m, sizeof kb), "request.duration_ms{endpoint=/api,host=web-1,status=200}");
    Sample s;   /* the Sample of a series and the Metric made of it agree */
    Sample_init(&s);
    s.name = FB_STR("request.duration_ms"); s.labels = kv; s.labels_count = 3;
    CHECK_EQ_STR(key_of(&Sample_desc, &s, sizeof kb), "request.duration_ms{endpoint=/api,host=web-1,status=200}");
    s.labels_count = 0;
    CHECK_EQ_STR(key_of(&Sample_desc, &s, sizeof kb), "request.duration_ms");
    Drift d;
    Drift_init(&d);
    d.series = FB_STR("events.ctr"); d.labels = rev; d.labels_count = 1;
    CHECK_EQ_STR(key_of(&Drift_desc, &d, sizeof kb), "events.ctr{status=200}");
    /* equal keys: the value decides, so duplicates still give one key */
    KeyValue dup[2];
    dup[0] = kv[0]; dup[1] = kv[0]; dup[1].value = FB_STR("web-0");
    m.labels = dup; m.labels_count = 2;
    CHECK_EQ_STR(key_of(&Metric_desc, &m, sizeof kb), "request.duration_ms{host=web-0,host=web-1}");
    /* cut at n, never past it */
    kb[10] = 'X';
    CHECK_EQ_INT(record_key(&Metric_desc, &m, kb, 10), 10);
    CHECK(kb[10] == 'X' && !memcmp(kb, "request.du", 10));
    CHECK_EQ_INT(record_key(&Metric_desc, &m, kb, 0), 0);
}

static void test_types(void)
{
    Event ev;
    Event_init(&ev);
    ev.user_id = FB_STR("u17"); ev.item_id = FB_STR("b1");
    CHECK_EQ_STR(key_of(&Event_desc, &ev, sizeof kb), "u17");
    Recommendation r;
    Recommendation_init(&r);
    r.user_id = FB_STR("u17");
    CHECK_EQ_STR(key_of(&Recommendation_desc, &r, sizeof kb), "u17");
    ExperimentResult x;
    ExperimentResult_init(&x);
    x.experiment = FB_STR("rec_algo_v1"); x.metric = FB_STR("ctr");
    CHECK_EQ_STR(key_of(&ExperimentResult_desc, &x, sizeof kb), "rec_algo_v1");
    Alert a;
    Alert_init(&a);
    a.fingerprint = FB_STR("5f3a");
    CHECK_EQ_STR(key_of(&Alert_desc, &a, sizeof kb), "5f3a");
    MetricPartial mp;   /* its source partition: one partition's partials in order */
    MetricPartial_init(&mp);
    mp.topic = FB_STR("events"); mp.partition = 11; mp.name = FB_STR("request.duration_ms");
    CHECK_EQ_STR(key_of(&MetricPartial_desc, &mp, sizeof kb), "events/11");
    CHECK_EQ_STR(key_of(&MetricPartial_desc, &mp, 8), "events/1");   /* cut at n */
    Event none;   /* no user: no key */
    Event_init(&none);
    CHECK_EQ_INT(record_key(&Event_desc, &none, kb, sizeof kb), 0);
}

TEST_MAIN(test_series, test_types)
