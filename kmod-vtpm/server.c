// SPDX-License-Identifier: GPL-2.0-only
/*
 * The server file of a vTPM (anonymous inode, returned by CREATE): read()
 * hands vtpm-mgr the oldest pending command, write() delivers the response
 * to that command's client. One command is in flight per device at a time.
 * Closing the server file destroys the device.
 */
#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/unaligned.h>

#include "chardev.h"
#include "server.h"
#include "vdev.h"

/**
 * struct vtpm_server - the server file's private data
 * @vdev:	the device (one reference)
 * @lock:	serializes read() and write() on this file; protects @buf
 * @buf:	bounce buffer, so that no copy_*_user() runs under vdev->lock;
 *		wiped after every use
 */
struct vtpm_server {
	struct vtpm_dev *vdev;
	struct mutex lock; /* serializes read/write; protects @buf */
	u8 buf[VTPM_ATTEST_BUF_SIZE];
};

/* Caller holds vdev->lock. */
static bool vtpm_server_has_command(struct vtpm_dev *vdev)
{
	return !vdev->owed && !list_empty(&vdev->queue);
}

static bool vtpm_server_readable(struct vtpm_dev *vdev)
{
	return READ_ONCE(vdev->dead) ||
		(!READ_ONCE(vdev->owed) && !list_empty_careful(&vdev->queue));
}

/*
 * Move the oldest command into srv->buf and make it the one in flight.
 * Return: its length, 0 at EOF (device destroyed), or -EAGAIN, -EBUSY (a
 * response is owed), -EMSGSIZE (@count too small; it stays queued).
 */
static ssize_t vtpm_server_take(struct vtpm_server *srv, size_t count)
{
	struct vtpm_dev *vdev = srv->vdev;
	struct vtpm_client *c;
	ssize_t ret;

	mutex_lock(&vdev->lock);
	if (vdev->dead) {
		ret = 0;
	} else if (vdev->owed) {
		ret = -EBUSY;
	} else if (!vtpm_server_has_command(vdev)) {
		ret = -EAGAIN;
	} else {
		c = list_first_entry(&vdev->queue, struct vtpm_client, node);
		if (c->len > count) {
			ret = -EMSGSIZE;
		} else {
			list_del_init(&c->node);
			memcpy(srv->buf, c->buf, c->len);
			memzero_explicit(c->buf, c->len);
			ret = c->len;
			c->state = VTPM_C_INFLIGHT;
			vdev->inflight = c;
			vdev->owed = true;
		}
	}
	mutex_unlock(&vdev->lock);
	return ret;
}

/* The server could not take the in-flight command: fail its client. */
static void vtpm_server_fail(struct vtpm_dev *vdev, int error)
{
	mutex_lock(&vdev->lock);
	if (vdev->inflight) {
		vdev->inflight->state = VTPM_C_ERROR;
		vdev->inflight->error = error;
	}
	vdev->inflight = NULL;
	vdev->owed = false;
	mutex_unlock(&vdev->lock);
	wake_up_interruptible_all(&vdev->client_wq);
}

static ssize_t vtpm_server_read(struct file *file, char __user *buf,
				size_t count, loff_t *off)
{
	struct vtpm_server *srv = file->private_data;
	ssize_t ret;

	if (mutex_lock_interruptible(&srv->lock))
		return -EINTR;
	for (;;) {
		ret = vtpm_server_take(srv, count);
		if (ret != -EAGAIN || (file->f_flags & O_NONBLOCK))
			break;
		ret = wait_event_interruptible(srv->vdev->server_wq,
					       vtpm_server_readable(srv->vdev));
		if (ret)
			break;
	}
	if (ret > 0) {
		if (copy_to_user(buf, srv->buf, ret)) {
			vtpm_server_fail(srv->vdev, -EIO);
			memzero_explicit(srv->buf, ret);
			ret = -EFAULT;
		} else {
			memzero_explicit(srv->buf, ret);
		}
	}
	mutex_unlock(&srv->lock);
	return ret;
}

