/* SPDX-License-Identifier: BSD-3-Clause */
/* vtpmctl: command-line client of vtpm-mgr's control socket; prints JSON (jansson). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <tss2/tss2_mu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"
#include "fileio.h"
#include "hexutil.h"
#include "cli.h"
#include "pcrlist.h"

#define DEFAULT_RUN_DIR "/run/vtpm-mgr"
#define REPLY_TIMEOUT_S 120
#define HOST_QUOTE_PCRS "0-7,13" /* the boot PCRs and kmod-vtpm's */

static const char *g_run_dir;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: vtpmctl [--run-dir DIR] COMMAND\n"
        "  create [--name N] [--tenant T] [--ek ecc|rsa] [--owner UID[:GID]]\n"
        "         [--device] [--bind-pid PID]   also a kmod-vtpm /dev/vtpm<N>; PID's container\n"
        "                                       may use the vTPM\n"
        "  attach-device UUID|NAME [--bind-pid PID] [--node /dev/NAME [--node-root DIR]]\n"
        "                                       a /dev/vtpm<N> for PID's container; --node also\n"
        "                                       makes it there (below DIR before pivot_root)\n"
        "                                       and is made again after a vtpm-mgr restart\n"
        "  bind UUID|NAME --bind-pid PID        give the vTPM's sockets to PID's container\n"
        "  list\n  info UUID|NAME\n  delete UUID|NAME\n  ek-cert UUID|NAME\n"
        "  host-chain --out DIR [UUID|NAME]     the host's chain files; vtpm-issuer.pem is the\n"
        "                                       issuer of that vTPM's EK certificate (default:\n"
        "                                       the current one)\n"
        "  issuer-rotate                        a new EK-certificate issuer key now (1 host\n"
        "                                       TPM2_Sign); prints its certificate\n"
        "  host-activate --credential FILE --out FILE   (FILE from tpm2_makecredential)\n"
        "  host-quote --nonce HEX [--pcrs LIST] --out DIR   (host AK quote, LIST default "
        HOST_QUOTE_PCRS ")\n"
        "  --help, -h | --version               this text | the version\n"
        "The daemon is found through --run-dir, else $VTPM_MGR_RUN_DIR, else " DEFAULT_RUN_DIR
        ".\n");
}

static int connect_mgr(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
    int fd;

    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/vtpm-mgr.sock", g_run_dir) >=
        (int)sizeof(sa.sun_path)) {
        fprintf(stderr, "vtpmctl: run dir path too long\n");
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "vtpmctl: cannot reach vtpm-mgr at %s: %s\n", sa.sun_path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Sends req (consumed) and returns the daemon's successful reply, or NULL after printing
 * the error. */
static cbor_item_t *call(cbor_item_t *req)
{
    cbor_item_t *resp = NULL;
    char err[512];
    int ok = 0, fd = connect_mgr(), r = -1;

    if (fd >= 0) {
        r = ctl_send(fd, req);
        /* A refusal (EACCES) is sent before the daemon reads anything and the socket closed:
         * the send may fail, the answer is still there to read. */
        if (r == 0 || r == -EPIPE || r == -ECONNRESET)
            r = ctl_recv(fd, CTL_MAX_RESPONSE, &resp);
        close(fd);
        if (r)
            fprintf(stderr, "vtpmctl: talking to vtpm-mgr failed: %s\n", strerror(-r));
    }
    cbor_decref(&req);
    if (r)
        return NULL;
    if (ctl_get_bool(resp, "ok", &ok) || !ok) {
        if (ctl_get_str(resp, "error", err, sizeof(err)))
            strcpy(err, "malformed reply");
        fprintf(stderr, "vtpmctl: %s\n", err);
        cbor_decref(&resp);
        return NULL;
    }
    return resp;
}

static json_t *to_json(const cbor_item_t *it);

static json_t *map_to_json(const cbor_item_t *it)
{
    json_t *o = json_object();
    struct cbor_pair *p = cbor_map_handle(it);

    for (size_t i = 0; o && i < cbor_map_size(it); i++) {
        char key[CTL_MAX_KEY + 1];
        size_t kl = cbor_string_length(p[i].key);
        json_t *v;
        if (!cbor_isa_string(p[i].key) || kl > CTL_MAX_KEY)
            continue;
        memcpy(key, cbor_string_handle(p[i].key), kl);
        key[kl] = '\0';
        if (!strcmp(key, "v") || !strcmp(key, "ok"))
            continue;
        v = to_json(p[i].value);
        if (v)
            json_object_set_new(o, key, v);
    }
    return o;
}

static json_t *to_json(const cbor_item_t *it)
{
    if (cbor_isa_map(it))
        return map_to_json(it);
    if (cbor_isa_array(it)) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < cbor_array_size(it); i++)
            json_array_append_new(a, to_json(cbor_array_handle(it)[i]));
        return a;
    }
    if (cbor_isa_string(it) && cbor_string_is_definite(it))
        return json_stringn((const char *)cbor_string_handle(it), cbor_string_length(it));
    if (cbor_isa_uint(it))
        return json_integer((json_int_t)cbor_get_int(it));
    if (ctl_is_bool(it))
        return json_boolean(cbor_get_bool(it));
    return NULL; /* byte strings are not printed */
}

