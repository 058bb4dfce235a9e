/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-workload policies in the database: statements written once for both backends
 * (store_ops.rows), composed here. */
#include "store/store_policy.h"

#include <errno.h>
#include <string.h>

#include "store/store_ops.h"

#define PUT_TRIES 5

static const char sql_put[] =
    "INSERT INTO policies (name, version, selector, body, deleted, time, author) "
    "SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6 FROM policies WHERE name = $1 "
    "RETURNING CAST(version AS BIGINT)";
static const char sql_latest[] =
    "SELECT name, CAST(version AS BIGINT), selector, body, CAST(deleted AS BIGINT),"
    " CAST(time AS BIGINT), author FROM policies p"
    " WHERE version = (SELECT MAX(version) FROM policies q WHERE q.name = p.name) ORDER BY name";
static const char sql_get_latest[] =
    "SELECT name, CAST(version AS BIGINT), selector, body, CAST(deleted AS BIGINT),"
    " CAST(time AS BIGINT), author FROM policies WHERE name = $1 ORDER BY version DESC LIMIT 1";
static const char sql_get[] =
    "SELECT name, CAST(version AS BIGINT), selector, body, CAST(deleted AS BIGINT),"
    " CAST(time AS BIGINT), author FROM policies WHERE name = $1 AND version = $2";
static const char sql_versions[] =
    "SELECT CAST(version AS BIGINT), CAST(deleted AS BIGINT), CAST(time AS BIGINT), author"
    " FROM policies WHERE name = $1 ORDER BY version";
static const char sql_stamp[] = "SELECT CAST(COALESCE(MAX(serial), 0) AS BIGINT) FROM policies";

static int rows(struct store *st, const char *sql, const struct store_param *p, size_t n,
                json_t **out)
{
    if (!st->ops->rows)
        return -ENOTSUP;
    if (st->ops->ready && st->ops->ready(st) < 0)
        return -EIO;
    return st->ops->rows(st, sql, p, n, out);
}

/* The integer of an answer of one row and one column r (taken): rc, or -EIO when r is not
 * that. */
static int one_integer(json_t *r, int rc, int64_t *out)
{
    if (json_array_size(r) != 1 || !json_is_integer(json_array_get(json_array_get(r, 0), 0)))
        rc = -EIO;
    else
        *out = json_integer_value(json_array_get(json_array_get(r, 0), 0));
    json_decref(r);
    return rc;
}

static int put(struct store *st, const char *name, const char *selector, const char *body,
               int deleted, const char *author, int64_t t, int64_t *version)
{
    const struct store_param p[] = { { name, 0 }, { selector, 0 }, { body, 0 },
                                     { NULL, deleted }, { NULL, t }, { author, 0 } };
    json_t *r = NULL;
    int rc = -EAGAIN;

    /* two instances putting the same name at once: one meets the other's version (unique) */
    for (int i = 0; i < PUT_TRIES && (rc == -EAGAIN || rc == -EEXIST); i++)
        rc = rows(st, sql_put, p, 6, &r);
    if (rc == -EEXIST)
        rc = -EAGAIN;
    if (rc < 0)
        return rc;
    return one_integer(r, rc, version);
}

int store_policy_put(struct store *st, const char *name, const char *selector, const char *body,
                     const char *author, int64_t t, int64_t *version)
{
    return put(st, name, selector, body, 0, author, t, version);
}

/* [name, version, selector, body, deleted, time, author] as an object. */
static json_t *policy_row(const json_t *r)
{
    return json_pack("{s:O, s:O, s:O, s:O, s:b, s:O, s:O}", "name", json_array_get(r, 0),
                     "version", json_array_get(r, 1), "selector", json_array_get(r, 2), "body",
                     json_array_get(r, 3), "deleted",
                     json_integer_value(json_array_get(r, 4)) != 0, "time",
                     json_array_get(r, 5), "author", json_array_get(r, 6));
}

int store_policy_get(struct store *st, const char *name, int64_t version, json_t **out)
{
    const struct store_param p[] = { { name, 0 }, { NULL, version } };
    json_t *r = NULL;
    int rc = rows(st, version ? sql_get : sql_get_latest, p, version ? 2 : 1, &r);

    if (rc < 0)
        return rc;
    if (json_array_size(r) != 1)
        rc = -ENOENT;
    else if (!(*out = policy_row(json_array_get(r, 0))))
        rc = -ENOMEM;
    json_decref(r);
    return rc;
}

int store_policy_delete(struct store *st, const char *name, const char *author, int64_t t,
                        int64_t *version)
{
    json_t *cur = NULL;
    int rc = store_policy_get(st, name, 0, &cur);

    if (rc == 0 && json_is_true(json_object_get(cur, "deleted")))
        rc = -ENOENT;
    json_decref(cur);
    return rc < 0 ? rc : put(st, name, "{}", "{}", 1, author, t, version);
}