/* Hand srv->buf to the client the response is owed to, if it is still there. */
static ssize_t vtpm_server_deliver(struct vtpm_server *srv, size_t len)
{
	struct vtpm_dev *vdev = srv->vdev;
	struct vtpm_client *c;
	ssize_t ret = len;

	mutex_lock(&vdev->lock);
	if (vdev->dead) {
		ret = -EPIPE;
	} else if (!vdev->owed) {
		ret = -EINVAL;
	} else {
		c = vdev->inflight;
		if (c) {
			memcpy(c->buf, srv->buf, len);
			c->len = len;
			c->off = 0;
			c->state = VTPM_C_READY;
			atomic64_inc(&vdev->responses);
		}
		vdev->inflight = NULL;
		vdev->owed = false;
	}
	mutex_unlock(&vdev->lock);
	if (ret > 0) {
		wake_up_interruptible_all(&vdev->client_wq);
		wake_up_interruptible(&vdev->server_wq);
	}
	return ret;
}

static ssize_t vtpm_server_write(struct file *file, const char __user *buf,
				 size_t count, loff_t *off)
{
	struct vtpm_server *srv = file->private_data;
	ssize_t ret;

	if (count < VTPM_MIN_CMD_SIZE || count > VTPM_ATTEST_BUF_SIZE)
		return -EINVAL;
	if (mutex_lock_interruptible(&srv->lock))
		return -EINTR;
	if (copy_from_user(srv->buf, buf, count))
		ret = -EFAULT;
	else if (get_unaligned_be32(srv->buf + 2) != count)
		ret = -EINVAL;
	else
		ret = vtpm_server_deliver(srv, count);
	memzero_explicit(srv->buf, count);
	mutex_unlock(&srv->lock);
	return ret;
}

static __poll_t vtpm_server_poll(struct file *file, poll_table *wait)
{
	struct vtpm_server *srv = file->private_data;
	struct vtpm_dev *vdev = srv->vdev;
	__poll_t mask = 0;

	poll_wait(file, &vdev->server_wq, wait);
	mutex_lock(&vdev->lock);
	if (vdev->dead)
		mask = EPOLLIN | EPOLLHUP;
	else if (vdev->owed)
		mask = EPOLLOUT | EPOLLWRNORM;
	else if (vtpm_server_has_command(vdev))
		mask = EPOLLIN | EPOLLRDNORM;
	mutex_unlock(&vdev->lock);
	return mask;
}

static int vtpm_server_release(struct inode *inode, struct file *file)
{
	struct vtpm_server *srv = file->private_data;

	vtpm_dev_destroy(srv->vdev);
	vtpm_dev_put(srv->vdev);
	mutex_destroy(&srv->lock);
	kfree_sensitive(srv);
	return 0;
}

static const struct file_operations vtpm_server_fops = {
	.owner = THIS_MODULE,
	.read = vtpm_server_read,
	.write = vtpm_server_write,
	.poll = vtpm_server_poll,
	.release = vtpm_server_release,
	.llseek = no_llseek,
};

/**
 * vtpm_server_file() - the server file of @vdev
 * @vdev: the device; on success the file takes over the caller's reference
 *
 * Return: the file (not yet installed in any fd table) or an ERR_PTR.
 */
struct file *vtpm_server_file(struct vtpm_dev *vdev)
{
	struct vtpm_server *srv;
	struct file *file;

	srv = kzalloc(sizeof(*srv), GFP_KERNEL);
	if (!srv)
		return ERR_PTR(-ENOMEM);
	srv->vdev = vdev;
	mutex_init(&srv->lock);
	file = anon_inode_getfile("[vtpm-attest-server]", &vtpm_server_fops,
				  srv, O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		mutex_destroy(&srv->lock);
		kfree(srv);
	}
	return file;
}
