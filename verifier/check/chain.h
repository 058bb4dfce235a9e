/* SPDX-License-Identifier: BSD-3-Clause */
/* The vTPM EK certificate chain: EK cert -> vtpm-issuer.pem (short-lived issuer, untrusted
 * intermediate) -> vtpm-ca.pem -> TPM2_Certify by the host AK -> host EK certificate -> a trusted
 * host EK CA. */
#ifndef VERIFIER_CHAIN_H
#define VERIFIER_CHAIN_H

#include <cbor.h>
#include <openssl/x509.h>

#include "check/evidence.h"
#include "check/reasons.h"

struct chain_input {
    struct bytes ek_cert;         /* DER */
    const cbor_item_t *host_chain; /* map file name -> bytes (vtpmctl host-chain) */
    const char *vtpm_uuid;         /* must be the EK certificate's urn:uuid SAN */
    int registering;               /* a vTPM registration: its issuer must be valid now */
};

/* Trusted host EK CAs: every PEM certificate in the regular files of dir (callee-allocated,
 * X509_STORE_free). Each is a trust anchor, self-signed or not. NULL on error or none. */
X509_STORE *chain_trust_load(const char *dir);

/*
 * Runs every chain check, adding reasons to r. trust may be NULL (then "host-ek-untrusted").
 * On success of the EK certificate parse, *ek_key (if not NULL) gets the EK public key
 * (callee-allocated, EVP_PKEY_free); it is set only when no reason was added.
 * The host's part of the chain (vTPM-CA, its TPM2_Certify, host EK chain, the issuers'
 * signatures) is verified once per host and trust dir and cached (hostcache.h); each EK
 * certificate then costs one signature verify. Thread-safe.
 */
void chain_check(const struct chain_input *in, X509_STORE *trust, struct reasons *r,
                 EVP_PKEY **ek_key);

/* chain_check, remembering a pass for a while (chaincache.h): the same chain from the same
 * vTPM is not verified again on every evidence. */
void chain_check_cached(const struct chain_input *in, X509_STORE *trust, struct reasons *r);

/* 1 when the host part of in's chain under trust is cached and usable now (tests). */
int chain_host_cached(const struct chain_input *in, X509_STORE *trust);
/* 1 when in's vTPM has a remembered pass under trust (tests). */
int chain_vtpm_cached(const struct chain_input *in, X509_STORE *trust);

/* The same checks without any cache, one OpenSSL X509_verify_cert per link (the code before
 * the host cache): the reference for tests and benchmarks. */
void chain_check_full(const struct chain_input *in, X509_STORE *trust, struct reasons *r,
                      EVP_PKEY **ek_key);

/*
 * The host a host chain names, for host registration (docs/evidence.md): checks the host EK
 * certificate against trust and its public area (host-ek.pub), and the host AK's attributes.
 * On success (no reason added) *ek_key gets the host EK's public key (EVP_PKEY_free), ak_pub
 * borrows the host-ak.pub bytes, ak_name gets the AK's TPM name and subject is
 * "host:<SHA-256 hex of the host EK certificate's DER>".
 */
#define CHAIN_SUBJECT_MAX 80
/* Only the subject ("host:<SHA-256 hex of host-ek.pem's DER>"); 0 or -EINVAL. */
int chain_host_subject(const cbor_item_t *host_chain, char subject[CHAIN_SUBJECT_MAX]);
void chain_host_identity(const cbor_item_t *host_chain, X509_STORE *trust, struct reasons *r,
                         EVP_PKEY **ek_key, struct bytes *ak_pub, uint8_t *ak_name,
                         size_t *ak_name_len, char subject[CHAIN_SUBJECT_MAX]);

#endif
