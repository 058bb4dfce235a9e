/* SPDX-License-Identifier: BSD-3-Clause */
/* Timing helpers shared by the benchmark tools: a monotonic clock in microseconds, a qsort
 * comparator for samples and their nearest-rank quantiles. */
#ifndef TESTS_TOOLS_BENCHUTIL_H
#define TESTS_TOOLS_BENCHUTIL_H

#include <stddef.h>
#include <time.h>

static inline double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank quantile q (0..1) of sorted v[n]; 0 when there is no sample. */
static inline double quantile(const double *v, size_t n, double q)
{
    size_t k = (size_t)(q * (double)n + 0.999999);

    if (n == 0)
        return 0;
    return v[(k < 1 ? 1 : k > n ? n : k) - 1];
}

#endif
