/* SPDX-License-Identifier: BSD-3-Clause */
/* `verifier boot-policy derive|show|check`: the operator's tools for host UEFI logs. */
#ifndef VERIFIER_CMD_BOOTPOLICY_H
#define VERIFIER_CMD_BOOTPOLICY_H

/* argv[0] is "boot-policy". Exit status: derive/show 0 or 2; check 0 allow, 1 deny,
 * 2 usage or input error (docs/uefi-log.md). */
int cmd_boot_policy(int argc, char **argv);

#endif
