/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Runtime integrity (docs/runtime-integrity.md): `attest-agent monitor`, a small daemon that
 * watches with fanotify what each attested container executes, extends one `exec` record
 * per new file into PCR 11 of the container's vTPM and sends the verifier new evidence; and
 * the hook's side: registering a container with it before the container's process runs.
 */
#ifndef AGENT_RTMON_H
#define AGENT_RTMON_H

#include <cbor.h>
#include <stddef.h>

#include "rootfs.h"
#include "opts.h"

#define PCR_RUNTIME 11
#define ANN_RUNTIME "org.vtpm-attest.runtime" /* off | monitor | enforce */
#define RTMON_DEFAULT_SOCKET "/run/attest-agent/monitor.sock"
/* a registration: the manifest (ROOTFS_MANIFEST_MAX) and the start log */
#define RTMON_MAX_REQUEST (ROOTFS_MANIFEST_MAX + 2u * 1024u * 1024u)

enum rt_mode { RT_OFF = 0, RT_MONITOR, RT_ENFORCE };

/* "off", "monitor" or "enforce": 0 or -1. */
int rt_mode_parse(const char *s, enum rt_mode *m);

/* What the monitor needs of an allowed container (borrowed). */
struct rtmon_watch {
    const char *id, *vtpm, *registration;
    const char *rootfs;                /* its root file system, an absolute host path */
    long long pid;                     /* its process (OCI state) */
    unsigned long long start;          /* that process's start time (/proc/PID/stat) */
    const struct rootfs_manifest *manifest; /* the rootfs digest's entries, as measured */
    const cbor_item_t *log;            /* the event log extended at the start */
    enum rt_mode mode;
};

/* Registers w with the monitor at socket and waits (timeout_ms) until its marks are set: 0,
 * or a negative errno with the monitor's reason in err. */
int rtmon_register(const char *socket, const struct rtmon_watch *w, int timeout_ms, char *err,
                   size_t errsz);

/* `attest-agent monitor`: serves registrations on o->monitor_socket until SIGTERM. */
int rtmon_run(const struct agent_opts *o);

#endif
