/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the software TPM2_MakeCredential: KDFa/KDFe and the credential blob against
 * known answers (computed independently in Python), and RSA/ECC round trips in which the test
 * plays the TPM's ActivateCredential half with the EK private key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "../../verifier/check/makecred.h"

static void unhex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sscanf(h + 2 * i, "%2hhx", &out[i]);
}

static void seq(uint8_t *b, size_t n, uint8_t start)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(start + i);
}

static void name_of_test(uint8_t name[34])
{
    name[0] = 0x00;
    name[1] = 0x0b;
    seq(name + 2, 32, 100);
}

static void test_kdfa_kat(void **state)
{
    uint8_t key[32], name[34], out[65], want[65];

    (void)state;
    seq(key, 32, 0);
    name_of_test(name);
    assert_int_equal(makecred_kdfa(EVP_sha256(), key, 32, "STORAGE", name, 34, NULL, 0, out, 16), 0);
    unhex("d98939313878365f823837e2ce0286ca", want, 16);
    assert_memory_equal(out, want, 16);
    assert_int_equal(makecred_kdfa(EVP_sha256(), key, 32, "INTEGRITY", NULL, 0, NULL, 0, out, 32), 0);
    unhex("bacf689f634ece301e1f1b15b072d9c87db6a69585db42b1a0cb8f73ebe2692e", want, 32);
    assert_memory_equal(out, want, 32);
    /* more than one block, not a multiple of the digest size */
    assert_int_equal(makecred_kdfa(EVP_sha256(), key, 32, "XYZ", NULL, 0, NULL, 0, out, 65), 0);
    unhex("6bd18653ef3194b6c87604a5380ab5d6c61d876206d22e0d44b8064e3ed7e8b2eb263bb505864585e161"
          "524018fafe592a6f109f35bda9452c658f2764ace65d20", want, 65);
    assert_memory_equal(out, want, 65);
}

static void test_kdfe_kat(void **state)
{
    uint8_t z[32], u[32], v[32], out[32], want[32];

    (void)state;
    seq(z, 32, 32);
    seq(u, 32, 64);
    seq(v, 32, 96);
    assert_int_equal(makecred_kdfe(EVP_sha256(), z, 32, "IDENTITY", u, 32, v, 32, out, 32), 0);
    unhex("7a3d66b8361d31a579138f457be8811efd507fd2e74dd5cf37c97af525bd6bea", want, 32);
    assert_memory_equal(out, want, 32);
}

static void test_wrap_kat(void **state)
{
    uint8_t seed[32], name[34], cred[16], want[54];
    struct credential c;

    (void)state;
    seq(seed, 32, 0);
    seq(cred, 16, 1);
    name_of_test(name);
    assert_int_equal(makecred_wrap(EVP_sha256(), 128, seed, 32, name, 34, cred, 16, &c), 0);
    unhex("0034002029fadb66eac5737069160627a468e83a68b319e67e4ca160dbd16f9ebb166fe51b3f99c3f7b4"
          "a4e29c4a5734a5648f5c5ec2", want, 54);
    assert_int_equal(c.id_len, 54);
    assert_memory_equal(c.id_object, want, 54);
    /* a credential longer than the digest does not fit */
    assert_int_equal(makecred_wrap(EVP_sha256(), 128, seed, 32, name, 34, seed, 33, &c), -EINVAL);
    assert_int_equal(makecred_wrap(EVP_sha256(), 128, seed, 32, name, 34, seed, 0, &c), -EINVAL);
}

static void secret_of(const struct credential *c, TPM2B_ENCRYPTED_SECRET *s)
{
    size_t off = 0;

    memset(s, 0, sizeof(*s));
    assert_int_equal(Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(c->secret, c->secret_len, &off, s), 0);
    assert_int_equal(off, c->secret_len);
}

