/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent's client of the vtpm-mgr control socket (docs/control-protocol.md). */
#ifndef AGENT_MGRCLIENT_H
#define AGENT_MGRCLIENT_H

#include <cbor.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define MGR_UUID_LEN 37 /* 36 + NUL */

struct mgr_client {
    const char *run_dir;  /* borrowed */
    int timeout_ms;       /* per request (connect, send, receive) */
};

struct mgr_vtpm {
    char uuid[MGR_UUID_LEN];
    char socket[PATH_MAX];
};

/* create {} -> a new vTPM (ECC EK) owned by the caller. */
int mgr_create(const struct mgr_client *c, struct mgr_vtpm *out);
/* info {uuid} -> the vTPM's socket; -ENOENT for an unknown vTPM. */
int mgr_info(const struct mgr_client *c, const char *uuid, struct mgr_vtpm *out);
int mgr_delete(const struct mgr_client *c, const char *uuid);
/* The vTPM's EK certificate as DER (callee-allocated, free()). */
int mgr_ek_cert(const struct mgr_client *c, const char *uuid, uint8_t **der, size_t *len);
/* host-activate: TPM2_ActivateCredential of a verifier's challenge for the host AK in the
 * host TPM (vtpm-mgr does it); *cred is callee-allocated (wipe and free). */
int mgr_host_activate(const struct mgr_client *c, const uint8_t *blob, size_t blob_len,
                      const uint8_t *secret, size_t secret_len, uint8_t **cred, size_t *cred_len);
/* The host-chain files map (text -> bytes), a new reference (cbor_decref). */
int mgr_host_chain(const struct mgr_client *c, cbor_item_t **files);

#endif
