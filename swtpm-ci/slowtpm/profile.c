/* SPDX-License-Identifier: BSD-3-Clause */
/* Loading of the slow host TPM's latency table: one column (profile) of a TSV file. */
#include "profile.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLS 16

struct row {
    int cc;            /* index in the command table, -1 for '*' */
    enum key_alg alg;  /* ALG_ANY for '*' */
    uint64_t us;
};

struct profile {
    struct row *rows;
    size_t n;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Splits line at tabs in place; returns the number of fields (at most MAX_COLS + 1). */
static size_t split(char *line, char *f[MAX_COLS + 1])
{
    size_t n = 0;
    char *p = line;

    for (;;) {
        f[n++] = p;
        p = strchr(p, '\t');
        if (!p || n == MAX_COLS + 1)
            break;
        *p++ = '\0';
    }
    return n;
}

static int parse_ms(const char *s, uint64_t *us)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < 0 || v * 1000.0 > (double)PROFILE_MAX_US)
        return -1;
    *us = (uint64_t)llround(v * 1000.0);
    return 0;
}

struct profile *profile_load(const char *path, const char *name, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    struct profile *p = NULL;
    char *line = NULL, *f[MAX_COLS + 1];
    size_t cap = 0, ncols = 0, col = 0, lineno = 0;
    ssize_t len;
    int ok = 0;

    if (!fp) {
        seterr(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (!p) {
        seterr(err, errlen, "out of memory");
        goto out;
    }
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        size_t n = split(line, f);
        if (ncols == 0) { /* the header */
            if (n < 4 || n > MAX_COLS || strcmp(f[0], "command") || strcmp(f[1], "alg") ||
                strcmp(f[n - 1], "source")) {
                seterr(err, errlen, "%s:%zu: header must be 'command<TAB>alg<TAB>PROFILE...<TAB>source'",
                       path, lineno);
                goto out;
            }
            ncols = n;
            for (size_t i = 2; i < n - 1; i++)
                if (!strcmp(f[i], name))
                    col = i;
            if (!col) {
                seterr(err, errlen, "%s:%zu: no profile '%s' (the header names the profiles)", path,
                       lineno, name);
                goto out;
            }
            continue;
        }
        if (n != ncols) {
            seterr(err, errlen, "%s:%zu: %zu fields, the header has %zu", path, lineno, n, ncols);
            goto out;
        }
        struct row r = { .cc = -1, .alg = ALG_ANY, .us = 0 };
        if (strcmp(f[0], "*") && (r.cc = cc_index_by_name(f[0])) < 0) {
            seterr(err, errlen, "%s:%zu: unknown command '%s' (a TPM2_CC name without prefix, or *)",
                   path, lineno, f[0]);
            goto out;
        }
        if (!strcmp(f[1], "ecc"))
            r.alg = ALG_ECC;
        else if (!strcmp(f[1], "rsa"))
            r.alg = ALG_RSA;
        else if (strcmp(f[1], "*")) {
            seterr(err, errlen, "%s:%zu: alg '%s' is not ecc, rsa or *", path, lineno, f[1]);
            goto out;
        }
        if (r.cc < 0 && r.alg != ALG_ANY) {
            seterr(err, errlen, "%s:%zu: the default row '*' must have alg '*'", path, lineno);
            goto out;
        }
        for (size_t i = 2; i < ncols - 1; i++) {
            uint64_t us;
            if (parse_ms(f[i], &us)) {
                seterr(err, errlen, "%s:%zu: '%s' is not a delay in ms (0 to %llu)", path, lineno,
                       f[i], PROFILE_MAX_US / 1000);
                goto out;
            }
            if (i == col)
                r.us = us;
        }
        if (!f[ncols - 1][0]) {
            seterr(err, errlen, "%s:%zu: the source column is empty (every figure needs one)", path,
                   lineno);
            goto out;
        }
        for (size_t i = 0; i < p->n; i++)
            if (p->rows[i].cc == r.cc && p->rows[i].alg == r.alg) {
                seterr(err, errlen, "%s:%zu: a second row for %s/%s", path, lineno, f[0], f[1]);
                goto out;
            }
        struct row *nr = realloc(p->rows, (p->n + 1) * sizeof(*nr));
        if (!nr) {
            seterr(err, errlen, "out of memory");
            goto out;
        }
        p->rows = nr;
        p->rows[p->n++] = r;
    }
    if (ferror(fp)) {
        seterr(err, errlen, "%s: read error", path);
        goto out;
    }
    if (ncols == 0) {
        seterr(err, errlen, "%s: no header line", path);
        goto out;
    }
    ok = 1;
out:
    free(line);
    fclose(fp);
    if (!ok) {
        profile_free(p);
        return NULL;
    }
    return p;
}

void profile_free(struct profile *p)
{
    if (!p)
        return;
    free(p->rows);
    free(p);
}

static const struct row *find(const struct profile *p, int cc, enum key_alg alg)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->rows[i].cc == cc && p->rows[i].alg == alg)
            return &p->rows[i];
    return NULL;
}

uint64_t profile_delay_us(const struct profile *p, TPM2_CC cc, enum key_alg alg)
{
    const struct row *r;
    int i = cc_index(cc);

    if (!p)
        return 0;
    if (i >= 0 && alg != ALG_ANY && (r = find(p, i, alg)))
        return r->us;
    if (i >= 0 && (r = find(p, i, ALG_ANY)))
        return r->us;
    if ((r = find(p, -1, ALG_ANY)))
        return r->us;
    return 0;
}
