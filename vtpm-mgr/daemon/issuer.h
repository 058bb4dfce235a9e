/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vTPM issuer: a short-lived software ECC P-256 key that signs the vTPMs' EK certificates,
 * so that creating a vTPM needs no host-TPM command. Its CA certificate is signed by the
 * vTPM-CA key inside the host TPM: one TPM2_Sign per rotation. Files in the host directory
 * (docs/state-format.md):
 *   vtpm-issuer.key         the private key, AES-256-GCM under a key derived from the state key
 *                           (sealed to the host TPM), bound to vtpm-issuer.pem
 *   vtpm-issuer.pem         the current issuer's certificate
 *   issuers/<serial>.pem    every issuer certificate ever made here, so that older EK
 *                           certificates still chain
 * A key or certificate that does not check out makes issuer_open() fail: nothing is replaced.
 */
#ifndef VTPM_MGR_ISSUER_H
#define VTPM_MGR_ISSUER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hosttpm.h"

#define ISSUER_DEFAULT_LIFETIME 86400u
#define ISSUER_MIN_LIFETIME     600u
#define ISSUER_MAX_LIFETIME     (366u * 86400u)
/* notBefore lies this far before the issuer is made: a verifier whose clock is a little behind
 * the host's still sees it valid at once. */
#define ISSUER_BACKDATE         300
/* A failed rotation (host TPM error) is tried again after this long. */
#define ISSUER_RETRY_S          60

#define ISSUER_KEY_FILE  "vtpm-issuer.key"
#define ISSUER_CERT_FILE "vtpm-issuer.pem"
#define ISSUER_DIR       "issuers"

struct issuer;

/*
 * Loads the issuer from hostdir_fd (the daemon's <state-dir>/host), or makes the first one, and
 * rotates at once when the loaded one is past half its life (if that rotation fails, the
 * loaded issuer serves while it is valid and the rotation is retried; -EKEYEXPIRED when it
 * has expired). h must be provisioned (hosttpm_provision); master is the unsealed state key;
 * lifetime in seconds (ISSUER_MIN_LIFETIME..ISSUER_MAX_LIFETIME). -EBADMSG when a file was
 * tampered with (logged with its name). *out is callee-allocated: issuer_close().
 */
int issuer_open(struct hosttpm *h, int hostdir_fd, const uint8_t master[HOSTTPM_STATE_KEY_LEN],
                unsigned lifetime, struct issuer **out);
void issuer_close(struct issuer *is);

/* When the current issuer is due to be replaced (half its life, or a retry after a failure). */
time_t issuer_rotate_at(const struct issuer *is);

/* Replaces the current issuer by a new key and certificate when now >= issuer_rotate_at();
 * 1 rotated, 0 not due, < 0 error (the current issuer stays; tried again later). */
int issuer_tick(struct issuer *is, time_t now);

/* Makes a new issuer now (one TPM2_Sign), whatever its age. */
int issuer_rotate(struct issuer *is);

/*
 * Issues the X.509 EK certificate of a vTPM in software with the current issuer key: subject
 * empty, critical subjectAltName with the TCG directoryName attributes (tpmManufacturer/
 * tpmModel/tpmVersion) plus a URI "urn:uuid:<uuid>", basicConstraints CA:FALSE, keyUsage
 * keyEncipherment (RSA) or keyAgreement (ECC), extendedKeyUsage tcg-kp-EKCertificate
 * (2.23.133.8.1), authority and subject key identifiers, random positive serial, notBefore now
 * and no expiry (a vTPM outlives its issuer: verifiers check the chain at the EK certificate's
 * notBefore), ECDSA-SHA256. ekpub is the vTPM EK's marshalled TPM2B_PUBLIC. -EKEYEXPIRED when
 * the issuer has expired (its rotation kept failing). *der is callee-allocated (free()).
 */
int issuer_issue_ek_cert(struct issuer *is, const uint8_t *ekpub, size_t ekpub_len,
                         const uint8_t uuid[16], uint8_t **der, size_t *der_len);

/* PEM certificate of the issuer of the EK certificate ek_der, or of the current issuer when
 * ek_der is NULL. -ENOENT when no issuer of this host signed it. *pem callee-allocated. */
int issuer_cert_pem(const struct issuer *is, const uint8_t *ek_der, size_t ek_len,
                    uint8_t **pem, size_t *pem_len);

#endif
