/* SPDX-License-Identifier: BSD-3-Clause */
/* Lists of strings in the verifier's policies (jansson arrays already checked to hold strings
 * only). */
#ifndef VERIFIER_JSONLIST_H
#define VERIFIER_JSONLIST_H

#include <string.h>

#include <jansson.h>

/* Whether the array a holds the string s. */
static inline int json_list_has(const json_t *a, const char *s)
{
    size_t i;
    const json_t *v;

    json_array_foreach(a, i, v)
        if (!strcmp(json_string_value(v), s))
            return 1;
    return 0;
}

#endif
