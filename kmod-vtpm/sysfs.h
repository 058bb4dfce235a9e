/* SPDX-License-Identifier: GPL-2.0-only */
/* sysfs attributes of a vTPM device. */
#ifndef _VTPM_SYSFS_H
#define _VTPM_SYSFS_H

struct attribute_group;

extern const struct attribute_group *vtpm_dev_groups[];

#endif /* _VTPM_SYSFS_H */
