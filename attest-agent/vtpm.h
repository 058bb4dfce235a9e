/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent's session with one container vTPM: a single ESAPI context over the swtpm TCTI. */
#ifndef AGENT_VTPM_H
#define AGENT_VTPM_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define VTPM_AK_HANDLE   0x81010002u /* the agent's AK, persistent */
#define VTPM_NV_REG      0x01000a01u /* the agent's registration record (owner NV) */
#define VTPM_QUOTE_PCRS  4           /* PCRs 8, 9, 10, 11 (runtime: docs/runtime-integrity.md) */
#define VTPM_NONCE_MAX   64

struct vtpm;

struct vtpm_quote {
    uint8_t *attest;   /* marshalled TPMS_ATTEST, as inside TPM2B_ATTEST */
    size_t attest_len;
    uint8_t *sig;      /* marshalled TPMT_SIGNATURE */
    size_t sig_len;
    uint8_t pcrs[VTPM_QUOTE_PCRS][DIGEST_LEN]; /* sha256 values of PCRs 8 to 11 */
};

/* Opens socket (a vTPM's tpm.sock) through Tss2_TctiLdr "swtpm:path=..." and ESAPI; the TPM
 * is started if it was not. Returns 0 or a negative errno. */
int vtpm_open(const char *socket, struct vtpm **out);
void vtpm_close(struct vtpm *v);

/* Extends d into the sha256 bank of pcr. */
int vtpm_extend(struct vtpm *v, unsigned pcr, const uint8_t d[DIGEST_LEN]);
/* Reads the sha256 values of PCRs 8 to 11. */
int vtpm_read_pcrs(struct vtpm *v, uint8_t out[VTPM_QUOTE_PCRS][DIGEST_LEN]);

/*
 * Makes sure the AK exists: the AK (ECC P-256, restricted signing) is read from
 * VTPM_AK_HANDLE, or created under the EK and made persistent there. The EK is (re)created
 * from the TCG default ECC template (as tpm2_createek -G ecc) only when needed, here or by
 * vtpm_activate, and then stays loaded for this session.
 * *created tells whether it is new. Returns 0 or a negative errno.
 */
int vtpm_ensure_ak(struct vtpm *v, int *created);
/* Marshalled TPM2B_PUBLIC of the AK (callee-allocated, free()). */
int vtpm_ak_public(struct vtpm *v, uint8_t **buf, size_t *len);

/* TPM2_ActivateCredential(AK, EK) of marshalled TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET;
 * *cred callee-allocated, wipe and free it with secure_free(). */
int vtpm_activate(struct vtpm *v, const uint8_t *blob, size_t blob_len, const uint8_t *secret,
                  size_t secret_len, uint8_t **cred, size_t *cred_len);

/* TPM2_Quote of PCRs 8 to 11 (sha256) with the AK and nonce as qualifying data, and the PCR
 * values it covers. Free with vtpm_quote_free(). */
int vtpm_quote(struct vtpm *v, const uint8_t *nonce, size_t nonce_len, struct vtpm_quote *q);
void vtpm_quote_free(struct vtpm_quote *q);

/* Owner NV index: whole content (callee-allocated) or -ENOENT; write (re)defines it. */
int vtpm_nv_read(struct vtpm *v, uint32_t index, uint8_t **data, size_t *len);
int vtpm_nv_write(struct vtpm *v, uint32_t index, const uint8_t *data, size_t len);

#endif
