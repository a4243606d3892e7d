/* test_deadletter.c — deadletter.h: the JSON-lines format (pos forms,
 * numeric fields, text vs base64 raw), appending across opens, base64
 * against RFC 4648's test vectors, the UTF-8 check. */
#include <stdint.h>
#include <unistd.h>

#include "deadletter.h"
#include "json.h"
#include "testhelp.h"

static void test_base64(void)
{
    /* RFC 4648 section 10 */
    const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    const char *out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
    char buf[32];
    for (int i = 0; i < 7; i++) {
        size_t n = deadletter_base64(in[i], strlen(in[i]), buf);
        CHECK_EQ_STR(buf, out[i]);
        CHECK_EQ_INT(n, strlen(out[i]));
    }
    static const uint8_t bin[] = { 0x00, 0xff, 0xfe, 0x80 };
    deadletter_base64(bin, 4, buf);
    CHECK_EQ_STR(buf, "AP/+gA==");
}

static const char *jstr(const json_doc *d, const json_node *o, const char *k)
{
    const json_node *n = json_get(d, o, k);
    return n && n->type == JSON_STRING ? n->str : NULL;
}
static long long jint(const json_doc *d, const json_node *o, const char *k)
{
    const json_node *n = json_get(d, o, k);
    return n && n->type == JSON_NUMBER && n->is_int ? (long long)n->i : -999;
}

static void test_file(void)
{
    char dir[] = "/tmp/test_dl.XXXXXX", path[300], err[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/dead.jsonl", dir);

    deadletter *d = deadletter_open(path, NULL, err, sizeof err);
    CHECK(d != NULL);
    if (!d) return;
    static const uint8_t rec[] = { 0x0c, 0, 0, 0, 'E', 'V', 'N', 'T', 0xff, 0x00, 0x01, 0x02 };
    stream_pos p1 = { NULL, 0, 1024, 0 };
    CHECK(deadletter_write(d, &p1, "bad_record", "offset 8: vtable out of bounds", rec, sizeof rec, 1) == 0);
    stream_pos p2 = { NULL, 0, 12, 1 };
    const char *line = "{\"user_id\": \"u\\\"1\", \"x\": \"caf\xc3\xa9\"}";
    CHECK(deadletter_write(d, &p2, "bad_json", "column 5: expected ','", line, strlen(line), 0) == 0);
    stream_pos p3 = { NULL, 0, 13, 1 };
    CHECK(deadletter_write(d, &p3, "bad_utf8", "invalid UTF-8", "ab\xff", 3, 0) == 0);
    stream_pos p4 = { "events.raw", 3, 1234, 0 };
    CHECK(deadletter_write(d, &p4, "unknown_type", NULL, "", 0, 1) == 0);
    CHECK_EQ_INT(deadletter_count(d), 4);
    CHECK(deadletter_close(d, err, sizeof err) == 0);

    /* a second open appends */
    d = deadletter_open(path, NULL, err, sizeof err);
    CHECK(d && deadletter_write(d, &p2, "late", "too late", "x", 1, 0) == 0);
    CHECK(deadletter_flush(d) == 0);
    CHECK(deadletter_close(d, err, sizeof err) == 0);

    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    char buf[4096];
    json_doc doc;
    json_doc_init(&doc);
    int n = 0;
    while (fgets(buf, sizeof buf, f)) {
        size_t len = strlen(buf);
        CHECK(len > 0 && buf[len - 1] == '\n');
        CHECK_MSG(json_parse(&doc, buf, len) == 0, "line %d: %s", n + 1, doc.err);
        const json_node *o = json_root(&doc);
        CHECK(o && o->type == JSON_OBJECT);
        if (!o || o->type != JSON_OBJECT) { n++; continue; }
        CHECK(jstr(&doc, o, "ts") != NULL);
        switch (n) {
        case 0:
            CHECK_EQ_STR(jstr(&doc, o, "pos"), "byte 1024");
            CHECK_EQ_INT(jint(&doc, o, "offset"), 1024);
            CHECK_EQ_STR(jstr(&doc, o, "error"), "bad_record: offset 8: vtable out of bounds");
            CHECK_EQ_STR(jstr(&doc, o, "reason"), "bad_record");
            CHECK_EQ_STR(jstr(&doc, o, "raw"), "DAAAAEVWTlT/AAEC");
            CHECK_EQ_STR(jstr(&doc, o, "raw_encoding"), "base64");
            break;
        case 1:
            CHECK_EQ_STR(jstr(&doc, o, "pos"), "line 12");
            CHECK_EQ_INT(jint(&doc, o, "line"), 12);
            CHECK_EQ_STR(jstr(&doc, o, "raw"), line);   /* text survives escaping */
            CHECK(json_get(&doc, o, "raw_encoding") == NULL);
            break;
        case 2:
            CHECK_EQ_STR(jstr(&doc, o, "raw"), "YWL/");
            CHECK_EQ_STR(jstr(&doc, o, "raw_encoding"), "base64");
            break;
        case 3:
            CHECK_EQ_STR(jstr(&doc, o, "pos"), "events.raw/3@1234");
            CHECK_EQ_STR(jstr(&doc, o, "topic"), "events.raw");
            CHECK_EQ_INT(jint(&doc, o, "partition"), 3);
            CHECK_EQ_INT(jint(&doc, o, "offset"), 1234);
            CHECK_EQ_STR(jstr(&doc, o, "error"), "unknown_type");
            CHECK_EQ_STR(jstr(&doc, o, "raw"), "");
            break;
        case 4:
            CHECK_EQ_STR(jstr(&doc, o, "error"), "late: too late");
            break;
        }
        n++;
    }
    fclose(f);
    json_doc_free(&doc);
    CHECK_EQ_INT(n, 5);
    unlink(path);
    rmdir(dir);
}

static void test_errors(void)
{
    char err[256];
    CHECK(deadletter_open("/nonexistent-dir/x.jsonl", NULL, err, sizeof err) == NULL);
    CHECK(strstr(err, "nonexistent") != NULL);
    deadletter *d = deadletter_open("-", NULL, err, sizeof err);   /* stderr */
    CHECK(d != NULL);
    CHECK(deadletter_close(d, err, sizeof err) == 0);
    /* a full disk surfaces at flush and sticks */
    d = deadletter_open("/dev/full", NULL, err, sizeof err);
    CHECK(d != NULL);
    if (!d) return;
    stream_pos p = { NULL, 0, 1, 1 };
    CHECK(deadletter_write(d, &p, "r", "d", "x", 1, 0) == 0);
    CHECK(deadletter_flush(d) == -1);
    CHECK(deadletter_error(d) && strstr(deadletter_error(d), "No space"));
    CHECK(deadletter_write(d, &p, "r", "d", "x", 1, 0) == -1);
    CHECK(deadletter_close(d, err, sizeof err) == -1);
    CHECK(strstr(err, "dead letter") != NULL);
}

TEST_MAIN(test_base64, test_file, test_errors)