static int print_json(json_t *j)
{
    int r = j ? json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) : -1;

    if (r == 0)
        putchar('\n');
    json_decref(j);
    return r == 0 ? 0 : 1;
}

/* Sends req (consumed) and prints the successful reply as JSON; the exit status. */
static int call_print(cbor_item_t *req)
{
    cbor_item_t *resp = call(req);
    int r;

    if (!resp)
        return 1;
    r = print_json(to_json(resp));
    cbor_decref(&resp);
    return r;
}

static cbor_item_t *request(const char *op)
{
    cbor_item_t *m = ctl_map_new();

    if (m && (ctl_put_uint(m, "v", CTL_PROTO_VERSION) || ctl_put_str(m, "op", op)))
        cbor_decref(&m);
    return m;
}

static int parse_owner(const char *s, cbor_item_t *req)
{
    char *end;
    unsigned long uid = strtoul(s, &end, 10), gid;

    if (end == s || (*end && *end != ':') || uid >= UINT32_MAX)
        return -1;
    if (ctl_put_uint(req, "owner_uid", uid))
        return -1;
    if (*end != ':')
        return 0;
    s = end + 1;
    gid = strtoul(s, &end, 10);
    if (end == s || *end || gid >= UINT32_MAX)
        return -1;
    return ctl_put_uint(req, "owner_gid", gid);
}

static int put_pid(cbor_item_t *req, const char *s)
{
    char *end;
    unsigned long pid = strtoul(s, &end, 10);

    if (end == s || *end || pid == 0 || pid > INT32_MAX)
        return -1;
    return ctl_put_uint(req, "bind_pid", pid);
}

/* bind UUID --bind-pid PID. */
static int cmd_with_pid(const char *op, int pid_required, int argc, char **argv)
{
    cbor_item_t *req;

    if ((argc != 2 && argc != 4) || (argc == 4 && strcmp(argv[2], "--bind-pid")) ||
        (pid_required && argc != 4)) {
        fprintf(stderr, "vtpmctl: usage: %s UUID|NAME %s\n", op,
                pid_required ? "--bind-pid PID" : "[--bind-pid PID]");
        return 2;
    }
    req = request(op);
    if (!req || ctl_put_str(req, "uuid", argv[1]) || (argc == 4 && put_pid(req, argv[3]))) {
        fprintf(stderr, "vtpmctl: %s: bad arguments\n", op);
        if (req)
            cbor_decref(&req);
        return 2;
    }
    return call_print(req);
}

