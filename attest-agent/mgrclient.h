/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent's client of the vtpm-mgr control socket (docs/control-protocol.md). */
#ifndef AGENT_MGRCLIENT_H
#define AGENT_MGRCLIENT_H

#include <cbor.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MGR_UUID_LEN 37 /* 36 + NUL */

struct mgr_client {
    const char *run_dir;  /* borrowed */
    int timeout_ms;       /* per request (connect, send, receive) */
};

struct mgr_vtpm {
    char uuid[MGR_UUID_LEN];
    char socket[PATH_MAX];
    int has_owner;            /* the reply had owner_uid and tenant */
    uint32_t owner_uid;
    char tenant[64];          /* vtpm-mgr: 1-63 of [A-Za-z0-9._-] */
    char status[16];          /* "live", "broken", ...; "" when not reported */
    int unbound;              /* the reply says `bound: false` (given to no container) */
};

/* ping {}: 0 when vtpm-mgr answers. */
int mgr_ping(const struct mgr_client *c);
/* create {} -> a new vTPM (ECC EK) owned by the caller. */
int mgr_create(const struct mgr_client *c, struct mgr_vtpm *out);
/* info {uuid} -> the vTPM's canonical UUID, socket, owner uid, tenant and status; -ENOENT
 * for an unknown vTPM. */
int mgr_info(const struct mgr_client *c, const char *uuid, struct mgr_vtpm *out);
int mgr_delete(const struct mgr_client *c, const char *uuid);
/* bind {uuid, bind_pid}: gives the vTPM's sockets to pid's container (its pid and mount
 * namespaces); replaces an earlier binding. -ESRCH when pid is gone. */
int mgr_bind(const struct mgr_client *c, const char *uuid, pid_t pid);
/* attach-device {uuid, bind_pid, node, node_root}: a kmod-vtpm /dev/vtpm<N> bound to pid's
 * container, its node made at node below root in pid's root (vtpm-mgr makes it again after
 * its restart); dev gets the host's device path. */
int mgr_attach_device(const struct mgr_client *c, const char *uuid, pid_t pid, const char *node,
                      const char *root, char *dev, size_t devsz);
/* The vTPM's EK certificate as DER (callee-allocated, free()). */
int mgr_ek_cert(const struct mgr_client *c, const char *uuid, uint8_t **der, size_t *len);
/* host-activate: TPM2_ActivateCredential of a verifier's challenge for the host AK in the
 * host TPM (vtpm-mgr does it); *cred is callee-allocated (wipe and free). */
int mgr_host_activate(const struct mgr_client *c, const uint8_t *blob, size_t blob_len,
                      const uint8_t *secret, size_t secret_len, uint8_t **cred, size_t *cred_len);
/* The host-chain files map (text -> bytes), a new reference (cbor_decref). */
int mgr_host_chain(const struct mgr_client *c, cbor_item_t **files);
/* The same with vtpm-issuer.pem the issuer of that vTPM's EK certificate (uuid NULL: the
 * current issuer), as its evidence needs. */
int mgr_host_chain_for(const struct mgr_client *c, const char *uuid, cbor_item_t **files);

#define MGR_HOST_PCRS 24
/* A quote of the host AK (host-quote); buffers callee-allocated, mgr_host_quote_free(). */
struct mgr_host_quote {
    uint8_t *attest;            /* marshalled TPMS_ATTEST */
    size_t attest_len;
    uint8_t *sig;               /* marshalled TPMT_SIGNATURE */
    size_t sig_len;
    uint32_t mask;              /* bit i: PCR i quoted */
    uint8_t values[MGR_HOST_PCRS][32];
};
/* host-quote {nonce, pcrs of mask}: TPM2_Quote with the host AK over the host's sha256 PCRs. */
int mgr_host_quote(const struct mgr_client *c, const uint8_t *nonce, size_t nonce_len,
                   uint32_t mask, struct mgr_host_quote *q);
/* Takes a host-quote reply apart: non-empty quote_attest and quote_sig, pcrs a map with
 * exactly the PCRs of mask, 32 bytes each. 0 or -EBADMSG (q freed). */
int mgr_host_quote_parse(const cbor_item_t *resp, uint32_t mask, struct mgr_host_quote *q);
void mgr_host_quote_free(struct mgr_host_quote *q);

#endif
