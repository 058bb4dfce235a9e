/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals shared by the host-TPM files (hosttpm, hostkeys, hostprov, hostfiles, x509cert,
 * sealkey, issuer). */
#ifndef VTPM_HOSTTPM_INT_H
#define VTPM_HOSTTPM_INT_H

#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_esys.h>

#include "hosttpm.h"

/* Files in the host directory (see hosttpm_provision()). */
#define HF_EK_CERT      "host-ek.pem"
#define HF_EK_CA        "host-ek-ca.pem"
#define HF_EK_PUB       "host-ek.pub"
#define HF_AK_PUB       "host-ak.pub"
#define HF_AK_PEM       "host-ak.pub.pem"
#define HF_CA_PUB       "vtpm-ca.pub"
#define HF_CA_CERT      "vtpm-ca.pem"
#define HF_CA_ATTEST    "vtpm-ca.certify.attest"
#define HF_CA_SIG       "vtpm-ca.certify.sig"
#define HF_STATE_KEY    "state-key.seal"

#define HF_MAX_SIZE     (1u << 20) /* no host-dir file is anywhere near this */

struct hosttpm {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    uint32_t ek_handle, ak_handle, ca_handle;
    TPML_PCR_SELECTION seal_pcrs;
    char *host_ek_ca_file;      /* owned copy of cfg->host_ek_ca_file, or NULL */
    ESYS_TR ek;                 /* ESYS_TR_NONE until resolved */
    ESYS_TR ca;                 /* vTPM-CA key, resolved by provisioning */
    TPM2B_PUBLIC ek_pub;
    X509 *ca_cert;              /* vtpm-ca.pem, loaded by provisioning */
    ESYS_TR counter;            /* rollback counter NV index, resolved on first use */
    uint32_t counter_index;     /* the index counter refers to */
};

/* hosttpm.c: logs "what: <decoded rc>" and maps rc to a negative errno. */
int hosttpm_tss_err(TSS2_RC rc, const char *what);
/* Nonzero when rc is the TPM format-one error code fmt1 (any handle/session/parameter index). */
int hosttpm_rc_is(TSS2_RC rc, TSS2_RC fmt1);

/* hostkeys.c */
int hostkeys_ensure_ek(struct hosttpm *h);
/* Salted session authorizing the EK's USER role: PolicySecret(TPM_RH_ENDORSEMENT), or HMAC for
 * EKs with userWithAuth; flush after use.
 * attrs adds TPMA_SESSION_DECRYPT / _ENCRYPT for parameter encryption. */
int hostkeys_ek_session(struct hosttpm *h, TPMA_SESSION attrs, ESYS_TR *sess);
/* Starts a session of type with hash alg, salted by the EK (unless trial), no assertions. */
int hostkeys_start_session(struct hosttpm *h, TPM2_SE type, TPMI_ALG_HASH alg,
                           TPMA_SESSION attrs, ESYS_TR *sess);
void hostkeys_flush(struct hosttpm *h, ESYS_TR *tr);
void hostkeys_close_tr(struct hosttpm *h, ESYS_TR *tr);
/* Resolves a persistent object (or NV index, pub NULL): 0 with *tr and *pub filled, -ENOENT if
 * nothing is there. Release *tr with hostkeys_close_tr(). */
int hostkeys_read_persistent(struct hosttpm *h, uint32_t handle, ESYS_TR *tr, TPM2B_PUBLIC *pub);
/* Creates the AK (restricted) or vTPM-CA (unrestricted) key under the EK, persists it at
 * handle; *tr is the persistent ESYS_TR. */
int hostkeys_create_persistent(struct hosttpm *h, int restricted, uint32_t handle, ESYS_TR *tr);
/* Loads priv/pub under the EK into a transient object (caller flushes). */
int hostkeys_load_under_ek(struct hosttpm *h, const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub,
                           ESYS_TR *tr);
/* Reads the host EK certificate from NV as DER; *der callee-allocated (free()). */
int hostkeys_read_ek_cert(struct hosttpm *h, uint8_t **der, size_t *der_len);

/* hostfiles.c: files relative to the host directory, written atomically (tmp + rename). */
int hostfile_write(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
/* Writes only when absent or different; returns 0 either way. */
int hostfile_update(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
/* Reads a whole file; *data callee-allocated (free()); -ENOENT when absent. */
int hostfile_read(int dirfd, const char *name, uint8_t **data, size_t *len);
int hostfile_read_path(const char *path, uint8_t **data, size_t *len);
int hostfile_exists(int dirfd, const char *name);

/* x509cert.c */
/* TPM public (RSA or ECC) to an OpenSSL public key; -EINVAL for anything unusable. */
int x509_pkey_from_tpm(const TPM2B_PUBLIC *pub, EVP_PKEY **pkey);
/* Self-signed CA certificate of the vTPM-CA key, signed inside the TPM. */
int x509_make_ca_cert(struct hosttpm *h, const TPM2B_PUBLIC *ca_pub, X509 **out);
/* CA certificate (pathlen 0, keyCertSign) of the issuer key pub, valid from not_before to
 * not_after, issued by h->ca_cert and signed inside the TPM (one TPM2_Sign). */
int x509_make_issuer_cert(struct hosttpm *h, EVP_PKEY *pub, time_t not_before,
                          time_t not_after, X509 **out);
/* EK certificate for ekpub under issuer, signed in software with issuer_key (no TPM). */
int x509_make_ek_cert(X509 *issuer, EVP_PKEY *issuer_key, const TPM2B_PUBLIC *ekpub,
                      const uint8_t uuid[16], X509 **out);
/* hosttpm.c: a vTPM EK's marshalled TPM2B_PUBLIC, checked to be an EK (fixedTPM, fixedParent,
 * decrypt). 0 or -EINVAL (logged). */
int hosttpm_ekpub_parse(const uint8_t *buf, size_t len, TPM2B_PUBLIC *pub);
int x509_to_der(X509 *x, uint8_t **der, size_t *len);
int x509_to_pem(X509 *x, uint8_t **pem, size_t *len);
int x509_pkey_to_pem(EVP_PKEY *pkey, uint8_t **pem, size_t *len);

#endif
