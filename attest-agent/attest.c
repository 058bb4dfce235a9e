/* SPDX-License-Identifier: BSD-3-Clause */
/* The measure-extend-quote sequence against one vTPM, in one ESAPI context. */
#include "attest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "log.h"
#include "timing.h"

static int pcrs_fresh(struct attest *a)
{
    static const uint8_t zero[DIGEST_LEN];
    uint8_t pcrs[VTPM_QUOTE_PCRS][DIGEST_LEN];
    int r = vtpm_read_pcrs(a->tpm, pcrs);

    for (int i = 0; r == 0 && i < VTPM_QUOTE_PCRS; i++) {
        if (memcmp(pcrs[i], zero, DIGEST_LEN)) {
            LOG_ERROR("vTPM %s: PCR %d is already extended; a container needs a fresh vTPM",
                      a->vt.uuid, 8 + i);
            r = -EEXIST;
        }
    }
    return r;
}

int attest_open_known(struct attest *a, const struct mgr_client *mgr,
                      const struct mgr_vtpm *vt, int fresh)
{
    int r;

    memset(a, 0, sizeof(*a));
    a->mgr = *mgr;
    a->vt = *vt;
    if ((r = vtpm_open(a->vt.socket, &a->tpm)) < 0)
        return r;
    timing_mark("vtpm open");
    /* Before the AK: a used vTPM is refused without a change, not even a new key. */
    if (fresh && (r = pcrs_fresh(a)) < 0)
        return r;
    if ((r = vtpm_ensure_ak(a->tpm, &a->ak_created)) < 0)
        return r;
    timing_mark("EK, AK");
    if ((r = vtpm_ak_public(a->tpm, &a->ak_pub, &a->ak_pub_len)) < 0)
        return r;
    if ((r = mgr_ek_cert(mgr, a->vt.uuid, &a->ek_cert, &a->ek_cert_len)) < 0)
        return r;
    r = mgr_host_chain_for(mgr, a->vt.uuid, &a->host_chain);
    timing_mark("ek-cert, chain");
    return r;
}

int attest_open(struct attest *a, const struct mgr_client *mgr, const char *uuid)
{
    struct mgr_vtpm vt;
    int r;

    memset(a, 0, sizeof(*a));
    if ((r = mgr_info(mgr, uuid, &vt)) < 0) {
        LOG_ERROR("vTPM %s: not known to vtpm-mgr", uuid);
        return r;
    }
    timing_mark("vtpm info");
    return attest_open_known(a, mgr, &vt, 0);
}

void attest_close(struct attest *a)
{
    vtpm_quote_free(&a->quote);
    eventlog_free(&a->log);
    if (a->host_chain)
        cbor_decref(&a->host_chain);
    free(a->ek_cert);
    free(a->ak_pub);
    vtpm_close(a->tpm);
    memset(a, 0, sizeof(*a));
}

static int extend_record(struct attest *a, const cbor_item_t *rec)
{
    const uint8_t *d;
    size_t len;
    uint64_t pcr;

    if (ctl_get_uint(rec, "pcr", &pcr) || ctl_get_bytes(rec, "digest", &d, &len) ||
        len != DIGEST_LEN)
        return -EINVAL;
    return vtpm_extend(a->tpm, (unsigned)pcr, d);
}

int attest_extend(struct attest *a, const struct measurement *m)
{
    int r = pcrs_fresh(a);

    if (r == 0)
        r = measure_eventlog(m, &a->log);
    for (size_t i = 0; r == 0 && i < a->log.count; i++)
        r = extend_record(a, cbor_array_handle(a->log.records)[i]);
    return r;
}

void attest_identity(const struct attest *a, struct evidence *e)
{
    memset(e, 0, sizeof(*e));
    e->vtpm_uuid = a->vt.uuid;
    e->ak_pub = (struct bytes){ a->ak_pub, a->ak_pub_len };
    e->ek_cert = (struct bytes){ a->ek_cert, a->ek_cert_len };
    e->host_chain = a->host_chain;
}

int attest_quote(struct attest *a, const char *container_id, const uint8_t *nonce,
                 size_t nonce_len, struct evidence *e)
{
    int r;

    vtpm_quote_free(&a->quote);
    if ((r = vtpm_quote(a->tpm, nonce, nonce_len, &a->quote)) < 0)
        return r;
    attest_identity(a, e);
    e->container_id = container_id;
    e->nonce = (struct bytes){ nonce, nonce_len };
    e->quote = &a->quote;
    e->log = &a->log;
    return 0;
}
