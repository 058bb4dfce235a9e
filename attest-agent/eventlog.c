/* SPDX-License-Identifier: BSD-3-Clause */
/* Event log encoding (one CBOR map per measurement) and replay into PCR values. */
#include "eventlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cborenc.h"
#include "ctlproto.h"
#include "log.h"

int eventlog_init(struct eventlog *log)
{
    log->count = 0;
    log->records = cbor_new_indefinite_array();
    return log->records ? 0 : -ENOMEM;
}

void eventlog_free(struct eventlog *log)
{
    if (log->records)
        cbor_decref(&log->records);
    log->count = 0;
}

/* The definite-length form of content and the digest of its encoding. */
static int canonical(cbor_item_t *content, cbor_item_t **out, uint8_t d[DIGEST_LEN])
{
    struct cbor_load_result res;
    uint8_t *enc = NULL;
    size_t len = 0;
    int r = cb_encode(content, &enc, &len);

    *out = NULL;
    if (r < 0)
        return r;
    r = digest_buf(enc, len, d);
    if (r == 0) {
        *out = cbor_load(enc, len, &res);
        if (!*out || res.error.code != CBOR_ERR_NONE || res.read != len)
            r = -EIO;
    }
    if (r < 0 && *out)
        cbor_decref(out);
    free(enc);
    return r;
}

int eventlog_add(struct eventlog *log, unsigned pcr, cbor_item_t *content,
                 uint8_t out[DIGEST_LEN])
{
    cbor_item_t *rec = NULL, *canon = NULL;
    int r = -EINVAL;

    if (!content || !cbor_isa_map(content) || pcr >= EVENTLOG_PCRS ||
        log->count >= EVENTLOG_MAX_RECORDS)
        goto out;
    if ((r = canonical(content, &canon, out)) < 0)
        goto out;
    r = -ENOMEM;
    rec = ctl_map_new();
    if (!rec || cb_put_uint(rec, "recnum", log->count) || cb_put_uint(rec, "pcr", pcr) ||
        ctl_put_bytes(rec, "digest", out, DIGEST_LEN))
        goto out;
    r = ctl_put_item(rec, "content", canon);
    canon = NULL;
    if (r < 0 || !cbor_array_push(log->records, rec)) {
        r = -ENOMEM;
        goto out;
    }
    log->count++;
    r = 0;
out:
    if (rec)
        cbor_decref(&rec);
    if (canon)
        cbor_decref(&canon);
    if (content)
        cbor_decref(&content);
    return r;
}

static int record_digest_ok(const cbor_item_t *rec, const uint8_t *d)
{
    const cbor_item_t *content = ctl_get(rec, "content");
    unsigned char *enc = NULL;
    size_t cap = 0, len;
    uint8_t mine[DIGEST_LEN];
    int ok;

    if (!content || !cbor_isa_map(content) || !cbor_map_is_definite(content))
        return 0;
    len = cbor_serialize_alloc(content, &enc, &cap);
    ok = len && digest_buf(enc, len, mine) == 0 && !memcmp(mine, d, DIGEST_LEN);
    free(enc);
    return ok;
}

static int replay_one(const cbor_item_t *rec, size_t i, uint8_t pcrs[][DIGEST_LEN],
                      uint32_t *used)
{
    uint64_t recnum, pcr;
    const uint8_t *d;
    size_t dlen;

    if (!cbor_isa_map(rec) || ctl_get_uint(rec, "recnum", &recnum) ||
        ctl_get_uint(rec, "pcr", &pcr) || ctl_get_bytes(rec, "digest", &d, &dlen) ||
        recnum != i || pcr >= EVENTLOG_PCRS || dlen != DIGEST_LEN) {
        LOG_ERROR("event log: record %zu is malformed", i);
        return -EBADMSG;
    }
    if (!record_digest_ok(rec, d)) {
        LOG_ERROR("event log: record %zu: digest does not match its content", i);
        return -EBADMSG;
    }
    if (!(*used & (1u << pcr)))
        memset(pcrs[pcr], 0, DIGEST_LEN);
    *used |= 1u << pcr;
    return digest_extend(pcrs[pcr], d) < 0 ? -EBADMSG : 0;
}

int eventlog_replay(const cbor_item_t *records, uint8_t pcrs[EVENTLOG_PCRS][DIGEST_LEN],
                    uint32_t *used)
{
    size_t n;
    int r = 0;

    *used = 0;
    if (!records || !cbor_isa_array(records) || cbor_array_size(records) > EVENTLOG_MAX_RECORDS)
        return -EBADMSG;
    n = cbor_array_size(records);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = replay_one(cbor_array_handle(records)[i], i, pcrs, used);
    return r;
}
