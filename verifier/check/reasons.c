/* SPDX-License-Identifier: BSD-3-Clause */
/* The list of deny reasons a verification collects. */
#include "check/reasons.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct reasons *r)
{
    size_t cap = r->cap ? r->cap * 2 : 8;
    char **v;

    if (r->n < r->cap)
        return 0;
    v = realloc(r->v, cap * sizeof(*v));
    if (!v)
        return -1;
    r->v = v;
    r->cap = cap;
    return 0;
}

void reasons_add(struct reasons *r, const char *code, const char *detail_fmt, ...)
{
    char detail[REASON_MAX] = "", buf[REASON_MAX + 64];
    va_list ap;

    if (detail_fmt) {
        va_start(ap, detail_fmt);
        vsnprintf(detail, sizeof(detail), detail_fmt, ap);
        va_end(ap);
    }
    /* Codes are short literals; a long detail is cut, never the code. */
    if (snprintf(buf, sizeof(buf), "%.60s%s%s", code, detail_fmt ? ":" : "", detail) < 0)
        buf[0] = '\0';
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->v[i], buf))
            return;
    if (grow(r) < 0 || !(r->v[r->n] = strdup(buf))) {
        r->oom = 1;
        return;
    }
    r->n++;
}

int reasons_has(const struct reasons *r, const char *code)
{
    size_t cl = strlen(code);

    for (size_t i = 0; i < r->n; i++)
        if (!strncmp(r->v[i], code, cl) && (r->v[i][cl] == '\0' || r->v[i][cl] == ':'))
            return 1;
    return 0;
}

int reasons_deny(const struct reasons *r)
{
    return r->n > 0 || r->oom;
}

json_t *reasons_json(const struct reasons *r)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < r->n; i++)
        if (json_array_append_new(a, json_string(r->v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    if (a && r->oom && json_array_append_new(a, json_string("internal-error:out-of-memory")) < 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

void reasons_free(struct reasons *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i]);
    free(r->v);
    memset(r, 0, sizeof(*r));
}

void reasons_append(struct reasons *to, const struct reasons *from)
{
    for (size_t i = 0; i < from->n; i++) {
        const char *s = from->v[i], *c = strchr(s, ':');
        char code[64];

        if (!c) {
            reasons_add(to, s, NULL);
            continue;
        }
        snprintf(code, sizeof(code), "%.*s", (int)(c - s), s);
        reasons_add(to, code, "%s", c + 1);
    }
    to->oom |= from->oom;
}
