/* SPDX-License-Identifier: BSD-3-Clause */
/* Privileges vtpm-cuse gives up once /dev/cuse is open. */
#ifndef VTPM_ADAPTER_PRIVDROP_H
#define VTPM_ADAPTER_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * After CUSE setup the daemon needs only the open /dev/cuse descriptor and the right to
 * connect to the vTPM socket, which is plain file permission. So: clear the capability
 * bounding set (when CAP_SETPCAP allows), optionally become uid:gid with no supplementary
 * groups, clear every capability, set no_new_privs and non-dumpable. Returns 0 or -errno.
 */
int privdrop_apply(bool change_id, uid_t uid, gid_t gid);

/* The allow-list filter of the CUSE loop (default: kill the process), with
 * PR_SET_NO_NEW_PRIVS; after privdrop_apply(), before the loop. 0 or -errno. */
int privdrop_seccomp(void);

#endif