int store_policy_latest(struct store *st, json_t **out)
{
    json_t *r = NULL, *list, *o;
    size_t i;
    int rc = rows(st, sql_latest, NULL, 0, &r);

    if (rc < 0)
        return rc;
    if (!(list = json_array()))
        rc = -ENOMEM;
    for (i = 0; list && i < json_array_size(r); i++)
        if (!(o = policy_row(json_array_get(r, i))) || json_array_append_new(list, o) < 0) {
            rc = -ENOMEM;
            break;
        }
    json_decref(r);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

int store_policy_versions(struct store *st, const char *name, json_t **out)
{
    const struct store_param p[] = { { name, 0 } };
    json_t *r = NULL, *list, *o, *e;
    size_t i;
    int rc = rows(st, sql_versions, p, 1, &r);

    if (rc < 0)
        return rc;
    if (json_array_size(r) == 0) {
        json_decref(r);
        return -ENOENT;
    }
    if (!(list = json_array()))
        rc = -ENOMEM;
    json_array_foreach(r, i, e)
        if (list && (!(o = json_pack("{s:O, s:b, s:O, s:O}", "version", json_array_get(e, 0),
                                     "deleted", json_integer_value(json_array_get(e, 1)) != 0,
                                     "time", json_array_get(e, 2), "author",
                                     json_array_get(e, 3))) ||
                     json_array_append_new(list, o) < 0))
            rc = -ENOMEM;
    json_decref(r);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

int store_policy_stamp(struct store *st, int64_t *stamp)
{
    json_t *r = NULL;
    int rc = rows(st, sql_stamp, NULL, 0, &r);

    if (rc < 0)
        return rc;
    return one_integer(r, rc, stamp);
}

/* ---- Admitted pods ---- */

static const char sql_pod_admit[] =
    "INSERT INTO admitted_pods (pod_uid, namespace, name, facts, policy, policy_version, time) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (pod_uid) DO UPDATE SET "
    "namespace = excluded.namespace, name = excluded.name, facts = excluded.facts, "
    "policy = excluded.policy, policy_version = excluded.policy_version, time = excluded.time "
    /* the same review again (the API server retries, a re-sent update): nothing written */
    "WHERE admitted_pods.facts <> excluded.facts OR admitted_pods.namespace <> excluded.namespace"
    " OR admitted_pods.name <> excluded.name OR admitted_pods.policy <> excluded.policy"
    " OR admitted_pods.policy_version <> excluded.policy_version";
static const char sql_pod_get[] =
    "SELECT pod_uid, namespace, name, facts, policy, CAST(policy_version AS BIGINT),"
    " CAST(time AS BIGINT) FROM admitted_pods WHERE pod_uid = $1";
static const char sql_pod_purge[] =
    "DELETE FROM admitted_pods WHERE time < $1 RETURNING CAST(time AS BIGINT)";

int store_pod_admit(struct store *st, const char *uid, const char *ns, const char *name,
                    const char *facts, const char *policy, int64_t policy_version, int64_t t)
{
    const struct store_param p[] = { { uid, 0 }, { ns, 0 }, { name, 0 }, { facts, 0 },
                                     { policy, 0 }, { NULL, policy_version }, { NULL, t } };
    json_t *r = NULL;
    int rc = rows(st, sql_pod_admit, p, 7, &r);

    json_decref(r);
    return rc;
}

int store_pod_get(struct store *st, const char *uid, json_t **out)
{
    const struct store_param p[] = { { uid, 0 } };
    json_t *r = NULL, *e;
    int rc = rows(st, sql_pod_get, p, 1, &r);

    if (rc < 0)
        return rc;
    e = json_array_get(r, 0);
    if (json_array_size(r) != 1)
        rc = -ENOENT;
    else if (!(*out = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "uid",
                                json_array_get(e, 0), "namespace", json_array_get(e, 1), "name",
                                json_array_get(e, 2), "facts", json_array_get(e, 3), "policy",
                                json_array_get(e, 4), "policy_version", json_array_get(e, 5),
                                "time", json_array_get(e, 6))))
        rc = -ENOMEM;
    json_decref(r);
    return rc;
}

int64_t store_pod_purge(struct store *st, int64_t before)
{
    const struct store_param p[] = { { NULL, before } };
    json_t *r = NULL;
    int rc = rows(st, sql_pod_purge, p, 1, &r);
    int64_t n = rc < 0 ? rc : (int64_t)json_array_size(r);

    json_decref(r);
    return n;
}
