/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's store front: picks the backend from the database URL, and composes the
 * backends' statements into the store's transactions (puts with their notifications, the node
 * gate and cascade, revocation, purge), written once for SQLite and PostgreSQL. */
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "check/nodeverdict.h"
#include "secmem.h"
#include "store/store_ops.h"

static int open_backend(const char *url, struct store **out)
{
    if (!strncmp(url, "sqlite:", 7) && url[7])
        return store_sqlite_open(url + 7, out);
    if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11))
        return store_pg_open(url, out);
    /* Not echoed: a mistyped URL may still hold a password. */
    LOG_ERROR("database URL is neither sqlite:PATH nor postgresql://...");
    return -EINVAL;
}

int store_open_url(const char *url, struct store **out)
{
    int r;

    if (!url || !out)
        return -EINVAL;
    if ((r = open_backend(url, out)) < 0)
        return r;
    if (!((*out)->url = strdup(url))) {
        (*out)->ops->close(*out);
        *out = NULL;
        return -ENOMEM;
    }
    return 0;
}

int store_open(const char *path, struct store **out)
{
    char *url;
    int r;

    if (!path || asprintf(&url, "sqlite:%s", path) < 0)
        return -ENOMEM;
    r = store_open_url(url, out);
    free(url);
    return r;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    store_committer_release(st);
    free(st->url);
    st->ops->close(st);
}

/* The backend's connection made ready (PostgreSQL: one the server dropped is made again),
 * then BEGIN. PostgreSQL sends BEGIN with the transaction's first statement and tries that
 * round trip once more on a connection it finds broken (store_pg.c, pg_q). */
int store_tx_begin(struct store *st)
{
    int r = st->ops->ready(st);

    return r < 0 ? r : st->ops->tx(st, TX_BEGIN);
}

int store_tx_end(struct store *st, int r)
{
    if (r >= 0 && st->ops->tx(st, TX_COMMIT) == 0)
        return r;
    st->ops->tx(st, TX_ROLLBACK);
    return r < 0 ? r : -EIO;
}

int store_nonce_add(struct store *st, const char *hex, int64_t issued, int64_t expires)
{
    int r = st->ops->ready(st);

    return r < 0 ? r : st->ops->nonce_add(st, hex, issued, expires);
}

int store_nonce_consume(struct store *st, const char *hex, int64_t now)
{
    int r = st->ops->ready(st);

    return r < 0 ? r : st->ops->nonce_consume(st, hex, now);
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
    int r = st->ops->ready(st);

    return r < 0 ? r : st->ops->clock_advance(st, vtpm_uuid, v);
}

static const struct verdict_binding unbound = { "", 0, 0 };

/* A put in a transaction of its own. */
static int put_alone(struct store *st, enum store_kind k, const struct verdict_row *v,
                     struct store_node_gate *g)
{
    int r = store_tx_begin(st);

    return r < 0 ? r : store_tx_end(st, store_put_tx(st, k, v, g, NULL));
}

int store_verdict_put(struct store *st, const char *container_id, const char *vtpm_uuid,
                      const char *node, const char *verdict, const char *reasons_json,
                      int64_t t, int64_t due, const struct verdict_binding *b)
{
    const struct verdict_row v = { container_id, vtpm_uuid, node ? node : "", verdict,
                                   reasons_json ? reasons_json : "[]", t, due,
                                   b ? b : &unbound };

    return put_alone(st, KIND_CONTAINER, &v, NULL);
}

int store_verdict_put_gated(struct store *st, const char *container_id, const char *vtpm_uuid,
                            const char *node, const char *verdict, const char *reasons_json,
                            int64_t t, int64_t due, const struct verdict_binding *b,
                            struct store_node_gate *g)
{
    const struct verdict_row v = { container_id, vtpm_uuid, node, verdict,
                                   reasons_json ? reasons_json : "[]", t, due,
                                   b ? b : &unbound };

