/* SPDX-License-Identifier: BSD-3-Clause */
/* vtpm-mgr control client: one CBOR request and reply per connection, time-bounded. */
#include "mgrclient.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ctlproto.h"
#include "log.h"

static int mgr_connect(const struct mgr_client *c)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = c->timeout_ms / 1000,
                          .tv_usec = (c->timeout_ms % 1000) * 1000 };
    int fd, r;

    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/vtpm-mgr.sock", c->run_dir) >=
        (int)sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        r = -errno;
        LOG_ERROR("cannot reach vtpm-mgr at %s: %s", sa.sun_path, strerror(-r));
        close(fd);
        return r;
    }
    return fd;
}

static int reply_error(const cbor_item_t *resp, const char *op)
{
    char msg[256];
    uint64_t err = EIO;

    if (ctl_get_str(resp, "error", msg, sizeof(msg)))
        snprintf(msg, sizeof(msg), "malformed reply");
    (void)ctl_get_uint(resp, "errno", &err);
    LOG_ERROR("vtpm-mgr %s: %s", op, msg);
    return err > 0 && err < 4096 ? -(int)err : -EIO;
}

/* Sends {v, op, [uuid]} and returns the successful reply (cbor_decref). */
/* Sends req (consumed: its reference is dropped) and returns the successful reply. */
static int call_req(const struct mgr_client *c, const char *op, cbor_item_t *req,
                    cbor_item_t **out)
{
    cbor_item_t *resp = NULL;
    int ok = 0, fd = -1, r = -ENOMEM;

    *out = NULL;
    if (!req)
        goto out;
    if ((r = fd = mgr_connect(c)) < 0)
        goto out;
    r = ctl_send(fd, req);
    if (r == 0)
        r = ctl_recv(fd, CTL_MAX_RESPONSE, &resp);
    if (r < 0) {
        LOG_ERROR("vtpm-mgr %s: %s", op, strerror(-r));
        goto out;
    }
    if (ctl_get_bool(resp, "ok", &ok) || !ok) {
        r = reply_error(resp, op);
        goto out;
    }
    *out = resp;
    resp = NULL;
out:
    if (fd >= 0)
        close(fd);
    if (req)
        cbor_decref(&req);
    if (resp)
        cbor_decref(&resp);
    return r;
}

static int call(const struct mgr_client *c, const char *op, const char *uuid, cbor_item_t **out)
{
    cbor_item_t *req = ctl_map_new();

    if (req && (ctl_put_uint(req, "v", CTL_PROTO_VERSION) || ctl_put_str(req, "op", op) ||
                (uuid && ctl_put_str(req, "uuid", uuid))))
        cbor_decref(&req);
    return call_req(c, op, req, out);
}

/*
 * The host TPM's queue: the service's threads send host-TPM commands (host-quote,
 * host-activate) one at a time, in the order they wait, each wait bounded by the call's own
 * time. vtpm-mgr serialises them too; this keeps a burst of concurrent starts from holding
 * vtpm-mgr connections open while the host TPM signs for someone else.
 */
static pthread_mutex_t g_host_tpm = PTHREAD_MUTEX_INITIALIZER;

static int host_tpm_call(const struct mgr_client *c, const char *op, cbor_item_t *req,
                         cbor_item_t **resp)
{
    struct timespec ts;
    int ms = c->timeout_ms > 0 ? c->timeout_ms : 1, r;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    if ((r = pthread_mutex_timedlock(&g_host_tpm, &ts)) != 0) {
        if (req)
            cbor_decref(&req);
        LOG_WARN("vtpm-mgr %s: the host TPM's queue did not move in %d ms", op, ms);
        return r == ETIMEDOUT ? -ETIMEDOUT : -r;
    }
    r = call_req(c, op, req, resp);
    pthread_mutex_unlock(&g_host_tpm);
    return r;
}

int mgr_host_activate(const struct mgr_client *c, const uint8_t *blob, size_t blob_len,
                      const uint8_t *secret, size_t secret_len, uint8_t **cred, size_t *cred_len)
{
    cbor_item_t *req = ctl_map_new(), *resp = NULL;
    const uint8_t *p;
    size_t n;
    int r;

    if (req && (ctl_put_uint(req, "v", CTL_PROTO_VERSION) ||
                ctl_put_str(req, "op", "host-activate") ||
                ctl_put_bytes(req, "credential_blob", blob, blob_len) ||
                ctl_put_bytes(req, "secret", secret, secret_len)))
        cbor_decref(&req);
    if ((r = host_tpm_call(c, "host-activate", req, &resp)) < 0)
        return r;
    r = ctl_get_bytes(resp, "credential", &p, &n) ? -EBADMSG : 0;
    if (r == 0 && !(*cred = malloc(n ? n : 1)))
        r = -ENOMEM;
    if (r == 0) {
        memcpy(*cred, p, n);
        *cred_len = n;
    }
    cbor_decref(&resp);
    return r;
}

