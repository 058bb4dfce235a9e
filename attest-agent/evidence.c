/* SPDX-License-Identifier: BSD-3-Clause */
/* Evidence and registration messages: built and parsed with libcbor through lib/ctlproto. */
#include "evidence.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cborenc.h"
#include "ctlproto.h"
#include "log.h"
#include "secmem.h"

static cbor_item_t *pcr_map(const struct vtpm_quote *q)
{
    cbor_item_t *m = cbor_new_definite_map(VTPM_QUOTE_PCRS);

    for (int i = 0; m && i < VTPM_QUOTE_PCRS; i++) {
        struct cbor_pair p = { .key = cb_uint(8u + (unsigned)i),
                               .value = cbor_build_bytestring(q->pcrs[i], DIGEST_LEN) };
        int ok = p.key && p.value && cbor_map_add(m, p);
        if (p.key)
            cbor_decref(&p.key);
        if (p.value)
            cbor_decref(&p.value);
        if (!ok)
            cbor_decref(&m);
    }
    return m;
}

static int put_common(cbor_item_t *m, const struct evidence *e)
{
    return cb_put_uint(m, "v", EVIDENCE_VERSION) || ctl_put_str(m, "vtpm_uuid", e->vtpm_uuid) ||
           ctl_put_bytes(m, "ek_cert", e->ek_cert.p, e->ek_cert.len) ||
           ctl_put_bytes(m, "ak_pub", e->ak_pub.p, e->ak_pub.len) ||
           ctl_put_item(m, "host_chain", cbor_incref((cbor_item_t *)e->host_chain));
}

static int finish(cbor_item_t *m, int failed, uint8_t **out, size_t *len)
{
    int r = failed ? -ENOMEM : cb_encode(m, out, len);

    if (m)
        cbor_decref(&m);
    return r;
}

/* The verifier refuses larger bodies (413): say why here, where the sizes are known. */
static int check_size(int r, uint8_t **out, size_t *len)
{
    if (r < 0 || *len <= EVIDENCE_MAX_SIZE)
        return r;
    LOG_ERROR("evidence of %zu bytes is over the verifier's limit of %u bytes (the host's UEFI "
              "log and kmod-vtpm list are part of it: see --uefi-log, --kmod-log, "
              "--no-host-evidence)", *len, EVIDENCE_MAX_SIZE);
    free(*out);
    *out = NULL;
    return -EMSGSIZE;
}

static int put_host(cbor_item_t *m, const struct evidence *e)
{
    return e->host && ctl_put_item(m, "host", cbor_incref((cbor_item_t *)e->host));
}

int evidence_encode(const struct evidence *e, uint8_t **out, size_t *len)
{
    cbor_item_t *m;
    int bad;

    if (e->host && e->node)
        return -EINVAL;
    m = ctl_map_new();
    bad = !m;
    bad = bad || put_common(m, e) || ctl_put_str(m, "container_id", e->container_id) ||
          ctl_put_bytes(m, "nonce", e->nonce.p, e->nonce.len) ||
          ctl_put_bytes(m, "quote_attest", e->quote->attest, e->quote->attest_len) ||
          ctl_put_bytes(m, "quote_sig", e->quote->sig, e->quote->sig_len) ||
          ctl_put_item(m, "pcrs", pcr_map(e->quote)) ||
          ctl_put_item(m, "event_log", cbor_incref(e->log->records)) ||
          (e->registration && ctl_put_str(m, "registration", e->registration)) ||
          put_host(m, e) || (e->node && ctl_put_str(m, "node", e->node)) ||
          (e->manifest.len &&
           ctl_put_bytes(m, "rootfs_manifest", e->manifest.p, e->manifest.len));
    return check_size(finish(m, bad, out, len), out, len);
}

int host_evidence_encode(const struct evidence *e, uint8_t **out, size_t *len)
{
    cbor_item_t *m = ctl_map_new();
    int bad = !m || !e->host;

    bad = bad || cb_put_uint(m, "v", EVIDENCE_VERSION) ||
          ctl_put_bytes(m, "nonce", e->nonce.p, e->nonce.len) ||
          ctl_put_item(m, "host_chain", cbor_incref((cbor_item_t *)e->host_chain)) ||
          put_host(m, e);
    return check_size(finish(m, bad, out, len), out, len);
}

int register_request_encode(const struct evidence *e, uint8_t **out, size_t *len)
{
    cbor_item_t *m = ctl_map_new();

    return finish(m, !m || put_common(m, e), out, len);
}

int activate_request_encode(const char *registration, const uint8_t *cred, size_t cred_len,
                            uint8_t **out, size_t *len)
{
    cbor_item_t *m = ctl_map_new();

    return finish(m, !m || cb_put_uint(m, "v", EVIDENCE_VERSION) ||
                  ctl_put_str(m, "registration", registration) ||
                  ctl_put_bytes(m, "credential", cred, cred_len), out, len);
}

static int dup_bytes(const cbor_item_t *m, const char *k, uint8_t **out, size_t *len)
{
    const uint8_t *p;

    if (ctl_get_bytes(m, k, &p, len) || *len == 0)
        return -EBADMSG;
    *out = malloc(*len);
    if (!*out)
        return -ENOMEM;
    memcpy(*out, p, *len);
    return 0;
}

static int check_version(const cbor_item_t *m)
{
    uint64_t v = 0;

    return ctl_get_uint(m, "v", &v) || v != EVIDENCE_VERSION ? -EBADMSG : 0;
}

int register_reply_parse(const uint8_t *buf, size_t len, struct reg_challenge *c)
{
    cbor_item_t *m = NULL;
    int r;

    memset(c, 0, sizeof(*c));
    r = ctl_decode(buf, len, &m);
    if (r == 0)
        r = check_version(m);
    if (r == 0 && ctl_get_str(m, "registration", c->registration, sizeof(c->registration)))
        r = -EBADMSG;
    if (r == 0)
        r = dup_bytes(m, "credential_blob", &c->blob, &c->blob_len);
    if (r == 0)
        r = dup_bytes(m, "secret", &c->secret, &c->secret_len);
    if (m)
        cbor_decref(&m);
    if (r < 0) {
        LOG_ERROR("verifier: malformed registration reply");
        reg_challenge_free(c);
    }
    return r;
}

void reg_challenge_free(struct reg_challenge *c)
{
    secure_free(c->blob, c->blob_len);
    secure_free(c->secret, c->secret_len);
    memset(c, 0, sizeof(*c));
}

int activate_reply_parse(const uint8_t *buf, size_t len)
{
    cbor_item_t *m = NULL;
    int ok = 0, r = ctl_decode(buf, len, &m);

    if (r == 0)
        r = check_version(m);
    if (r == 0 && ctl_get_bool(m, "ok", &ok))
        r = -EBADMSG;
    if (m)
        cbor_decref(&m);
    if (r < 0)
        LOG_ERROR("verifier: malformed activation reply");
    return r < 0 ? r : ok ? 0 : -EACCES;
}

enum verdict_kind verdict_reply_parse(const uint8_t *buf, size_t len, long status)
{
    json_t *j = buf ? json_loadb((const char *)buf, len, 0, NULL) : NULL;
    const char *v = json_string_value(json_object_get(j, "verdict"));
    enum verdict_kind k = VERDICT_UNKNOWN;

    if (v && !strcmp(v, "allow") && status == 200)
        k = VERDICT_ALLOW;
    else if (v && !strcmp(v, "deny"))
        k = VERDICT_DENY;
    else if (v && !strcmp(v, "refused"))
        k = VERDICT_REFUSED;
    json_decref(j);
    return k;
}
