/* SPDX-License-Identifier: BSD-3-Clause */
/* Test tool: prints the fields of a marshalled TPMS_ATTEST (Tss2_MU) that the chain test checks. */
#include <stdio.h>
#include <stdlib.h>
#include <tss2/tss2_mu.h>

#include "fileio.h"

static void hex(const char *label, const uint8_t *b, size_t n)
{
    printf("%s: ", label);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    TPMS_ATTEST a = { 0 };
    uint8_t *buf;
    size_t len, off = 0;

    if (argc != 2 || file_read_all(AT_FDCWD, argv[1], 65536, &buf, &len) != 0) {
        fprintf(stderr, "usage: attest_show FILE (a marshalled TPMS_ATTEST)\n");
        return 2;
    }
    if (Tss2_MU_TPMS_ATTEST_Unmarshal(buf, len, &off, &a) != TSS2_RC_SUCCESS || off != len) {
        fprintf(stderr, "attest_show: not a TPMS_ATTEST\n");
        free(buf);
        return 1;
    }
    printf("magic: %08x\ntype: %04x\n", a.magic, a.type);
    hex("extra_data", a.extraData.buffer, a.extraData.size);
    if (a.type == TPM2_ST_ATTEST_CERTIFY)
        hex("certified_name", a.attested.certify.name.name, a.attested.certify.name.size);
    printf("reset_count: %u\n", a.clockInfo.resetCount);
    free(buf);
    return 0;
}