/* The TPM side for RSA: OAEP-decrypt the seed with the EK private key, rewrap, compare. */
static void test_rsa_roundtrip(void **state)
{
    EVP_PKEY *ek = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY_CTX *c;
    uint8_t name[34], cred[32], seed[256];
    size_t seedlen = sizeof(seed);
    struct credential mc, again;
    TPM2B_ENCRYPTED_SECRET s;
    char *label = OPENSSL_strdup("IDENTITY");

    (void)state;
    assert_non_null(ek);
    name_of_test(name);
    seq(cred, 32, 7);
    assert_int_equal(makecred(ek, name, 34, cred, 32, &mc), 0);
    secret_of(&mc, &s);
    assert_int_equal(s.size, 256);
    c = EVP_PKEY_CTX_new(ek, NULL);
    assert_true(EVP_PKEY_decrypt_init(c) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0);
    assert_true(EVP_PKEY_CTX_set0_rsa_oaep_label(c, label, 9) > 0);
    assert_true(EVP_PKEY_decrypt(c, seed, &seedlen, s.secret, s.size) > 0);
    assert_int_equal(seedlen, 32);
    assert_int_equal(makecred_wrap(EVP_sha256(), 128, seed, 32, name, 34, cred, 32, &again), 0);
    assert_int_equal(again.id_len, mc.id_len);
    assert_memory_equal(again.id_object, mc.id_object, mc.id_len);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(ek);
}

static EVP_PKEY *point_key(const TPMS_ECC_POINT *p)
{
    uint8_t pt[65] = { 4 };
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;

    memcpy(pt + 1, p->x.buffer, 32);
    memcpy(pt + 33, p->y.buffer, 32);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
    params[2] = OSSL_PARAM_construct_end();
    assert_true(EVP_PKEY_fromdata_init(c) > 0);
    assert_true(EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, params) > 0);
    EVP_PKEY_CTX_free(c);
    return k;
}

/* The TPM side for ECC: Z = d_EK * ephemeral point, seed by KDFe, rewrap, compare. */
static void test_ecc_roundtrip(void **state)
{
    EVP_PKEY *ek = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *eph;
    EVP_PKEY_CTX *c;
    uint8_t name[34], cred[32], z[32], ekx[32], seed[32];
    size_t zl = sizeof(z), off = 0;
    struct credential mc, again;
    TPM2B_ENCRYPTED_SECRET s;
    TPMS_ECC_POINT pt = { 0 };
    BIGNUM *x = NULL;

    (void)state;
    name_of_test(name);
    seq(cred, 32, 9);
    assert_int_equal(makecred(ek, name, 34, cred, 32, &mc), 0);
    secret_of(&mc, &s);
    assert_int_equal(Tss2_MU_TPMS_ECC_POINT_Unmarshal(s.secret, s.size, &off, &pt), 0);
    assert_int_equal(off, s.size);
    eph = point_key(&pt);
    c = EVP_PKEY_CTX_new(ek, NULL);
    assert_true(EVP_PKEY_derive_init(c) > 0 && EVP_PKEY_derive_set_peer(c, eph) > 0);
    assert_true(EVP_PKEY_derive(c, z, &zl) > 0);
    assert_true(EVP_PKEY_get_bn_param(ek, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1);
    assert_true(BN_bn2binpad(x, ekx, 32) == 32);
    assert_int_equal(makecred_kdfe(EVP_sha256(), z, 32, "IDENTITY", pt.x.buffer, 32, ekx, 32,
                                   seed, 32), 0);
    assert_int_equal(makecred_wrap(EVP_sha256(), 128, seed, 32, name, 34, cred, 32, &again), 0);
    assert_memory_equal(again.id_object, mc.id_object, mc.id_len);
    BN_free(x);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(eph);
    EVP_PKEY_free(ek);
}

static void test_unsupported_ek(void **state)
{
    EVP_PKEY *ek = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    struct credential mc;
    uint8_t name[34] = { 0 }, cred[16] = { 0 };

    (void)state;
    assert_int_equal(makecred(ek, name, 34, cred, 16, &mc), -ENOTSUP);
    EVP_PKEY_free(ek);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kdfa_kat),      cmocka_unit_test(test_kdfe_kat),
        cmocka_unit_test(test_wrap_kat),      cmocka_unit_test(test_rsa_roundtrip),
        cmocka_unit_test(test_ecc_roundtrip), cmocka_unit_test(test_unsupported_ek),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
