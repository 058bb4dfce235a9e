/* SPDX-License-Identifier: BSD-3-Clause */
/* Container evidence (docs/evidence.md): strict CBOR parsing into borrowed views. */
#include "check/evidence.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cborutil.h"
#include "ctlproto.h"

static const char *const known_keys[] = {
    "v", "container_id", "vtpm_uuid", "nonce", "ak_pub", "quote_attest", "quote_sig", "pcrs",
    "event_log", "ek_cert", "host_chain", "registration", "host", "node", "rootfs_manifest",
};
static const char *const host_only_keys[] = { "v", "nonce", "host_chain", "host" };
static const char *const host_keys[] = {
    "node", "quote_attest", "quote_sig", "pcrs", "uefi_log", "kmod_log",
};

static int key_in(const cbor_item_t *k, const char *const *keys, size_t n)
{
    if (!cbor_isa_string(k) || !cbor_string_is_definite(k))
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(keys[i]);
        if (cbor_string_length(k) == kl && !memcmp(cbor_string_handle(k), keys[i], kl))
            return 1;
    }
    return 0;
}

#define KEYS_KNOWN(m, keys) keys_known(m, keys, sizeof(keys) / sizeof(keys[0]))
static int keys_known(const cbor_item_t *m, const char *const *keys, size_t n)
{
    struct cbor_pair *p = cbor_map_handle(m);

    for (size_t i = 0; i < cbor_map_size(m); i++)
        if (!key_in(p[i].key, keys, n))
            return 0;
    return 1;
}

int vf_evidence_bytes(const cbor_item_t *m, const char *k, struct bytes *out)
{
    return cbu_get_bytes(m, k, &out->p, &out->len);
}

static int fail(char *err, size_t errsz, const char *what)
{
    snprintf(err, errsz, "%s", what);
    return -EBADMSG;
}

static int insert_pcr(struct evidence_pcr *pcrs, size_t *n, uint64_t idx, const cbor_item_t *v)
{
    size_t i;

    if (idx >= EVIDENCE_MAX_PCRS || *n >= EVIDENCE_MAX_PCRS || !cbor_isa_bytestring(v) ||
        !cbor_bytestring_is_definite(v) || cbor_bytestring_length(v) != 32)
        return -1;
    for (i = *n; i > 0 && pcrs[i - 1].index >= idx; i--) {
        if (pcrs[i - 1].index == idx)
            return -1;
        pcrs[i] = pcrs[i - 1];
    }
    pcrs[i].index = (uint32_t)idx;
    pcrs[i].value = cbor_bytestring_handle(v);
    (*n)++;
    return 0;
}

/* A map uint -> bytes(32), sorted into pcrs; duplicates and indexes > 23 are errors. */
static int parse_pcrs(struct evidence_pcr *pcrs, size_t *n, const cbor_item_t *m)
{
    struct cbor_pair *p;

    if (!m || !cbor_isa_map(m) || !cbor_map_is_definite(m) || cbor_map_size(m) == 0)
        return -1;
    p = cbor_map_handle(m);
    for (size_t i = 0; i < cbor_map_size(m); i++) {
        if (!cbor_isa_uint(p[i].key) || insert_pcr(pcrs, n, cbor_get_int(p[i].key), p[i].value) < 0)
            return -1;
    }
    return 0;
}

static int parse_chain(const cbor_item_t *m)
{
    struct cbor_pair *p;

    if (!m || !cbor_isa_map(m) || !cbor_map_is_definite(m))
        return -1;
    p = cbor_map_handle(m);
    for (size_t i = 0; i < cbor_map_size(m); i++)
        if (!cbor_isa_string(p[i].key) || !cbor_string_is_definite(p[i].key) ||
            !cbor_isa_bytestring(p[i].value) || !cbor_bytestring_is_definite(p[i].value))
            return -1;
    return 0;
}

