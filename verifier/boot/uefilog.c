/* SPDX-License-Identifier: BSD-3-Clause */
/* The host's UEFI event log (TCG PC Client Platform Firmware Profile, crypto-agile format):
 * a bounds-checked parser, the sha256 replay and the event type names (docs/uefi-log.md).
 *
 * Why hand-written: the format is little endian, which Tss2_MU (big endian, TPM wire format)
 * cannot unmarshal, and Debian ships no library for it (tpm2-tools has a parser inside its
 * command, not a library). Every read goes through one cursor that checks the remaining length
 * with size_t arithmetic that cannot wrap, so no read depends on a size from the log being
 * sane. */
#include "boot/uefilog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#define ALG_SHA1 0x0004u
#define ALG_SHA256 0x000bu
#define MAX_BANKS 16u       /* a TPM has a handful of PCR banks; more is not a real log */
#define MAX_DIGEST 64u      /* sizeof(TPMU_HA) */
#define HDR_DIGEST 20u      /* the header record is in the SHA-1 (TCG 1.2) layout */

static const char spec_id_sig[16] = "Spec ID Event03";
static const char locality_sig[16] = "StartupLocality";
/* EFI_GLOBAL_VARIABLE {8BE4DF61-93CA-11D2-AA0D-00E098032B8C} in EFI_GUID memory layout. */
static const uint8_t efi_global_guid[16] = {
    0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
    0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c,
};

struct cur {
    const uint8_t *p;
    size_t len, off;
};

struct bank {
    uint16_t alg, size;
};

struct parser {
    struct cur c;
    struct bank bank[MAX_BANKS];
    size_t nbanks, cap;
    int seen_locality;
    struct uefi_log *log;
    char *err;
    size_t errsz;
};

static int take(struct cur *c, size_t n, const uint8_t **out)
{
    if (c->len - c->off < n)
        return -1;
    *out = c->p + c->off;
    c->off += n;
    return 0;
}

static int rd_u8(struct cur *c, uint8_t *v)
{
    const uint8_t *b;

    if (take(c, 1, &b) < 0)
        return -1;
    *v = b[0];
    return 0;
}

static int rd_u16(struct cur *c, uint16_t *v)
{
    const uint8_t *b;

    if (take(c, 2, &b) < 0)
        return -1;
    *v = (uint16_t)(b[0] | (unsigned)b[1] << 8);
    return 0;
}

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int rd_u32(struct cur *c, uint32_t *v)
{
    const uint8_t *b;

    if (take(c, 4, &b) < 0)
        return -1;
    *v = le32(b);
    return 0;
}

static int fail(struct parser *ps, size_t rec, const char *what)
{
    if (ps->errsz)
        snprintf(ps->err, ps->errsz, "record %zu: %s", rec, what);
    return -EBADMSG;
}

