// SPDX-License-Identifier: GPL-2.0-only
/*
 * Container binding: a vTPM device belongs to the pid, net and user
 * namespaces of one process, captured at creation. A process may use the
 * device only if its pid namespace is the bound one or nested in it, its
 * net namespace is the bound one, and its user namespace is the bound one or
 * nested in it. Nested pid/user namespaces stay inside the container; a
 * different net namespace does not (a container has one network identity).
 */
#include <linux/cred.h>
#include <linux/nsproxy.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/user_namespace.h>
#include <net/net_namespace.h>

#include "binding.h"

/* Capture the namespaces of @task; @task's task_lock protects nsproxy. */
static int vtpm_binding_from_task(struct vtpm_binding *b,
				  struct task_struct *task)
{
	struct nsproxy *nsp;
	int ret = -ESRCH;

	task_lock(task);
	nsp = task->nsproxy;
	if (nsp) {
		b->netns = get_net(nsp->net_ns);
		b->pidns = get_pid_ns(task_active_pid_ns(task));
		b->userns = get_user_ns(task_cred_xxx(task, user_ns));
		ret = 0;
	}
	task_unlock(task);
	return ret;
}

/**
 * vtpm_binding_capture() - bind to the container of process @nr
 * @b:	binding to fill; left empty on error
 * @nr:	pid in the caller's pid namespace
 *
 * Return: 0, or -ESRCH if there is no such (live) process.
 */
int vtpm_binding_capture(struct vtpm_binding *b, pid_t nr)
{
	struct task_struct *task;
	struct pid *pid;
	int ret;

	memset(b, 0, sizeof(*b));
	if (nr <= 0)
		return -ESRCH;
	pid = find_get_pid(nr);
	if (!pid)
		return -ESRCH;
	task = get_pid_task(pid, PIDTYPE_PID);
	put_pid(pid);
	if (!task)
		return -ESRCH;
	ret = vtpm_binding_from_task(b, task);
	put_task_struct(task);
	return ret;
}

void vtpm_binding_release(struct vtpm_binding *b)
{
	if (b->userns)
		put_user_ns(b->userns);
	if (b->pidns)
		put_pid_ns(b->pidns);
	if (b->netns)
		put_net(b->netns);
	memset(b, 0, sizeof(*b));
}

static bool vtpm_pidns_within(struct pid_namespace *ns,
			      const struct pid_namespace *root)
{
	while (ns && ns->level > root->level)
		ns = ns->parent;
	return ns == root;
}

/* current's nsproxy can change only under current itself: no lock needed. */
bool vtpm_binding_allows_current(const struct vtpm_binding *b)
{
	struct nsproxy *nsp = current->nsproxy;

	if (!nsp || !b->pidns)
		return false;
	if (!net_eq(nsp->net_ns, b->netns))
		return false;
	if (!vtpm_pidns_within(task_active_pid_ns(current), b->pidns))
		return false;
	return current_in_userns(b->userns);
}

u64 vtpm_binding_pidns_inum(const struct vtpm_binding *b)
{
	return b->pidns->ns.inum;
}

u64 vtpm_binding_netns_inum(const struct vtpm_binding *b)
{
	return b->netns->ns.inum;
}

u64 vtpm_binding_userns_inum(const struct vtpm_binding *b)
{
	return b->userns->ns.inum;
}

/* The container identity as it appears in sysfs and the measurement list. */
int vtpm_binding_format(const struct vtpm_binding *b, char *buf, size_t len)
{
	return scnprintf(buf, len, "pidns=%llu netns=%llu userns=%llu",
			 vtpm_binding_pidns_inum(b),
			 vtpm_binding_netns_inum(b),
			 vtpm_binding_userns_inum(b));
}