/* attach-device UUID [--bind-pid PID] [--node PATH [--node-root DIR]] */
static int cmd_attach_device(int argc, char **argv)
{
    static const struct option o[] = {
        { "bind-pid", required_argument, NULL, 'p' }, { "node", required_argument, NULL, 'n' },
        { "node-root", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 } };
    cbor_item_t *req = request("attach-device");
    int c, bad = !req;

    optind = 1;
    while (!bad && (c = getopt_long(argc, argv, "", o, NULL)) != -1) {
        switch (c) {
        case 'p': bad = put_pid(req, optarg) != 0; break;
        case 'n': bad = ctl_put_str(req, "node", optarg) != 0; break;
        case 'r': bad = ctl_put_str(req, "node_root", optarg) != 0; break;
        default: bad = 1;
        }
    }
    if (!bad && optind == argc - 1)
        bad = ctl_put_str(req, "uuid", argv[optind]) != 0;
    else
        bad = 1;
    if (bad) {
        fprintf(stderr, "vtpmctl: usage: attach-device UUID|NAME [--bind-pid PID] "
                        "[--node /dev/NAME [--node-root DIR]]\n");
        if (req)
            cbor_decref(&req);
        return 2;
    }
    return call_print(req);
}

static int cmd_create(int argc, char **argv)
{
    static const struct option o[] = {
        { "name", required_argument, NULL, 'n' }, { "tenant", required_argument, NULL, 't' },
        { "ek", required_argument, NULL, 'e' }, { "owner", required_argument, NULL, 'o' },
        { "device", no_argument, NULL, 'd' }, { "bind-pid", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 } };
    cbor_item_t *req = request("create");
    int c, bad = !req;

    optind = 1;
    while (!bad && (c = getopt_long(argc, argv, "", o, NULL)) != -1) {
        if (c == 'n')
            bad = ctl_put_str(req, "name", optarg);
        else if (c == 't')
            bad = ctl_put_str(req, "tenant", optarg);
        else if (c == 'e')
            bad = ctl_put_str(req, "ek", optarg);
        else if (c == 'o')
            bad = parse_owner(optarg, req);
        else if (c == 'd')
            bad = ctl_put_bool(req, "device", 1);
        else if (c == 'p')
            bad = put_pid(req, optarg);
        else
            bad = 1;
    }
    if (bad || optind != argc) {
        fprintf(stderr, "vtpmctl: create: bad arguments\n");
        if (req)
            cbor_decref(&req);
        return 2;
    }
    return call_print(req);
}

static int cmd_simple(const char *op, const char *id, int pem)
{
    cbor_item_t *req = request(op), *resp;
    char cert[16384];
    int r;

    if (!req || (id && ctl_put_str(req, "uuid", id)))
        return 1;
    resp = call(req);
    if (!resp)
        return 1;
    if (pem) {
        r = ctl_get_str(resp, "ek_cert", cert, sizeof(cert)) ? 1 : 0;
        if (r == 0)
            fputs(cert, stdout);
        else
            fprintf(stderr, "vtpmctl: reply without certificate\n");
    } else if (!strcmp(op, "list")) {
        r = print_json(to_json(ctl_get(resp, "vtpms")));
    } else if (!strcmp(op, "delete")) {
        json_t *j = json_object();
        json_object_set_new(j, "deleted", json_string(id));
        r = print_json(j);
    } else {
        r = print_json(to_json(resp));
    }
    cbor_decref(&resp);
    return r;
}

