/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * First-start provisioning of the host TPM (hosttpm_provision): host EK files, the AK and
 * vTPM-CA keys at their persistent handles, the vTPM-CA certificate and its TPM2_Certify by
 * the AK. Idempotent: what exists is checked against the TPM and kept, never replaced.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "hosttpm_int.h"
#include "log.h"

static int marshal_pub(const TPM2B_PUBLIC *pub, uint8_t *buf, size_t *len)
{
    size_t off = 0;

    if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(TPM2B_PUBLIC), &off) != TSS2_RC_SUCCESS)
        return -EINVAL;
    *len = off;
    return 0;
}

static X509 *x509_from_pem(const uint8_t *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    return x;
}

static int write_x509_pem(int dirfd, const char *name, X509 *x)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    int r = x509_to_pem(x, &pem, &len);

    if (r == 0)
        r = hostfile_update(dirfd, name, pem, len, 0644);
    free(pem);
    return r;
}

/* host-ek.pem from the TPM's NV; a TPM without one (some firmware TPMs) only gets a warning. */
static int write_ek_cert(struct hosttpm *h, int dirfd)
{
    uint8_t *der = NULL;
    const uint8_t *p;
    size_t len = 0;
    X509 *x = NULL;
    int r = hostkeys_read_ek_cert(h, &der, &len);

    if (r == -ENOENT) {
        LOG_WARN("host TPM has no EK certificate in NV; %s not written", HF_EK_CERT);
        return 0;
    }
    if (r < 0)
        return r;
    p = der;
    x = d2i_X509(NULL, &p, (long)len); /* NV areas may carry zero padding after the DER */
    if (!x) {
        LOG_ERROR("host EK certificate in NV is not DER X.509");
        r = -EINVAL;
    } else {
        r = write_x509_pem(dirfd, HF_EK_CERT, x);
    }
    X509_free(x);
    free(der);
    return r;
}

static int write_ek_ca(struct hosttpm *h, int dirfd)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    X509 *x = NULL;
    int r;

    if (!h->host_ek_ca_file)
        return 0;
    r = hostfile_read_path(h->host_ek_ca_file, &pem, &len);
    if (r < 0) {
        LOG_ERROR("cannot read host EK CA file %s", h->host_ek_ca_file);
        return r;
    }
    x = x509_from_pem(pem, len);
    r = x ? hostfile_update(dirfd, HF_EK_CA, pem, len, 0644) : -EINVAL;
    if (!x)
        LOG_ERROR("%s holds no PEM certificate", h->host_ek_ca_file);
    X509_free(x);
    free(pem);
    return r;
}

static int write_ek_files(struct hosttpm *h, int dirfd)
{
    uint8_t buf[sizeof(TPM2B_PUBLIC)];
    size_t len;
    int r;

    if ((r = marshal_pub(&h->ek_pub, buf, &len)) < 0 ||
        (r = hostfile_update(dirfd, HF_EK_PUB, buf, len, 0644)) < 0 ||
        (r = write_ek_cert(h, dirfd)) < 0 || (r = write_ek_ca(h, dirfd)) < 0)
        return r;
    return 0;
}

/* Checks that the key at handle is the one recorded in file; creates both when neither exists. */
static int ensure_key(struct hosttpm *h, int dirfd, uint32_t handle, int restricted,
                      const char *file, ESYS_TR *tr, TPM2B_PUBLIC *pub)
{
    uint8_t *rec = NULL, buf[sizeof(TPM2B_PUBLIC)];
    size_t rec_len = 0, len = 0;
    int fr, kr, r = -EEXIST;

    hostkeys_close_tr(h, tr);
    fr = hostfile_read(dirfd, file, &rec, &rec_len);
    if (fr < 0 && fr != -ENOENT)
        return fr;
    kr = hostkeys_read_persistent(h, handle, tr, pub);
    if (kr < 0 && kr != -ENOENT)
        goto out;
    if (kr == -ENOENT && fr == -ENOENT) {
        LOG_INFO("creating %s key at 0x%08x", restricted ? "host AK" : "vTPM-CA", handle);
        if ((r = hostkeys_create_persistent(h, restricted, handle, tr)) < 0)
            goto out;
        hostkeys_close_tr(h, tr); /* re-read below for the public area as the TPM reports it */
        if ((r = hostkeys_read_persistent(h, handle, tr, pub)) < 0 ||
            (r = marshal_pub(pub, buf, &len)) < 0)
            goto out;
        r = hostfile_write(dirfd, file, buf, len, 0644);
        goto out;
    }
    if (kr == 0 && fr == 0 && marshal_pub(pub, buf, &len) == 0 && len == rec_len &&
        !memcmp(buf, rec, len)) {
        r = 0;
        goto out;
    }
    LOG_ERROR("handle 0x%08x %s %s: refusing to re-provision implicitly (evict the handle "
              "and remove the host directory's files to start over)", handle,
              kr == -ENOENT ? "is empty but the host directory has"
              : fr == -ENOENT ? "holds a key the host directory has no" : "does not hold the key in",
              file);
out:
    if (r < 0)
        hostkeys_close_tr(h, tr);
    free(rec);
    return r;
}

static int write_ak_pem(int dirfd, const TPM2B_PUBLIC *ak_pub)
{
    EVP_PKEY *pkey = NULL;
    uint8_t *pem = NULL;
    size_t len = 0;
    int r = x509_pkey_from_tpm(ak_pub, &pkey);

    if (r == 0)
        r = x509_pkey_to_pem(pkey, &pem, &len);
    if (r == 0)
        r = hostfile_update(dirfd, HF_AK_PEM, pem, len, 0644);
    free(pem);
    EVP_PKEY_free(pkey);
    return r;
}