/* Owner and tenant, when the reply has both; a malformed value is an error. */
static int owner_of(const cbor_item_t *resp, struct mgr_vtpm *out)
{
    uint64_t uid;
    int ru = ctl_get_uint(resp, "owner_uid", &uid);
    int rt = ctl_get_str(resp, "tenant", out->tenant, sizeof(out->tenant));

    int bound = 1;

    out->has_owner = 0;
    if (ctl_get_str(resp, "status", out->status, sizeof(out->status)) < 0)
        out->status[0] = '\0';
    out->unbound = ctl_get_bool(resp, "bound", &bound) == 0 && !bound;
    if (ru == -ENOENT && rt == -ENOENT)
        return 0;
    if (ru < 0 || rt < 0 || uid > UINT32_MAX) {
        LOG_ERROR("vtpm-mgr: malformed owner_uid/tenant in reply");
        return -EBADMSG;
    }
    out->owner_uid = (uint32_t)uid;
    out->has_owner = 1;
    return 0;
}

static int vtpm_of(const cbor_item_t *resp, struct mgr_vtpm *out)
{
    memset(out, 0, sizeof(*out));
    if (ctl_get_str(resp, "uuid", out->uuid, sizeof(out->uuid)) ||
        ctl_get_str(resp, "socket", out->socket, sizeof(out->socket))) {
        LOG_ERROR("vtpm-mgr: reply without uuid/socket");
        return -EBADMSG;
    }
    return owner_of(resp, out);
}

int mgr_ping(const struct mgr_client *c)
{
    cbor_item_t *resp;
    int r = call(c, "ping", NULL, &resp);

    if (r == 0)
        cbor_decref(&resp);
    return r;
}

int mgr_create(const struct mgr_client *c, struct mgr_vtpm *out)
{
    cbor_item_t *resp;
    int r = call(c, "create", NULL, &resp);

    if (r < 0)
        return r;
    r = vtpm_of(resp, out);
    cbor_decref(&resp);
    return r;
}

int mgr_info(const struct mgr_client *c, const char *uuid, struct mgr_vtpm *out)
{
    cbor_item_t *resp;
    int r = call(c, "info", uuid, &resp);

    if (r < 0)
        return r;
    r = vtpm_of(resp, out);
    cbor_decref(&resp);
    return r;
}

int mgr_delete(const struct mgr_client *c, const char *uuid)
{
    cbor_item_t *resp;
    int r = call(c, "delete", uuid, &resp);

    if (r == 0)
        cbor_decref(&resp);
    return r;
}

int mgr_bind(const struct mgr_client *c, const char *uuid, pid_t pid)
{
    cbor_item_t *req = ctl_map_new(), *resp = NULL;
    int r;

    if (pid <= 0)
        return -EINVAL;
    if (req && (ctl_put_uint(req, "v", CTL_PROTO_VERSION) || ctl_put_str(req, "op", "bind") ||
                ctl_put_str(req, "uuid", uuid) || ctl_put_uint(req, "bind_pid", (uint64_t)pid)))
        cbor_decref(&req);
    if ((r = call_req(c, "bind", req, &resp)) < 0)
        return r;
    cbor_decref(&resp);
    return 0;
}

int mgr_attach_device(const struct mgr_client *c, const char *uuid, pid_t pid, const char *node,
                      const char *root, char *dev, size_t devsz)
{
    cbor_item_t *req = ctl_map_new(), *resp = NULL;
    int r;

    if (pid <= 0)
        return -EINVAL;
    if (req && (ctl_put_uint(req, "v", CTL_PROTO_VERSION) ||
                ctl_put_str(req, "op", "attach-device") || ctl_put_str(req, "uuid", uuid) ||
                ctl_put_uint(req, "bind_pid", (uint64_t)pid) || ctl_put_str(req, "node", node) ||
                (root && ctl_put_str(req, "node_root", root))))
        cbor_decref(&req);
    if ((r = call_req(c, "attach-device", req, &resp)) < 0)
        return r;
    if (ctl_get_str(resp, "device", dev, devsz) != 0)
        r = -EPROTO;
    cbor_decref(&resp);
    return r;
}

static int pem_to_der(const char *pem, size_t len, uint8_t **der, size_t *der_len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    unsigned char *buf = NULL;
    int n = x ? i2d_X509(x, &buf) : -1;

    X509_free(x);
    BIO_free(bio);
    if (n <= 0) {
        LOG_ERROR("vtpm-mgr: the EK certificate is not a PEM X.509 certificate");
        return -EBADMSG;
    }
    *der = malloc((size_t)n);
    if (*der)
        memcpy(*der, buf, (size_t)n);
    OPENSSL_free(buf);
    *der_len = (size_t)n;
    return *der ? 0 : -ENOMEM;
}

