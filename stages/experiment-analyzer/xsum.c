/* xsum.c — exact sums of doubles (see xsum.h). */
#include "xsum.h"
#include <math.h>
#include <string.h>

/* |x| = m · 2^e with m < 2^53 an integer, and the exponent ex of x
 * (|x| in [2^(ex-1), 2^ex)). -1: not finite. */
static int xs_split(double x, uint64_t *m, int *e, int *ex)
{
    if (x == 0) { *m = 0; *e = XS_LOW; *ex = XS_LOW; return 0; }
    if (!isfinite(x)) return -1;
    double f = frexp(fabs(x), ex);      /* |x| = f · 2^ex, f in [0.5, 1) */
    *m = (uint64_t)ldexp(f, 53);
    *e = *ex - 53;
    return 0;
}

/* The values whose bits and squares' bits all fit the limbs: |x| in
 * [2^-124, 2^200); x² then has its lowest bit at or above 2^XS_LOW and
 * its highest below 2^400, and fma's error term lies in between. */
static int xs_in_range(int ex) { return ex >= -123 && ex <= 200; }

static void xs_put(xsum *s, uint64_t m, int e, int sign)
{
    if (!m) return;
    int k = e - XS_LOW;                 /* >= 0 by the range checks */
    int i = k / 32, r = k % 32;
    unsigned __int128 v = (unsigned __int128)m << r;   /* < 2^85 */
    int64_t c0 = (int64_t)(uint32_t)v, c1 = (int64_t)(uint32_t)(v >> 32), c2 = (int64_t)(v >> 64);
    s->limb[i] += sign * c0;
    s->limb[i + 1] += sign * c1;
    s->limb[i + 2] += sign * c2;
    if (++s->adds >= (1u << 30)) xs_normalize(s);
}

int xs_add(xsum *s, double x, int sign)
{
    uint64_t m; int e, ex;
    if (xs_split(x, &m, &e, &ex) < 0 || (x != 0 && !xs_in_range(ex))) return -1;
    if (x < 0) sign = -sign;
    xs_put(s, m, e, sign);
    return 0;
}

int xs_add_prod(xsum *s, double a, double b, int sign)
{
    uint64_t m; int e, ea, eb;
    if (xs_split(a, &m, &e, &ea) < 0 || (a != 0 && !xs_in_range(ea))) return -1;
    if (xs_split(b, &m, &e, &eb) < 0 || (b != 0 && !xs_in_range(eb))) return -1;
    if (a == 0 || b == 0) return 0;
    /* a·b = hi + lo exactly, both inside the limbs (see xs_in_range) */
    double hi = a * b, lo = fma(a, b, -hi);
    uint64_t mh = 0, ml = 0; int eh = XS_LOW, el = XS_LOW, ex = 0;
    xs_split(hi, &mh, &eh, &ex);
    xs_split(lo, &ml, &el, &ex);
    xs_put(s, mh, eh, hi < 0 ? -sign : sign);
    xs_put(s, ml, el, lo < 0 ? -sign : sign);
    return 0;
}

int xs_add_sq(xsum *s, double x, int sign)
{
    return xs_add_prod(s, x, x, sign);
}

void xs_merge(xsum *s, const xsum *t)
{
    xsum u = *t;
    xs_normalize(&u);
    xs_normalize(s);
    for (int i = 0; i < XS_LIMBS; i++) s->limb[i] += u.limb[i];
    xs_normalize(s);
}

void xs_normalize(xsum *s)
{
    for (int i = 0; i < XS_LIMBS - 1; i++) {
        int64_t c = s->limb[i] >> 32;   /* floor: arithmetic shift */
        s->limb[i] -= (int64_t)((uint64_t)c << 32);
        s->limb[i + 1] += c;
    }
    s->adds = 0;
}

/* Sum of the limbs from the most significant down: deterministic for a
 * canonical accumulator. */
static double xs_approx(const xsum *s)
{
    double d = 0;
    for (int i = XS_LIMBS - 1; i >= 0; i--)
        if (s->limb[i]) d += ldexp((double)s->limb[i], 32 * i + XS_LOW);
    return d;
}

void xs_value(const xsum *s, double *hi, double *lo)
{
    xsum u = *s;
    xs_normalize(&u);
    *hi = xs_approx(&u);
    /* the remainder, exactly: hi's bits lie inside the accumulator's range
     * (a value that small is exact in one double, and hi is it) */
    uint64_t m; int e, ex;
    if (*hi == 0 || xs_split(*hi, &m, &e, &ex) < 0 || e < XS_LOW || ex > 32 * XS_LIMBS + XS_LOW - 64) {
        *lo = 0;
        return;
    }
    xs_put(&u, m, e, *hi < 0 ? 1 : -1);
    xs_normalize(&u);
    *lo = xs_approx(&u);
}

/* double-double helpers */
static inline void two_sum(double a, double b, double *s, double *e)
{
    *s = a + b;
    double bb = *s - a;
    *e = (a - (*s - bb)) + (b - bb);
}
static inline void dd_add(double ah, double al, double bh, double bl, double *h, double *l)
{
    double s, e;
    two_sum(ah, bh, &s, &e);
    e += al + bl;
    two_sum(s, e, h, l);
}
static inline void dd_mul(double ah, double al, double bh, double bl, double *h, double *l)
{
    double p = ah * bh, e = fma(ah, bh, -p);
    e += ah * bl + al * bh;
    two_sum(p, e, h, l);
}
static inline void dd_div_d(double ah, double al, double b, double *h, double *l)
{
    double q = ah / b;
    double p = q * b, pe = fma(q, b, -p);     /* q·b exactly */
    double r = ((ah - p) - pe + al) / b;
    two_sum(q, r, h, l);
}

void xs_moments(double n, const xsum *s1, const xsum *s2, double in1, double in2,
                double *mean, double *m2)
{
    if (n <= 0) { *mean = 0; *m2 = 0; return; }
    double ah, al, bh, bl;
    xs_value(s1, &ah, &al);
    xs_value(s2, &bh, &bl);
    if (in1 != 0) dd_add(ah, al, in1, 0, &ah, &al);
    if (in2 != 0) dd_add(bh, bl, in2, 0, &bh, &bl);
    double mh, ml;
    dd_div_d(ah, al, n, &mh, &ml);
    *mean = mh + ml;
    /* M2 = S2 - S1·S1/n */
    double th, tl;
    dd_mul(ah, al, mh, ml, &th, &tl);
    dd_add(bh, bl, -th, -tl, &th, &tl);
    double v = th + tl;
    *m2 = v > 0 ? v : 0;
}

double xs_comoment(double n, const xsum *sa, const xsum *sb, const xsum *sab,
                   double ina, double inb, double inab)
{
    if (n <= 0) return 0;
    double ah, al, bh, bl, ch, cl;
    xs_value(sa, &ah, &al);
    xs_value(sb, &bh, &bl);
    xs_value(sab, &ch, &cl);
    if (ina != 0) dd_add(ah, al, ina, 0, &ah, &al);
    if (inb != 0) dd_add(bh, bl, inb, 0, &bh, &bl);
    if (inab != 0) dd_add(ch, cl, inab, 0, &ch, &cl);
    double mh, ml, th, tl;
    dd_div_d(bh, bl, n, &mh, &ml);            /* b̄ */
    dd_mul(ah, al, mh, ml, &th, &tl);         /* Sa·b̄ */
    dd_add(ch, cl, -th, -tl, &th, &tl);
    return th + tl;
}
