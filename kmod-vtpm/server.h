/* SPDX-License-Identifier: GPL-2.0-only */
/* The server side of a vTPM: the anonymous file vtpm-mgr serves commands on. */
#ifndef _VTPM_SERVER_H
#define _VTPM_SERVER_H

struct file;
struct vtpm_dev;

struct file *vtpm_server_file(struct vtpm_dev *vdev);

#endif /* _VTPM_SERVER_H */
