/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vtpm-mgr parent's link to the host's physical TPM (tpm2-tss ESAPI): host EK, host AK,
 * the non-exportable vTPM-CA signing key, the sealed state key, and the X.509 certificates
 * signed inside the host TPM (vtpm-ca.pem and the issuers' certificates, issuer.h). Only the
 * privileged parent uses this; workers never do.
 */
#ifndef VTPM_HOSTTPM_H
#define VTPM_HOSTTPM_H

#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#define HOSTTPM_DEFAULT_TCTI       "device:/dev/tpmrm0"
#define HOSTTPM_DEFAULT_EK_HANDLE  0x81010001u /* TCG convention for the persistent EK */
#define HOSTTPM_DEFAULT_AK_HANDLE  0x81000a01u
#define HOSTTPM_DEFAULT_CA_HANDLE  0x81000a02u
#define HOSTTPM_STATE_KEY_LEN      32
/* The rollback counter (TPMA_NV_COUNTER) in the owner NV range 0x01000000-0x013fffff. */
#define HOSTTPM_DEFAULT_COUNTER_INDEX 0x01000a10u

struct hosttpm;

struct hosttpm_config {
    const char *tcti;           /* tpm2-tss TCTI config string, e.g. "swtpm:path=/x/sock" */
    uint32_t ek_handle;         /* persistent host EK; created from the TCG template if absent */
    uint32_t ak_handle;         /* persistent host AK (restricted ECC P-256 signing, under EK) */
    uint32_t ca_handle;         /* persistent vTPM-CA key (unrestricted ECC P-256 signing,
                                   fixedTPM|fixedParent, under EK) */
    TPML_PCR_SELECTION seal_pcrs; /* PCR policy of the sealed state key; count 0 = no PCRs */
    const char *host_ek_ca_file; /* optional PEM of the host EK cert's issuer, copied to host dir */
};

/* Fills cfg with the defaults for a real host (TCTI device:/dev/tpmrm0, PCR 7 sha256). */
void hosttpm_config_defaults(struct hosttpm_config *cfg);

/* Parses "sha256:0,1,7" (or "" / "none" for no PCRs) into sel. Returns 0 or -EINVAL. */
int hosttpm_parse_pcrs(const char *spec, TPML_PCR_SELECTION *sel);

/* Opens the TCTI and an ESAPI context. Returns 0 or a negative errno; *out is callee-allocated,
 * release with hosttpm_close(). */
int hosttpm_open(const struct hosttpm_config *cfg, struct hosttpm **out);
void hosttpm_close(struct hosttpm *h);

/*
 * Idempotent first-start provisioning. hostdir_fd is the daemon's <state-dir>/host directory.
 * Ensures the AK and the vTPM-CA key exist at their persistent handles (creating them if
 * absent), and that hostdir holds:
 *   host-ek.pem             host EK certificate read from the host TPM's NV (RSA 0x01c00002 or
 *                           ECC 0x01c0000a, whichever matches the EK in use)
 *   host-ek-ca.pem          copy of cfg->host_ek_ca_file when given
 *   host-ek.pub             TPM2B_PUBLIC of the host EK (marshalled)
 *   host-ak.pub             TPM2B_PUBLIC of the AK (marshalled), host-ak.pub.pem (SPKI PEM)
 *   vtpm-ca.pub             TPM2B_PUBLIC of the vTPM-CA key (marshalled)
 *   vtpm-ca.pem             self-signed X.509 CA certificate of the vTPM-CA key, signed inside
 *                           the host TPM (basicConstraints CA:TRUE critical, keyCertSign|cRLSign)
 *   vtpm-ca.certify.attest  marshalled TPMS_ATTEST of TPM2_Certify(vTPM-CA key, by AK),
 *                           qualifyingData = SHA-256 of vtpm-ca.pem's DER
 *   vtpm-ca.certify.sig     marshalled TPMT_SIGNATURE of that certify
 * Files are written atomically. If the handles hold keys that do not match the files,
 * fail with -EEXIST rather than overwrite anything (re-provisioning is never implicit).
 */
int hosttpm_provision(struct hosttpm *h, int hostdir_fd);

/*
 * The state key: 32 random bytes sealed to the host TPM (keyed-hash sealed object under the
 * EK, policy = PolicyPCR over cfg->seal_pcrs), blob in hostdir/state-key.seal.
 * hosttpm_state_key() unseals it (creating and sealing a new one only when
 * hostdir/state-key.seal does not exist and create != 0) into key[HOSTTPM_STATE_KEY_LEN].
 * Returns -EACCES when the PCR policy no longer matches (the host changed: see the
 * re-seal procedure in docs), -ENOENT when absent and create == 0.
 * The caller wipes key with explicit_bzero when done.
 */
int hosttpm_state_key(struct hosttpm *h, int hostdir_fd, int create,
                      uint8_t key[HOSTTPM_STATE_KEY_LEN]);

/*
 * Re-seals the existing state key (unsealed under the PCR policy it was sealed with) to the
 * configured cfg->seal_pcrs and their current values, replacing hostdir/state-key.seal
 * atomically. -EACCES when it no longer unseals.
 */
int hosttpm_reseal_state_key(struct hosttpm *h, int hostdir_fd);

/*
 * Credential activation for the host AK (a verifier proves AK and EK share a TPM):
 * credblob/secret are the marshalled TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET produced by
 * TPM2_MakeCredential(host EK public, AK name). *cred is callee-allocated (wipe and free).
 */
int hosttpm_activate_credential(struct hosttpm *h, const uint8_t *credblob, size_t credblob_len,
                                const uint8_t *secret, size_t secret_len,
                                uint8_t **cred, size_t *cred_len);

/* A quote of the host AK over sha256 PCRs (hosttpm_quote). */
#define HOSTTPM_QUOTE_PCRS     24   /* PCR 0..23 */
#define HOSTTPM_QUOTE_RETRIES  5
struct hosttpm_quote {
    uint8_t *attest;        /* marshalled TPMS_ATTEST, as inside the TPM2B_ATTEST */
    size_t attest_len;
    uint8_t *sig;           /* marshalled TPMT_SIGNATURE */
    size_t sig_len;
    uint32_t mask;          /* bit i set: PCR i is quoted */
    uint8_t values[HOSTTPM_QUOTE_PCRS][32]; /* sha256 values of the quoted PCRs, by index */
};

/*
 * TPM2_Quote with the persistent host AK over the sha256 PCRs of mask (1-24 bits of 0..23),
 * qualifyingData = nonce (1-64 bytes), and the PCR values it covers (TPM2_PCR_Read). A PCR
 * may be extended between read and quote (kmod-vtpm extends one at every vTPM create): the
 * pair is redone until SHA-256 of the values equals the quote's pcrDigest, at most
 * HOSTTPM_QUOTE_RETRIES times (-EAGAIN after). Only persistent objects are used: no
 * transient slot stays taken. Free q with hosttpm_quote_free(), also after an error.
 */
int hosttpm_quote(struct hosttpm *h, const uint8_t *nonce, size_t nonce_len, uint32_t mask,
                  struct hosttpm_quote *q);
void hosttpm_quote_free(struct hosttpm_quote *q);

/*
 * The rollback counter of the state directory (hostcounter.c): an NV index of type counter
 * (TPMA_NV_COUNTER | OWNERWRITE | OWNERREAD | AUTHREAD | NO_DA, 8 bytes) at index, written with
 * owner authorization (empty), read with the index's own empty authorization. A counter
 * never goes down, also across a delete and re-define (TPM 2.0 part 1, "NV counters").
 * hosttpm_counter_read(): -ENOENT when the index does not exist, -ENODATA when it exists
 * but was never incremented, -EINVAL when it is not a counter of the expected form.
 * hosttpm_counter_create(): defines the index (when absent) and increments it once so that it
 * has a value. hosttpm_counter_increment(): one TPM2_NV_Increment, then *value is the new
 * value (the old value + 1, as TPM2 counters are only written by this daemon).
 */
int hosttpm_counter_read(struct hosttpm *h, uint32_t index, uint64_t *value);
int hosttpm_counter_create(struct hosttpm *h, uint32_t index, uint64_t *value);
int hosttpm_counter_increment(struct hosttpm *h, uint32_t index, uint64_t *value);

#endif