static int parse_ids(const cbor_item_t *m, struct evidence *ev, char *err, size_t errsz)
{
    uint64_t v;
    int r;

    if (ctl_get_uint(m, "v", &v) < 0 || v != EVIDENCE_VERSION)
        return fail(err, errsz, "v");
    if (ctl_get_str(m, "container_id", ev->container_id, sizeof(ev->container_id)) < 0 ||
        !ev->container_id[0])
        return fail(err, errsz, "container_id");
    if (ctl_get_str(m, "vtpm_uuid", ev->vtpm_uuid, sizeof(ev->vtpm_uuid)) < 0 || !ev->vtpm_uuid[0])
        return fail(err, errsz, "vtpm_uuid");
    r = ctl_get_str(m, "registration", ev->registration, sizeof(ev->registration));
    if (r < 0 && r != -ENOENT)
        return fail(err, errsz, "registration");
    return 0;
}

static int parse_blobs(const cbor_item_t *m, struct evidence *ev, char *err, size_t errsz)
{
    if (vf_evidence_bytes(m, "nonce", &ev->nonce) < 0 || ev->nonce.len < EVIDENCE_NONCE_MIN ||
        ev->nonce.len > EVIDENCE_NONCE_MAX)
        return fail(err, errsz, "nonce");
    if (vf_evidence_bytes(m, "ak_pub", &ev->ak_pub) < 0)
        return fail(err, errsz, "ak_pub");
    if (vf_evidence_bytes(m, "quote_attest", &ev->quote_attest) < 0)
        return fail(err, errsz, "quote_attest");
    if (vf_evidence_bytes(m, "quote_sig", &ev->quote_sig) < 0)
        return fail(err, errsz, "quote_sig");
    if (vf_evidence_bytes(m, "ek_cert", &ev->ek_cert) < 0)
        return fail(err, errsz, "ek_cert");
    /* runtime integrity (docs/runtime-integrity.md): optional, checked by runtime.c */
    if (ctl_get(m, "rootfs_manifest") &&
        vf_evidence_bytes(m, "rootfs_manifest", &ev->rootfs_manifest) < 0)
        return fail(err, errsz, "rootfs_manifest");
    return 0;
}

/* Node names are Kubernetes node names (DNS-1123 subdomain characters). */
static int node_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > EVIDENCE_NODE_MAX - 1 || s[0] == '.' || s[0] == '-')
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n;
}

/* An optional byte string: absent is fine (len 0), any other type or an empty one is not. */
static int optional_bytes(const cbor_item_t *m, const char *k, struct bytes *out)
{
    int r = vf_evidence_bytes(m, k, out);

    if (r == -ENOENT) {
        memset(out, 0, sizeof(*out));
        return 0;
    }
    return r < 0 || out->len > EVIDENCE_HOSTLOG_MAX ? -1 : 0;
}

int vf_host_parse(const cbor_item_t *m, struct host_evidence *h, char *err, size_t errsz)
{
    memset(h, 0, sizeof(*h));
    if (!m || !cbor_isa_map(m) || !cbor_map_is_definite(m))
        return fail(err, errsz, "host: not a map");
    if (!KEYS_KNOWN(m, host_keys))
        return fail(err, errsz, "host: unknown key");
    if (ctl_get_str(m, "node", h->node, sizeof(h->node)) < 0 || !node_ok(h->node))
        return fail(err, errsz, "host: node");
    if (vf_evidence_bytes(m, "quote_attest", &h->quote_attest) < 0)
        return fail(err, errsz, "host: quote_attest");
    if (vf_evidence_bytes(m, "quote_sig", &h->quote_sig) < 0)
        return fail(err, errsz, "host: quote_sig");
    if (parse_pcrs(h->pcrs, &h->npcrs, ctl_get(m, "pcrs")) < 0)
        return fail(err, errsz, "host: pcrs");
    if (optional_bytes(m, "uefi_log", &h->uefi_log) < 0)
        return fail(err, errsz, "host: uefi_log");
    if (optional_bytes(m, "kmod_log", &h->kmod_log) < 0)
        return fail(err, errsz, "host: kmod_log");
    h->present = 1;
    return 0;
}