static int write_chain(const cbor_item_t *files, const char *out)
{
    struct cbor_pair *p = cbor_map_handle(files);
    int dfd;

    if (dir_ensure(out, 0755) != 0 ||
        (dfd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "vtpmctl: cannot use %s: %s\n", out, strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < cbor_map_size(files); i++) {
        char name[CTL_MAX_KEY + 1];
        size_t kl = cbor_string_length(p[i].key);
        if (!cbor_isa_bytestring(p[i].value) || kl > CTL_MAX_KEY)
            continue;
        memcpy(name, cbor_string_handle(p[i].key), kl);
        name[kl] = '\0';
        if (strchr(name, '/') || name[0] == '.' ||
            file_write_atomic(dfd, name, cbor_bytestring_handle(p[i].value),
                              cbor_bytestring_length(p[i].value), 0644) != 0) {
            fprintf(stderr, "vtpmctl: writing %s/%s failed\n", out, name);
            close(dfd);
            return 1;
        }
        printf("%s/%s\n", out, name);
    }
    close(dfd);
    return 0;
}

/* host-chain --out DIR [UUID|NAME]: with a vTPM, vtpm-issuer.pem is its EK certificate's issuer. */
static int cmd_host_chain(int argc, char **argv)
{
    cbor_item_t *req, *resp, *files;
    int r;

    if ((argc != 3 && argc != 4) || strcmp(argv[1], "--out")) {
        fprintf(stderr, "vtpmctl: usage: host-chain --out DIR [UUID|NAME]\n");
        return 2;
    }
    req = request("host-chain");
    if (req && argc == 4 && ctl_put_str(req, "uuid", argv[3]))
        cbor_decref(&req);
    resp = req ? call(req) : NULL;
    if (!resp)
        return 1;
    files = ctl_get(resp, "files");
    r = files && cbor_isa_map(files) ? write_chain(files, argv[2]) : 1;
    cbor_decref(&resp);
    return r;
}

/* A new issuer key now; prints its certificate. */
static int cmd_issuer_rotate(void)
{
    cbor_item_t *resp = call(request("issuer-rotate")), *pem;
    int r = 1;

    if (!resp)
        return 1;
    pem = ctl_get(resp, "issuer");
    if (pem && cbor_isa_bytestring(pem) && cbor_bytestring_is_definite(pem)) {
        fwrite(cbor_bytestring_handle(pem), 1, cbor_bytestring_length(pem), stdout);
        r = 0;
    } else {
        fprintf(stderr, "vtpmctl: reply without the issuer certificate\n");
    }
    cbor_decref(&resp);
    return r;
}

/* tpm2_makecredential's output: magic 0xBADCC0DE, version 1, TPM2B_ID_OBJECT,
 * TPM2B_ENCRYPTED_SECRET; split with Tss2_MU. */
static int split_credential(const uint8_t *buf, size_t len, cbor_item_t *req)
{
    TPM2B_ID_OBJECT id = { 0 };
    TPM2B_ENCRYPTED_SECRET sec = { 0 };
    size_t off = 0, id_start;
    uint32_t magic = 0, ver = 0;

    if (Tss2_MU_UINT32_Unmarshal(buf, len, &off, &magic) || magic != 0xBADCC0DE ||
        Tss2_MU_UINT32_Unmarshal(buf, len, &off, &ver) || ver != 1)
        return -1;
    id_start = off;
    if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(buf, len, &off, &id))
        return -1;
    if (ctl_put_bytes(req, "credential_blob", buf + id_start, off - id_start))
        return -1;
    id_start = off;
    if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(buf, len, &off, &sec) || off != len)
        return -1;
    return ctl_put_bytes(req, "secret", buf + id_start, off - id_start);
}

static int cmd_host_activate(int argc, char **argv)
{
    cbor_item_t *req, *resp;
    const uint8_t *cred;
    uint8_t *in = NULL;
    size_t inlen, clen;
    int r = 1;

    if (argc != 5 || strcmp(argv[1], "--credential") || strcmp(argv[3], "--out")) {
        fprintf(stderr, "vtpmctl: usage: host-activate --credential FILE --out FILE\n");
        return 2;
    }
    if (file_read_all_flags(AT_FDCWD, argv[2], 0, 65536, &in, &inlen) != 0) {
        fprintf(stderr, "vtpmctl: cannot read %s\n", argv[2]);
        return 1;
    }
    req = request("host-activate");
    if (!req || split_credential(in, inlen, req) != 0) {
        fprintf(stderr, "vtpmctl: %s is not a tpm2_makecredential output\n", argv[2]);
        free(in);
        if (req)
            cbor_decref(&req);
        return 1;
    }
    free(in);
    resp = call(req);
    if (resp && ctl_get_bytes(resp, "credential", &cred, &clen) == 0 &&
        file_write_atomic(AT_FDCWD, argv[4], cred, clen, 0600) == 0)
        r = 0;
    else if (resp)
        fprintf(stderr, "vtpmctl: cannot write %s\n", argv[4]);
    if (resp)
        cbor_decref(&resp);
    return r;
}

