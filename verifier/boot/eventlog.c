/* SPDX-License-Identifier: BSD-3-Clause */
/* The container event log (docs/evidence.md): record checks, PCR replay, measured values. */
#include "boot/eventlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cborutil.h"
#include "check/tpmobj.h"
#include "ctlproto.h"

#define MAX_KEY 64u

struct rec {
    uint64_t recnum, pcr;
    const uint8_t *digest;
    const cbor_item_t *content;
    char type[32];
};

static void extend(uint8_t pcr[32], const uint8_t digest[32])
{
    uint8_t buf[64];

    memcpy(buf, pcr, 32);
    memcpy(buf + 32, digest, 32);
    tpm_sha256(buf, sizeof(buf), pcr);
}

/* Structure of one record; 0 or -1 with *why set. */
static int rec_parse(const cbor_item_t *it, struct rec *rc, const char **why)
{
    size_t dl;

    *why = "record is not a map of recnum, pcr, digest, content";
    if (!cbu_map_strict(it, MAX_KEY) || cbor_map_size(it) != 4)
        return -1;
    if (ctl_get_uint(it, "recnum", &rc->recnum) < 0 || ctl_get_uint(it, "pcr", &rc->pcr) < 0 ||
        cbu_get_bytes(it, "digest", &rc->digest, &dl) < 0)
        return -1;
    *why = "digest is not 32 bytes";
    if (dl != 32)
        return -1;
    *why = "pcr out of range";
    if (rc->pcr >= EVIDENCE_MAX_PCRS)
        return -1;
    rc->content = ctl_get(it, "content");
    *why = "content is not a map with a text type";
    if (!cbu_map_strict(rc->content, MAX_KEY) ||
        ctl_get_str(rc->content, "type", rc->type, sizeof(rc->type)) < 0)
        return -1;
    return 0;
}

/* The record's digest is the SHA-256 of its content's encoding: serialized into a buffer on
 * the stack when it fits (libcbor 0.8's cbor_serialize_alloc serializes again for every
 * doubling of its buffer from 32 bytes), else by cbu_encode. */
static int content_digest_ok(const struct rec *rc)
{
    uint8_t stack[4096], *enc = stack, md[32];
    size_t len = cbor_serialize(rc->content, stack, sizeof(stack));
    int ok;

    if (len == 0 && cbu_encode(rc->content, &enc, &len) < 0)
        return -ENOMEM;
    ok = tpm_sha256(enc, len, md) == 0 && memcmp(md, rc->digest, 32) == 0;
    if (enc != stack)
        free(enc);
    return ok;
}

static int expected_pcr(const char *type)
{
    if (!strcmp(type, "image") || !strcmp(type, "rootfs"))
        return 8;
    if (!strcmp(type, "runtime") || !strcmp(type, "agent"))
        return 9;
    if (!strcmp(type, "launch-config"))
        return 10;
    return -1;
}

static int text_field(const cbor_item_t *c, const char *k, char *out, int *seen)
{
    if (*seen)
        return -1; /* one record per type */
    *seen = 1;
    return ctl_get_str(c, k, out, MEASURE_MAX_TEXT) < 0 ? -1 : 0;
}

/* Fills m from one record's content; -1 when a required field is missing or repeated. */
static int take_measurement(const struct rec *rc, struct measurements *m)
{
    const cbor_item_t *c = rc->content;

    if (!strcmp(rc->type, "image"))
        return text_field(c, "digest", m->image_digest, &m->has_image) < 0 ||
                       ctl_get_str(c, "ref", m->image_ref, sizeof(m->image_ref)) < 0 ? -1 : 0;
    if (!strcmp(rc->type, "rootfs"))
        return text_field(c, "digest", m->rootfs_digest, &m->has_rootfs);
    if (!strcmp(rc->type, "runtime"))
        return text_field(c, "digest", m->runtime_digest, &m->has_runtime) < 0 ||
                       ctl_get_str(c, "path", m->runtime_path, sizeof(m->runtime_path)) < 0 ? -1 : 0;
    if (!strcmp(rc->type, "agent"))
        return text_field(c, "digest", m->agent_digest, &m->has_agent);
    if (!strcmp(rc->type, "launch-config")) {
        if (m->launch_config)
            return -1;
        m->launch_config = ctl_get(c, "config");
        return cbu_map_strict(m->launch_config, MAX_KEY) ? 0 : -1;
    }
    return 0; /* other types are replayed but carry nothing the policy reads */
}

static int check_record(const cbor_item_t *it, size_t i, struct measurements *m,
                        uint8_t pcr[24][32], uint32_t *touched, struct reasons *r)
{
    struct rec rc = { 0 };
    const char *why;
    int exp, ok;

    if (rec_parse(it, &rc, &why) < 0 || rc.recnum != i) {
        reasons_add(r, "eventlog-malformed", "record %zu: %s", i, rc.recnum != i ? "recnum out of order" : why);
        return -EBADMSG;
    }
    exp = expected_pcr(rc.type);
    if (exp >= 0 && (uint64_t)exp != rc.pcr)
        reasons_add(r, "eventlog-wrong-pcr", "record %zu", i);
    ok = content_digest_ok(&rc);
    if (ok < 0)
        return ok;
    if (!ok)
        reasons_add(r, "eventlog-record-digest", "record %zu", i);
    if (take_measurement(&rc, m) < 0) {
        reasons_add(r, "eventlog-malformed", "record %zu: %s content", i, rc.type);
        return -EBADMSG;
    }
    extend(pcr[rc.pcr], rc.digest);
    *touched |= 1u << rc.pcr;
    return 0;
}

static void compare_pcrs(const struct evidence *ev, uint8_t pcr[24][32], uint32_t touched,
                         struct reasons *r)
{
    uint32_t sent = 0;

    for (size_t i = 0; i < ev->npcrs; i++) {
        sent |= 1u << ev->pcrs[i].index;
        if (memcmp(pcr[ev->pcrs[i].index], ev->pcrs[i].value, 32))
            reasons_add(r, "eventlog-replay-mismatch", "pcr %u", ev->pcrs[i].index);
    }
    for (unsigned i = 0; i < EVIDENCE_MAX_PCRS; i++)
        if ((touched & (1u << i)) && !(sent & (1u << i)))
            reasons_add(r, "eventlog-pcr-not-quoted", "pcr %u", i);
}

int vf_eventlog_check(const struct evidence *ev, struct measurements *m, struct reasons *r)
{
    uint8_t pcr[24][32];
    uint32_t touched = 0;
    size_t n = cbor_array_size(ev->event_log);
    int rc;

    memset(m, 0, sizeof(*m));
    memset(pcr, 0, sizeof(pcr));
    if (n > EVENTLOG_MAX_RECORDS) {
        reasons_add(r, "eventlog-malformed", "too many records");
        return -EBADMSG;
    }
    for (size_t i = 0; i < n; i++) {
        rc = check_record(cbor_array_handle(ev->event_log)[i], i, m, pcr, &touched, r);
        if (rc < 0)
            return rc;
    }
    compare_pcrs(ev, pcr, touched, r);
    return 0;
}

int vf_eventlog_replay(const cbor_item_t *log, uint8_t pcr[24][32])
{
    memset(pcr, 0, 24 * 32);
    if (!cbor_isa_array(log))
        return -EINVAL;
    for (size_t i = 0; i < cbor_array_size(log); i++) {
        struct rec rc = { 0 };
        const char *why;
        if (rec_parse(cbor_array_handle(log)[i], &rc, &why) < 0)
            return -EINVAL;
        extend(pcr[rc.pcr], rc.digest);
    }
    return 0;
}