static int parse_host_part(const cbor_item_t *m, struct evidence *ev, char *err, size_t errsz)
{
    const cbor_item_t *h = ctl_get(m, "host");

    return h ? vf_host_parse(h, &ev->host, err, errsz) : 0;
}

/* Node mode: a top-level node name instead of the host map; never both (which of the two
 * would the verdict stand on?). */
static int parse_node(const cbor_item_t *m, struct evidence *ev, char *err, size_t errsz)
{
    if (!ctl_get(m, "node"))
        return 0;
    if (ctl_get(m, "host"))
        return fail(err, errsz, "host and node are exclusive");
    if (ctl_get_str(m, "node", ev->node, sizeof(ev->node)) < 0 || !node_ok(ev->node))
        return fail(err, errsz, "node");
    return 0;
}

static int parse_parts(const cbor_item_t *m, struct evidence *ev, char *err, size_t errsz)
{
    if (!KEYS_KNOWN(m, known_keys))
        return fail(err, errsz, "unknown key");
    if (parse_ids(m, ev, err, errsz) < 0 || parse_blobs(m, ev, err, errsz) < 0)
        return -EBADMSG;
    if (parse_pcrs(ev->pcrs, &ev->npcrs, ctl_get(m, "pcrs")) < 0)
        return fail(err, errsz, "pcrs");
    ev->event_log = ctl_get(m, "event_log");
    if (!ev->event_log || !cbor_isa_array(ev->event_log) || !cbor_array_is_definite(ev->event_log))
        return fail(err, errsz, "event_log");
    ev->host_chain = ctl_get(m, "host_chain");
    if (parse_chain(ev->host_chain) < 0)
        return fail(err, errsz, "host_chain");
    if (parse_node(m, ev, err, errsz) < 0)
        return -EBADMSG;
    return parse_host_part(m, ev, err, errsz);
}

static int parse_host_only(const cbor_item_t *m, struct evidence *ev, char *err, size_t errsz)
{
    uint64_t v;

    if (!KEYS_KNOWN(m, host_only_keys))
        return fail(err, errsz, "unknown key");
    if (ctl_get_uint(m, "v", &v) < 0 || v != EVIDENCE_VERSION)
        return fail(err, errsz, "v");
    if (vf_evidence_bytes(m, "nonce", &ev->nonce) < 0 || ev->nonce.len < EVIDENCE_NONCE_MIN ||
        ev->nonce.len > EVIDENCE_NONCE_MAX)
        return fail(err, errsz, "nonce");
    ev->host_chain = ctl_get(m, "host_chain");
    if (parse_chain(ev->host_chain) < 0)
        return fail(err, errsz, "host_chain");
    if (!ctl_get(m, "host"))
        return fail(err, errsz, "host");
    return parse_host_part(m, ev, err, errsz);
}

int vf_host_evidence_parse(const uint8_t *buf, size_t len, struct evidence *ev, char *err,
                           size_t errsz)
{
    memset(ev, 0, sizeof(*ev));
    if (len > EVIDENCE_MAX_SIZE)
        return fail(err, errsz, "too large");
    if (ctl_decode(buf, len, &ev->root) < 0)
        return fail(err, errsz, "not a CBOR map");
    return parse_host_only(ev->root, ev, err, errsz);
}

int vf_evidence_parse(const uint8_t *buf, size_t len, struct evidence *ev, char *err, size_t errsz)
{
    memset(ev, 0, sizeof(*ev));
    if (len > EVIDENCE_MAX_SIZE)
        return fail(err, errsz, "too large");
    if (ctl_decode(buf, len, &ev->root) < 0)
        return fail(err, errsz, "not a CBOR map");
    return parse_parts(ev->root, ev, err, errsz);
}

void vf_evidence_free(struct evidence *ev)
{
    if (ev->root)
        cbor_decref(&ev->root);
    memset(ev, 0, sizeof(*ev));
}

const char *vf_evidence_node(const struct evidence *ev)
{
    return ev->host.present ? ev->host.node : ev->node;
}

int vf_evidence_chain_file(const struct evidence *ev, const char *name, struct bytes *out)
{
    return vf_evidence_bytes(ev->host_chain, name, out);
}
