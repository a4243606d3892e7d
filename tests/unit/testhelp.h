/* testhelp.h — the smallest unit-test harness: CHECK records a failure with
 * file:line and goes on; TEST_MAIN runs the listed functions and exits 1 if
 * any check failed. Output: one line per failure, then "name: N checks, M failed". */
#ifndef STREAMREC_TESTHELP_H
#define STREAMREC_TESTHELP_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int th_checks, th_failed;
#define CHECK(cond) do { th_checks++; if (!(cond)) { th_failed++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { th_checks++; if (!(cond)) { th_failed++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_EQ_INT(a, b) do { long long th_a = (long long)(a), th_b = (long long)(b); th_checks++; \
    if (th_a != th_b) { th_failed++; fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", \
    __FILE__, __LINE__, #a, #b, th_a, th_b); } } while (0)
#define CHECK_EQ_STR(a, b) do { const char *th_a = (a), *th_b = (b); th_checks++; \
    if (!th_a || !th_b || strcmp(th_a, th_b)) { th_failed++; fprintf(stderr, \
    "%s:%d: %s == %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b, \
    th_a ? th_a : "(null)", th_b ? th_b : "(null)"); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double th_a = (a), th_b = (b); th_checks++; \
    if (!(fabs(th_a - th_b) <= (tol))) { th_failed++; fprintf(stderr, \
    "%s:%d: %s ~ %s: %.17g vs %.17g (tol %g)\n", __FILE__, __LINE__, #a, #b, th_a, th_b, (double)(tol)); } } while (0)

#define TEST_MAIN(...) int main(void) { void (*th_fns[])(void) = { __VA_ARGS__ }; \
    for (size_t th_i = 0; th_i < sizeof th_fns / sizeof th_fns[0]; th_i++) th_fns[th_i](); \
    fprintf(stderr, "%s: %d checks, %d failed\n", __FILE__, th_checks, th_failed); \
    return th_failed ? 1 : 0; }
#endif
