/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's store front: picks the backend from the database URL and dispatches to it. */
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "check/nodeverdict.h"
#include "secmem.h"
#include "store/store_ops.h"

int store_open_url(const char *url, struct store **out)
{
    if (!url || !out)
        return -EINVAL;
    if (!strncmp(url, "sqlite:", 7) && url[7])
        return store_sqlite_open(url + 7, out);
    if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11))
        return store_pg_open(url, out);
    /* Not echoed: a mistyped URL may still hold a password. */
    LOG_ERROR("database URL is neither sqlite:PATH nor postgresql://...");
    return -EINVAL;
}

int store_open(const char *path, struct store **out)
{
    return store_sqlite_open(path, out);
}

void store_close(struct store *st)
{
    if (st)
        st->ops->close(st);
}

int store_nonce_add(struct store *st, const char *hex, int64_t issued, int64_t expires)
{
    return st->ops->nonce_add(st, hex, issued, expires);
}

int store_nonce_consume(struct store *st, const char *hex, int64_t now)
{
    return st->ops->nonce_consume(st, hex, now);
}

int store_reg_add(struct store *st, const struct reg_row *r)
{
    return st->ops->reg_add(st, r);
}

int store_reg_get(struct store *st, const char *id, struct reg_row *r)
{
    int rc;

    memset(r, 0, sizeof(*r));
    rc = st->ops->reg_get(st, id, r);
    if (rc < 0)
        store_reg_free(r);
    else
        snprintf(r->id, sizeof(r->id), "%s", id);
    return rc;
}

int store_reg_finish(struct store *st, const char *id, int state)
{
    if (state != REG_ACTIVE && state != REG_FAILED)
        return -EINVAL;
    return st->ops->reg_finish(st, id, state);
}

void store_reg_free(struct reg_row *r)
{
    free(r->ak_pub);
    free(r->ek_cert);
    secure_free(r->credential, r->credential_len);
    r->ak_pub = r->ek_cert = r->credential = NULL;
    r->ak_pub_len = r->ek_cert_len = r->credential_len = 0;
}

int store_reg_active(struct store *st, const char *subject, const uint8_t *ak_pub, size_t len)
{
    return st->ops->reg_active(st, subject, ak_pub, len);
}

int store_clock_advance(struct store *st, const char *vtpm_uuid, uint32_t reset,
                        uint32_t restart, uint64_t clock)
{
    /* Both databases hold signed 64-bit integers; a TPM clock never reaches 2^63 ms. */
    const int64_t v[3] = { reset, restart, (int64_t)(clock & INT64_MAX) };

    return st->ops->clock_advance(st, vtpm_uuid, v);
}

int store_verdict_put(struct store *st, const char *container_id, const char *vtpm_uuid,
                      const char *node, const char *verdict, const char *reasons_json,
                      int64_t t, int64_t due, const struct verdict_binding *b)
{
    static const struct verdict_binding none = { "", 0, 0 };

    return st->ops->verdict_put(st, container_id, vtpm_uuid, node ? node : "", verdict,
                                reasons_json ? reasons_json : "[]", t, due, b ? b : &none, NULL);
}

int store_verdict_put_gated(struct store *st, const char *container_id, const char *vtpm_uuid,
                            const char *node, const char *verdict, const char *reasons_json,
                            int64_t t, int64_t due, const struct verdict_binding *b,
                            struct store_node_gate *g)
{
    static const struct verdict_binding none = { "", 0, 0 };

    if (!node || !node[0] || !g)
        return -EINVAL;
    reasons_free(&g->added);
    return st->ops->verdict_put(st, container_id, vtpm_uuid, node, verdict,
                                reasons_json ? reasons_json : "[]", t, due, b ? b : &none, g);
}

/* reasons_json with every reason of add appended (malloc'd JSON text) or NULL. */
static char *reasons_with(const char *reasons_json, const struct reasons *add)
{
    json_t *j = store_reasons(reasons_json);
    char *s = NULL;

    for (size_t i = 0; j && i < add->n; i++)
        if (json_array_append_new(j, json_string(add->v[i])) < 0)
            goto out;
    s = json_dumps(j, JSON_COMPACT);
out:
    json_decref(j);
    return s;
}