static int failx(struct parser *ps, size_t rec, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failx(struct parser *ps, size_t rec, const char *fmt, ...)
{
    char what[96];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return fail(ps, rec, what);
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* The digest sizes the TCG algorithm registry fixes; 0 for algorithms it does not know here. */
static unsigned known_size(uint16_t alg)
{
    switch (alg) {
    case ALG_SHA1: return 20;
    case ALG_SHA256: return 32;
    case 0x000c: return 48; /* sha384 */
    case 0x000d: return 64; /* sha512 */
    case 0x0012: return 32; /* sm3_256 */
    case 0x0027: return 32; /* sha3_256 */
    case 0x0028: return 48; /* sha3_384 */
    case 0x0029: return 64; /* sha3_512 */
    default: return 0;
    }
}

static int bank_index(const struct parser *ps, uint16_t alg)
{
    for (size_t i = 0; i < ps->nbanks; i++)
        if (ps->bank[i].alg == alg)
            return (int)i;
    return -1;
}

static int spec_bank(struct parser *ps, struct cur *c)
{
    struct bank b;
    unsigned ks;

    if (rd_u16(c, &b.alg) < 0 || rd_u16(c, &b.size) < 0)
        return fail(ps, 0, "Spec ID digest sizes table truncated");
    ks = known_size(b.alg);
    if (b.size == 0 || b.size > MAX_DIGEST || (ks && b.size != ks))
        return failx(ps, 0, "Spec ID table: bad digest size for algorithm 0x%04x", (unsigned)b.alg);
    if (bank_index(ps, b.alg) >= 0)
        return failx(ps, 0, "Spec ID table lists algorithm 0x%04x twice", (unsigned)b.alg);
    ps->bank[ps->nbanks++] = b;
    if (b.alg == ALG_SHA256)
        ps->log->has_sha256_bank = 1;
    return 0;
}

/* TCG_EfiSpecIDEvent: signature, platformClass, version (4 bytes), the digest sizes table,
 * vendor info; nothing may follow. */
static int spec_id(struct parser *ps, const uint8_t *data, size_t len)
{
    struct cur c = { data, len, 0 };
    const uint8_t *sig, *skip;
    uint32_t nalg;
    uint8_t vlen;

    if (take(&c, 16, &sig) < 0 || memcmp(sig, spec_id_sig, 16))
        return fail(ps, 0, "not a crypto-agile log (no \"Spec ID Event03\" header)");
    if (take(&c, 8, &skip) < 0 || rd_u32(&c, &nalg) < 0)
        return fail(ps, 0, "Spec ID event truncated");
    if (nalg == 0 || nalg > MAX_BANKS)
        return failx(ps, 0, "Spec ID table has %u algorithms", (unsigned)nalg);
    for (uint32_t i = 0; i < nalg; i++)
        if (spec_bank(ps, &c) < 0)
            return -EBADMSG;
    if (rd_u8(&c, &vlen) < 0 || take(&c, vlen, &skip) < 0)
        return fail(ps, 0, "Spec ID vendor info truncated");
    if (c.off != c.len)
        return fail(ps, 0, "trailing bytes in the Spec ID event");
    return 0;
}

static int append(struct parser *ps, const struct uefi_event *e)
{
    struct uefi_log *log = ps->log;
    struct uefi_event *v;
    size_t cap;

    if (log->n >= UEFILOG_MAX_EVENTS)
        return failx(ps, log->n, "more than %u records", UEFILOG_MAX_EVENTS);
    if (log->n == ps->cap) {
        cap = ps->cap ? ps->cap * 2 : 64;
        if (cap > UEFILOG_MAX_EVENTS)
            cap = UEFILOG_MAX_EVENTS;
        if (!(v = realloc(log->ev, cap * sizeof(*v))))
            return -ENOMEM;
        log->ev = v;
        ps->cap = cap;
    }
    log->ev[log->n++] = *e;
    return 0;
}

/* Record 0: TCG_PCClientPCREvent with a zero SHA-1 digest, EV_NO_ACTION in PCR 0. */
static int header(struct parser *ps)
{
    struct uefi_event e = { .index = 0 };
    const uint8_t *dg;
    uint32_t size;

    if (rd_u32(&ps->c, &e.pcr) < 0 || rd_u32(&ps->c, &e.type) < 0 ||
        take(&ps->c, HDR_DIGEST, &dg) < 0 || rd_u32(&ps->c, &size) < 0)
        return fail(ps, 0, "truncated header");
    if (e.pcr != 0 || e.type != EV_NO_ACTION || !all_zero(dg, HDR_DIGEST))
        return fail(ps, 0, "not a crypto-agile log (first record is not a zero EV_NO_ACTION)");
    if (take(&ps->c, size, &e.data) < 0)
        return fail(ps, 0, "truncated Spec ID event");
    e.data_len = size;
    if (spec_id(ps, e.data, e.data_len) < 0)
        return -EBADMSG;
    return append(ps, &e);
}

/* TPML_DIGEST_VALUES: exactly one digest per bank of the Spec ID table, in any order. */
static int digests(struct parser *ps, struct uefi_event *e)
{
    uint32_t count, seen = 0;
    uint16_t alg;
    const uint8_t *dg;
    int b;

    if (rd_u32(&ps->c, &count) < 0)
        return fail(ps, e->index, "truncated digest count");
    if (count != ps->nbanks)
        return failx(ps, e->index, "digest count %u differs from the Spec ID table", (unsigned)count);
    for (uint32_t i = 0; i < count; i++) {
        if (rd_u16(&ps->c, &alg) < 0)
            return fail(ps, e->index, "truncated digest");
        if ((b = bank_index(ps, alg)) < 0)
            return failx(ps, e->index, "algorithm 0x%04x not in the Spec ID table", (unsigned)alg);
        if (seen & (1u << b))
            return failx(ps, e->index, "algorithm 0x%04x twice", (unsigned)alg);
        seen |= 1u << b;
        if (take(&ps->c, ps->bank[b].size, &dg) < 0)
            return fail(ps, e->index, "truncated digest");
        if (alg == ALG_SHA256) {
            memcpy(e->sha256, dg, 32);
            e->has_sha256 = 1;
        }
    }
    return 0;
}

/* TCG_EfiStartupLocalityEvent: the locality TPM2_Startup ran at sets PCR 0's start value. */
static int startup_locality(struct parser *ps, const struct uefi_event *e)
{
    uint8_t loc;

    if (e->data_len < 16 || memcmp(e->data, locality_sig, 16))
        return 0;
    if (e->data_len != 17 || e->pcr != 0)
        return fail(ps, e->index, "StartupLocality event is not 17 bytes in PCR 0");
    if (ps->seen_locality)
        return fail(ps, e->index, "second StartupLocality event");
    loc = e->data[16];
    if (loc != 0 && loc != 3 && loc != 4)
        return failx(ps, e->index, "startup locality %u is not 0, 3 or 4", (unsigned)loc);
    ps->seen_locality = 1;
    ps->log->startup_locality = loc;
    return 0;
}

/* TCG_PCR_EVENT2: pcrIndex, eventType, TPML_DIGEST_VALUES, eventSize, event. */
static int record(struct parser *ps)
{
    struct uefi_event e = { .index = (uint32_t)ps->log->n };
    uint32_t size;

    if (all_zero(ps->c.p + ps->c.off, ps->c.len - ps->c.off))
        return fail(ps, e.index, "zero padding after the last record (not accepted)");
    if (rd_u32(&ps->c, &e.pcr) < 0 || rd_u32(&ps->c, &e.type) < 0)
        return fail(ps, e.index, "truncated record header");
    if (e.pcr >= UEFILOG_PCRS && e.type != EV_NO_ACTION)
        return failx(ps, e.index, "pcr %u out of range", (unsigned)e.pcr);
    if (digests(ps, &e) < 0)
        return -EBADMSG;
    if (rd_u32(&ps->c, &size) < 0)
        return fail(ps, e.index, "truncated event size");
    if (take(&ps->c, size, &e.data) < 0)
        return failx(ps, e.index, "event size %u exceeds the log", (unsigned)size);
    e.data_len = size;
    if (e.type == EV_NO_ACTION && startup_locality(ps, &e) < 0)
        return -EBADMSG;
    return append(ps, &e);
}

int uefilog_parse(const uint8_t *buf, size_t len, struct uefi_log *out, char *err, size_t errsz)
{
    struct parser ps = { .c = { buf, len, 0 }, .log = out, .err = err, .errsz = errsz };
    int r;

    memset(out, 0, sizeof(*out));
    if (errsz)
        err[0] = '\0';
    if (!buf || len == 0)
        return fail(&ps, 0, "empty log");
    if (len > UEFILOG_MAX_SIZE)
        return fail(&ps, 0, "log larger than 4 MiB");
    r = header(&ps);
    while (r == 0 && ps.c.off < ps.c.len)
        r = record(&ps);
    if (r < 0)
        uefilog_free(out);
    return r;
}

void uefilog_free(struct uefi_log *log)
{
    free(log->ev);
    memset(log, 0, sizeof(*log));
}

static void extend(uint8_t pcr[32], const uint8_t digest[32])
{
    uint8_t buf[64];

    memcpy(buf, pcr, 32);
    memcpy(buf + 32, digest, 32);
    SHA256(buf, sizeof(buf), pcr);
}

void uefilog_replay_sha256(const struct uefi_log *log, uint8_t pcr[24][32], uint32_t *touched)
{
    memset(pcr, 0, UEFILOG_PCRS * 32);
    pcr[0][31] = log->startup_locality;
    *touched = 0;
    for (size_t i = 0; i < log->n; i++) {
        const struct uefi_event *e = &log->ev[i];

        /* The parser guarantees pcr < 24 for extending records; checked again so that a
         * hand-made struct cannot write outside the array. */
        if (e->type == EV_NO_ACTION || !e->has_sha256 || e->pcr >= UEFILOG_PCRS)
            continue;
        extend(pcr[e->pcr], e->sha256);
        *touched |= 1u << e->pcr;
    }
}

struct type_name {
    uint32_t type;
    const char *name;
};

static const struct type_name type_names[] = {
    { 0x00000000u, "EV_PREBOOT_CERT" },
    { 0x00000001u, "EV_POST_CODE" },
    { 0x00000002u, "EV_UNUSED" },
    { 0x00000003u, "EV_NO_ACTION" },
    { 0x00000004u, "EV_SEPARATOR" },
    { 0x00000005u, "EV_ACTION" },
    { 0x00000006u, "EV_EVENT_TAG" },
    { 0x00000007u, "EV_S_CRTM_CONTENTS" },
    { 0x00000008u, "EV_S_CRTM_VERSION" },
    { 0x00000009u, "EV_CPU_MICROCODE" },
    { 0x0000000au, "EV_PLATFORM_CONFIG_FLAGS" },
    { 0x0000000bu, "EV_TABLE_OF_DEVICES" },
    { 0x0000000cu, "EV_COMPACT_HASH" },
    { 0x0000000du, "EV_IPL" },
    { 0x0000000eu, "EV_IPL_PARTITION_DATA" },
    { 0x0000000fu, "EV_NONHOST_CODE" },
    { 0x00000010u, "EV_NONHOST_CONFIG" },
    { 0x00000011u, "EV_NONHOST_INFO" },
    { 0x00000012u, "EV_OMIT_BOOT_DEVICE_EVENTS" },
    { 0x80000000u, "EV_EFI_EVENT_BASE" },
    { 0x80000001u, "EV_EFI_VARIABLE_DRIVER_CONFIG" },
    { 0x80000002u, "EV_EFI_VARIABLE_BOOT" },
    { 0x80000003u, "EV_EFI_BOOT_SERVICES_APPLICATION" },
    { 0x80000004u, "EV_EFI_BOOT_SERVICES_DRIVER" },
    { 0x80000005u, "EV_EFI_RUNTIME_SERVICES_DRIVER" },
    { 0x80000006u, "EV_EFI_GPT_EVENT" },
    { 0x80000007u, "EV_EFI_ACTION" },
    { 0x80000008u, "EV_EFI_PLATFORM_FIRMWARE_BLOB" },
    { 0x80000009u, "EV_EFI_HANDOFF_TABLES" },
    { 0x8000000au, "EV_EFI_PLATFORM_FIRMWARE_BLOB2" },
    { 0x8000000bu, "EV_EFI_HANDOFF_TABLES2" },
    { 0x8000000cu, "EV_EFI_VARIABLE_BOOT2" },
    { 0x80000010u, "EV_EFI_HCRTM_EVENT" },
    { 0x800000e0u, "EV_EFI_VARIABLE_AUTHORITY" },
    { 0x800000e1u, "EV_EFI_SPDM_FIRMWARE_BLOB" },
    { 0x800000e2u, "EV_EFI_SPDM_FIRMWARE_CONFIG" },
    { 0x800000e3u, "EV_EFI_SPDM_DEVICE_POLICY" },
    { 0x800000e4u, "EV_EFI_SPDM_DEVICE_AUTHORITY" },
};

#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *uefilog_type_name(uint32_t type, char *buf, size_t len)
{
    for (size_t i = 0; i < N_TYPES; i++)
        if (type_names[i].type == type)
            return type_names[i].name;
    snprintf(buf, len, "0x%08x", type);
    return buf;
}

static int hex_type(const char *s, uint32_t *type)
{
    uint32_t v = 0;
    size_t n = strlen(s);

    if (n < 1 || n > 8)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        unsigned d;

        if (ch >= '0' && ch <= '9')
            d = (unsigned)(ch - '0');
        else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
            d = (unsigned)((ch | 0x20) - 'a' + 10);
        else
            return -EINVAL;
        v = v << 4 | d;
    }
    *type = v;
    return 0;
}

int uefilog_type_from_name(const char *name, uint32_t *type)
{
    if (!name)
        return -EINVAL;
    for (size_t i = 0; i < N_TYPES; i++)
        if (!strcmp(type_names[i].name, name)) {
            *type = type_names[i].type;
            return 0;
        }
    if (name[0] == '0' && (name[1] == 'x' || name[1] == 'X'))
        return hex_type(name + 2, type);
    return -EINVAL;
}

static uint64_t le64(const uint8_t *b)
{
    return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32;
}

/* UEFI_VARIABLE_DATA: VariableName GUID, UnicodeNameLength u64, VariableDataLength u64,
 * UnicodeName (UTF-16LE), VariableData; the two lengths must account for every byte. */
int uefilog_variable(const struct uefi_event *ev, struct uefi_variable *var)
{
    uint64_t name_chars, value_len;
    size_t rest;

    if (ev->data_len < 32)
        return -EBADMSG;
    name_chars = le64(ev->data + 16);
    value_len = le64(ev->data + 24);
    rest = ev->data_len - 32;
    if (name_chars > rest / 2 || value_len != rest - (size_t)name_chars * 2)
        return -EBADMSG;
    var->guid = ev->data;
    var->name = ev->data + 32;
    var->name_chars = (size_t)name_chars;
    var->value = var->name + var->name_chars * 2;
    var->value_len = (size_t)value_len;
    return 0;
}

int uefilog_variable_is_global(const struct uefi_variable *var, const char *ascii_name)
{
    size_t n = strlen(ascii_name);

    if (memcmp(var->guid, efi_global_guid, 16) || var->name_chars != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (var->name[2 * i] != (uint8_t)ascii_name[i] || var->name[2 * i + 1] != 0)
            return 0;
    return 1;
}

/* -ENOENT, -EBADMSG, 0 or 1 for one event (see uefilog_secure_boot). */
static int secure_boot_event(const struct uefi_event *e)
{
    struct uefi_variable var;
    uint8_t md[32];

    if (e->pcr != 7 || e->type != EV_EFI_VARIABLE_DRIVER_CONFIG ||
        uefilog_variable(e, &var) < 0 || !uefilog_variable_is_global(&var, "SecureBoot"))
        return -ENOENT;
    /* The quote covers digests, not event data: the value counts only when the digest the
     * firmware extended is the one of this UEFI_VARIABLE_DATA. */
    SHA256(e->data, e->data_len, md);
    if (!e->has_sha256 || memcmp(md, e->sha256, 32))
        return -EBADMSG;
    if (var.value_len == 0)
        return 0;
    if (var.value_len != 1 || var.value[0] > 1)
        return -EBADMSG;
    return var.value[0];
}

int uefilog_secure_boot(const struct uefi_log *log)
{
    int state = -ENOENT, v;

    for (size_t i = 0; i < log->n; i++) {
        if ((v = secure_boot_event(&log->ev[i])) == -ENOENT)
            continue;
        if (v == -EBADMSG || (state != -ENOENT && state != v))
            return -EBADMSG;
        state = v;
    }
    return state;
}
