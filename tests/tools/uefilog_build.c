/* SPDX-License-Identifier: BSD-3-Clause */
/* Test tool: writes a UEFI crypto-agile event log (docs/uefi-log.md) from a short description
 * and prints the PCR values it implies, computed here with OpenSSL and not with the verifier's
 * replay. The unit tests include this file with UEFILOG_BUILD_LIB defined to reuse the writer.
 *
 * usage: uefilog_build --out FILE [--banks sha1,sha256] [--locality N] [--print-pcrs]
 *                      [ITEM...]
 *   ITEM: PCR:TYPE:TEXT       an event with TEXT as data, digests of TEXT
 *         PCR:TYPE:hex:HEX    data given in hex
 *         --measure TEXT      the next event's digests are of TEXT, not of its data
 *         --secure-boot 0|1   EV_EFI_VARIABLE_DRIVER_CONFIG "SecureBoot" in PCR 7
 *         --preset basic      a typical firmware sequence (CRTM, variables, separators,
 *                             boot loaders, ExitBootServices) with SecureBoot 1
 *         --preset basic-sb-off  the same with SecureBoot 0
 *         --raw HEX           raw bytes appended as they are (for malformed logs)
 *   TYPE: an event type name (EV_SEPARATOR, ...) or 0xHEX. Items are written in order. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../verifier/boot/uefilog.h"

#define ULB_MAX_BANKS 8

struct ulb {
    uint8_t *buf;
    size_t len, cap;
    int oom;
    uint16_t algs[ULB_MAX_BANKS];
    size_t nalgs;
    uint8_t pcr[24][32]; /* the sha256 bank as this writer extends it */
    uint32_t touched;
};

/* The writer, shared with the unit tests. */
void ulb_init(struct ulb *b);
void ulb_free(struct ulb *b);
void ulb_bytes(struct ulb *b, const void *p, size_t n);
void ulb_u16(struct ulb *b, uint16_t v);
void ulb_u32(struct ulb *b, uint32_t v);
void ulb_u64(struct ulb *b, uint64_t v);
void ulb_header(struct ulb *b, const uint16_t *algs, size_t nalgs);
void ulb_event_src(struct ulb *b, uint32_t pcr, uint32_t type, const void *data, size_t len,
                   const void *src, size_t srclen);
void ulb_event(struct ulb *b, uint32_t pcr, uint32_t type, const void *data, size_t len);
void ulb_text(struct ulb *b, uint32_t pcr, uint32_t type, const char *text);
void ulb_locality(struct ulb *b, uint8_t loc);
void ulb_variable(struct ulb *b, uint32_t pcr, uint32_t type, const uint8_t guid[16],
                  const char *name, const void *value, size_t vlen);
void ulb_secureboot(struct ulb *b, int on);
void ulb_preset_basic(struct ulb *b, int secure_boot);
size_t ulb_digest_size(uint16_t alg);

static const uint8_t ulb_global_guid[16] = {
    0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c,
};
/* EFI_IMAGE_SECURITY_DATABASE_GUID (db, dbx). */
static const uint8_t ulb_imgsec_guid[16] = {
    0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f,
};

void ulb_init(struct ulb *b)
{
    memset(b, 0, sizeof(*b));
}

void ulb_free(struct ulb *b)
{
    free(b->buf);
    memset(b, 0, sizeof(*b));
}

