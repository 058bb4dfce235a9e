// SPDX-License-Identifier: GPL-2.0-only
/*
 * vTPM device lifetime: the device table (index -> device), creation that
 * publishes the device node only after the creation was measured, and
 * destruction that fails every waiting client before the node goes away.
 */
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "chardev.h"
#include "measure.h"
#include "sysfs.h"
#include "vdev.h"

/*
 * vtpm_table_lock protects vtpm_table and serializes creation (UUID
 * uniqueness, index allocation, measurement, publication) and removal.
 */
static DEFINE_MUTEX(vtpm_table_lock);
static DEFINE_IDR(vtpm_table);
static dev_t vtpm_devt;
static struct class *vtpm_class;

static void vtpm_dev_release(struct device *dev)
{
	struct vtpm_dev *vdev = to_vtpm_dev(dev);

	vtpm_binding_release(&vdev->bind);
	mutex_destroy(&vdev->lock);
	kfree(vdev);
}

void vtpm_dev_put(struct vtpm_dev *vdev)
{
	put_device(&vdev->dev);
}

/* Fail every queued and in-flight command; later calls see @dead. */
void vtpm_dev_kill(struct vtpm_dev *vdev)
{
	struct vtpm_client *c, *tmp;

	mutex_lock(&vdev->lock);
	vdev->dead = true;
	list_for_each_entry_safe(c, tmp, &vdev->queue, node) {
		list_del_init(&c->node);
		c->state = VTPM_C_ERROR;
		c->error = -EPIPE;
	}
	if (vdev->inflight) {
		vdev->inflight->state = VTPM_C_ERROR;
		vdev->inflight->error = -EPIPE;
	}
	vdev->inflight = NULL;
	vdev->owed = false;
	mutex_unlock(&vdev->lock);
	wake_up_interruptible_all(&vdev->client_wq);
	wake_up_interruptible_all(&vdev->server_wq);
}

u32 vtpm_dev_state(struct vtpm_dev *vdev)
{
	u32 state = 0;

	mutex_lock(&vdev->lock);
	if (!vdev->dead)
		state |= VTPM_ATTEST_STATE_SERVER;
	if (vdev->owed || !list_empty(&vdev->queue))
		state |= VTPM_ATTEST_STATE_BUSY;
	mutex_unlock(&vdev->lock);
	return state;
}

static struct vtpm_dev *vtpm_dev_alloc(const struct vtpm_dev_params *p)
{
	struct vtpm_dev *vdev;
	int ret;

	vdev = kzalloc(sizeof(*vdev), GFP_KERNEL);
	if (!vdev)
		return ERR_PTR(-ENOMEM);
	ret = vtpm_binding_capture(&vdev->bind, p->pid);
	if (ret) {
		kfree(vdev);
		return ERR_PTR(ret);
	}
	vtpm_binding_format(&vdev->bind, vdev->identity,
			    sizeof(vdev->identity));
	memcpy(vdev->uuid, p->uuid, VTPM_ATTEST_UUID_SIZE);
	memcpy(vdev->ek_digest, p->ek_digest, VTPM_ATTEST_DIGEST_SIZE);
	strscpy(vdev->label, p->label, sizeof(vdev->label));
	mutex_init(&vdev->lock);
	INIT_LIST_HEAD(&vdev->queue);
	init_waitqueue_head(&vdev->server_wq);
	init_waitqueue_head(&vdev->client_wq);

	device_initialize(&vdev->dev);
	vdev->dev.class = vtpm_class;
	vdev->dev.release = vtpm_dev_release;
	vdev->dev.groups = vtpm_dev_groups;
	cdev_init(&vdev->cdev, &vtpm_client_fops);
	vdev->cdev.owner = THIS_MODULE;
	return vdev;
}

/* Caller holds vtpm_table_lock. */
static bool vtpm_uuid_in_use(const u8 *uuid)
{
	struct vtpm_dev *vdev;
	int id;

	lockdep_assert_held(&vtpm_table_lock);
	idr_for_each_entry(&vtpm_table, vdev, id)
		if (!memcmp(vdev->uuid, uuid, VTPM_ATTEST_UUID_SIZE))
			return true;
	return false;
}

