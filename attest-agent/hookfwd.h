/* SPDX-License-Identifier: BSD-3-Clause */
/* The hook's side of the agent service socket: forward the OCI state, relay the verdict. */
#ifndef AGENT_HOOKFWD_H
#define AGENT_HOOKFWD_H

#include <stddef.h>
#include <stdint.h>

#define HOOKFWD_VERSION   1
#define HOOKFWD_STATE_MAX (1u << 20)         /* = OCI_STATE_MAX */
#define HOOKFWD_MAX_ARGS  64
#define HOOKFWD_MAX_ARG   4096
#define HOOKFWD_REQ_MAX   (HOOKFWD_STATE_MAX + 64u * 1024u)
#define HOOKFWD_REPLY_MAX (64u * 1024u)
#define HOOKFWD_FALLBACK  2                  /* hookfwd_run: do the work in this process */

/*
 * Request {"v":1, "op":"hook", "args":[text...], "state":bytes}: args are the hook's options
 * (what follows "hook" on its command line), state the OCI state as read from stdin.
 * Reply {"v":1, "ok":true, "allowed":bool, "stderr":bytes} with the service's diagnostics of
 * this request, or {"ok":false, "error":text, "fallback":bool}.
 */

/* Reads the OCI state from stdin (at most HOOKFWD_STATE_MAX bytes); *out callee-allocated. */
/* The hook's hard bound: whatever blocks, the process prints why and exits 1 after
 * timeout_ms; 0 disarms it (an interval timer survives exec). 0 or -errno. */
int hookfwd_watchdog(int timeout_ms);

int hookfwd_read_state(uint8_t **out, size_t *len);

/*
 * Asks the service at sock_path. Returns 0 (allowed), 1 (must not start: the reasons are on
 * stderr) or HOOKFWD_FALLBACK when no service listens there or it declines the request
 * (other options than its own): nothing was decided, the caller does the whole work itself.
 */
int hookfwd_run(const char *sock_path, char *const *args, int nargs, const uint8_t *state,
                size_t len);

#endif
