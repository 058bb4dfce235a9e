/* SPDX-License-Identifier: BSD-3-Clause */
/* Test tool: builds container event logs, evidence and registration messages (docs/evidence.md)
 * from tpm2-tools output files, so the verifier can be tested without the attest-agent. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include <openssl/pem.h>

#include "ctlproto.h"
#include "launch_fixture.h"
#include "fileio.h"
#include "../../verifier/check/makecred.h"
#include "../../verifier/check/tpmobj.h"

#define MAX_FILE (1024u * 1024u)
#define MAX_ARGS 16

struct opts {
    const char *out, *in, *log, *nonce, *ak_pub, *attest, *sig, *pcrs, *ek_cert, *chain;
    const char *container, *vtpm, *registration, *credential, *node;
    const char *rootfs, *image, *runtime, *agent;
    const char *caps[MAX_ARGS], *host_ns[MAX_ARGS];
    int ncaps, nns, tamper, no_memory_limit, no_seccomp;
};

static int die(const char *msg)
{
    fprintf(stderr, "evidence_build: %s\n", msg);
    return 1;
}

static cbor_item_t *read_map(const char *path)
{
    uint8_t *b;
    size_t len;
    cbor_item_t *m = NULL;

    if (file_read_all_flags(AT_FDCWD, path, 0, MAX_FILE, &b, &len) == 0) {
        ctl_decode(b, len, &m);
        free(b);
    }
    return m;
}

static int write_map(const cbor_item_t *m, const char *path)
{
    uint8_t *b;
    size_t len;
    FILE *f;
    int ok;

    if (ctl_serialize(m, &b, &len) < 0 || !(f = fopen(path, "we")))
        return -1;
    ok = fwrite(b, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    free(b);
    return ok ? 0 : -1;
}

static int put_file(cbor_item_t *m, const char *k, const char *path)
{
    uint8_t *b;
    size_t len;
    int r;

    if (file_read_all_flags(AT_FDCWD, path, 0, MAX_FILE, &b, &len) < 0) {
        fprintf(stderr, "evidence_build: cannot read %s\n", path);
        return -1;
    }
    r = ctl_put_bytes(m, k, b, len);
    free(b);
    return r;
}

static cbor_item_t *text_array(const char *const *v, int n)
{
    cbor_item_t *a = cbor_new_definite_array((size_t)n);

    for (int i = 0; a && i < n; i++)
        cbor_array_push(a, cbor_move(cbor_build_string(v[i])));
    return a;
}

static cbor_item_t *launch_config(const struct opts *o)
{
    cbor_item_t *c = ctl_map_new();

    ctl_put_item(c, "capabilities", text_array(o->caps, o->ncaps));
    ctl_put_item(c, "host_namespaces", text_array(o->host_ns, o->nns));
    ctl_put_bool(c, "seccomp", !o->no_seccomp);
    ctl_put_bool(c, "seccomp_default_deny", !o->no_seccomp);
    ctl_put_uint(c, "memory_limit", o->no_memory_limit ? 0 : 256u << 20);
    ctl_put_str(c, "config_digest",
                "sha256:0000000000000000000000000000000000000000000000000000000000000000");
    launch_fixture_fill(c);
    return c;
}

/* One record; prints "PCR DIGESTHEX" for the shell to extend. Tampering happens after the
 * digest is taken, as an attacker rewriting the log would. */
static int add_record(cbor_item_t *log, int *n, unsigned pcr, cbor_item_t *content, int tamper)
{
    cbor_item_t *rec = ctl_map_new();
    uint8_t *enc, md[32];
    size_t len;

    if (ctl_serialize(content, &enc, &len) < 0)
        return -1;
    SHA256(enc, len, md);
    free(enc);
    if (tamper == *n)
        ctl_put_str(content, "ref", "tampered");
    ctl_put_uint(rec, "recnum", (uint64_t)*n);
    ctl_put_uint(rec, "pcr", pcr);
    ctl_put_bytes(rec, "digest", md, 32);
    ctl_put_item(rec, "content", content);
    cbor_array_push(log, cbor_move(rec));
    printf("%u ", pcr);
    for (int i = 0; i < 32; i++)
        printf("%02x", md[i]);
    printf("\n");
    (*n)++;
    return 0;
}