/* The nonce as bytes; the daemon checks its size (16-64). */
static int put_nonce(cbor_item_t *req, const char *hex)
{
    uint8_t buf[256];
    size_t n = strlen(hex) / 2;

    if (strlen(hex) % 2 || n == 0 || n > sizeof(buf))
        return -1;
    if (hex_decode_exact(hex, buf, n) < 0)
        return -1;
    return ctl_put_bytes(req, "nonce", buf, n);
}

static int put_pcrs(cbor_item_t *req, uint32_t mask)
{
    cbor_item_t *a = cbor_new_definite_array(PCRLIST_PCRS);

    for (unsigned i = 0; a && i < PCRLIST_PCRS; i++) {
        cbor_item_t *v = (mask & (1u << i)) ? cbor_build_uint8((uint8_t)i) : NULL;
        if (v && !cbor_array_push(a, v))
            cbor_decref(&a);
        if (v)
            cbor_decref(&v);
    }
    return ctl_put_item(req, "pcrs", a);
}

/* The reply's pcrs map holds exactly the PCRs of mask, 32 bytes each: vals[i] for PCR i. */
static int reply_pcrs(const cbor_item_t *m, uint32_t mask, const uint8_t *vals[PCRLIST_PCRS])
{
    struct cbor_pair *p;
    uint32_t seen = 0;

    if (!m || !cbor_isa_map(m) || !cbor_map_is_definite(m))
        return -1;
    p = cbor_map_handle(m);
    for (size_t i = 0; i < cbor_map_size(m); i++) {
        uint64_t k = cbor_isa_uint(p[i].key) ? cbor_get_int(p[i].key) : PCRLIST_PCRS;
        if (k >= PCRLIST_PCRS || !(mask & (1u << k)) || (seen & (1u << k)) ||
            !cbor_isa_bytestring(p[i].value) || !cbor_bytestring_is_definite(p[i].value) ||
            cbor_bytestring_length(p[i].value) != 32)
            return -1;
        seen |= 1u << k;
        vals[k] = cbor_bytestring_handle(p[i].value);
    }
    return seen == mask ? 0 : -1;
}

/* pcrs.bin: the values in PCR order (tpm2-tools' "values" format); pcrs.json: by index. */
static int write_pcrs(int dfd, uint32_t mask, const uint8_t *vals[PCRLIST_PCRS])
{
    uint8_t bin[PCRLIST_PCRS * 32];
    json_t *bank = json_object(), *j = json_pack("{s:o}", "sha256", bank);
    char *txt = NULL, key[4], hex[65];
    size_t n = 0;
    int r = -1;

    for (unsigned i = 0; j && i < PCRLIST_PCRS; i++) {
        if (!(mask & (1u << i)))
            continue;
        memcpy(bin + n, vals[i], 32);
        n += 32;
        for (int k = 0; k < 32; k++)
            snprintf(hex + 2 * k, 3, "%02x", vals[i][k]);
        snprintf(key, sizeof(key), "%u", i);
        json_object_set_new(bank, key, json_string(hex));
    }
    if (j && (txt = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS)) &&
        file_write_atomic(dfd, "pcrs.bin", bin, n, 0644) == 0 &&
        file_write_atomic(dfd, "pcrs.json", txt, strlen(txt), 0644) == 0)
        r = 0;
    free(txt);
    json_decref(j);
    return r;
}

static int write_quote(const cbor_item_t *resp, uint32_t mask, const char *out)
{
    const uint8_t *att, *sig, *vals[PCRLIST_PCRS] = { 0 };
    size_t alen, slen;
    int dfd, r = 1;

    if (ctl_get_bytes(resp, "quote_attest", &att, &alen) ||
        ctl_get_bytes(resp, "quote_sig", &sig, &slen) ||
        reply_pcrs(ctl_get(resp, "pcrs"), mask, vals) < 0) {
        fprintf(stderr, "vtpmctl: malformed host-quote reply\n");
        return 1;
    }
    if (dir_ensure(out, 0755) != 0 ||
        (dfd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "vtpmctl: cannot use %s: %s\n", out, strerror(errno));
        return 1;
    }
    if (file_write_atomic(dfd, "quote.attest", att, alen, 0644) == 0 &&
        file_write_atomic(dfd, "quote.sig", sig, slen, 0644) == 0 &&
        write_pcrs(dfd, mask, vals) == 0)
        r = 0;
    else
        fprintf(stderr, "vtpmctl: writing into %s failed\n", out);
    close(dfd);
    if (r == 0)
        printf("%s/quote.attest\n%s/quote.sig\n%s/pcrs.bin\n%s/pcrs.json\n", out, out, out, out);
    return r;
}

