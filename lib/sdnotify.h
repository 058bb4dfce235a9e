/* SPDX-License-Identifier: BSD-3-Clause */
/* systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram per state to
 * the socket named by NOTIFY_SOCKET ("@name": an abstract socket). */
#ifndef VTPM_SDNOTIFY_H
#define VTPM_SDNOTIFY_H

/* Reads NOTIFY_SOCKET, removes it from the environment (children do not inherit it) and
 * connects a datagram socket to it, so that later notifications need only write(2) (a
 * sandboxed process may not create sockets). Nothing when it is unset. 0, or -errno when set
 * but unusable (logged). */
int sdnotify_init(void);
/* Sends STATE (e.g. "READY=1", "STOPPING=1", "RELOADING=1") when sdnotify_init connected;
 * best effort. */
void sdnotify(const char *state);

#endif