int store_gate_apply(struct store_node_gate *g, const char *node,
                     const struct store_node_row *row, struct store_gated *v)
{
    nodeverdict_check(node, row, g->host, v->t, g->max_age, &g->added);
    if (g->added.oom)
        return -ENOMEM;
    if (g->added.n == 0) {
        if (!strcmp(v->verdict, "allow"))
            v->due = nodeverdict_cap_due(v->due, nodeverdict_fresh_until(row->time, row->due,
                                                                         g->max_age));
        return 0;
    }
    if (!(v->owned = reasons_with(v->reasons, &g->added)))
        return -ENOMEM;
    v->reasons = v->owned;
    v->verdict = "deny";
    v->due = 0;
    return 0;
}

char *store_node_denied_reasons(const char *node)
{
    json_t *j = json_pack("[s+]", "node-denied:", node);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    return s;
}

int store_verdict_binding(struct store *st, const char *container_id, struct verdict_binding *b)
{
    memset(b, 0, sizeof(*b));
    return st->ops->verdict_binding(st, container_id, b);
}

int store_verdict_get(struct store *st, const char *container_id, json_t **out)
{
    return st->ops->verdict_get(st, container_id, out);
}

int store_node_put(struct store *st, const char *node, const char *host_subject,
                   const char *verdict, const char *reasons_json, int64_t t, int64_t due)
{
    return st->ops->node_put(st, node, host_subject ? host_subject : "", verdict,
                             reasons_json ? reasons_json : "[]", t, due);
}

int store_node_get(struct store *st, const char *node, json_t **out)
{
    return st->ops->node_get(st, node, out);
}

int store_revoke_overdue(struct store *st, int64_t now, struct store_revoked *out, size_t max,
                         size_t *n)
{
    *n = 0;
    if (max == 0)
        return 0;
    return st->ops->revoke_overdue(st, now, out, max, n);
}

int store_notify_add(struct store *st, const char *body_json, int64_t now)
{
    return st->ops->notify_add(st, body_json, now);
}

int store_notify_claim(struct store *st, int64_t now, int64_t lease_until,
                       struct store_notification *out, size_t max, size_t *n)
{
    *n = 0;
    if (max == 0)
        return 0;
    return st->ops->notify_claim(st, now, lease_until, out, max, n);
}

int store_notify_done(struct store *st, int64_t id)
{
    return st->ops->notify_set(st, id, NOTIFY_DELIVERED, 0, 0);
}

int store_notify_retry(struct store *st, int64_t id, int attempts, int64_t next_try)
{
    return st->ops->notify_set(st, id, NOTIFY_PENDING, attempts, next_try);
}

int store_notify_fail(struct store *st, int64_t id)
{
    return st->ops->notify_set(st, id, NOTIFY_FAILED, 0, 0);
}

void store_notification_free(struct store_notification *n)
{
    if (!n)
        return;
    free(n->body);
    n->body = NULL;
}

int64_t store_purge(struct store *st, int64_t now, int64_t keep)
{
    if (keep < 0)
        return -EINVAL;
    return st->ops->purge(st, now, keep);
}

int store_audit(struct store *st, int64_t t, const char *kind, const char *subject,
                const char *outcome, const char *detail)
{
    return st->ops->audit(st, t, kind, subject, outcome, detail ? detail : "");
}

int64_t store_count(struct store *st, const char *table)
{
    static const char *const known[] = { "nonces", "registrations", "verdicts", "nodes",
                                         "notifications", "audit" };

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcmp(table, known[i]))
            return st->ops->count(st, known[i]);
    return -1;
}

json_t *store_reasons(const char *reasons_json)
{
    json_t *j = json_loads(reasons_json ? reasons_json : "[]", 0, NULL);

    if (json_is_array(j))
        return j;
    json_decref(j);
    return json_array();
}

char *store_revoked_body(const char *kind, const char *id, const char *reasons_json, int64_t t)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:I, s:s}", "kind", kind, "id", id, "verdict",
                          "deny", "reasons", store_reasons(reasons_json), "time", (json_int_t)t,
                          "event", "revoked");
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    return s;
}

int store_is_revocation(const char *old_verdict, const char *new_verdict)
{
    return old_verdict && !strcmp(old_verdict, "allow") && !strcmp(new_verdict, "deny");
}