static cbor_item_t *content(const char *type, const char *k1, const char *v1, const char *k2,
                            const char *v2)
{
    cbor_item_t *c = ctl_map_new();

    ctl_put_str(c, "type", type);
    if (k1)
        ctl_put_str(c, k1, v1);
    if (k2)
        ctl_put_str(c, k2, v2);
    return c;
}

static int cmd_log(const struct opts *o)
{
    cbor_item_t *log = cbor_new_indefinite_array(), *top = ctl_map_new();
    int n = 0;

    if (o->image)
        add_record(log, &n, 8, content("image", "ref", "test:latest", "digest", o->image), o->tamper);
    if (o->rootfs)
        add_record(log, &n, 8, content("rootfs", "digest", o->rootfs, NULL, NULL), o->tamper);
    if (o->runtime)
        add_record(log, &n, 9, content("runtime", "path", "/usr/sbin/runc", "digest", o->runtime),
                   o->tamper);
    if (o->agent)
        add_record(log, &n, 9, content("agent", "path", "/usr/bin/attest-agent", "digest", o->agent),
                   o->tamper);
    {
        cbor_item_t *lc = content("launch-config", NULL, NULL, NULL, NULL);
        ctl_put_item(lc, "config", launch_config(o));
        add_record(log, &n, 10, lc, o->tamper);
    }
    ctl_put_item(top, "log", log);
    n = write_map(top, o->out);
    cbor_decref(&top);
    return n == 0 ? 0 : die("cannot write the log");
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
           c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int put_hex(cbor_item_t *m, const char *k, const char *hex)
{
    uint8_t b[128];
    size_t n = strlen(hex) / 2;

    if (strlen(hex) % 2 || n > sizeof(b))
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    return ctl_put_bytes(m, k, b, n);
}

static int put_chain(cbor_item_t *m, const char *dir)
{
    cbor_item_t *files = ctl_map_new();
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4096];

    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL) {
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (de->d_name[0] == '.' || stat(path, &sb) || !S_ISREG(sb.st_mode))
            continue;
        if (put_file(files, de->d_name, path) < 0)
            break;
    }
    closedir(d);
    return ctl_put_item(m, "host_chain", files);
}

/* tpm2_pcrread -o output: the sha256 values of PCRs 8, 9, 10 back to back. */
static int put_pcrs(cbor_item_t *m, const char *path)
{
    uint8_t *b;
    size_t len;
    cbor_item_t *p = cbor_new_definite_map(3);

    if (file_read_all_flags(AT_FDCWD, path, 0, MAX_FILE, &b, &len) < 0 || len != 96)
        return -1;
    for (unsigned i = 0; i < 3; i++)
        cbor_map_add(p, (struct cbor_pair){ .key = cbor_move(cbor_build_uint8((uint8_t)(8 + i))),
                                            .value = cbor_move(cbor_build_bytestring(b + 32 * i, 32)) });
    free(b);
    return ctl_put_item(m, "pcrs", p);
}

