/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket <run-dir>/vtpm-mgr.sock: authenticated with SO_PEERCRED (root, the
 * daemon's own uid, or the --control-group) and the peer's namespaces (the daemon's own:
 * peerauth.c), one CBOR request and one response per connection (lib/ctlproto.h,
 * docs/control-protocol.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"
#include "fileio.h"
#include "hostquote.h"
#include "log.h"
#include "mgr.h"
#include "vtpm_ipc.h"

#define CTL_IO_TIMEOUT_S 5

static const char *const host_files[] = {
    "host-ek.pem", "host-ek-ca.pem", "host-ek.pub", "host-ak.pub", "host-ak.pub.pem",
    "vtpm-ca.pem", "vtpm-ca.pub", "vtpm-ca.certify.attest", "vtpm-ca.certify.sig",
};

int ctl_listen(struct mgr *m)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    mode_t mode = m->cfg->ctl_gid == (gid_t)-1 ? 0600 : 0660;
    int fd;

    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/" CTL_SOCK_NAME, m->cfg->run_dir) >=
        (int)sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(sa.sun_path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(sa.sun_path, mode) != 0 ||
        (m->cfg->ctl_gid != (gid_t)-1 && chown(sa.sun_path, (uid_t)-1, m->cfg->ctl_gid)) ||
        listen(fd, 64) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    m->ctl_fd = fd;
    return 0;
}

/* Read right after accept: the peer's process must not have been replaced since. */
static int peer_allowed(struct mgr *m, int fd, uint64_t accepted_ns, struct ucred *cr)
{
    socklen_t len = sizeof(*cr);
    const char *why = "no peer credentials";

    memset(cr, 0, sizeof(*cr));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &len) == 0 && len == sizeof(*cr) &&
        peer_ctl_check(m, cr, accepted_ns, &why) == 0)
        return 1;
    LOG_WARN("control: refused peer pid %d uid %u gid %u: %s", (int)cr->pid,
             (unsigned)cr->uid, (unsigned)cr->gid, why);
    return 0;
}

static int put_instance(cbor_item_t *r, const struct mgr *m, const struct instance *in)
{
    static const char *const st[] = { "pending", "live", "broken", "rolled-back" };
    char sock[PATH_MAX], ctrl[PATH_MAX + 8];

    if (vtpm_socket_path(m, in, sock, sizeof(sock)))
        return -ENAMETOOLONG;
    snprintf(ctrl, sizeof(ctrl), "%s.ctrl", sock);
    if (ctl_put_str(r, "uuid", in->uuid_str) || ctl_put_str(r, "name", in->name) ||
        ctl_put_str(r, "tenant", in->tenant) || ctl_put_str(r, "ek", inst_ek_name(in->ek_type)) ||
        ctl_put_str(r, "socket", sock) || ctl_put_str(r, "ctrl_socket", ctrl) ||
        ctl_put_uint(r, "owner_uid", in->owner_uid) || ctl_put_uint(r, "created", in->created) ||
        ctl_put_str(r, "status", st[in->status]) ||
        ctl_put_uint(r, "worker_pid", in->worker ? (uint64_t)in->worker->pid : 0) ||
        ctl_put_bool(r, "bound", in->bound.pid_fd >= 0))
        return -ENOMEM;
    if (in->status >= INST_BROKEN && ctl_put_str(r, "error", in->error))
        return -ENOMEM;
    if (in->dev_fd >= 0) {
        char dev[32];
        snprintf(dev, sizeof(dev), "/dev/vtpm%u", in->dev_index);
        if (ctl_put_str(r, "device", dev) ||
            (in->dev_node[0] && ctl_put_str(r, "node", in->dev_node)))
            return -ENOMEM;
    }
    return 0;
}

static int put_ek_cert(cbor_item_t *r, struct mgr *m, const struct instance *in)
{
    char *pem = NULL;
    int rc = vtpm_ek_cert_pem(m, in, &pem);

    if (rc == 0)
        rc = ctl_put_str(r, "ek_cert", pem);
    free(pem);
    return rc;
}

