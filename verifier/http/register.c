/* SPDX-License-Identifier: BSD-3-Clause */
/* AK registration by credential activation (docs/evidence.md): POST /v1/register and
 * POST /v1/register/activate. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "http/api.h"
#include "check/chain.h"
#include "cborutil.h"
#include "ctlproto.h"
#include "check/evidence.h"
#include "hexutil.h"
#include "log.h"
#include "check/makecred.h"
#include "check/tpmobj.h"

#define REG_ID_BYTES    16u
#define CREDENTIAL_SIZE 32u
#define REG_MAX_BODY    (256u * 1024u)

struct reg_req {
    cbor_item_t *root;
    char vtpm_uuid[64];
    struct bytes ek_cert, ak_pub;
    const cbor_item_t *host_chain;
};

static int parse_reg(const uint8_t *body, size_t len, struct reg_req *q)
{
    uint64_t v;

    memset(q, 0, sizeof(*q));
    if (len > REG_MAX_BODY || ctl_decode(body, len, &q->root) < 0)
        return -EBADMSG;
    q->host_chain = ctl_get(q->root, "host_chain");
    if (ctl_get_uint(q->root, "v", &v) < 0 || v != 1 ||
        ctl_get_str(q->root, "vtpm_uuid", q->vtpm_uuid, sizeof(q->vtpm_uuid)) < 0 ||
        vf_evidence_bytes(q->root, "ek_cert", &q->ek_cert) < 0 ||
        vf_evidence_bytes(q->root, "ak_pub", &q->ak_pub) < 0 || !cbu_map_strict(q->host_chain, 64))
        return -EBADMSG;
    return 0;
}

/* The AK's name, when ak_pub is a well-formed AK. */
static int ak_name(const struct bytes *ak, uint8_t name[TPM_NAME_MAX], size_t *nlen)
{
    TPM2B_PUBLIC pub;

    if (tpm_public_parse(ak->p, ak->len, &pub) < 0 || !tpm_public_is_ak(&pub.publicArea))
        return -EINVAL;
    return tpm_public_name(&pub.publicArea, name, nlen);
}

static void reg_refused(struct api_ctx *c, const char *uuid, struct reasons *r,
                        struct api_reply *rep)
{
    json_t *rj = reasons_json(r);
    char *rs = rj ? json_dumps(rj, JSON_COMPACT) : NULL;

    store_audit(c->st, time(NULL), "register", uuid, "refused", rs ? rs : "[]");
    free(rs);
    api_json(rep, 403, json_pack("{s:s, s:o*}", "error", "registration refused", "reasons", rj));
}

static int reply_cbor(struct api_reply *rep, const char *id, const struct credential *cr)
{
    cbor_item_t *m = ctl_map_new();
    int r = -ENOMEM;

    if (m && !ctl_put_uint(m, "v", 1) && !ctl_put_str(m, "registration", id) &&
        !ctl_put_bytes(m, "credential_blob", cr->id_object, cr->id_len) &&
        !ctl_put_bytes(m, "secret", cr->secret, cr->secret_len))
        r = ctl_serialize(m, &rep->body, &rep->len);
    if (m)
        cbor_decref(&m);
    if (r == 0) {
        rep->status = 200;
        rep->ctype = "application/cbor";
    }
    return r;
}

/* One pending registration: who (a vTPM UUID or "host:<EK cert hash>"), the AK, the EK cert. */
struct reg_subject {
    const char *subject;
    struct bytes ak_pub, ek_cert;
};

