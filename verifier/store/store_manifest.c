/* SPDX-License-Identifier: BSD-3-Clause */
/* The manifest store (store_manifest.h): statements written once for both backends
 * (store_ops.rows), the blobs by the backends' manifest_put and manifest_get. */
#include "store/store_manifest.h"

#include <errno.h>
#include <string.h>

#include "store/store_ops.h"

static const char sql_size[] = "SELECT CAST(size AS BIGINT) FROM manifests WHERE digest = $1";
static const char sql_totals[] =
    "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM manifests";
/* never used and older than $1, or unused since before $2; the never used first */
static const char sql_evictable[] =
    "SELECT digest, CAST(size AS BIGINT) FROM manifests"
    " WHERE (used = 0 AND last_used < $1) OR last_used < $2"
    " ORDER BY used, last_used LIMIT 256";
static const char sql_evict[] = "DELETE FROM manifests WHERE digest = $1";
static const char sql_used[] =
    "UPDATE manifests SET used = 1, last_used = $1"
    " WHERE digest = $2 AND (used = 0 OR last_used < $3)";

static int rows(struct store *st, const char *sql, const struct store_param *p, size_t n,
                json_t **out)
{
    return st->ops->rows(st, sql, p, n, out);
}

static int64_t cell(const json_t *r, size_t row, size_t col)
{
    return json_integer_value(json_array_get(json_array_get(r, row), col));
}

/* stat inside the caller's transaction (no reconnect) */
static int stat_tx(struct store *st, const char *hex, int64_t *size)
{
    const struct store_param p[] = { { hex, 0 } };
    json_t *r = NULL;
    int rc;

    if ((rc = rows(st, sql_size, p, 1, &r)) < 0)
        return rc;
    if (json_array_size(r) != 1)
        rc = -ENOENT;
    else
        *size = cell(r, 0, 0);
    json_decref(r);
    return rc;
}

int store_manifest_stat(struct store *st, const char *hex, int64_t *size)
{
    if (st->ops->ready && st->ops->ready(st) < 0)
        return -EIO;
    return stat_tx(st, hex, size);
}

int store_manifest_get(struct store *st, const char *hex, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (st->ops->ready && st->ops->ready(st) < 0)
        return -EIO;
    return st->ops->manifest_get(st, hex, buf, len);
}

int store_manifest_used(struct store *st, const char *hex, int64_t now, int64_t min_gap)
{
    /* placeholders are numbered in the order of their first use (SQLite) */
    const struct store_param p[] = { { NULL, now }, { hex, 0 }, { NULL, now - min_gap } };
    json_t *r = NULL;
    int rc;

    if (st->ops->ready && st->ops->ready(st) < 0)
        return -EIO;
    rc = rows(st, sql_used, p, 3, &r);
    json_decref(r);
    return rc;
}

static int totals_tx(struct store *st, int64_t *count, int64_t *bytes)
{
    json_t *r = NULL;
    int rc;

    if ((rc = rows(st, sql_totals, NULL, 0, &r)) < 0)
        return rc;
    if (json_array_size(r) != 1) {
        rc = -EIO;
    } else {
        *count = cell(r, 0, 0);
        *bytes = cell(r, 0, 1);
    }
    json_decref(r);
    return rc;
}

int store_manifest_totals(struct store *st, int64_t *count, int64_t *bytes)
{
    if (st->ops->ready && st->ops->ready(st) < 0)
        return -EIO;
    return totals_tx(st, count, bytes);
}

/* Inside the put's transaction: evictable manifests deleted, least recently used first,
 * until need more bytes fit under the quota; -ENOSPC when they do not. */
static int make_room(struct store *st, int64_t need, int64_t now,
                     const struct store_manifest_quota *q, int *evicted)
{
    const struct store_param p[] = { { NULL, now - q->unused_s }, { NULL, now - q->idle_s } };
    json_t *r = NULL;
    int64_t n = 0, bytes = 0;
    int rc;

    if ((rc = totals_tx(st, &n, &bytes)) < 0)
        return rc;
    if (bytes + need <= q->total)
        return 0;
    if ((rc = rows(st, sql_evictable, p, 2, &r)) < 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < json_array_size(r) && bytes + need > q->total; i++) {
        const struct store_param d[] = {
            { json_string_value(json_array_get(json_array_get(r, i), 0)), 0 } };
        json_t *x = NULL;

        if (!d[0].text) {
            rc = -EIO;
            break;
        }
        if ((rc = rows(st, sql_evict, d, 1, &x)) == 0) {
            bytes -= cell(r, i, 1);
            if (evicted)
                (*evicted)++;
        }
        json_decref(x);
    }
    json_decref(r);
    if (rc == 0 && bytes + need > q->total)
        rc = -ENOSPC;
    return rc;
}

int store_manifest_put(struct store *st, const char *hex, const uint8_t *buf, size_t len,
                       int64_t now, const struct store_manifest_quota *q, int *evicted)
{
    int64_t size;
    int rc;

    if (evicted)
        *evicted = 0;
    if ((int64_t)len > q->total)
        return -ENOSPC;
    if ((rc = store_tx_begin(st)) < 0)
        return rc;
    rc = stat_tx(st, hex, &size);
    if (rc == 0)
        rc = 1; /* there already: content-addressed, the same bytes */
    else if (rc == -ENOENT && (rc = make_room(st, (int64_t)len, now, q, evicted)) == 0)
        rc = st->ops->manifest_put(st, hex, buf, len, now);
    if (rc < 0 && evicted)
        *evicted = 0; /* rolled back */
    return store_tx_end(st, rc);
}