    if (!node || !node[0] || !g)
        return -EINVAL;
    return put_alone(st, KIND_CONTAINER, &v, g);
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

int store_gate_apply(struct store_node_gate *g, const struct store_node_row *row,
                     struct verdict_row *w, char **owned)
{
    nodeverdict_check(w->node, row, g->host, w->t, g->max_age, &g->added);
    if (g->added.oom)
        return -ENOMEM;
    if (g->added.n == 0) {
        if (!strcmp(w->verdict, "allow"))
            w->due = nodeverdict_cap_due(w->due, nodeverdict_fresh_until(row->time, row->due,
                                                                         g->max_age));
        return 0;
    }
    if (!(*owned = reasons_with(w->reasons, &g->added)))
        return -ENOMEM;
    w->reasons = *owned;
    w->verdict = "deny";
    w->due = 0;
    return 0;
}

static int notify_revoked(struct store *st, const char *kind, const char *id,
                          const char *reasons, int64_t t)
{
    char *body = store_revoked_body(kind, id, reasons, t);
    int r = body ? st->ops->notify_add(st, body, t) : -ENOMEM;

    free(body);
    return r;
}

/* ["node-denied:<node>"] as JSON text (malloc'd) or NULL: the cascade's reasons. */
static char *node_denied_reasons(const char *node)
{
    json_t *j = json_pack("[s+]", "node-denied:", node);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    return s;
}

/* A node's deny reaches every allow of its containers, each with its notification. */
static int cascade(struct store *st, const char *node, int64_t t, size_t *n)
{
    char *reasons = node_denied_reasons(node);
    json_t *ids = json_array();
    int r = reasons && ids ? st->ops->deny_node_containers(st, node, reasons, t, ids) : -ENOMEM;

    for (size_t i = 0; r == 0 && i < json_array_size(ids); i++)
        r = notify_revoked(st, "container", json_string_value(json_array_get(ids, i)), reasons,
                           t);
    if (n)
        *n = json_array_size(ids);
    json_decref(ids);
    free(reasons);
    return r;
}

static const char *const kind_name[] = { [KIND_CONTAINER] = "container", [KIND_NODE] = "node" };

/* The gated put reads (PostgreSQL: share-locks) the node's row before it locks the
 * container's: nodes before verdicts, the order of node puts and of the sweeper, so none
 * deadlocks. */
int store_put_tx(struct store *st, enum store_kind k, const struct verdict_row *v,
                 struct store_node_gate *g, const char *audit_kind)
{
    struct verdict_row w = *v;
    struct store_node_row row;
    char old[16], *owned = NULL;
    int r = 0;

    if (g) {
        reasons_free(&g->added);
        r = st->ops->node_row(st, v->node, &row);
        if (r == 0)
            r = store_gate_apply(g, &row, &w, &owned);
    }
    if (r == 0)
        r = st->ops->old_verdict(st, k, w.id, old, sizeof(old));
    if (r == 0)
        r = st->ops->upsert(st, k, &w);
    if (r == 0 && store_is_revocation(old, w.verdict))
        r = notify_revoked(st, kind_name[k], w.id, w.reasons, w.t);
    if (r == 0 && k == KIND_NODE && !strcmp(w.verdict, "deny"))
        r = cascade(st, w.id, w.t, NULL);
    if (r == 0 && audit_kind)
        r = st->ops->audit(st, w.t, audit_kind, w.id, w.verdict, w.reasons);
    free(owned);
    return r;
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
    const struct verdict_row v = { node, host_subject ? host_subject : "", "", verdict,
                                   reasons_json ? reasons_json : "[]", t, due, NULL };

    return put_alone(st, KIND_NODE, &v, NULL);
}

int store_node_get(struct store *st, const char *node, json_t **out)
{
    return st->ops->node_get(st, node, out);
}

/* Nodes first: their cascades, then containers (as many as out still has room for). */
int store_revoke_overdue(struct store *st, int64_t now, struct store_revoked *out, size_t max,
                         size_t *n)
{
    int r;

    *n = 0;
    if (max == 0)
        return 0;
    if ((r = store_tx_begin(st)) < 0)
        return r;
    r = st->ops->flip_overdue(st, KIND_NODE, now, out, max, n);
    for (size_t i = 0; r == 0 && i < *n; i++)
        r = cascade(st, out[i].id, now, &out[i].cascaded);
    if (r == 0 && *n < max)
        r = st->ops->flip_overdue(st, KIND_CONTAINER, now, out, max, n);
    for (size_t i = 0; r == 0 && i < *n; i++)
        r = notify_revoked(st, out[i].kind, out[i].id, STORE_REASON_MISSED, now);
    r = store_tx_end(st, r);
    if (r < 0)
        *n = 0;
    return r;
}

int store_notify_add(struct store *st, const char *body_json, int64_t now)
{
    int r = st->ops->ready(st);

    if (!body_json)
        return -ENOMEM;
    return r < 0 ? r : st->ops->notify_add(st, body_json, now);
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
    int64_t n = 0, d = 0;
    int r;

    if (keep < 0)
        return -EINVAL;
    if ((r = store_tx_begin(st)) < 0)
        return r;
    for (int what = 0; what < 3 && d >= 0; what++)
        if ((d = st->ops->purge_one(st, what, now - keep)) >= 0)
            n += d;
    r = store_tx_end(st, d < 0 ? (int)d : 0);
    return r < 0 ? r : n;
}

int64_t store_purge_audit(struct store *st, int64_t before)
{
    int64_t d;
    int r;

    if ((r = store_tx_begin(st)) < 0)
        return r;
    d = st->ops->purge_one(st, 3, before);
    r = store_tx_end(st, d < 0 ? (int)d : 0);
    return r < 0 ? r : d;
}

int store_audit(struct store *st, int64_t t, const char *kind, const char *subject,
                const char *outcome, const char *detail)
{
    int r = st->ops->ready(st);

    return r < 0 ? r : st->ops->audit(st, t, kind, subject, outcome, detail ? detail : "");
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
