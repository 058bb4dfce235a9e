/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the client-facing parsers: TPM command headers and the swtpm control protocol. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <tss2/tss2_tpm2_types.h>

#include "../../vtpm-mgr/worker/ctrl.h"
#include "../../vtpm-mgr/worker/tpmcmd.h"
#include "swtpm_proto.h"
#include "vtpm_ipc.h"

static void hdr(uint8_t *h, uint16_t tag, uint32_t size, uint32_t cc)
{
    h[0] = (uint8_t)(tag >> 8), h[1] = (uint8_t)tag;
    h[2] = (uint8_t)(size >> 24), h[3] = (uint8_t)(size >> 16), h[4] = (uint8_t)(size >> 8);
    h[5] = (uint8_t)size;
    h[6] = (uint8_t)(cc >> 24), h[7] = (uint8_t)(cc >> 16), h[8] = (uint8_t)(cc >> 8);
    h[9] = (uint8_t)cc;
}

static void test_header_ok(void **state)
{
    uint8_t h[10];
    uint32_t size = 0;

    hdr(h, TPM2_ST_NO_SESSIONS, 12, TPM2_CC_GetRandom);
    assert_int_equal(tpmcmd_check_header(h, &size), 0);
    assert_int_equal(size, 12);
    assert_int_equal(tpmcmd_code(h), TPM2_CC_GetRandom);
    hdr(h, TPM2_ST_SESSIONS, VTPM_TPM_BUFSIZE, 1);
    assert_int_equal(tpmcmd_check_header(h, &size), 0);
    hdr(h, TPM2_ST_SESSIONS, 10, 1);
    assert_int_equal(tpmcmd_check_header(h, &size), 0);
}

static void test_header_bad(void **state)
{
    uint8_t h[10];
    uint32_t size = 77;

    hdr(h, 0x00c1, 12, 1); /* TPM 1.2 tag */
    assert_int_equal(tpmcmd_check_header(h, &size), TPM2_RC_BAD_TAG);
    hdr(h, 0xabab, 12, 1);
    assert_int_equal(tpmcmd_check_header(h, &size), TPM2_RC_BAD_TAG);
    hdr(h, TPM2_ST_NO_SESSIONS, 9, 1);
    assert_int_equal(tpmcmd_check_header(h, &size), TPM2_RC_COMMAND_SIZE);
    hdr(h, TPM2_ST_NO_SESSIONS, 0, 1);
    assert_int_equal(tpmcmd_check_header(h, &size), TPM2_RC_COMMAND_SIZE);
    hdr(h, TPM2_ST_NO_SESSIONS, VTPM_TPM_BUFSIZE + 1, 1);
    assert_int_equal(tpmcmd_check_header(h, &size), TPM2_RC_COMMAND_SIZE);
    hdr(h, TPM2_ST_NO_SESSIONS, 0xffffffffu, 1);
    assert_int_equal(tpmcmd_check_header(h, &size), TPM2_RC_COMMAND_SIZE);
    assert_int_equal(size, 77); /* untouched on error */
}

static void test_error_response(void **state)
{
    uint8_t r[10];
    const uint8_t want[10] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x09, 0x23 };

    assert_int_equal(tpmcmd_error_response(r, TPM2_RC_NV_UNAVAILABLE), 10);
    assert_memory_equal(r, want, 10);
    assert_int_equal(tpmcmd_resp_rc(r, 10), TPM2_RC_NV_UNAVAILABLE);
    assert_int_equal(tpmcmd_resp_rc(r, 9), TPM2_RC_FAILURE);
}

/* ---- control channel, with recording fake ops ---- */
static uint32_t last_flags, calls;
static uint8_t last_loc;
static uint32_t f_init(void *c, uint32_t flags) { last_flags = flags; calls++; return 0; }
static uint32_t f_shutdown(void *c) { calls++; return 0; }
static uint32_t f_setloc(void *c, uint8_t l) { last_loc = l; calls++; return l > 4 ? 3 : 0; }
static uint32_t f_getest(void *c, uint8_t *b) { *b = 1; calls++; return 0; }
static uint32_t f_resetest(void *c, uint8_t l) { last_loc = l; calls++; return 0; }
static const struct ctrl_ops fake = { f_init, f_shutdown, f_setloc, f_getest, f_resetest };