static int new_registration(struct api_ctx *c, const struct reg_subject *q, EVP_PKEY *ek,
                            const uint8_t *name, size_t nlen, struct api_reply *rep)
{
    uint8_t idb[REG_ID_BYTES], cred[CREDENTIAL_SIZE];
    struct credential cr;
    struct reg_row row = { 0 };
    int r = -EIO;

    if (RAND_bytes(idb, sizeof(idb)) != 1 || RAND_bytes(cred, sizeof(cred)) != 1)
        goto out;
    hex_encode(idb, sizeof(idb), row.id);
    if ((r = makecred(ek, name, nlen, cred, sizeof(cred), &cr)) < 0)
        goto out;
    snprintf(row.vtpm_uuid, sizeof(row.vtpm_uuid), "%s", q->subject);
    row.ak_pub = (uint8_t *)q->ak_pub.p;
    row.ak_pub_len = q->ak_pub.len;
    row.ek_cert = (uint8_t *)q->ek_cert.p;
    row.ek_cert_len = q->ek_cert.len;
    row.credential = cred;
    row.credential_len = sizeof(cred);
    row.created = time(NULL);
    row.state = REG_PENDING;
    if ((r = store_reg_add(c->st, &row)) == 0)
        r = reply_cbor(rep, row.id, &cr);
    if (r == 0)
        store_audit(c->st, row.created, "register", q->subject, "pending", row.id);
out:
    explicit_bzero(cred, sizeof(cred));
    explicit_bzero(&cr, sizeof(cr));
    return r;
}

void api_register(struct api_ctx *c, const uint8_t *body, size_t len, struct api_reply *rep)
{
    struct reg_req q;
    struct reasons r = { 0 };
    struct chain_input ci;
    EVP_PKEY *ek = NULL;
    uint8_t name[TPM_NAME_MAX];
    size_t nlen = 0;

    if (parse_reg(body, len, &q) < 0) {
        api_error(rep, 400, "malformed registration request");
        goto out;
    }
    ci = (struct chain_input){ .ek_cert = q.ek_cert, .host_chain = q.host_chain,
                               .vtpm_uuid = q.vtpm_uuid, .registering = 1 };
    if (ak_name(&q.ak_pub, name, &nlen) < 0)
        reasons_add(&r, "ak-attributes", NULL);
    chain_check(&ci, c->trust, &r, &ek);
    if (reasons_deny(&r) || !ek) {
        reg_refused(c, q.vtpm_uuid, &r, rep);
        goto out;
    }
    if (new_registration(c, &(struct reg_subject){ q.vtpm_uuid, q.ak_pub, q.ek_cert }, ek, name,
                         nlen, rep) < 0)
        api_error(rep, 500, "could not make a credential");
    else
        c->m.registrations++;
out:
    EVP_PKEY_free(ek);
    reasons_free(&r);
    if (q.root)
        cbor_decref(&q.root);
}

static int reply_registered(struct api_reply *rep)
{
    cbor_item_t *m = ctl_map_new();
    int r = -ENOMEM;

    if (m && !ctl_put_uint(m, "v", 1) && !ctl_put_bool(m, "registered", 1))
        r = ctl_serialize(m, &rep->body, &rep->len);
    if (m)
        cbor_decref(&m);
    rep->status = 200;
    rep->ctype = "application/cbor";
    return r;
}

static int host_ek_der(const cbor_item_t *chain, struct bytes *der, uint8_t **buf)
{
    struct bytes pem;
    BIO *b;
    X509 *x = NULL;
    int len;

    *buf = NULL;
    if (vf_evidence_bytes(chain, "host-ek.pem", &pem) < 0 || pem.len > INT32_MAX ||
        !(b = BIO_new_mem_buf(pem.p, (int)pem.len)))
        return -EINVAL;
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    len = x ? i2d_X509(x, buf) : -1;
    X509_free(x);
    if (len <= 0)
        return -EINVAL;
    der->p = *buf;
    der->len = (size_t)len;
    return 0;
}

/*
 * POST /v1/hosts/register {v, host_chain}: proves the host AK that certifies vTPM-CA keys
 * lives in the TPM of the trusted host EK (credential activation through vtpm-mgr's
 * host-activate). Answers a challenge like /v1/register, or {v, registered: true} when this
 * host's AK is already activated. Activation: POST /v1/register/activate.
 */
