/* SPDX-License-Identifier: BSD-3-Clause */
/* Client side of a vTPM's command socket (swtpm socket protocol): one connection per command. */
#ifndef VTPM_ADAPTER_SOCKCLIENT_H
#define VTPM_ADAPTER_SOCKCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SOCKCLIENT_DEFAULT_TIMEOUT_MS 30000

struct sockclient {
    const char *path;   /* <run-dir>/vtpm/<uuid>/tpm.sock; not copied */
    int timeout_ms;     /* bound on one whole command round trip */
};

/*
 * Connects afresh, sends the command cmd[0..len) and reads the whole response into
 * resp[0..cap). A new connection per command is what makes a restarted vtpm-mgr
 * transparent: nothing stale is kept. cmd and resp may be the same buffer (the command
 * is sent completely before the first response byte is read). Returns the response
 * length, or -EIO when the socket is absent, refuses, closes early, times out or answers
 * something that is not one TPM response (the reason is logged).
 */
ssize_t sockclient_transact(const struct sockclient *sc, const uint8_t *cmd, size_t len,
                            uint8_t *resp, size_t cap);

#endif