/* Caller holds vtpm_table_lock; on success the table owns a reference. */
static int vtpm_dev_publish(struct vtpm_dev *vdev)
{
	int ret;

	lockdep_assert_held(&vtpm_table_lock);
	if (vtpm_uuid_in_use(vdev->uuid))
		return -EEXIST;
	ret = idr_alloc(&vtpm_table, vdev, 0, VTPM_MAX_DEVICES, GFP_KERNEL);
	if (ret < 0)
		return ret == -ENOSPC ? -EMFILE : ret;
	vdev->index = ret;
	vdev->dev.devt = MKDEV(MAJOR(vtpm_devt), vdev->index);
	ret = dev_set_name(&vdev->dev, VTPM_ATTEST_DEVICE_PREFIX "%u",
			   vdev->index);
	if (ret)
		goto err_idr;
	ret = vtpm_measure_dev(vdev, VTPM_OP_CREATE);
	if (ret)
		goto err_idr;
	ret = cdev_device_add(&vdev->cdev, &vdev->dev);
	if (ret)
		goto err_measured;
	return 0;

err_measured:
	vtpm_measure_dev(vdev, VTPM_OP_DESTROY);
err_idr:
	idr_remove(&vtpm_table, vdev->index);
	return ret;
}

/**
 * vtpm_dev_create() - create, measure and publish a vTPM device
 * @p:	validated creation parameters
 *
 * Return: the device with one reference for the caller (in addition to the
 * table's), or an ERR_PTR.
 */
struct vtpm_dev *vtpm_dev_create(const struct vtpm_dev_params *p)
{
	struct vtpm_dev *vdev;
	int ret;

	if (!vtpm_measure_available())
		return ERR_PTR(-ENODEV);
	vdev = vtpm_dev_alloc(p);
	if (IS_ERR(vdev))
		return vdev;
	mutex_lock(&vtpm_table_lock);
	ret = vtpm_dev_publish(vdev);
	mutex_unlock(&vtpm_table_lock);
	if (ret) {
		put_device(&vdev->dev);
		return ERR_PTR(ret);
	}
	get_device(&vdev->dev);
	return vdev;
}

/**
 * vtpm_dev_destroy() - remove a device: table, clients, node, measurement
 * @vdev: the device; the caller holds a reference
 *
 * Return: 0, or -ENODEV if it was already destroyed.
 */
int vtpm_dev_destroy(struct vtpm_dev *vdev)
{
	int ret;

	mutex_lock(&vtpm_table_lock);
	if (idr_find(&vtpm_table, vdev->index) != vdev) {
		mutex_unlock(&vtpm_table_lock);
		return -ENODEV;
	}
	idr_remove(&vtpm_table, vdev->index);
	vtpm_dev_kill(vdev);
	cdev_device_del(&vdev->cdev, &vdev->dev);
	ret = vtpm_measure_dev(vdev, VTPM_OP_DESTROY);
	mutex_unlock(&vtpm_table_lock);
	if (ret)
		dev_err(&vdev->dev, "destroy not measured: %d\n", ret);
	put_device(&vdev->dev);
	return 0;
}

/**
 * vtpm_dev_find() - look a device up by index, or by UUID if @uuid is set
 * @index:	the index (ignored when @uuid is set)
 * @uuid:	the UUID, or NULL
 *
 * Return: the device with a reference, or NULL.
 */
struct vtpm_dev *vtpm_dev_find(u32 index, const u8 *uuid)
{
	struct vtpm_dev *vdev = NULL, *it;
	int id;

	mutex_lock(&vtpm_table_lock);
	if (uuid) {
		idr_for_each_entry(&vtpm_table, it, id)
			if (!memcmp(it->uuid, uuid, VTPM_ATTEST_UUID_SIZE))
				vdev = it;
	} else if (index < VTPM_MAX_DEVICES) {
		vdev = idr_find(&vtpm_table, index);
	}
	if (vdev)
		get_device(&vdev->dev);
	mutex_unlock(&vtpm_table_lock);
	return vdev;
}

int vtpm_dev_class_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&vtpm_devt, 0, VTPM_MAX_DEVICES,
				  "vtpm_attest");
	if (ret)
		return ret;
	vtpm_class = class_create(THIS_MODULE, "vtpm_attest");
	if (IS_ERR(vtpm_class)) {
		ret = PTR_ERR(vtpm_class);
		goto err_region;
	}
	return 0;

err_region:
	unregister_chrdev_region(vtpm_devt, VTPM_MAX_DEVICES);
	return ret;
}

/* Every device is gone: each one pins the module through its server file. */
void vtpm_dev_class_uninit(void)
{
	WARN_ON(!idr_is_empty(&vtpm_table));
	idr_destroy(&vtpm_table);
	class_destroy(vtpm_class);
	unregister_chrdev_region(vtpm_devt, VTPM_MAX_DEVICES);
}