void ulb_bytes(struct ulb *b, const void *p, size_t n)
{
    size_t cap = b->cap ? b->cap : 256;
    uint8_t *nb;

    if (b->oom)
        return;
    while (cap - b->len < n)
        cap *= 2;
    if (cap != b->cap) {
        if (!(nb = realloc(b->buf, cap))) {
            b->oom = 1;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
    if (n)
        memcpy(b->buf + b->len, p, n);
    b->len += n;
}

void ulb_u16(struct ulb *b, uint16_t v)
{
    uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

    ulb_bytes(b, x, 2);
}

void ulb_u32(struct ulb *b, uint32_t v)
{
    uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

    ulb_bytes(b, x, 4);
}

void ulb_u64(struct ulb *b, uint64_t v)
{
    ulb_u32(b, (uint32_t)v);
    ulb_u32(b, (uint32_t)(v >> 32));
}

static const EVP_MD *ulb_md(uint16_t alg)
{
    switch (alg) {
    case 0x0004: return EVP_sha1();
    case 0x000b: return EVP_sha256();
    case 0x000c: return EVP_sha384();
    case 0x000d: return EVP_sha512();
    default: return NULL;
    }
}

size_t ulb_digest_size(uint16_t alg)
{
    const EVP_MD *md = ulb_md(alg);

    return md ? (size_t)EVP_MD_get_size(md) : 32; /* other algorithms: 32 zero bytes */
}

/* TCG_PCClientPCREvent (SHA-1 layout) carrying TCG_EfiSpecIDEvent for these banks. */
void ulb_header(struct ulb *b, const uint16_t *algs, size_t nalgs)
{
    static const uint8_t zero[20];

    b->nalgs = nalgs > ULB_MAX_BANKS ? ULB_MAX_BANKS : nalgs;
    memcpy(b->algs, algs, b->nalgs * sizeof(algs[0]));
    ulb_u32(b, 0);
    ulb_u32(b, EV_NO_ACTION);
    ulb_bytes(b, zero, 20);
    ulb_u32(b, (uint32_t)(16 + 4 + 4 + 4 + 4 * b->nalgs + 1));
    ulb_bytes(b, "Spec ID Event03", 16);
    ulb_u32(b, 0);              /* platformClass: client */
    ulb_bytes(b, "\x00\x02\x00\x02", 4); /* version 2.0 errata 0, UINTN 64 bits */
    ulb_u32(b, (uint32_t)b->nalgs);
    for (size_t i = 0; i < b->nalgs; i++) {
        ulb_u16(b, b->algs[i]);
        ulb_u16(b, (uint16_t)ulb_digest_size(b->algs[i]));
    }
    ulb_bytes(b, "", 1);       /* no vendor info */
}

static void ulb_extend(struct ulb *b, uint32_t pcr, const uint8_t dg[32])
{
    uint8_t buf[64];
    unsigned int n;

    if (pcr >= 24)
        return;
    memcpy(buf, b->pcr[pcr], 32);
    memcpy(buf + 32, dg, 32);
    EVP_Digest(buf, sizeof(buf), b->pcr[pcr], &n, EVP_sha256(), NULL);
    b->touched |= 1u << pcr;
}

static void ulb_digest(struct ulb *b, uint16_t alg, uint32_t pcr, int zero, const void *src,
                       size_t srclen)
{
    uint8_t md[64] = { 0 };
    const EVP_MD *t = ulb_md(alg);
    unsigned int n;

    if (t && !zero)
        EVP_Digest(src, srclen, md, &n, t, NULL);
    ulb_u16(b, alg);
    ulb_bytes(b, md, ulb_digest_size(alg));
    if (alg == 0x000b && !zero)
        ulb_extend(b, pcr, md);
}

/* TCG_PCR_EVENT2 with one digest of src per bank (zero digests for EV_NO_ACTION). */
void ulb_event_src(struct ulb *b, uint32_t pcr, uint32_t type, const void *data, size_t len,
                   const void *src, size_t srclen)
{
    int zero = type == EV_NO_ACTION;

    ulb_u32(b, pcr);
    ulb_u32(b, type);
    ulb_u32(b, (uint32_t)b->nalgs);
    for (size_t i = 0; i < b->nalgs; i++)
        ulb_digest(b, b->algs[i], pcr, zero, src, srclen);
    ulb_u32(b, (uint32_t)len);
    ulb_bytes(b, data, len);
}

void ulb_event(struct ulb *b, uint32_t pcr, uint32_t type, const void *data, size_t len)
{
    ulb_event_src(b, pcr, type, data, len, data, len);
}

void ulb_text(struct ulb *b, uint32_t pcr, uint32_t type, const char *text)
{
    ulb_event(b, pcr, type, text, strlen(text));
}

void ulb_locality(struct ulb *b, uint8_t loc)
{
    uint8_t d[17];

    memcpy(d, "StartupLocality", 16);
    d[16] = loc;
    ulb_event(b, 0, EV_NO_ACTION, d, sizeof(d));
    b->pcr[0][31] = loc;
}

/* UEFI_VARIABLE_DATA with an ASCII name written as UTF-16LE. */
void ulb_variable(struct ulb *b, uint32_t pcr, uint32_t type, const uint8_t guid[16],
                  const char *name, const void *value, size_t vlen)
{
    struct ulb v;
    size_t n = strlen(name);

    ulb_init(&v);
    ulb_bytes(&v, guid, 16);
    ulb_u64(&v, n);
    ulb_u64(&v, vlen);
    for (size_t i = 0; i < n; i++)
        ulb_u16(&v, (uint8_t)name[i]);
    ulb_bytes(&v, value, vlen);
    if (v.oom)
        b->oom = 1;
    else
        ulb_event(b, pcr, type, v.buf, v.len);
    ulb_free(&v);
}

void ulb_secureboot(struct ulb *b, int on)
{
    uint8_t v = on ? 1 : 0;

    ulb_variable(b, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, ulb_global_guid, "SecureBoot", &v, 1);
}

static void ulb_separators(struct ulb *b, uint32_t from, uint32_t to)
{
    static const uint8_t sep[4];

    for (uint32_t p = from; p <= to; p++)
        ulb_event(b, p, EV_SEPARATOR, sep, sizeof(sep));
}

static void ulb_boot_app(struct ulb *b, const char *image)
{
    uint8_t load_event[32] = { 0 }; /* UEFI_IMAGE_LOAD_EVENT without a device path */

    /* The firmware measures the PE image's Authenticode hash, not the event data. */
    ulb_event_src(b, 4, EV_EFI_BOOT_SERVICES_APPLICATION, load_event, sizeof(load_event),
                  image, strlen(image));
}

/* Roughly the order OVMF measures in: PCR 0 CRTM and firmware, PCR 7 Secure Boot state,
 * PCR 1 boot variables, separators 0-6, PCR 5 GPT, PCR 4 boot loaders, PCR 5 ExitBootServices. */
void ulb_preset_basic(struct ulb *b, int secure_boot)
{
    static const uint8_t ver[] = { '1', 0, '.', 0, '0', 0, 0, 0 }, blob[16] = { 0, 0, 0x80 };
    static const uint8_t order[2], boot0[8] = { 1, 0, 0, 0, 0x2c }, gpt[100] = { 'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T' };

    ulb_event(b, 0, 0x00000008u, ver, sizeof(ver));             /* EV_S_CRTM_VERSION */
    ulb_event(b, 0, 0x80000008u, blob, sizeof(blob));           /* firmware volume */
    ulb_secureboot(b, secure_boot);
    ulb_variable(b, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, ulb_global_guid, "PK", "pk", 2);
    ulb_variable(b, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, ulb_global_guid, "KEK", "kek", 3);
    ulb_variable(b, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, ulb_imgsec_guid, "db", "db", 2);
    ulb_variable(b, 7, EV_EFI_VARIABLE_DRIVER_CONFIG, ulb_imgsec_guid, "dbx", "dbx", 3);
    ulb_separators(b, 7, 7);
    ulb_variable(b, 1, 0x80000002u, ulb_global_guid, "BootOrder", order, sizeof(order));
    ulb_variable(b, 1, 0x80000002u, ulb_global_guid, "Boot0000", boot0, sizeof(boot0));
    ulb_text(b, 4, 0x80000007u, "Calling EFI Application from Boot Option");
    ulb_separators(b, 0, 6);
    ulb_event(b, 5, 0x80000006u, gpt, sizeof(gpt));             /* EV_EFI_GPT_EVENT: header, 0 partitions */
    ulb_boot_app(b, "shimx64.efi");
    ulb_variable(b, 7, 0x800000e0u, ulb_imgsec_guid, "db", "cert", 4);
    ulb_boot_app(b, "grubx64.efi");
    ulb_text(b, 5, 0x80000007u, "Exit Boot Services Invocation");
    ulb_text(b, 5, 0x80000007u, "Exit Boot Services Returned with Success");
}

#ifndef UEFILOG_BUILD_LIB
#include <getopt.h>

struct cli {
    struct ulb b;
    uint16_t algs[ULB_MAX_BANKS];
    size_t nalgs;
    int header_done, locality, print_pcrs;
    const char *out, *measure;
};

static int die(const char *msg, const char *arg)
{
    fprintf(stderr, "uefilog_build: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return -1;
}

static int alg_id(const char *name, uint16_t *alg)
{
    static const struct { const char *n; uint16_t id; } t[] = {
        { "sha1", 0x0004 }, { "sha256", 0x000b }, { "sha384", 0x000c }, { "sha512", 0x000d },
        { "sm3_256", 0x0012 },
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(name, t[i].n)) {
            *alg = t[i].id;
            return 0;
        }
    return -1;
}

static int parse_banks(struct cli *c, const char *arg)
{
    char *s = strdup(arg), *save = NULL;
    int r = 0;

    c->nalgs = 0;
    for (char *t = strtok_r(s, ",", &save); s && t; t = strtok_r(NULL, ",", &save))
        if (c->nalgs == ULB_MAX_BANKS || alg_id(t, &c->algs[c->nalgs++]) < 0)
            r = die("unknown or too many banks", arg);
    free(s);
    return s && c->nalgs ? r : die("no banks", arg);
}

static void start(struct cli *c)
{
    if (c->header_done)
        return;
    ulb_header(&c->b, c->algs, c->nalgs);
    if (c->locality >= 0)
        ulb_locality(&c->b, (uint8_t)c->locality);
    c->header_done = 1;
}

static int unhex(const char *hex, uint8_t **out, size_t *len)
{
    size_t n = strlen(hex);

    if (n % 2 || !(*out = malloc(n / 2 + 1)))
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            free(*out);
            return -1;
        }
        (*out)[i] = (uint8_t)v;
    }
    *len = n / 2;
    return 0;
}

/* PCR:TYPE:TEXT or PCR:TYPE:hex:HEX */
static int item_event(struct cli *c, const char *arg)
{
    char *s = strdup(arg), *type, *data, *end;
    uint8_t *bytes = NULL;
    size_t len;
    uint32_t t;
    unsigned long pcr;
    int r = -1;

    if (!s || !(type = strchr(s, ':')) || !(data = strchr(type + 1, ':')))
        goto out;
    *type++ = '\0';
    *data++ = '\0';
    pcr = strtoul(s, &end, 0);
    if (*end || uefilog_type_from_name(type, &t) < 0)
        goto out;
    if (!strncmp(data, "hex:", 4) ? unhex(data + 4, &bytes, &len) < 0
                                  : !(bytes = (uint8_t *)strdup(data)))
        goto out;
    if (strncmp(data, "hex:", 4))
        len = strlen(data);
    start(c);
    ulb_event_src(&c->b, (uint32_t)pcr, t, bytes, len, c->measure ? c->measure : (char *)bytes,
                  c->measure ? strlen(c->measure) : len);
    c->measure = NULL;
    r = 0;
out:
    free(bytes);
    free(s);
    return r < 0 ? die("bad event", arg) : 0;
}

static int item_raw(struct cli *c, const char *hex)
{
    uint8_t *bytes;
    size_t len;

    if (unhex(hex, &bytes, &len) < 0)
        return die("bad hex", hex);
    start(c);
    ulb_bytes(&c->b, bytes, len);
    free(bytes);
    return 0;
}

static int item_preset(struct cli *c, const char *name)
{
    int off = !strcmp(name, "basic-sb-off");

    if (strcmp(name, "basic") && !off)
        return die("unknown preset", name);
    start(c);
    ulb_preset_basic(&c->b, !off);
    return 0;
}

static int option(struct cli *c, int opt, const char *arg)
{
    switch (opt) {
    case 'o': c->out = arg; return 0;
    case 'b': return c->header_done ? die("--banks after an item", NULL) : parse_banks(c, arg);
    case 'l': c->locality = atoi(arg);
              return c->header_done ? die("--locality after an item", NULL) : 0;
    case 'p': c->print_pcrs = 1; return 0;
    case 'm': c->measure = arg; return 0;
    case 's': start(c);
              ulb_secureboot(&c->b, atoi(arg));
              return 0;
    case 'P': return item_preset(c, arg);
    case 'r': return item_raw(c, arg);
    case 1:   return item_event(c, arg);
    default:  return die("bad usage (see the header of tests/tools/uefilog_build.c)", NULL);
    }
}

static int write_out(const struct cli *c)
{
    FILE *f = fopen(c->out, "we");
    int ok;

    if (!f)
        return die("cannot write", c->out);
    ok = fwrite(c->b.buf, 1, c->b.len, f) == c->b.len;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : die("cannot write", c->out);
}

static void print_pcrs(const struct cli *c)
{
    for (unsigned p = 0; p < 24; p++) {
        if (!(c->b.touched & (1u << p)))
            continue;
        printf("%u=", p);
        for (unsigned i = 0; i < 32; i++)
            printf("%02x", c->b.pcr[p][i]);
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "out", required_argument, NULL, 'o' }, { "banks", required_argument, NULL, 'b' },
        { "locality", required_argument, NULL, 'l' }, { "print-pcrs", no_argument, NULL, 'p' },
        { "measure", required_argument, NULL, 'm' },
        { "secure-boot", required_argument, NULL, 's' },
        { "preset", required_argument, NULL, 'P' }, { "raw", required_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    struct cli c = { .algs = { 0x0004, 0x000b }, .nalgs = 2, .locality = -1 };
    int opt, rc = 1;

    ulb_init(&c.b);
    while ((opt = getopt_long(argc, argv, "-", lo, NULL)) != -1)
        if (option(&c, opt, optarg) < 0)
            goto out;
    start(&c);
    if (!c.out || c.b.oom) {
        die(c.out ? "out of memory" : "--out FILE is required", NULL);
        goto out;
    }
    if (write_out(&c) < 0)
        goto out;
    if (c.print_pcrs)
        print_pcrs(&c);
    rc = 0;
out:
    ulb_free(&c.b);
    return rc;
}
#endif