static int cmd_build(const struct opts *o)
{
    cbor_item_t *ev = ctl_map_new(), *log = o->log ? read_map(o->log) : NULL;
    int r = 0;

    if (!log || !o->nonce || !o->container || !o->vtpm)
        return die("build needs --log --nonce --container --vtpm and the TPM files");
    r |= ctl_put_uint(ev, "v", 1);
    r |= ctl_put_str(ev, "container_id", o->container);
    r |= ctl_put_str(ev, "vtpm_uuid", o->vtpm);
    r |= put_hex(ev, "nonce", o->nonce);
    r |= put_file(ev, "ak_pub", o->ak_pub);
    r |= put_file(ev, "quote_attest", o->attest);
    r |= put_file(ev, "quote_sig", o->sig);
    r |= put_pcrs(ev, o->pcrs);
    r |= ctl_put_item(ev, "event_log", cbor_incref(ctl_get(log, "log")));
    r |= put_file(ev, "ek_cert", o->ek_cert);
    r |= put_chain(ev, o->chain);
    if (o->registration)
        r |= ctl_put_str(ev, "registration", o->registration);
    if (o->node) /* node mode: the node's verdict stands for the host part */
        r |= ctl_put_str(ev, "node", o->node);
    if (r == 0)
        r = write_map(ev, o->out);
    cbor_decref(&ev);
    cbor_decref(&log);
    return r == 0 ? 0 : die("cannot build the evidence");
}

static int cmd_register_req(const struct opts *o)
{
    cbor_item_t *m = ctl_map_new();
    int r = ctl_put_uint(m, "v", 1) | ctl_put_str(m, "vtpm_uuid", o->vtpm ? o->vtpm : "") |
            put_file(m, "ek_cert", o->ek_cert) | put_file(m, "ak_pub", o->ak_pub) |
            put_chain(m, o->chain);

    if (r == 0)
        r = write_map(m, o->out);
    cbor_decref(&m);
    return r == 0 ? 0 : die("cannot build the registration request");
}

/* The verifier's answer -> tpm2_activatecredential's input (0xBADCC0DE, 1, id, secret). */
static int cmd_cred(const struct opts *o)
{
    cbor_item_t *m = o->in ? read_map(o->in) : NULL;
    const uint8_t *id, *sec;
    size_t idl, secl;
    char reg[128];
    FILE *f;
    uint8_t hdr[8] = { 0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1 };
    int ok;

    if (!m || ctl_get_bytes(m, "credential_blob", &id, &idl) < 0 ||
        ctl_get_bytes(m, "secret", &sec, &secl) < 0 ||
        ctl_get_str(m, "registration", reg, sizeof(reg)) < 0 || !(f = fopen(o->out, "we")))
        return die("not a registration answer");
    ok = fwrite(hdr, 1, 8, f) == 8 && fwrite(id, 1, idl, f) == idl && fwrite(sec, 1, secl, f) == secl;
    ok = fclose(f) == 0 && ok;
    printf("%s\n", reg);
    cbor_decref(&m);
    return ok ? 0 : die("cannot write the credential");
}

static int cmd_activate_req(const struct opts *o)
{
    cbor_item_t *m = ctl_map_new();
    int r;

    if (!o->registration || !o->credential)
        return die("activate-req needs --registration and --credential");
    r = ctl_put_uint(m, "v", 1) | ctl_put_str(m, "registration", o->registration) |
        put_file(m, "credential", o->credential);
    if (r == 0)
        r = write_map(m, o->out);
    cbor_decref(&m);
    return r == 0 ? 0 : die("cannot build the activation request");
}

/* The verifier's software MakeCredential for --ak-pub's name under --ek-cert's key (PEM),
 * written as tpm2_makecredential does (for vtpmctl host-activate / tpm2_activatecredential). */
