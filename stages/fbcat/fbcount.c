/* fbcount.c — see fbcount.h. Root types are few (under 64): plain arrays
 * indexed by the position in fbrec_root_descs. */
#include <stdio.h>
#include <string.h>
#include "fbcount.h"
#include "json.h"

static int fbcount_index(const fbcount *fc, const fbrec_desc *d)
{
    for (int i = 0; i < fc->nroots; i++)
        if (fc->roots[i] == d)
            return i;
    return -1;
}

int fbcount_init(fbcount *fc, const char *const *names, int n, char *err, size_t errlen)
{
    memset(fc, 0, sizeof *fc);
    fc->roots = fbrec_root_descs(&fc->nroots);
    if (fc->nroots > 64)
        fc->nroots = 64;
    fc->keep_all = n == 0;
    for (int i = 0; i < fc->nroots; i++)
        fc->keep[i] = n == 0;
    for (int k = 0; k < n; k++) {
        const fbrec_desc *d = fbrec_desc_by_name(names[k]);
        int i = d ? fbcount_index(fc, d) : -1;
        if (i < 0) {
            snprintf(err, errlen, "'%s' is not a record type (%s)", names[k], fbcount_type_list());
            return -1;
        }
        fc->keep[i] = 1;
    }
    return 0;
}

int fbcount_wanted(const fbcount *fc, const fbrec_desc *d)
{
    if (fc->keep_all)
        return 1;
    int i = fbcount_index(fc, d);
    return i >= 0 && fc->keep[i];
}

void fbcount_add(fbcount *fc, const fbrec_desc *d)
{
    int i = fbcount_index(fc, d);
    if (i >= 0)
        fc->count[i]++;
}

int fbcount_print(const fbcount *fc, stream_out *out, int json)
{
    uint64_t total = 0;
    int all = 1;
    for (int i = 0; i < fc->nroots; i++) {
        total += fc->count[i];
        all &= fc->keep[i];
    }
    if (json) {
        json_writer w;
        jw_init(&w);
        jw_obj_begin(&w);
        for (int i = 0; i < fc->nroots; i++)
            if (fc->count[i] || (fc->keep[i] && !all)) {
                jw_key(&w, fbrec_desc_name(fc->roots[i]));
                jw_uint(&w, fc->count[i]);
            }
        jw_key(&w, "total");
        jw_uint(&w, total);
        jw_obj_end(&w);
        int rc = stream_write_line(out, w.buf, w.len);
        jw_free(&w);
        return rc;
    }
    char line[128];
    for (int i = 0; i < fc->nroots; i++)
        if (fc->count[i] || (fc->keep[i] && !all)) {
            int n = snprintf(line, sizeof line, "%s %llu", fbrec_desc_name(fc->roots[i]),
                             (unsigned long long)fc->count[i]);
            if (stream_write_line(out, line, (size_t)n) < 0)
                return -1;
        }
    int n = snprintf(line, sizeof line, "total %llu", (unsigned long long)total);
    return stream_write_line(out, line, (size_t)n);
}

const char *fbcount_type_list(void)
{
    static char buf[512];
    if (!buf[0]) {
        int n;
        const fbrec_desc *const *r = fbrec_root_descs(&n);
        size_t len = 0;
        for (int i = 0; i < n && len < sizeof buf; i++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? ", " : "", fbrec_desc_name(r[i]));
    }
    return buf;
}
