/* SPDX-License-Identifier: BSD-3-Clause */
/* The list of deny reasons a verification collects: stable codes, optional detail after ':'. */
#ifndef VERIFIER_REASONS_H
#define VERIFIER_REASONS_H

#include <jansson.h>
#include <stddef.h>

#define REASON_MAX 160u

struct reasons {
    char **v;
    size_t n, cap;
    int oom; /* an allocation failed: the list is incomplete, the verdict must be deny */
};

/* Adds "code" or "code:detail" (detail printf-formatted; NULL for none). */
void reasons_add(struct reasons *r, const char *code, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 1 when a reason with this code (the part before ':') is present. */
int reasons_has(const struct reasons *r, const char *code);
/* Deny when any reason is present or an allocation failed. */
int reasons_deny(const struct reasons *r);
/* A new JSON array of the reason strings (callee-allocated, json_decref). */
json_t *reasons_json(const struct reasons *r);
void reasons_free(struct reasons *r);
/* Appends every reason of from (and its allocation failure) to to. */
void reasons_append(struct reasons *to, const struct reasons *from);

#endif