/* The process whose container a kernel device is bound to: bind_pid (*given = 1), else the
 * caller. */
static int parse_pid(const cbor_item_t *req, const struct ucred *cr, pid_t *pid, int *given)
{
    uint64_t v;
    int r = ctl_get_uint(req, "bind_pid", &v);

    *given = 0;
    if (r == -ENOENT) {
        *pid = cr->pid;
        return 0;
    }
    if (r || v == 0 || v > INT32_MAX)
        return -EINVAL;
    *pid = (pid_t)v;
    *given = 1;
    return 0;
}

static int parse_create(const cbor_item_t *req, const struct ucred *cr, struct create_req *c)
{
    char ek[8] = "ecc";
    uint64_t v;
    int r;

    memset(c, 0, sizeof(*c));
    strcpy(c->tenant, MGR_DEFAULT_TENANT);
    c->owner_uid = cr->uid;
    c->owner_gid = cr->gid;
    if ((r = ctl_get_str(req, "name", c->name, sizeof(c->name))) && r != -ENOENT)
        return -EINVAL;
    if (c->name[0] && !inst_valid_name(c->name))
        return -EINVAL;
    if ((r = ctl_get_str(req, "tenant", c->tenant, sizeof(c->tenant))) && r != -ENOENT)
        return -EINVAL;
    if (!inst_valid_name(c->tenant))
        return -EINVAL;
    if ((r = ctl_get_str(req, "ek", ek, sizeof(ek))) && r != -ENOENT)
        return -EINVAL;
    if (strcmp(ek, "ecc") && strcmp(ek, "rsa"))
        return -EINVAL;
    c->ek_type = strcmp(ek, "rsa") ? VTPM_EK_ECC_P256 : VTPM_EK_RSA_2048;
    if ((r = ctl_get_uint(req, "owner_uid", &v)) == 0 && v < UINT32_MAX)
        c->owner_uid = (uint32_t)v;
    else if (r != -ENOENT)
        return -EINVAL;
    if ((r = ctl_get_uint(req, "owner_gid", &v)) == 0 && v < UINT32_MAX)
        c->owner_gid = (uint32_t)v;
    else if (r != -ENOENT)
        return -EINVAL;
    if ((r = ctl_get_bool(req, "device", &c->device)) && r != -ENOENT)
        return -EINVAL;
    return parse_pid(req, cr, &c->bind_pid, &c->bind);
}

static cbor_item_t *op_create(struct mgr *m, const cbor_item_t *req, const struct ucred *cr)
{
    struct create_req c;
    struct instance *in;
    cbor_item_t *r;
    int rc = parse_create(req, cr, &c);

    if (rc)
        return ctl_error(rc, "bad create request: name/tenant must be 1-63 of [A-Za-z0-9._-], "
                             "ek ecc|rsa");
    if (c.name[0] && inst_find_str(&m->insts, c.name))
        return ctl_error(-EEXIST, "a vTPM with this name exists");
    rc = vtpm_create(m, &c, &in);
    if (rc)
        return ctl_error(rc, strerror(-rc));
    r = ctl_ok();
    if (r && (put_instance(r, m, in) || put_ek_cert(r, m, in)))
        cbor_decref(&r);
    return r;
}

static cbor_item_t *op_list(struct mgr *m)
{
    cbor_item_t *r = ctl_ok(), *arr = cbor_new_definite_array(m->insts.count);

    for (struct instance *in = m->insts.head; r && arr && in; in = in->next) {
        cbor_item_t *e;
        if (in->status == INST_PENDING)
            continue;
        e = ctl_map_new();
        if (!e || put_instance(e, m, in) || !cbor_array_push(arr, e))
            cbor_decref(&r);
        if (e)
            cbor_decref(&e);
    }
    if (r && ctl_put_item(r, "vtpms", arr)) {
        cbor_decref(&r);
        return NULL;
    }
    if (!r && arr)
        cbor_decref(&arr);
    return r;
}

