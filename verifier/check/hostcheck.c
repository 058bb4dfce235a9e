/* SPDX-License-Identifier: BSD-3-Clause */
/* Checks of the host part of evidence: the host quote, UEFI log replay and reference values,
 * and the kmod-vtpm list (replay, and the container's vTPM created on this host's kernel). */
#include "check/hostcheck.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "check/kmodlist.h"
#include "check/quote.h"
#include "tpmtemplates.h"
#include "boot/uefilog.h"
#include "vtpm_ipc.h"

#define ERR_MAX 96

static uint32_t quoted_mask(const struct host_evidence *h)
{
    uint32_t m = 0;

    for (size_t i = 0; i < h->npcrs; i++)
        m |= 1u << h->pcrs[i].index;
    return m;
}

static const uint8_t *quoted_value(const struct host_evidence *h, uint32_t pcr)
{
    for (size_t i = 0; i < h->npcrs; i++)
        if (h->pcrs[i].index == pcr)
            return h->pcrs[i].value;
    return NULL;
}

static void check_quote(const struct evidence *ev, uint32_t need, struct reasons *r)
{
    struct quote_input in = {
        .attest = ev->host.quote_attest, .sig = ev->host.quote_sig, .nonce = ev->nonce,
        .pcrs = ev->host.pcrs, .npcrs = ev->host.npcrs, .prefix = "host-",
    };
    struct quote_info qi;
    uint32_t missing = need & ~quoted_mask(&ev->host);

    if (vf_evidence_chain_file(ev, "host-ak.pub", &in.ak_pub) < 0) {
        reasons_add(r, "host-chain-malformed", "host-ak.pub");
        return;
    }
    quote_verify(&in, &qi, r);
    for (uint32_t i = 0; i < 24; i++)
        if (missing & (1u << i))
            reasons_add(r, "host-quote-pcr-missing", "pcr %u", i);
}

/* Every quoted boot PCR (not the kmod PCR) must equal the log's replay. */
static void check_replay(const struct host_evidence *h, const struct uefi_log *log,
                         uint32_t boot_mask, struct reasons *r)
{
    uint8_t pcr[24][32];
    uint32_t touched = 0;

    uefilog_replay_sha256(log, pcr, &touched);
    for (uint32_t i = 0; i < 24; i++) {
        const uint8_t *q = (boot_mask & (1u << i)) ? quoted_value(h, i) : NULL;
        if (q && memcmp(q, pcr[i], 32))
            reasons_add(r, "host-eventlog-replay-mismatch", "pcr %u", i);
    }
}

static void check_uefi(const struct host_evidence *h, const struct boot_policy *bp,
                       uint32_t boot_mask, struct reasons *r)
{
    struct uefi_log log;
    char err[ERR_MAX] = "";

    if (!h->uefi_log.len) {
        if (bp)
            reasons_add(r, "host-eventlog-missing", NULL);
        return;
    }
    if (uefilog_parse(h->uefi_log.p, h->uefi_log.len, &log, err, sizeof(err)) < 0) {
        reasons_add(r, "host-eventlog-malformed", "%s", err);
        uefilog_free(&log);
        return;
    }
    check_replay(h, &log, boot_mask, r);
    if (bp)
        bootpolicy_check(bp, &log, r);
    uefilog_free(&log);
}

/* The vTPM of container evidence must have been created by kmod-vtpm on this host: its
 * create line (with the EK digest) lies within the quoted part of the list. */
static void check_vtpm_listed(const struct evidence *ev, const struct kmod_replay *kr,
                              struct reasons *r)
{
    uint8_t ek[32];
    char uuid[sizeof(ev->vtpm_uuid)];

    for (size_t i = 0; i < sizeof(uuid); i++)
        uuid[i] = (char)(ev->vtpm_uuid[i] >= 'A' && ev->vtpm_uuid[i] <= 'F' ?
                         ev->vtpm_uuid[i] + 32 : ev->vtpm_uuid[i]);
    if (host_ek_public_digest(ev->ek_cert.p, ev->ek_cert.len, ek) < 0)
        reasons_add(r, "host-kmod-vtpm-not-listed", "EK is not a TCG default-template key");
    else if (!kmodlist_has_vtpm(ev->host.kmod_log.p, ev->host.kmod_log.len, kr->matched, uuid, ek))
        reasons_add(r, "host-kmod-vtpm-not-listed", "vTPM %s", ev->vtpm_uuid);
}

