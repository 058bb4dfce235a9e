/* SPDX-License-Identifier: GPL-2.0-only */
/* Container binding: which processes may use a vTPM device. */
#ifndef _VTPM_BINDING_H
#define _VTPM_BINDING_H

#include <linux/types.h>

struct pid_namespace;
struct net;
struct user_namespace;

/*
 * Namespaces of the container a device belongs to, pinned by reference for
 * the device's lifetime so that their identities cannot be reused. Immutable
 * after vtpm_binding_capture().
 */
struct vtpm_binding {
	struct pid_namespace *pidns;
	struct net *netns;
	struct user_namespace *userns;
};

int vtpm_binding_capture(struct vtpm_binding *b, pid_t nr);
void vtpm_binding_release(struct vtpm_binding *b);
bool vtpm_binding_allows_current(const struct vtpm_binding *b);
int vtpm_binding_format(const struct vtpm_binding *b, char *buf, size_t len);
u64 vtpm_binding_pidns_inum(const struct vtpm_binding *b);
u64 vtpm_binding_netns_inum(const struct vtpm_binding *b);
u64 vtpm_binding_userns_inum(const struct vtpm_binding *b);

#endif /* _VTPM_BINDING_H */
