/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the CUSE adapter's TPM command and response framing checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <tss2/tss2_tpm2_types.h>

#include "../../adapter/tpmframe.h"
#include "vtpm_ipc.h"

static uint8_t buf[VTPM_TPM_BUFSIZE + 16];

static void hdr(uint8_t *h, uint16_t tag, uint32_t size, uint32_t cc)
{
    h[0] = (uint8_t)(tag >> 8), h[1] = (uint8_t)tag;
    h[2] = (uint8_t)(size >> 24), h[3] = (uint8_t)(size >> 16), h[4] = (uint8_t)(size >> 8);
    h[5] = (uint8_t)size;
    h[6] = (uint8_t)(cc >> 24), h[7] = (uint8_t)(cc >> 16), h[8] = (uint8_t)(cc >> 8);
    h[9] = (uint8_t)cc;
}

static void test_command_ok(void **state)
{
    hdr(buf, TPM2_ST_NO_SESSIONS, 12, TPM2_CC_GetRandom);
    assert_int_equal(tpmframe_check_command(buf, 12), 0);
    hdr(buf, TPM2_ST_SESSIONS, 10, TPM2_CC_Startup);
    assert_int_equal(tpmframe_check_command(buf, 10), 0);
    hdr(buf, TPM2_ST_SESSIONS, VTPM_TPM_BUFSIZE, TPM2_CC_NV_Write);
    assert_int_equal(tpmframe_check_command(buf, VTPM_TPM_BUFSIZE), 0);
}

static void test_command_size_mismatch(void **state)
{
    hdr(buf, TPM2_ST_NO_SESSIONS, 12, TPM2_CC_GetRandom);
    assert_int_equal(tpmframe_check_command(buf, 11), -EINVAL); /* short write */
    assert_int_equal(tpmframe_check_command(buf, 13), -EINVAL); /* trailing byte */
    hdr(buf, TPM2_ST_NO_SESSIONS, 0, TPM2_CC_GetRandom);
    assert_int_equal(tpmframe_check_command(buf, 12), -EINVAL);
    hdr(buf, TPM2_ST_NO_SESSIONS, 0xffffffffu, TPM2_CC_GetRandom);
    assert_int_equal(tpmframe_check_command(buf, 12), -EINVAL);
    hdr(buf, TPM2_ST_NO_SESSIONS, 9, TPM2_CC_GetRandom);
    assert_int_equal(tpmframe_check_command(buf, 9), -EINVAL); /* shorter than a header */
    assert_int_equal(tpmframe_check_command(buf, 0), -EINVAL);
}

static void test_command_bad_tag(void **state)
{
    hdr(buf, 0x00c1, 12, TPM2_CC_GetRandom); /* TPM 1.2 request */
    assert_int_equal(tpmframe_check_command(buf, 12), -EINVAL);
    hdr(buf, TPM2_ST_RSP_COMMAND, 12, TPM2_CC_GetRandom); /* a response tag */
    assert_int_equal(tpmframe_check_command(buf, 12), -EINVAL);
    memcpy(buf, "not a TPM command", 17);
    assert_int_equal(tpmframe_check_command(buf, 17), -EINVAL);
}

static void test_command_too_big(void **state)
{
    hdr(buf, TPM2_ST_SESSIONS, VTPM_TPM_BUFSIZE + 1, TPM2_CC_NV_Write);
    assert_int_equal(tpmframe_check_command(buf, VTPM_TPM_BUFSIZE + 1), -E2BIG);
    hdr(buf, TPM2_ST_SESSIONS, VTPM_TPM_BUFSIZE + 1, TPM2_CC_NV_Write);
    assert_int_equal(tpmframe_check_command(buf, VTPM_TPM_BUFSIZE), -EINVAL);
}

static void test_response_size(void **state)
{
    uint32_t size = 77;

    hdr(buf, TPM2_ST_NO_SESSIONS, 20, TPM2_RC_SUCCESS);
    assert_int_equal(tpmframe_response_size(buf, &size), 0);
    assert_int_equal(size, 20);
    hdr(buf, TPM2_ST_RSP_COMMAND, 10, TPM2_RC_BAD_TAG);
    assert_int_equal(tpmframe_response_size(buf, &size), 0);
    assert_int_equal(size, 10);
    hdr(buf, TPM2_ST_SESSIONS, VTPM_TPM_BUFSIZE, TPM2_RC_SUCCESS);
    assert_int_equal(tpmframe_response_size(buf, &size), 0);
    assert_int_equal(size, VTPM_TPM_BUFSIZE);
}

static void test_response_bad(void **state)
{
    uint32_t size = 77;

    hdr(buf, TPM2_ST_NO_SESSIONS, 9, 0);
    assert_int_equal(tpmframe_response_size(buf, &size), -EPROTO);
    hdr(buf, TPM2_ST_NO_SESSIONS, VTPM_TPM_BUFSIZE + 1, 0);
    assert_int_equal(tpmframe_response_size(buf, &size), -EPROTO);
    hdr(buf, 0x1234, 12, 0);
    assert_int_equal(tpmframe_response_size(buf, &size), -EPROTO);
    assert_int_equal(size, 77); /* untouched on error */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_ok),
        cmocka_unit_test(test_command_size_mismatch),
        cmocka_unit_test(test_command_bad_tag),
        cmocka_unit_test(test_command_too_big),
        cmocka_unit_test(test_response_size),
        cmocka_unit_test(test_response_bad),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
