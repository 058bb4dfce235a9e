/* SPDX-License-Identifier: GPL-2.0-only */
/* The client side of a vTPM: /dev/vtpm<N> file operations. */
#ifndef _VTPM_CHARDEV_H
#define _VTPM_CHARDEV_H

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mutex.h>

#include "vdev.h"

enum vtpm_client_state {
	VTPM_C_IDLE,		/* may write a command */
	VTPM_C_QUEUED,		/* on vdev->queue */
	VTPM_C_INFLIGHT,	/* vdev->inflight: the server read it */
	VTPM_C_READY,		/* response in @buf, not fully read */
	VTPM_C_ERROR,		/* device gone: @error for every call */
};

/**
 * struct vtpm_client - one open file of /dev/vtpm<N>
 *
 * @lock serializes this file's read(), write() and poll() against each
 * other (one outstanding command per file). @state and @node are under
 * vdev->lock. @buf and @len belong to the file while @state is IDLE or
 * READY, to the device (under vdev->lock) otherwise.
 */
struct vtpm_client {
	struct vtpm_dev *vdev;
	struct mutex lock; /* see above */
	struct list_head node;
	enum vtpm_client_state state;
	int error;
	size_t len;
	size_t off;
	u8 buf[VTPM_ATTEST_BUF_SIZE];
};

extern const struct file_operations vtpm_client_fops;

#endif /* _VTPM_CHARDEV_H */