int mgr_ek_cert(const struct mgr_client *c, const char *uuid, uint8_t **der, size_t *len)
{
    cbor_item_t *resp, *pem;
    int r = call(c, "ek-cert", uuid, &resp);

    if (r < 0)
        return r;
    pem = ctl_get(resp, "ek_cert");
    if (pem && cbor_isa_string(pem) && cbor_string_is_definite(pem))
        r = pem_to_der((const char *)cbor_string_handle(pem), cbor_string_length(pem), der, len);
    else
        r = -EBADMSG;
    cbor_decref(&resp);
    return r;
}

int mgr_host_chain(const struct mgr_client *c, cbor_item_t **files)
{
    return mgr_host_chain_for(c, NULL, files);
}

int mgr_host_chain_for(const struct mgr_client *c, const char *uuid, cbor_item_t **files)
{
    cbor_item_t *resp, *f;
    int r = call(c, "host-chain", uuid, &resp);

    if (r < 0)
        return r;
    f = ctl_get(resp, "files");
    r = f && cbor_isa_map(f) ? 0 : -EBADMSG;
    if (r == 0)
        *files = cbor_incref(f);
    cbor_decref(&resp);
    return r;
}

void mgr_host_quote_free(struct mgr_host_quote *q)
{
    free(q->attest);
    free(q->sig);
    memset(q, 0, sizeof(*q));
}

/* One entry of the reply's pcrs map: a PCR of mask not seen yet, 32 bytes. */
static int quote_pcr(const struct cbor_pair *p, uint32_t mask, struct mgr_host_quote *q)
{
    uint64_t k;

    if (!cbor_isa_uint(p->key) || (k = cbor_get_int(p->key)) >= MGR_HOST_PCRS ||
        !(mask & (1u << k)) || (q->mask & (1u << k)) || !cbor_isa_bytestring(p->value) ||
        !cbor_bytestring_is_definite(p->value) || cbor_bytestring_length(p->value) != 32)
        return -EBADMSG;
    q->mask |= 1u << k;
    memcpy(q->values[k], cbor_bytestring_handle(p->value), 32);
    return 0;
}

static int dup_reply_bytes(const cbor_item_t *m, const char *k, uint8_t **out, size_t *len)
{
    const uint8_t *p;

    if (ctl_get_bytes(m, k, &p, len) || *len == 0)
        return -EBADMSG;
    if (!(*out = malloc(*len)))
        return -ENOMEM;
    memcpy(*out, p, *len);
    return 0;
}

int mgr_host_quote_parse(const cbor_item_t *resp, uint32_t mask, struct mgr_host_quote *q)
{
    const cbor_item_t *m = ctl_get(resp, "pcrs");
    int r = m && cbor_isa_map(m) && cbor_map_is_definite(m) ? 0 : -EBADMSG;

    memset(q, 0, sizeof(*q));
    for (size_t i = 0; r == 0 && i < cbor_map_size(m); i++)
        r = quote_pcr(&cbor_map_handle(m)[i], mask, q);
    if (r == 0 && q->mask != mask)
        r = -EBADMSG;
    if (r == 0)
        r = dup_reply_bytes(resp, "quote_attest", &q->attest, &q->attest_len);
    if (r == 0)
        r = dup_reply_bytes(resp, "quote_sig", &q->sig, &q->sig_len);
    if (r < 0) {
        LOG_ERROR("vtpm-mgr host-quote: malformed reply");
        mgr_host_quote_free(q);
    }
    return r;
}

static cbor_item_t *pcr_array(uint32_t mask)
{
    cbor_item_t *a = cbor_new_definite_array(MGR_HOST_PCRS);

    for (unsigned i = 0; a && i < MGR_HOST_PCRS; i++) {
        cbor_item_t *v = (mask & (1u << i)) ? cbor_build_uint8((uint8_t)i) : NULL;
        if (v && !cbor_array_push(a, v))
            cbor_decref(&a);
        if (v)
            cbor_decref(&v);
    }
    return a;
}

int mgr_host_quote(const struct mgr_client *c, const uint8_t *nonce, size_t nonce_len,
                   uint32_t mask, struct mgr_host_quote *q)
{
    cbor_item_t *req = ctl_map_new(), *resp = NULL;
    int r;

    memset(q, 0, sizeof(*q));
    if (req && (ctl_put_uint(req, "v", CTL_PROTO_VERSION) ||
                ctl_put_str(req, "op", "host-quote") ||
                ctl_put_bytes(req, "nonce", nonce, nonce_len) ||
                ctl_put_item(req, "pcrs", pcr_array(mask))))
        cbor_decref(&req);
    if ((r = host_tpm_call(c, "host-quote", req, &resp)) < 0)
        return r;
    r = mgr_host_quote_parse(resp, mask, q);
    cbor_decref(&resp);
    return r;
}