/* Loads vtpm-ca.pem (which must certify the CA key) or makes and writes a new one. */
static int ensure_ca_cert(struct hosttpm *h, int dirfd, const TPM2B_PUBLIC *ca_pub)
{
    EVP_PKEY *pkey = NULL;
    uint8_t *pem = NULL;
    size_t len = 0;
    X509 *x = NULL;
    int r = hostfile_read(dirfd, HF_CA_CERT, &pem, &len);

    if (r == -ENOENT) {
        if ((r = x509_make_ca_cert(h, ca_pub, &x)) == 0)
            r = write_x509_pem(dirfd, HF_CA_CERT, x);
        goto out;
    }
    if (r < 0 || (r = x509_pkey_from_tpm(ca_pub, &pkey)) < 0)
        goto out;
    x = x509_from_pem(pem, len);
    if (!x || EVP_PKEY_eq(X509_get0_pubkey(x), pkey) != 1) {
        LOG_ERROR("%s does not certify the vTPM-CA key at 0x%08x", HF_CA_CERT, h->ca_handle);
        r = -EEXIST;
    }
out:
    if (r == 0) {
        X509_free(h->ca_cert);
        h->ca_cert = x;
        x = NULL;
    }
    X509_free(x);
    EVP_PKEY_free(pkey);
    free(pem);
    return r;
}

static int ca_cert_digest(X509 *x, TPM2B_DATA *qd)
{
    uint8_t *der = NULL;
    size_t len = 0;
    int r = x509_to_der(x, &der, &len);

    if (r < 0)
        return r;
    qd->size = SHA256_DIGEST_LENGTH;
    SHA256(der, len, qd->buffer);
    free(der);
    return 0;
}

/* An existing certify is kept when it is for this certificate and the signature file exists. */
static int certify_current(int dirfd, const TPM2B_DATA *qd)
{
    TPMS_ATTEST att = { 0 };
    uint8_t *buf = NULL;
    size_t len = 0, off = 0;
    int ok;

    if (hostfile_read(dirfd, HF_CA_ATTEST, &buf, &len) < 0)
        return 0;
    ok = Tss2_MU_TPMS_ATTEST_Unmarshal(buf, len, &off, &att) == TSS2_RC_SUCCESS && off == len &&
         att.type == TPM2_ST_ATTEST_CERTIFY && att.extraData.size == qd->size &&
         !memcmp(att.extraData.buffer, qd->buffer, qd->size) && hostfile_exists(dirfd, HF_CA_SIG);
    free(buf);
    return ok;
}

static int write_certify(struct hosttpm *h, int dirfd, ESYS_TR ak, const TPM2B_DATA *qd)
{
    const TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL }; /* the AK's own scheme */
    TPM2B_ATTEST *info = NULL;
    TPMT_SIGNATURE *sig = NULL;
    uint8_t buf[sizeof(TPMT_SIGNATURE)];
    size_t off = 0;
    TSS2_RC rc;
    int r;

    rc = Esys_Certify(h->esys, h->ca, ak, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE, qd,
                      &scheme, &info, &sig);
    if (rc != TSS2_RC_SUCCESS)
        return hosttpm_tss_err(rc, "Esys_Certify(vTPM-CA by AK)");
    r = -EINVAL;
    if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        goto out;
    /* The attest file decides whether a certify is current, so it goes last. */
    if ((r = hostfile_write(dirfd, HF_CA_SIG, buf, off, 0644)) < 0)
        goto out;
    r = hostfile_write(dirfd, HF_CA_ATTEST, info->attestationData, info->size, 0644);
out:
    Esys_Free(info);
    Esys_Free(sig);
    return r;
}

static int ensure_certify(struct hosttpm *h, int dirfd, ESYS_TR ak)
{
    TPM2B_DATA qd;
    int r = ca_cert_digest(h->ca_cert, &qd);

    if (r < 0 || certify_current(dirfd, &qd))
        return r;
    return write_certify(h, dirfd, ak, &qd);
}

int hosttpm_provision(struct hosttpm *h, int hostdir_fd)
{
    TPM2B_PUBLIC ak_pub, ca_pub;
    ESYS_TR ak = ESYS_TR_NONE;
    int r;

    if (!h || hostdir_fd < 0)
        return -EINVAL;
    if ((r = hostkeys_ensure_ek(h)) < 0 || (r = write_ek_files(h, hostdir_fd)) < 0)
        return r;
    if ((r = ensure_key(h, hostdir_fd, h->ak_handle, 1, HF_AK_PUB, &ak, &ak_pub)) < 0)
        return r;
    if ((r = ensure_key(h, hostdir_fd, h->ca_handle, 0, HF_CA_PUB, &h->ca, &ca_pub)) < 0 ||
        (r = write_ak_pem(hostdir_fd, &ak_pub)) < 0 ||
        (r = ensure_ca_cert(h, hostdir_fd, &ca_pub)) < 0 ||
        (r = ensure_certify(h, hostdir_fd, ak)) < 0)
        goto out;
    LOG_INFO("host TPM provisioned: AK 0x%08x, vTPM-CA 0x%08x", h->ak_handle, h->ca_handle);
out:
    hostkeys_close_tr(h, &ak);
    return r;
}
