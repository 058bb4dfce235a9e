// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/vtpm<N>: the TPM command/response byte protocol for processes of the
 * bound container. write() queues one whole command, read() returns the
 * response (partial reads allowed), one outstanding command per open file;
 * the server answers the device's commands one at a time, in order.
 */
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/unaligned.h>

#include "chardev.h"
#include "vdev.h"

static int vtpm_client_open(struct inode *inode, struct file *file)
{
	struct vtpm_dev *vdev = container_of(inode->i_cdev, struct vtpm_dev,
					     cdev);
	struct vtpm_client *client;
	bool dead;

	if (!vtpm_binding_allows_current(&vdev->bind)) {
		atomic64_inc(&vdev->denied);
		return -EACCES;
	}
	mutex_lock(&vdev->lock);
	dead = vdev->dead;
	mutex_unlock(&vdev->lock);
	if (dead)
		return -ENODEV;

	client = kzalloc(sizeof(*client), GFP_KERNEL);
	if (!client)
		return -ENOMEM;
	mutex_init(&client->lock);
	INIT_LIST_HEAD(&client->node);
	client->state = VTPM_C_IDLE;
	client->vdev = vdev;
	get_device(&vdev->dev);
	atomic_inc(&vdev->open_count);
	file->private_data = client;
	return stream_open(inode, file);
}

static int vtpm_client_release(struct inode *inode, struct file *file)
{
	struct vtpm_client *client = file->private_data;
	struct vtpm_dev *vdev = client->vdev;

	mutex_lock(&vdev->lock);
	if (client->state == VTPM_C_QUEUED) {
		list_del_init(&client->node);
		atomic64_inc(&vdev->cancelled);
	} else if (client->state == VTPM_C_INFLIGHT) {
		/* The server still owes a response; it will be dropped. */
		vdev->inflight = NULL;
		atomic64_inc(&vdev->cancelled);
	}
	mutex_unlock(&vdev->lock);

	atomic_dec(&vdev->open_count);
	mutex_destroy(&client->lock);
	kfree_sensitive(client);
	vtpm_dev_put(vdev);
	return 0;
}

/* Queue the command in client->buf; caller holds client->lock. */
static int vtpm_client_queue(struct vtpm_client *client, size_t len)
{
	struct vtpm_dev *vdev = client->vdev;
	int ret = 0;

	mutex_lock(&vdev->lock);
	if (vdev->dead) {
		ret = -EPIPE;
	} else {
		client->len = len;
		client->state = VTPM_C_QUEUED;
		list_add_tail(&client->node, &vdev->queue);
		atomic64_inc(&vdev->commands);
	}
	mutex_unlock(&vdev->lock);
	if (!ret)
		wake_up_interruptible(&vdev->server_wq);
	return ret;
}

static enum vtpm_client_state vtpm_client_get_state(struct vtpm_client *c)
{
	enum vtpm_client_state state;

	mutex_lock(&c->vdev->lock);
	state = c->state;
	mutex_unlock(&c->vdev->lock);
	return state;
}

static ssize_t vtpm_client_write(struct file *file, const char __user *buf,
				 size_t count, loff_t *off)
{
	struct vtpm_client *client = file->private_data;
	ssize_t ret;

	if (count < VTPM_MIN_CMD_SIZE || count > VTPM_ATTEST_BUF_SIZE)
		return -EINVAL;
	if (!vtpm_binding_allows_current(&client->vdev->bind))
		return -EACCES;
	if (mutex_lock_interruptible(&client->lock))
		return -EINTR;
	switch (vtpm_client_get_state(client)) {
	case VTPM_C_IDLE:
		break;
	case VTPM_C_ERROR:
		ret = client->error;
		goto out;
	default:
		ret = -EBUSY;
		goto out;
	}
	if (copy_from_user(client->buf, buf, count)) {
		ret = -EFAULT;
		goto out_wipe;
	}
	if (get_unaligned_be32(client->buf + 2) != count) {
		ret = -EINVAL;
		goto out_wipe;
	}
	ret = vtpm_client_queue(client, count);
	if (!ret) {
		ret = count;
		goto out;
	}
out_wipe:
	memzero_explicit(client->buf, count);
out:
	mutex_unlock(&client->lock);
	return ret;
}

static bool vtpm_client_done(struct vtpm_client *client)
{
	enum vtpm_client_state state = READ_ONCE(client->state);

	return state == VTPM_C_READY || state == VTPM_C_ERROR;
}

/* Copy out the ready response; caller holds client->lock. */
static ssize_t vtpm_client_copy_out(struct vtpm_client *client,
				    char __user *buf, size_t count)
{
	size_t n = min(count, client->len - client->off);

	if (copy_to_user(buf, client->buf + client->off, n))
		return -EFAULT;
	client->off += n;
	if (client->off == client->len) {
		memzero_explicit(client->buf, client->len);
		client->len = 0;
		client->off = 0;
		mutex_lock(&client->vdev->lock);
		client->state = VTPM_C_IDLE;
		mutex_unlock(&client->vdev->lock);
	}
	return n;
}

static ssize_t vtpm_client_read(struct file *file, char __user *buf,
				size_t count, loff_t *off)
{
	struct vtpm_client *client = file->private_data;
	ssize_t ret;

	if (mutex_lock_interruptible(&client->lock))
		return -EINTR;
	for (;;) {
		switch (vtpm_client_get_state(client)) {
		case VTPM_C_IDLE:
			ret = 0;
			goto out;
		case VTPM_C_ERROR:
			ret = client->error;
			goto out;
		case VTPM_C_READY:
			ret = vtpm_client_copy_out(client, buf, count);
			goto out;
		default:
			break;
		}
		if (file->f_flags & O_NONBLOCK) {
			ret = -EAGAIN;
			goto out;
		}
		ret = wait_event_interruptible(client->vdev->client_wq,
					       vtpm_client_done(client));
		if (ret)
			goto out;
	}
out:
	mutex_unlock(&client->lock);
	return ret;
}

static __poll_t vtpm_client_poll(struct file *file, poll_table *wait)
{
	struct vtpm_client *client = file->private_data;

	poll_wait(file, &client->vdev->client_wq, wait);
	switch (vtpm_client_get_state(client)) {
	case VTPM_C_IDLE:
		return READ_ONCE(client->vdev->dead) ? EPOLLERR | EPOLLHUP :
			EPOLLOUT | EPOLLWRNORM;
	case VTPM_C_READY:
		return EPOLLIN | EPOLLRDNORM;
	case VTPM_C_ERROR:
		return EPOLLIN | EPOLLERR | EPOLLHUP;
	default:
		return 0;
	}
}

const struct file_operations vtpm_client_fops = {
	.owner = THIS_MODULE,
	.open = vtpm_client_open,
	.release = vtpm_client_release,
	.read = vtpm_client_read,
	.write = vtpm_client_write,
	.poll = vtpm_client_poll,
	.llseek = no_llseek,
};
