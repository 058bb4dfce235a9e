// SPDX-License-Identifier: GPL-2.0-only
/*
 * sysfs attributes of /sys/class/vtpm_attest/vtpm<N>/: identity (uuid,
 * ek_digest, label, container) and command counters. All read-only.
 */
#include <linux/device.h>
#include <linux/sysfs.h>

#include "sysfs.h"
#include "vdev.h"

static ssize_t uuid_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%pUb\n", to_vtpm_dev(dev)->uuid);
}
static DEVICE_ATTR_RO(uuid);

static ssize_t ek_digest_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "sha256:%*phN\n", VTPM_ATTEST_DIGEST_SIZE,
			  to_vtpm_dev(dev)->ek_digest);
}
static DEVICE_ATTR_RO(ek_digest);

static ssize_t label_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n", to_vtpm_dev(dev)->label);
}
static DEVICE_ATTR_RO(label);

static ssize_t container_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", to_vtpm_dev(dev)->identity);
}
static DEVICE_ATTR_RO(container);

static ssize_t vtpm_counter_show(char *buf, atomic64_t *counter)
{
	return sysfs_emit(buf, "%lld\n", atomic64_read(counter));
}

static ssize_t commands_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	return vtpm_counter_show(buf, &to_vtpm_dev(dev)->commands);
}
static DEVICE_ATTR_RO(commands);

static ssize_t responses_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return vtpm_counter_show(buf, &to_vtpm_dev(dev)->responses);
}
static DEVICE_ATTR_RO(responses);

static ssize_t cancelled_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return vtpm_counter_show(buf, &to_vtpm_dev(dev)->cancelled);
}
static DEVICE_ATTR_RO(cancelled);

static ssize_t denied_show(struct device *dev,
			   struct device_attribute *attr, char *buf)
{
	return vtpm_counter_show(buf, &to_vtpm_dev(dev)->denied);
}
static DEVICE_ATTR_RO(denied);

static ssize_t open_count_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  atomic_read(&to_vtpm_dev(dev)->open_count));
}
static DEVICE_ATTR_RO(open_count);

static struct attribute *vtpm_dev_attrs[] = {
	&dev_attr_uuid.attr,
	&dev_attr_ek_digest.attr,
	&dev_attr_label.attr,
	&dev_attr_container.attr,
	&dev_attr_commands.attr,
	&dev_attr_responses.attr,
	&dev_attr_cancelled.attr,
	&dev_attr_denied.attr,
	&dev_attr_open_count.attr,
	NULL,
};

static const struct attribute_group vtpm_dev_group = {
	.attrs = vtpm_dev_attrs,
};

const struct attribute_group *vtpm_dev_groups[] = {
	&vtpm_dev_group,
	NULL,
};