static void host_register(struct api_ctx *c, const cbor_item_t *chain, struct api_reply *rep)
{
    struct reasons r = { 0 };
    struct reg_subject q = { 0 };
    char subject[CHAIN_SUBJECT_MAX];
    uint8_t name[TPM_NAME_MAX], *der = NULL;
    size_t nlen = 0;
    EVP_PKEY *ek = NULL;

    chain_host_identity(chain, c->trust, &r, &ek, &q.ak_pub, name, &nlen, subject);
    if (reasons_deny(&r) || !ek || host_ek_der(chain, &q.ek_cert, &der) < 0) {
        reg_refused(c, "host", &r, rep);
        goto out;
    }
    q.subject = subject;
    if (store_reg_active(c->st, subject, q.ak_pub.p, q.ak_pub.len) == 0) {
        if (reply_registered(rep) < 0)
            api_error(rep, 500, "memory");
    } else if (new_registration(c, &q, ek, name, nlen, rep) < 0) {
        api_error(rep, 500, "could not make a credential");
    }
out:
    OPENSSL_free(der);
    EVP_PKEY_free(ek);
    reasons_free(&r);
}

void api_host_register(struct api_ctx *c, const uint8_t *body, size_t len,
                       struct api_reply *rep)
{
    cbor_item_t *root = NULL;
    const cbor_item_t *chain;
    uint64_t v;

    if (len > REG_MAX_BODY || ctl_decode(body, len, &root) < 0 ||
        ctl_get_uint(root, "v", &v) < 0 || v != 1 ||
        !cbu_map_strict(chain = ctl_get(root, "host_chain"), 64))
        api_error(rep, 400, "malformed host registration request");
    else
        host_register(c, chain, rep);
    if (root)
        cbor_decref(&root);
}

static int reply_ok(struct api_reply *rep)
{
    cbor_item_t *m = ctl_ok();
    int r = m ? ctl_serialize(m, &rep->body, &rep->len) : -ENOMEM;

    if (m)
        cbor_decref(&m);
    rep->status = 200;
    rep->ctype = "application/cbor";
    return r;
}

/* One attempt per registration: a wrong credential ends it (the secret is wiped either way). */
static void activate(struct api_ctx *c, const char *id, const struct bytes *cred,
                     struct api_reply *rep)
{
    struct reg_row reg;
    int ok, r;

    if (store_reg_get(c->st, id, &reg) < 0 || reg.state != REG_PENDING) {
        api_error(rep, 404, "no pending registration with this id");
        return;
    }
    ok = reg.credential && reg.credential_len == cred->len &&
         CRYPTO_memcmp(reg.credential, cred->p, cred->len) == 0;
    r = store_reg_finish(c->st, id, ok ? REG_ACTIVE : REG_FAILED);
    if (r == -EALREADY) { /* another instance finished it between the get and here */
        api_error(rep, 404, "no pending registration with this id");
        store_reg_free(&reg);
        return;
    }
    if (r < 0) {
        api_error(rep, 500, "database");
    } else if (ok) {
        c->m.activations++;
        if (reply_ok(rep) < 0)
            api_error(rep, 500, "memory");
    } else {
        c->m.activation_failures++;
        api_error(rep, 403, "credential-mismatch");
    }
    store_audit(c->st, time(NULL), "activate", reg.vtpm_uuid, ok ? "active" : "failed", id);
    LOG_INFO("registration %s for vTPM %s: %s", id, reg.vtpm_uuid, ok ? "active" : "failed");
    store_reg_free(&reg);
}

void api_activate(struct api_ctx *c, const uint8_t *body, size_t len, struct api_reply *rep)
{
    cbor_item_t *root = NULL;
    char id[STORE_ID_MAX];
    struct bytes cred;
    uint64_t v;

    if (len > REG_MAX_BODY || ctl_decode(body, len, &root) < 0 ||
        ctl_get_uint(root, "v", &v) < 0 || v != 1 ||
        ctl_get_str(root, "registration", id, sizeof(id)) < 0 ||
        vf_evidence_bytes(root, "credential", &cred) < 0)
        api_error(rep, 400, "malformed activation request");
    else
        activate(c, id, &cred, rep);
    if (root)
        cbor_decref(&root);
}