static struct instance *lookup(struct mgr *m, const cbor_item_t *req)
{
    char id[80];
    struct instance *in;

    if (ctl_get_str(req, "uuid", id, sizeof(id)))
        return NULL;
    in = inst_find_str(&m->insts, id);
    return in && in->status != INST_PENDING ? in : NULL;
}

static cbor_item_t *op_info(struct mgr *m, const cbor_item_t *req, int with_cert_only)
{
    struct instance *in = lookup(m, req);
    cbor_item_t *r;

    if (!in)
        return ctl_error(-ENOENT, "no such vTPM");
    r = ctl_ok();
    if (r && ((!with_cert_only && put_instance(r, m, in)) || put_ek_cert(r, m, in)))
        cbor_decref(&r);
    return r;
}

/* node (optional, "/dev/<name>") and node_root (optional, absolute: the container's rootfs
 * as bind_pid sees it before the runtime's pivot_root) of attach-device. */
static int parse_node(const cbor_item_t *req, char *node, size_t nn, char *root, size_t rn)
{
    int r;

    node[0] = root[0] = '\0';
    if ((r = ctl_get_str(req, "node", node, nn)) && r != -ENOENT)
        return -EINVAL;
    if (node[0] && !devnode_valid(node))
        return -EINVAL;
    if ((r = ctl_get_str(req, "node_root", root, rn)) && r != -ENOENT)
        return -EINVAL;
    if (root[0] && (root[0] != '/' || !node[0]))
        return -EINVAL;
    return 0;
}

static cbor_item_t *op_attach_device(struct mgr *m, const cbor_item_t *req,
                                     const struct ucred *cr)
{
    struct instance *in = lookup(m, req);
    char node[DEVNODE_MAX], root[PATH_MAX];
    struct peerns_ref ref;
    cbor_item_t *r;
    pid_t pid;
    int rc, given;

    if (!in)
        return ctl_error(-ENOENT, "no such vTPM");
    if (in->status != INST_LIVE || !in->worker)
        return ctl_error(-EAGAIN, "vTPM not being served");
    if (parse_pid(req, cr, &pid, &given))
        return ctl_error(-EINVAL, "bad bind_pid");
    if (parse_node(req, node, sizeof(node), root, sizeof(root)))
        return ctl_error(-EINVAL, "bad node (/dev/<name>, name 1-31 of [A-Za-z0-9._-]) or "
                                  "node_root (an absolute path, with node)");
    if (given && (rc = vtpm_bind_open(in, pid, &ref)) != 0)
        return ctl_error(rc, "cannot bind to bind_pid's container");
    rc = vtpm_attach_device(m, in, pid, node[0] ? node : NULL, root[0] ? root : NULL);
    if (rc) {
        if (given)
            peerns_ref_close(&ref);
        return ctl_error(rc, rc == -EBUSY ? "vTPM already has a device" : strerror(-rc));
    }
    if (given)
        vtpm_bind_commit(m, in, pid, &ref);
    r = ctl_ok();
    if (r && put_instance(r, m, in))
        cbor_decref(&r);
    return r;
}

/* Gives a vTPM to a container: processes in bind_pid's pid and mount namespaces may use its
 * sockets (besides the host's). Replaces an earlier binding. */
static cbor_item_t *op_bind(struct mgr *m, const cbor_item_t *req, const struct ucred *cr)
{
    struct instance *in = lookup(m, req);
    cbor_item_t *r;
    pid_t pid;
    int rc, given;

    if (!in)
        return ctl_error(-ENOENT, "no such vTPM");
    if (parse_pid(req, cr, &pid, &given) || !given)
        return ctl_error(-EINVAL, "bind_pid (unsigned, a process of the container) is required");
    rc = vtpm_bind(m, in, pid);
    if (rc)
        return ctl_error(rc, rc == -ESRCH ? "no such process" : strerror(-rc));
    r = ctl_ok();
    if (r && put_instance(r, m, in))
        cbor_decref(&r);
    return r;
}

