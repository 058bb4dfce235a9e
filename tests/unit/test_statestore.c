/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of vTPM state at rest: AES-256-GCM files, tamper and substitution detection. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "fileio.h"
#include "statestore.h"
#include "vtpm_ipc.h"
#include "instance.h"

static const uint8_t master[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static const uint8_t uuid_a[16] = { 0xaa, 1 };
static const uint8_t uuid_b[16] = { 0xbb, 1 };
static const char secret[] = "NV-SECRET-PLAINTEXT-0123456789";

static void test_derive_distinct(void **state)
{
    uint8_t ka[32], kb[32], ka2[32];

    (void)state;
    assert_int_equal(state_derive_key(master, uuid_a, ka), 0);
    assert_int_equal(state_derive_key(master, uuid_b, kb), 0);
    assert_int_equal(state_derive_key(master, uuid_a, ka2), 0);
    assert_memory_equal(ka, ka2, 32);
    assert_memory_not_equal(ka, kb, 32);
}

static void test_seal_roundtrip_and_tamper(void **state)
{
    uint8_t key[32], *img, *pt;
    size_t len, ptlen;
    uint64_t gen = 0;

    (void)state;
    state_derive_key(master, uuid_a, key);
    assert_int_equal(state_seal(key, uuid_a, VTPM_STATE_PERM, 0x0102030405060708ull,
                                (const uint8_t *)secret, sizeof(secret), &img, &len), 0);
    assert_null(memmem(img, len, "NV-SECRET", 9));
    assert_int_equal(state_unseal(key, uuid_a, VTPM_STATE_PERM, img, len, &gen, &pt, &ptlen), 0);
    assert_true(gen == 0x0102030405060708ull);
    assert_int_equal(ptlen, sizeof(secret));
    assert_memory_equal(pt, secret, sizeof(secret));
    free(pt);
    /* wrong kind, wrong uuid, every single flipped byte (the generation too) */
    assert_int_equal(state_unseal(key, uuid_a, VTPM_STATE_VOL, img, len, NULL, &pt, &ptlen), -EBADMSG);
    assert_int_equal(state_unseal(key, uuid_b, VTPM_STATE_PERM, img, len, NULL, &pt, &ptlen), -EBADMSG);
    for (size_t i = 0; i < len; i++) {
        img[i] ^= 0x01;
        assert_int_equal(state_unseal(key, uuid_a, VTPM_STATE_PERM, img, len, NULL, &pt, &ptlen),
                         -EBADMSG);
        img[i] ^= 0x01;
    }
    assert_int_equal(state_unseal(key, uuid_a, VTPM_STATE_PERM, img, len - 1, NULL, &pt, &ptlen),
                     -EBADMSG);
    assert_int_equal(state_unseal(key, uuid_a, VTPM_STATE_PERM, img, 10, NULL, &pt, &ptlen), -EBADMSG);
    free(img);
}

/* A file of the first format (VTPMST01, 24-byte header, no generation), as the previous
 * version wrote it: still read, as generation 0. */
static void test_v1_file_is_generation_0(void **state)
{
    uint8_t key[32], img[24 + 3 + 16] = "VTPMST01\x01", aad[24 + 16], *pt;
    size_t ptlen;
    uint64_t gen = 99;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n;

    (void)state;
    state_derive_key(master, uuid_a, key);
    memset(img + 12, 0x5a, 12); /* nonce */
    memcpy(aad, img, 24);
    memcpy(aad + 24, uuid_a, 16);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, img + 12), 1);
    assert_int_equal(EVP_EncryptUpdate(c, NULL, &n, aad, sizeof(aad)), 1);
    assert_int_equal(EVP_EncryptUpdate(c, img + 24, &n, (const uint8_t *)"old", 3), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, img + 27, &n), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, img + 27), 1);
    EVP_CIPHER_CTX_free(c);
    assert_int_equal(state_unseal(key, uuid_a, VTPM_STATE_PERM, img, sizeof(img), &gen, &pt,
                                  &ptlen), 0);
    assert_true(gen == 0);
    assert_int_equal(ptlen, 3);
    assert_memory_equal(pt, "old", 3);
    free(pt);
    img[30] ^= 1;
    assert_int_equal(state_unseal(key, uuid_a, VTPM_STATE_PERM, img, sizeof(img), &gen, &pt,
                                  &ptlen), -EBADMSG);
}

static void test_file_write_read(void **state)
{
    char dir[] = "/tmp/vtpm-ut.XXXXXX";
    uint8_t key[32], *pt;
    size_t ptlen;
    uint64_t gen = 0;
    int dfd;

    (void)state;
    assert_non_null(mkdtemp(dir));
    dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    state_derive_key(master, uuid_a, key);
    assert_int_equal(state_read(dfd, key, uuid_a, VTPM_STATE_PERM, NULL, &pt, &ptlen), -ENOENT);
    assert_int_equal(state_write(dfd, key, uuid_a, VTPM_STATE_PERM, 1, (const uint8_t *)"one", 3), 0);
    assert_int_equal(state_write(dfd, key, uuid_a, VTPM_STATE_PERM, 2, (const uint8_t *)"two", 3), 0);
    assert_int_equal(state_read(dfd, key, uuid_a, VTPM_STATE_PERM, &gen, &pt, &ptlen), 0);
    assert_memory_equal(pt, "two", 3);
    assert_true(gen == 2);
    free(pt);
    assert_int_equal(faccessat(dfd, ".perm.enc.tmp", F_OK, 0), -1);
    assert_int_equal(dir_remove_tree(AT_FDCWD, dir), 0);
    close(dfd);
}

static void test_meta_roundtrip(void **state)
{
    struct instance a = { .uuid = { 0x12, 0x34 }, .ek_type = VTPM_EK_RSA_2048,
                          .owner_uid = 1000, .owner_gid = 100, .created = 12345 };
    struct instance b;
    uint8_t *buf;
    size_t len;

    (void)state;
    strcpy(a.name, "web-1");
    strcpy(a.tenant, "team-a");
    memset(&b, 0, sizeof(b));
    assert_int_equal(inst_meta_encode(&a, &buf, &len), 0);
    assert_int_equal(inst_meta_decode(buf, len, &b), 0);
    assert_memory_equal(a.uuid, b.uuid, 16);
    assert_string_equal(b.name, "web-1");
    assert_string_equal(b.tenant, "team-a");
    assert_int_equal(b.ek_type, VTPM_EK_RSA_2048);
    assert_int_equal(b.owner_uid, 1000);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_not_equal(inst_meta_decode(buf, cut, &b), 0);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derive_distinct),
        cmocka_unit_test(test_seal_roundtrip_and_tamper),
        cmocka_unit_test(test_v1_file_is_generation_0),
        cmocka_unit_test(test_file_write_read),
        cmocka_unit_test(test_meta_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
