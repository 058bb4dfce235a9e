// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/vtpmx-attest: create, destroy and query vTPM devices. Every argument
 * is validated (size, flags, reserved fields, strings) before anything is
 * allocated; the server fd is installed only after the result was copied out.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "control.h"
#include "server.h"
#include "vdev.h"

static bool vtpm_zeroed(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/* Label: NUL padded, [A-Za-z0-9._:-], not full length (room for the NUL). */
static bool vtpm_label_valid(const u8 *label)
{
	size_t n = strnlen(label, VTPM_ATTEST_LABEL_SIZE);
	size_t i;

	if (n == VTPM_ATTEST_LABEL_SIZE)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum(label[i]) && !strchr("._:-", label[i]))
			return false;
	return vtpm_zeroed(label + n, VTPM_ATTEST_LABEL_SIZE - n);
}

static int vtpm_create_check(const struct vtpm_attest_create *c)
{
	if (c->size != sizeof(*c))
		return -EINVAL;
	if (c->flags & ~VTPM_ATTEST_CREATE_FLAGS_ALL)
		return -EINVAL;
	if (c->reserved0 || !vtpm_zeroed(c->reserved1, sizeof(c->reserved1)))
		return -EINVAL;
	if (c->server_fd || c->index || c->major || c->minor)
		return -EINVAL;
	if (c->pid == 0 || c->pid > PID_MAX_LIMIT)
		return -EINVAL;
	if (vtpm_zeroed(c->uuid, sizeof(c->uuid)))
		return -EINVAL;
	if (!vtpm_label_valid(c->label))
		return -EINVAL;
	return 0;
}

static long vtpm_ioc_create(void __user *argp)
{
	struct vtpm_attest_create c;
	struct vtpm_dev_params p;
	struct vtpm_dev *vdev;
	struct file *file;
	int fd, ret;

	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	ret = vtpm_create_check(&c);
	if (ret)
		return ret;
	p.pid = c.pid;
	p.uuid = c.uuid;
	p.ek_digest = c.ek_digest;
	p.label = (const char *)c.label;
	vdev = vtpm_dev_create(&p);
	if (IS_ERR(vdev))
		return PTR_ERR(vdev);

	fd = get_unused_fd_flags(O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_destroy;
	}
	file = vtpm_server_file(vdev);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_fd;
	}
	c.server_fd = fd;
	c.index = vdev->index;
	c.major = MAJOR(vdev->dev.devt);
	c.minor = MINOR(vdev->dev.devt);
	if (copy_to_user(argp, &c, sizeof(c))) {
		put_unused_fd(fd);
		fput(file);	/* releases the device like a closed server */
		return -EFAULT;
	}
	fd_install(fd, file);
	return 0;

err_fd:
	put_unused_fd(fd);
err_destroy:
	vtpm_dev_destroy(vdev);
	vtpm_dev_put(vdev);
	return ret;
}

static long vtpm_ioc_destroy(void __user *argp)
{
	struct vtpm_attest_destroy d;
	struct vtpm_dev *vdev;
	int ret;

	if (copy_from_user(&d, argp, sizeof(d)))
		return -EFAULT;
	if (d.size != sizeof(d) || d.flags || d.reserved0 ||
	    !vtpm_zeroed(d.reserved1, sizeof(d.reserved1)))
		return -EINVAL;
	vdev = vtpm_dev_find(d.index, NULL);
	if (!vdev)
		return -ENODEV;
	if (memcmp(vdev->uuid, d.uuid, VTPM_ATTEST_UUID_SIZE))
		ret = -ESTALE;
	else
		ret = vtpm_dev_destroy(vdev);
	vtpm_dev_put(vdev);
	return ret;
}

static void vtpm_query_fill(struct vtpm_attest_query *q, struct vtpm_dev *vdev)
{
	q->index = vdev->index;
	q->state = vtpm_dev_state(vdev);
	memcpy(q->uuid, vdev->uuid, sizeof(q->uuid));
	memcpy(q->ek_digest, vdev->ek_digest, sizeof(q->ek_digest));
	memcpy(q->label, vdev->label, sizeof(q->label));
	q->pidns = vtpm_binding_pidns_inum(&vdev->bind);
	q->netns = vtpm_binding_netns_inum(&vdev->bind);
	q->userns = vtpm_binding_userns_inum(&vdev->bind);
	q->commands = atomic64_read(&vdev->commands);
	q->responses = atomic64_read(&vdev->responses);
	q->cancelled = atomic64_read(&vdev->cancelled);
	q->denied = atomic64_read(&vdev->denied);
	q->open_count = atomic_read(&vdev->open_count);
}

static long vtpm_ioc_query(void __user *argp)
{
	struct vtpm_attest_query q;
	struct vtpm_dev *vdev;
	bool by_uuid;

	if (copy_from_user(&q, argp, sizeof(q)))
		return -EFAULT;
	if (q.size != sizeof(q) || (q.flags & ~VTPM_ATTEST_QUERY_FLAGS_ALL) ||
	    q.reserved0 || !vtpm_zeroed(q.reserved1, sizeof(q.reserved1)))
		return -EINVAL;
	by_uuid = q.flags & VTPM_ATTEST_QUERY_BY_UUID;
	vdev = vtpm_dev_find(q.index, by_uuid ? q.uuid : NULL);
	if (!vdev)
		return -ENODEV;
	vtpm_query_fill(&q, vdev);
	vtpm_dev_put(vdev);
	return copy_to_user(argp, &q, sizeof(q)) ? -EFAULT : 0;
}

static long vtpm_control_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	/* Capability first: nothing is parsed for an unprivileged caller. */
	if (!ns_capable(&init_user_ns, CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case VTPM_ATTEST_IOC_CREATE:
		return vtpm_ioc_create(argp);
	case VTPM_ATTEST_IOC_DESTROY:
		return vtpm_ioc_destroy(argp);
	case VTPM_ATTEST_IOC_QUERY:
		return vtpm_ioc_query(argp);
	default:
		return -ENOIOCTLCMD;
	}
}

static const struct file_operations vtpm_control_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.unlocked_ioctl = vtpm_control_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

static struct miscdevice vtpm_control_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = VTPM_ATTEST_CONTROL_NAME,
	.fops = &vtpm_control_fops,
	.mode = 0600,
};

int vtpm_control_init(void)
{
	return misc_register(&vtpm_control_misc);
}

void vtpm_control_uninit(void)
{
	misc_deregister(&vtpm_control_misc);
}
