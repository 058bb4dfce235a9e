/* SPDX-License-Identifier: BSD-3-Clause */
/* Node mode: a container's host part is its node's verdict, judged here (fresh, allow, this
 * host's) against the row the store read in the container write's own transaction. */
#include "check/nodeverdict.h"

#include <string.h>

int64_t nodeverdict_fresh_until(int64_t t, int64_t due, int64_t max_age)
{
    int64_t f = t + max_age;

    return due > 0 && due - 1 < f ? due - 1 : f;
}

int64_t nodeverdict_cap_due(int64_t due, int64_t fresh_until)
{
    int64_t cap = fresh_until + 1;

    return due == 0 || cap < due ? cap : due;
}

void nodeverdict_check(const char *node, const struct store_node_row *row, const char *host,
                       int64_t now, int64_t max_age, struct reasons *r)
{
    if (!row->found) {
        reasons_add(r, "node-verdict-missing", "node %s has no host attestation", node);
        return;
    }
    /* Another host's verdict says nothing about this one: nothing more is judged on it. */
    if (!host || strcmp(row->host, host)) {
        reasons_add(r, "node-verdict-other-host", "node %s is attested by another host", node);
        return;
    }
    if (strcmp(row->verdict, "allow")) {
        reasons_add(r, "node-verdict-deny", "node %s: %.100s", node, row->reasons);
        return;
    }
    if (now > nodeverdict_fresh_until(row->time, row->due, max_age))
        reasons_add(r, "node-verdict-stale", "node %s attested %lld s ago (max %lld s%s)", node,
                    (long long)(now - row->time), (long long)max_age,
                    row->due > 0 && row->due <= now ? ", re-attestation missed" : "");
}
