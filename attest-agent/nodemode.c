/* SPDX-License-Identifier: BSD-3-Clause */
/* Node mode glue: the record in the service's table or the hook's cache file, refreshed with
 * host-only evidence (hostev_attest): one host quote per refresh. */
#include "nodemode.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static int refresh(void *arg, struct node_answer *a)
{
    const struct nodemode *nm = arg;

    return hostev_attest(nm->mgr, &nm->o->host, nm->ho, nm->host_registered, a);
}

static void report(const char *node, int rc, const struct noderec_use *u)
{
    int64_t left = u->fresh_ms ? (u->fresh_ms - noderec_now_ms()) / 1000 : 0;

    if (u->refreshed && rc == 0)
        LOG_INFO("node %s: host evidence allowed; node verdict fresh for %lld s", node,
                 (long long)left);
    else if (u->refreshed)
        log_diag("attest-agent: node %s: host evidence failed: %s\n", node,
                rc == -EACCES ? "denied" : strerror(-rc));
    else if (rc < 0 && rc != -ESTALE)
        log_diag("attest-agent: node %s: host evidence of a concurrent start failed: "
                "%s\n", node, rc == -EACCES ? "denied" : strerror(-rc));
    else if (rc == 0)
        LOG_DEBUG("node %s: node verdict fresh for %lld s%s", node, (long long)left,
                  u->shared ? " (refreshed by a concurrent start)" : "");
}

int nodemode_ensure(const struct nodemode *nm, int64_t need_ms, int64_t wait_ms,
                    int may_refresh, struct noderec_use *u)
{
    int64_t now = noderec_now_ms(), need = now + need_ms + NODEREC_MARGIN_MS;
    char node[HOSTEV_NODE_MAX + 1];
    struct noderec_use none;
    uint8_t key[DIGEST_LEN];
    int rc;

    if (!u)
        u = &none;
    memset(u, 0, sizeof(*u));
    if ((rc = hostev_node_name(&nm->o->host, node)) < 0)
        return rc;
    if (nm->tab && (rc = noderec_key(node, nm->o->verifier, key)) < 0)
        return rc;
    if (nm->tab)
        rc = nodetab_ensure(nm->tab, key, need, now + wait_ms, may_refresh ? refresh : NULL,
                            (void *)nm, u);
    else
        rc = nodefile_ensure(nm->o->cache_dir, node, nm->o->verifier, need, now + wait_ms,
                             may_refresh ? refresh : NULL, (void *)nm, u);
    report(node, rc, u);
    return rc;
}

void nodemode_drop(const struct nodemode *nm, const struct noderec_use *u)
{
    char node[HOSTEV_NODE_MAX + 1];
    uint8_t key[DIGEST_LEN];

    if (hostev_node_name(&nm->o->host, node) < 0)
        return;
    LOG_INFO("node %s: the verifier found the node verdict not fresh; the next start sends "
             "host evidence", node);
    if (!nm->tab)
        nodefile_drop(nm->o->cache_dir, node, nm->o->verifier, u->token);
    else if (noderec_key(node, nm->o->verifier, key) == 0)
        nodetab_drop(nm->tab, key, u->token);
}
