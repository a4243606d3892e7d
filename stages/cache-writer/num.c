/* num.c — see num.h.
 *
 * Why the fast path is exact: for d decimal places, k = round(|v|·10^d) is
 * the only d-place candidate; k and 10^d (d <= 9) are exact doubles and
 * IEEE division is correctly rounded, so k / 10^d == |v| holds exactly when
 * the decimal k·10^-d is nearer to |v| than to any other double, which is
 * what strtod needs to read it back as |v|. k stays below 2^53 so that
 * (double)k is exact. */
#include <math.h>
#include <string.h>
#include "json.h"
#include "num.h"

static const double pow10_tab[10] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };

int num_u64(char *buf, uint64_t v)
{
    char t[24];
    int i = 24;
    do { t[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    memcpy(buf, t + i, (size_t)(24 - i));
    buf[24 - i] = 0;
    return 24 - i;
}

int num_i64(char *buf, int64_t v)
{
    if (v >= 0) return num_u64(buf, (uint64_t)v);
    buf[0] = '-';
    return 1 + num_u64(buf + 1, 0 - (uint64_t)v);
}

int num_f64(char *buf, double v)
{
    double a = fabs(v);
    if (a >= 1e-4 && a < 1e9) {          /* also false for NaN */
        for (int d = 0; d <= 9; d++) {
            double scaled = a * pow10_tab[d];
            if (scaled >= 9007199254740992.0) break;   /* 2^53 */
            uint64_t k = (uint64_t)(scaled + 0.5);
            if ((double)k / pow10_tab[d] != a) continue;
            int n = 0;
            if (v < 0) buf[n++] = '-';
            if (d == 0) return n + num_u64(buf + n, k);
            uint64_t p = (uint64_t)pow10_tab[d];
            n += num_u64(buf + n, k / p);
            buf[n++] = '.';
            uint64_t frac = k % p;
            for (int i = d - 1; i >= 0; i--) {     /* d digits, leading zeros kept */
                buf[n + i] = (char)('0' + frac % 10);
                frac /= 10;
            }
            n += d;
            buf[n] = 0;
            return n;
        }
    }
    return json_format_double(buf, v);
}