static void test_ctrl_lengths(void **state)
{
    assert_int_equal(swctrl_req_len(CMD_GET_CAPABILITY), 0);
    assert_int_equal(swctrl_req_len(CMD_INIT), 4);
    assert_int_equal(swctrl_req_len(CMD_SET_LOCALITY), 1);
    assert_int_equal(swctrl_req_len(CMD_RESET_TPMESTABLISHED), 1);
    assert_int_equal(swctrl_req_len(CMD_SET_BUFFERSIZE), 4);
    assert_int_equal(swctrl_req_len(CMD_LOCK_STORAGE), 4);
    assert_int_equal(swctrl_req_len(CMD_STOP), 0);
    assert_int_equal(swctrl_req_len(CMD_GET_STATEBLOB), -1);
    assert_int_equal(swctrl_req_len(CMD_SET_STATEBLOB), -1);
    assert_int_equal(swctrl_req_len(CMD_SET_DATAFD), -1);
    assert_int_equal(swctrl_req_len(CMD_HASH_START), -1);
    assert_int_equal(swctrl_req_len(CMD_HASH_DATA), -1);
    assert_int_equal(swctrl_req_len(0), -1);
    assert_int_equal(swctrl_req_len(0xffffffffu), -1);
}

static void test_ctrl_answers(void **state)
{
    uint8_t out[CTRL_RESP_MAX];
    const uint8_t init_flags[4] = { 0, 0, 0, 1 }, loc[1] = { 3 }, bsz[4] = { 0, 0, 0x10, 0 };
    uint64_t caps = swctrl_capabilities();

    assert_int_equal(swctrl_handle(&fake, NULL, CMD_GET_CAPABILITY, NULL, out), 8);
    assert_int_equal(out[7], (uint8_t)caps);
    assert_true(caps & PTM_CAP_SET_LOCALITY);
    assert_false(caps & (PTM_CAP_GET_STATEBLOB | PTM_CAP_SET_STATEBLOB | PTM_CAP_SET_DATAFD |
                         PTM_CAP_HASHING));
    assert_int_equal(swctrl_handle(&fake, NULL, CMD_INIT, init_flags, out), 4);
    assert_int_equal(last_flags, PTM_INIT_FLAG_DELETE_VOLATILE);
    assert_int_equal(swctrl_handle(&fake, NULL, CMD_SET_LOCALITY, loc, out), 4);
    assert_int_equal(last_loc, 3);
    assert_int_equal(swctrl_handle(&fake, NULL, CMD_GET_TPMESTABLISHED, NULL, out), 5);
    assert_int_equal(out[4], 1);
    assert_int_equal(swctrl_handle(&fake, NULL, CMD_SET_BUFFERSIZE, bsz, out), 16);
    assert_int_equal(out[6], 0x10); /* 4096 */
    assert_int_equal(swctrl_handle(&fake, NULL, CMD_LOCK_STORAGE, bsz, out), 4);
    assert_int_equal(out[3], 0);
    assert_int_equal(swctrl_handle(&fake, NULL, CMD_GET_CONFIG, NULL, out), 8);
}

static void test_ctrl_refusals(void **state)
{
    uint8_t out[CTRL_RESP_MAX];
    const uint32_t refused[] = { CMD_GET_STATEBLOB, CMD_SET_STATEBLOB, CMD_SET_DATAFD, CMD_HASH_START,
                                 CMD_HASH_DATA, CMD_HASH_END, CMD_GET_INFO, 0, 0x7777 };
    size_t i;

    calls = 0;
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_int_equal(swctrl_handle(&fake, NULL, refused[i], NULL, out), 4);
        assert_int_equal(out[3], SWTPM_RES_BAD_ORDINAL);
    }
    assert_int_equal(calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_ok),      cmocka_unit_test(test_header_bad),
        cmocka_unit_test(test_error_response), cmocka_unit_test(test_ctrl_lengths),
        cmocka_unit_test(test_ctrl_answers),   cmocka_unit_test(test_ctrl_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
