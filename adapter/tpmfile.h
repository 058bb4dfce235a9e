/* SPDX-License-Identifier: BSD-3-Clause */
/* One open file of the adapter's TPM device, with the Linux /dev/tpm0 read/write/poll semantics. */
#ifndef VTPM_ADAPTER_TPMFILE_H
#define VTPM_ADAPTER_TPMFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sockclient.h"

/* How long an unread response is kept before a new write may discard it (as the kernel). */
#define TPMFILE_UNREAD_MS 120000

struct tpmfile;

/* (callee-allocated) Per-open state forwarding to sc, which must outlive it; NULL on ENOMEM. */
struct tpmfile *tpmfile_new(const struct sockclient *sc);
/* Wipes the buffer and frees; NULL is a no-op. */
void tpmfile_free(struct tpmfile *f);

/*
 * Sends one whole command (tpmframe_check_command) and keeps the response for read().
 * Blocks for the round trip (bounded by the socket timeout). Returns len, -E2BIG or
 * -EINVAL (bad command, nothing sent), -EBUSY (the previous response was not read yet),
 * or -EIO (the vTPM socket is gone or broken).
 */
ssize_t tpmfile_write(struct tpmfile *f, const uint8_t *cmd, size_t len);

/*
 * Copies up to cap bytes of the pending response to out and wipes what was copied; later
 * reads continue where this one stopped, and a write discards an unread rest, as the
 * kernel's tpm-dev does. Returns the bytes copied, 0 when no response is pending.
 */
size_t tpmfile_read(struct tpmfile *f, uint8_t *out, size_t cap);

/* POLLIN|POLLRDNORM while response bytes are pending, else POLLOUT|POLLWRNORM. */
unsigned tpmfile_poll(struct tpmfile *f);

#endif