static void check_kmod(const struct evidence *ev, const struct boot_policy *bp, uint32_t pcr,
                       struct reasons *r)
{
    const struct host_evidence *h = &ev->host;
    const uint8_t *q = quoted_value(h, pcr);
    int need_vtpm = bp && bootpolicy_require_kmod(bp) && ev->ek_cert.len;
    struct kmod_replay kr;
    char err[ERR_MAX] = "";

    if (!h->kmod_log.len) {
        if (need_vtpm)
            reasons_add(r, "host-kmod-list-missing", NULL);
        return;
    }
    if (kmodlist_replay(h->kmod_log.p, h->kmod_log.len, q, &kr, err, sizeof(err)) < 0) {
        reasons_add(r, "host-kmod-list-malformed", "%s", err);
        return;
    }
    if (kr.pcr != pcr)
        reasons_add(r, "host-kmod-list-malformed", "list extends pcr %u, expected %u", kr.pcr, pcr);
    else if (q && !kr.matched)
        reasons_add(r, "host-kmod-replay-mismatch", "pcr %u", pcr);
    else if (need_vtpm)
        check_vtpm_listed(ev, &kr, r);
}

void host_check(const struct evidence *ev, const struct boot_policy *bp, struct reasons *r)
{
    uint32_t need = bp ? bootpolicy_pcrs(bp) : HOSTCHECK_DEFAULT_PCRS;
    uint32_t kpcr = bp ? bootpolicy_kmod_pcr(bp) : HOSTCHECK_DEFAULT_KMOD_PCR;

    if (!ev->host.present) {
        /* Node-mode evidence stands on its node's verdict instead (checked by the service). */
        if (bp && !ev->node[0])
            reasons_add(r, "host-evidence-missing", NULL);
        return;
    }
    check_quote(ev, need, r);
    check_uefi(&ev->host, bp, need & ~(1u << kpcr), r);
    check_kmod(ev, bp, kpcr, r);
}

static int ek_unique(EVP_PKEY *key, TPMT_PUBLIC *p)
{
    BIGNUM *n = NULL, *x = NULL, *y = NULL;
    int r = -EINVAL;

    if (p->type == TPM2_ALG_RSA && EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) &&
        BN_num_bytes(n) == 256) {
        p->unique.rsa.size = 256;
        r = BN_bn2binpad(n, p->unique.rsa.buffer, 256) == 256 ? 0 : -EINVAL;
    } else if (p->type == TPM2_ALG_ECC &&
               EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) &&
               EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y)) {
        p->unique.ecc.x.size = p->unique.ecc.y.size = 32;
        r = BN_bn2binpad(x, p->unique.ecc.x.buffer, 32) == 32 &&
            BN_bn2binpad(y, p->unique.ecc.y.buffer, 32) == 32 ? 0 : -EINVAL;
    }
    BN_free(n);
    BN_free(x);
    BN_free(y);
    return r;
}

int host_ek_public_digest(const uint8_t *der, size_t len, uint8_t out[32])
{
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    EVP_PKEY *key = x ? X509_get0_pubkey(x) : NULL;
    TPM2B_PUBLIC t;
    uint8_t buf[sizeof(TPMT_PUBLIC)];
    size_t off = 0;
    int r = -EINVAL;

    if (!key || p != der + len)
        goto out;
    if (tcg_ek_template(EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? VTPM_EK_RSA_2048 :
                        VTPM_EK_ECC_P256, &t) < 0 || ek_unique(key, &t.publicArea) < 0)
        goto out;
    if (Tss2_MU_TPMT_PUBLIC_Marshal(&t.publicArea, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        goto out;
    SHA256(buf, off, out);
    r = 0;
out:
    X509_free(x);
    return r;
}