static cbor_item_t *op_delete(struct mgr *m, const cbor_item_t *req)
{
    struct instance *in = lookup(m, req);
    int rc;

    if (!in)
        return ctl_error(-ENOENT, "no such vTPM");
    rc = vtpm_delete(m, in);
    return rc ? ctl_error(rc, strerror(-rc)) : ctl_ok();
}

/* vtpm-issuer.pem: the issuer of the named vTPM's EK certificate, else the current one. None
 * for a vTPM made before issuers existed: the vTPM-CA key signed its EK certificate itself. */
static int put_issuer(cbor_item_t *files, struct mgr *m, const struct instance *in)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    int rc = in ? vtpm_ek_issuer_pem(m, in, &pem, &len)
                : issuer_cert_pem(m->issuer, NULL, 0, &pem, &len);

    if (rc == -ENOENT && in)
        return 0;
    if (rc == 0)
        rc = ctl_put_bytes(files, ISSUER_CERT_FILE, pem, len);
    free(pem);
    return rc;
}

static cbor_item_t *host_chain_reply(struct mgr *m, const struct instance *in)
{
    cbor_item_t *r = ctl_ok(), *files = ctl_map_new();

    for (size_t i = 0; r && files && i < sizeof(host_files) / sizeof(host_files[0]); i++) {
        uint8_t *buf;
        size_t len;
        int rc = file_read_all(m->host_fd, host_files[i], 65536, &buf, &len);
        if (rc == -ENOENT)
            continue;
        if (rc || ctl_put_bytes(files, host_files[i], buf, len))
            cbor_decref(&r);
        if (rc == 0)
            free(buf);
    }
    if (r && files && put_issuer(files, m, in))
        cbor_decref(&r);
    if (r && ctl_put_item(r, "files", files))
        cbor_decref(&r);
    else if (!r && files)
        cbor_decref(&files);
    return r ? r : ctl_error(-EIO, "reading the host chain failed");
}

/* The host's files, with the issuer of one vTPM's EK certificate when "uuid" names one. */
static cbor_item_t *op_host_chain(struct mgr *m, const cbor_item_t *req)
{
    struct instance *in = NULL;
    char id[80];
    int rc = ctl_get_str(req, "uuid", id, sizeof(id));

    if (rc && rc != -ENOENT)
        return ctl_error(-EINVAL, "uuid must be a text string");
    if (rc == 0 && !(in = lookup(m, req)))
        return ctl_error(-ENOENT, "no such vTPM");
    return host_chain_reply(m, in);
}

/* A new issuer key now (one host-TPM signature): e.g. after the old one may have leaked. */
static cbor_item_t *op_issuer_rotate(struct mgr *m)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    cbor_item_t *r;
    int rc = issuer_rotate(m->issuer);

    if (rc == 0)
        rc = issuer_cert_pem(m->issuer, NULL, 0, &pem, &len);
    if (rc)
        return ctl_error(rc, "issuer rotation failed");
    r = ctl_ok();
    if (r && ctl_put_bytes(r, "issuer", pem, len))
        cbor_decref(&r);
    free(pem);
    return r;
}

/* Proves the host AK and the host EK share a TPM: only the EK can decrypt a credential that
 * a verifier made for the AK's name. */
