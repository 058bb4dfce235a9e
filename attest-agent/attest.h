/* SPDX-License-Identifier: BSD-3-Clause */
/* One attestation of one container: its vTPM (through vtpm-mgr), the measurements extended
 * into it, and the quote; shared by `hook` and `evidence`. */
#ifndef AGENT_ATTEST_H
#define AGENT_ATTEST_H

#include <cbor.h>

#include "eventlog.h"
#include "evidence.h"
#include "measure.h"
#include "mgrclient.h"
#include "vtpm.h"

struct attest {
    struct mgr_client mgr;
    struct mgr_vtpm vt;
    struct vtpm *tpm;
    int ak_created;           /* the AK was made in this run: register it */
    uint8_t *ek_cert, *ak_pub;
    size_t ek_cert_len, ak_pub_len;
    cbor_item_t *host_chain;
    struct eventlog log;
    struct vtpm_quote quote;
};

/* Opens vTPM uuid (known to vtpm-mgr at mgr), ensures the AK, fetches the EK certificate
 * and the host chain. Close with attest_close() also on error. */
int attest_open(struct attest *a, const struct mgr_client *mgr, const char *uuid);
/* The same for a vTPM whose info the caller has; fresh: PCRs 8-10 must be zero, checked
 * before anything (an AK) is made in it (-EEXIST). */
int attest_open_known(struct attest *a, const struct mgr_client *mgr,
                      const struct mgr_vtpm *vt, int fresh);
void attest_close(struct attest *a);

/* Extends m's event log into the vTPM; PCRs 8, 9, 10 must still be zero (a fresh vTPM),
 * otherwise the log could not explain them: -EEXIST. */
int attest_extend(struct attest *a, const struct measurement *m);

/* Fills e's identity fields (vtpm_uuid, ak_pub, ek_cert, host_chain), borrowed from a. */
void attest_identity(const struct attest *a, struct evidence *e);

/* Quotes with nonce, fills e (borrowing from a and nonce) for the encoders. */
int attest_quote(struct attest *a, const char *container_id, const uint8_t *nonce,
                 size_t nonce_len, struct evidence *e);

#endif