static int cmd_host_quote(int argc, char **argv)
{
    static const struct option o[] = {
        { "nonce", required_argument, NULL, 'n' }, { "pcrs", required_argument, NULL, 'p' },
        { "out", required_argument, NULL, 'o' }, { NULL, 0, NULL, 0 } };
    const char *nonce = NULL, *list = HOST_QUOTE_PCRS, *out = NULL;
    cbor_item_t *req, *resp;
    uint32_t mask;
    int c, r;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
        if (c == 'n')
            nonce = optarg;
        else if (c == 'p')
            list = optarg;
        else if (c == 'o')
            out = optarg;
        else
            return 2;
    }
    if (optind != argc || !nonce || !out || pcrlist_parse(list, &mask) < 0) {
        fprintf(stderr, "vtpmctl: usage: host-quote --nonce HEX [--pcrs LIST] --out DIR "
                        "(LIST e.g. " HOST_QUOTE_PCRS ": PCRs 0-23, each once)\n");
        return 2;
    }
    req = request("host-quote");
    if (!req || put_nonce(req, nonce) || put_pcrs(req, mask)) {
        fprintf(stderr, "vtpmctl: host-quote: --nonce must be hex\n");
        if (req)
            cbor_decref(&req);
        return 2;
    }
    resp = call(req);
    if (!resp)
        return 1;
    r = write_quote(resp, mask, out);
    cbor_decref(&resp);
    return r;
}

static int dispatch(int argc, char **argv)
{
    const char *cmd = argv[0];

    if (!strcmp(cmd, "create"))
        return cmd_create(argc, argv);
    if (!strcmp(cmd, "list") && argc == 1)
        return cmd_simple("list", NULL, 0);
    if (!strcmp(cmd, "info") && argc == 2)
        return cmd_simple("info", argv[1], 0);
    if (!strcmp(cmd, "delete") && argc == 2)
        return cmd_simple("delete", argv[1], 0);
    if (!strcmp(cmd, "ek-cert") && argc == 2)
        return cmd_simple("ek-cert", argv[1], 1);
    if (!strcmp(cmd, "host-chain"))
        return cmd_host_chain(argc, argv);
    if (!strcmp(cmd, "issuer-rotate") && argc == 1)
        return cmd_issuer_rotate();
    if (!strcmp(cmd, "attach-device"))
        return cmd_attach_device(argc, argv);
    if (!strcmp(cmd, "bind"))
        return cmd_with_pid("bind", 1, argc, argv);
    if (!strcmp(cmd, "host-activate"))
        return cmd_host_activate(argc, argv);
    if (!strcmp(cmd, "host-quote"))
        return cmd_host_quote(argc, argv);
    fprintf(stderr, "vtpmctl: unknown command or wrong arguments: %s\n", cmd);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    int i = 1;

    switch (cli_ask(argc, argv)) {
    case CLI_HELP: usage(stdout); return 0;
    case CLI_VERSION: cli_version("vtpmctl"); return 0;
    default: break;
    }
    signal(SIGPIPE, SIG_IGN); /* a closed control socket is an error to print, not a kill */
    g_run_dir = getenv("VTPM_MGR_RUN_DIR");
    if (i < argc && !strcmp(argv[i], "--run-dir") && i + 1 < argc) {
        g_run_dir = argv[i + 1];
        i += 2;
    } else if (i < argc && !strncmp(argv[i], "--run-dir=", 10)) {
        g_run_dir = argv[i++] + 10;
    }
    if (!g_run_dir || !g_run_dir[0])
        g_run_dir = DEFAULT_RUN_DIR;
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    return dispatch(argc - i, argv + i);
}
