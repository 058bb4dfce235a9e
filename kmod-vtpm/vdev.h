/* SPDX-License-Identifier: GPL-2.0-only */
/* A vTPM device: its state, lifetime and the command queue it serializes. */
#ifndef _VTPM_VDEV_H
#define _VTPM_VDEV_H

#include <linux/atomic.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/wait.h>

#include "uapi/vtpm_attest.h"
#include "binding.h"

#define VTPM_MAX_DEVICES	1024
#define VTPM_MIN_CMD_SIZE	10	/* TPM header: tag, size, code */
#define VTPM_IDENTITY_SIZE	96

struct vtpm_client;

/**
 * struct vtpm_dev - one vTPM device (/dev/vtpm<index>)
 *
 * Lifetime: @dev's reference count; the device table, the server file and
 * every open client file each hold one. vtpm_dev_release() frees it.
 *
 * @lock protects @dead, @queue, @inflight, @owed and the state of every
 * client on @queue or in @inflight. It is never held across copy_*_user().
 * Lock order: client->lock, then @lock.
 */
struct vtpm_dev {
	struct device dev;
	struct cdev cdev;
	u32 index;
	u8 uuid[VTPM_ATTEST_UUID_SIZE];
	u8 ek_digest[VTPM_ATTEST_DIGEST_SIZE];
	char label[VTPM_ATTEST_LABEL_SIZE + 1];
	char identity[VTPM_IDENTITY_SIZE];
	struct vtpm_binding bind;

	struct mutex lock; /* see above */
	bool dead;
	struct list_head queue;		/* clients with a command pending */
	struct vtpm_client *inflight;	/* read by the server, unanswered */
	bool owed;			/* server owes a response */
	wait_queue_head_t server_wq;	/* command queued, or dead */
	wait_queue_head_t client_wq;	/* response ready, or dead */

	atomic64_t commands;
	atomic64_t responses;
	atomic64_t cancelled;
	atomic64_t denied;
	atomic_t open_count;
	bool server_open;		/* under @lock */
};

#define to_vtpm_dev(d) container_of(d, struct vtpm_dev, dev)

struct vtpm_dev_params {
	pid_t pid;
	const u8 *uuid;
	const u8 *ek_digest;
	const char *label;
};

int vtpm_dev_class_init(void);
void vtpm_dev_class_uninit(void);
struct vtpm_dev *vtpm_dev_create(const struct vtpm_dev_params *p);
int vtpm_dev_destroy(struct vtpm_dev *vdev);
struct vtpm_dev *vtpm_dev_find(u32 index, const u8 *uuid);
void vtpm_dev_put(struct vtpm_dev *vdev);
void vtpm_dev_kill(struct vtpm_dev *vdev);
u32 vtpm_dev_state(struct vtpm_dev *vdev);

#endif /* _VTPM_VDEV_H */