static int cmd_makecred(const struct opts *o)
{
    FILE *f = o->ek_cert ? fopen(o->ek_cert, "re") : NULL;
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    uint8_t *akb = NULL, *cred = NULL, name[TPM_NAME_MAX];
    uint8_t hdr[8] = { 0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1 };
    size_t akl, cl, nl;
    TPM2B_PUBLIC ak;
    struct credential c;
    int ok = 0;

    if (f)
        fclose(f);
    if (cert && o->ak_pub && o->credential &&
        !file_read_all_flags(AT_FDCWD, o->ak_pub, 0, MAX_FILE, &akb, &akl) &&
        !file_read_all_flags(AT_FDCWD, o->credential, 0, MAX_FILE, &cred, &cl) &&
        !tpm_public_parse(akb, akl, &ak) && !tpm_public_name(&ak.publicArea, name, &nl) &&
        !makecred(X509_get0_pubkey(cert), name, nl, cred, cl, &c) && (f = fopen(o->out, "we"))) {
        ok = fwrite(hdr, 1, 8, f) == 8 && fwrite(c.id_object, 1, c.id_len, f) == c.id_len &&
             fwrite(c.secret, 1, c.secret_len, f) == c.secret_len;
        ok = fclose(f) == 0 && ok;
    }
    X509_free(cert);
    free(akb);
    free(cred);
    return ok ? 0 : die("makecred needs --ek-cert PEM --ak-pub TPM2B_PUBLIC --credential F");
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        { "out", 1, 0, 'o' }, { "in", 1, 0, 'i' }, { "log", 1, 0, 'l' }, { "nonce", 1, 0, 'n' },
        { "ak-pub", 1, 0, 'a' }, { "attest", 1, 0, 'q' }, { "sig", 1, 0, 's' },
        { "pcrs", 1, 0, 'p' }, { "ek-cert", 1, 0, 'e' }, { "chain", 1, 0, 'c' },
        { "container", 1, 0, 'C' }, { "vtpm", 1, 0, 'v' }, { "registration", 1, 0, 'r' },
        { "credential", 1, 0, 'k' }, { "rootfs", 1, 0, 'R' }, { "image", 1, 0, 'I' },
        { "runtime", 1, 0, 'T' }, { "agent", 1, 0, 'A' }, { "cap", 1, 0, 'P' },
        { "host-ns", 1, 0, 'N' }, { "tamper", 1, 0, 'X' }, { "no-memory-limit", 0, 0, 'M' },
        { "no-seccomp", 0, 0, 'S' }, { "node", 1, 0, 'D' }, { 0, 0, 0, 0 },
    };
    int c;

    o->tamper = -1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'i': o->in = optarg; break;
        case 'l': o->log = optarg; break;
        case 'n': o->nonce = optarg; break;
        case 'a': o->ak_pub = optarg; break;
        case 'q': o->attest = optarg; break;
        case 's': o->sig = optarg; break;
        case 'p': o->pcrs = optarg; break;
        case 'e': o->ek_cert = optarg; break;
        case 'c': o->chain = optarg; break;
        case 'C': o->container = optarg; break;
        case 'v': o->vtpm = optarg; break;
        case 'r': o->registration = optarg; break;
        case 'k': o->credential = optarg; break;
        case 'R': o->rootfs = optarg; break;
        case 'I': o->image = optarg; break;
        case 'T': o->runtime = optarg; break;
        case 'A': o->agent = optarg; break;
        case 'P': if (o->ncaps < MAX_ARGS) o->caps[o->ncaps++] = optarg; break;
        case 'N': if (o->nns < MAX_ARGS) o->host_ns[o->nns++] = optarg; break;
        case 'X': o->tamper = atoi(optarg); break;
        case 'M': o->no_memory_limit = 1; break;
        case 'S': o->no_seccomp = 1; break;
        case 'D': o->node = optarg; break;
        default: return -1;
        }
    }
    return o->out ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct opts o = { 0 };
    const char *cmd = argc > 1 ? argv[1] : "";

    if (parse(argc - 1, argv + 1, &o) < 0)
        return die("usage: evidence_build log|build|register-req|cred|activate-req|makecred --out F ...");
    if (!strcmp(cmd, "log"))
        return cmd_log(&o);
    if (!strcmp(cmd, "build"))
        return cmd_build(&o);
    if (!strcmp(cmd, "register-req"))
        return cmd_register_req(&o);
    if (!strcmp(cmd, "cred"))
        return cmd_cred(&o);
    if (!strcmp(cmd, "activate-req"))
        return cmd_activate_req(&o);
    if (!strcmp(cmd, "makecred"))
        return cmd_makecred(&o);
    return die("unknown command");
}
