/* SPDX-License-Identifier: BSD-3-Clause */
/* Test tool: runs `verifier boot-policy ...` (verifier/boot/cmd_bootpolicy.c) from libverifier.a,
 * so its tests do not depend on how verifier/main.c dispatches. */
#include "../../verifier/boot/cmd_bootpolicy.h"

int main(int argc, char **argv)
{
    argv[0] = "boot-policy";
    return cmd_boot_policy(argc, argv);
}
