/* SPDX-License-Identifier: BSD-3-Clause */
/* PCR lists ("0-7,13") to bit masks and back. */
#include "pcrlist.h"

#include <errno.h>
#include <stdio.h>

/* One number 0-23 at *p (no sign, no leading zero); advances *p. */
static int number(const char **p, unsigned *v)
{
    const char *s = *p;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    *v = (unsigned)(*s++ - '0');
    if (*v != 0 && *s >= '0' && *s <= '9')
        *v = *v * 10 + (unsigned)(*s++ - '0');
    if (*v >= PCRLIST_PCRS || (*s >= '0' && *s <= '9'))
        return -EINVAL;
    *p = s;
    return 0;
}

/* One item "A" or "A-B" at *p into *mask; advances *p. */
static int item(const char **p, uint32_t *mask)
{
    unsigned a, b;

    if (number(p, &a) < 0)
        return -EINVAL;
    b = a;
    if (**p == '-') {
        (*p)++;
        if (number(p, &b) < 0 || b < a)
            return -EINVAL;
    }
    for (unsigned i = a; i <= b; i++) {
        if (*mask & (1u << i))
            return -EINVAL;
        *mask |= 1u << i;
    }
    return 0;
}

int pcrlist_parse(const char *s, uint32_t *mask)
{
    *mask = 0;
    if (!s || !*s)
        return -EINVAL;
    for (;;) {
        if (item(&s, mask) < 0)
            break;
        if (*s == '\0')
            return 0;
        if (*s++ != ',')
            break;
    }
    *mask = 0;
    return -EINVAL;
}

int pcrlist_format(uint32_t mask, char *out, size_t outsz)
{
    size_t n = 0;

    if (outsz == 0)
        return -ENOSPC;
    out[0] = '\0';
    for (unsigned i = 0; i < PCRLIST_PCRS; i++) {
        unsigned j = i;
        int k;

        if (!(mask & (1u << i)))
            continue;
        while (j + 1 < PCRLIST_PCRS && (mask & (1u << (j + 1))))
            j++;
        k = j > i ? snprintf(out + n, outsz - n, "%s%u-%u", n ? "," : "", i, j)
                  : snprintf(out + n, outsz - n, "%s%u", n ? "," : "", i);
        if (k < 0 || (size_t)k >= outsz - n)
            return -ENOSPC;
        n += (size_t)k;
        i = j;
    }
    return 0;
}
