/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the host UEFI event log (evidence input) through parse, replay and the
 * boot policy check, plus the property that a policy derived from a log accepts that log.
 * Inputs starting with '{' go to the boot policy loader instead. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../verifier/boot/bootpolicy.h"

/* The log writer of tests/tools/uefilog_build.c builds the fixed reference log. */
#define UEFILOG_BUILD_LIB
#include "../tools/uefilog_build.c"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct boot_policy *fixed; /* derived from the basic preset with Secure Boot on */

static struct boot_policy *reparse(json_t *j)
{
    struct boot_policy *p = NULL;
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    char err[160];

    if (text && bootpolicy_parse(text, strlen(text), &p, err, sizeof(err)) < 0) {
        fprintf(stderr, "derived policy does not load: %s\n%s\n", err, text);
        abort();
    }
    free(text);
    return p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const uint16_t banks[] = { 0x0004, 0x000b };
    struct uefi_log log;
    struct ulb b;
    char err[160];
    json_t *j;

    ulb_init(&b);
    ulb_header(&b, banks, 2);
    ulb_locality(&b, 3);
    ulb_preset_basic(&b, 1);
    if (b.oom || uefilog_parse(b.buf, b.len, &log, err, sizeof(err)) < 0)
        abort();
    j = bootpolicy_derive(&log, 0xffffffu);
    if (!(fixed = reparse(j)))
        abort();
    json_decref(j);
    uefilog_free(&log);
    ulb_free(&b);
    return 0;
}

static void fuzz_policy(const uint8_t *data, size_t size)
{
    struct boot_policy *p = NULL;
    char err[160];

    if (bootpolicy_parse((const char *)data, size, &p, err, sizeof(err)) == 0)
        bootpolicy_free(p);
}

/* derive -> dump -> load -> check on the same log must give no reason at all. */
static void derive_accepts_own_log(const struct uefi_log *log)
{
    json_t *j = bootpolicy_derive(log, 0xffffffu);
    struct boot_policy *p = reparse(j);
    struct reasons r = { 0 };

    json_decref(j);
    if (!p)
        return;
    bootpolicy_check(p, log, &r);
    if (r.n) {
        fprintf(stderr, "derived policy refuses its own log: %s\n", r.v[0]);
        abort();
    }
    reasons_free(&r);
    bootpolicy_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct uefi_log log;
    struct reasons r = { 0 };
    uint8_t pcr[24][32];
    uint32_t touched;
    char err[160], tb[16];

    if (size && data[0] == '{') {
        fuzz_policy(data, size);
        return 0;
    }
    if (uefilog_parse(data, size, &log, err, sizeof(err)) < 0)
        return 0;
    uefilog_replay_sha256(&log, pcr, &touched);
    for (size_t i = 0; i < log.n; i++)
        (void)uefilog_type_name(log.ev[i].type, tb, sizeof(tb));
    bootpolicy_check(fixed, &log, &r);
    reasons_free(&r);
    derive_accepts_own_log(&log);
    uefilog_free(&log);
    return 0;
}