static cbor_item_t *op_host_activate(struct mgr *m, const cbor_item_t *req)
{
    const uint8_t *blob, *secret;
    size_t blen, slen, clen = 0;
    uint8_t *cred = NULL;
    cbor_item_t *r;
    int rc;

    if (ctl_get_bytes(req, "credential_blob", &blob, &blen) ||
        ctl_get_bytes(req, "secret", &secret, &slen))
        return ctl_error(-EINVAL, "credential_blob and secret (byte strings) are required");
    rc = hosttpm_activate_credential(m->host, blob, blen, secret, slen, &cred, &clen);
    if (rc)
        return ctl_error(rc, rc == -EINVAL ? "malformed credential" : "activation failed");
    r = ctl_ok();
    if (r && ctl_put_bytes(r, "credential", cred, clen))
        cbor_decref(&r);
    explicit_bzero(cred, clen);
    free(cred);
    return r;
}

/* A quote of the host AK over host PCRs with the caller's nonce: the host's boot state as
 * evidence. Callers are peer_allowed() ones, as for host-activate, so the AK does not sign
 * nonces for anyone else. */
static cbor_item_t *op_host_quote(struct mgr *m, const cbor_item_t *req)
{
    struct hostquote_req q;
    struct hosttpm_quote hq;
    const char *why = NULL;
    cbor_item_t *r;
    int rc = hostquote_parse(req, &q, &why);

    if (rc)
        return ctl_error(rc, why);
    rc = hosttpm_quote(m->host, q.nonce, q.nonce_len, q.mask, &hq);
    r = rc ? ctl_error(rc, rc == -EAGAIN ? "host PCRs kept changing during the quote"
                                         : "host quote failed")
           : hostquote_reply(&hq);
    hosttpm_quote_free(&hq);
    return r;
}

static cbor_item_t *dispatch(struct mgr *m, const cbor_item_t *req, const struct ucred *cr)
{
    char op[32];
    uint64_t v;

    if (ctl_get_uint(req, "v", &v) || v != CTL_PROTO_VERSION)
        return ctl_error(-EPROTONOSUPPORT, "unsupported protocol version");
    if (ctl_get_str(req, "op", op, sizeof(op)))
        return ctl_error(-EINVAL, "missing op");
    if (!strcmp(op, "create"))
        return op_create(m, req, cr);
    if (!strcmp(op, "list"))
        return op_list(m);
    if (!strcmp(op, "info"))
        return op_info(m, req, 0);
    if (!strcmp(op, "ek-cert"))
        return op_info(m, req, 1);
    if (!strcmp(op, "delete"))
        return op_delete(m, req);
    if (!strcmp(op, "attach-device"))
        return op_attach_device(m, req, cr);
    if (!strcmp(op, "bind"))
        return op_bind(m, req, cr);
    if (!strcmp(op, "host-chain"))
        return op_host_chain(m, req);
    if (!strcmp(op, "issuer-rotate"))
        return op_issuer_rotate(m);
    if (!strcmp(op, "host-activate"))
        return op_host_activate(m, req);
    if (!strcmp(op, "host-quote"))
        return op_host_quote(m, req);
    if (!strcmp(op, "ping"))
        return ctl_ok();
    return ctl_error(-EOPNOTSUPP, "unknown op");
}

static void serve_conn(struct mgr *m, int fd, uint64_t accepted_ns)
{
    struct timeval tv = { .tv_sec = CTL_IO_TIMEOUT_S };
    struct ucred cr;
    cbor_item_t *req = NULL, *resp;
    int r;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (!peer_allowed(m, fd, accepted_ns, &cr)) {
        resp = ctl_error(-EACCES, "permission denied");
    } else if ((r = ctl_recv(fd, CTL_MAX_REQUEST, &req)) != 0) {
        resp = ctl_error(r, "malformed request");
    } else {
        resp = dispatch(m, req, &cr);
    }
    if (!resp)
        resp = ctl_error(-ENOMEM, "out of memory");
    if (resp)
        ctl_send(fd, resp);
    if (resp)
        cbor_decref(&resp);
    if (req)
        cbor_decref(&req);
}

void ctl_serve_one(struct mgr *m)
{
    int fd = accept4(m->ctl_fd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0)
        return;
    serve_conn(m, fd, peerns_now());
    close(fd);
}
