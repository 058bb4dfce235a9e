/* SPDX-License-Identifier: BSD-3-Clause */
/* The parent's use of kmod-vtpm: a /dev/vtpm<N> bound to a container, served by a worker. */
#ifndef VTPM_MGR_KDEV_H
#define VTPM_MGR_KDEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KDEV_DEFAULT_CONTROL "/dev/vtpmx-attest"

/*
 * Asks the module (control device ctl_path) for a device bound to the namespaces of pid, for
 * the vTPM uuid whose EK public (marshalled TPM2B_PUBLIC) is ekpub. Returns the server fd
 * (the caller owns it), the device index and its device number, or a negative errno: -ENOENT
 * when the module is not loaded, -EPERM without CAP_SYS_ADMIN, -ESRCH for a bad pid.
 */
int kdev_create(const char *ctl_path, pid_t pid, const uint8_t uuid[16], const uint8_t *ekpub,
                size_t ekpub_len, const char *label, int *server_fd, uint32_t *index,
                dev_t *rdev);

/* The index of the live device of the vTPM uuid, as the module knows it (a worker's word
 * is not taken for it). Returns 0 or a negative errno (-ENOENT: no such device). */
int kdev_index_of(const char *ctl_path, const uint8_t uuid[16], uint32_t *index);

/* Destroys device index (uuid must match). Returns 0 or a negative errno. */
int kdev_destroy(const char *ctl_path, uint32_t index, const uint8_t uuid[16]);

#endif
