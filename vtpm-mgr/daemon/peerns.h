/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Who is at the other end of a Unix socket, beyond SO_PEERCRED's uid: the peer process's pid
 * and mount namespaces, read from /proc right after accept, and namespace references that
 * pin the identity of the container a vTPM is bound to.
 *
 * What the checks rely on (kernel 6.1, no SO_PEERPIDFD): SO_PEERCRED's pid is the process
 * that called connect(). It may have exited since and its number been reused; so a peer is
 * read only if its process started no later than the accept (start time from
 * /proc/PID/stat, clock-tick resolution) and had the same start time before and after its
 * namespaces were read. A reuse must then fall between connect() and accept() (the accept
 * queue; microseconds on an idle daemon) and within one clock tick, after cycling the whole
 * pid space (pid_max, 4194304 on Debian) from inside a container. A peer that passed its
 * connection to another process is judged as the process that connected.
 */
#ifndef VTPM_MGR_PEERNS_H
#define VTPM_MGR_PEERNS_H

#include <stdint.h>
#include <sys/types.h>

struct peerns_id {
    uint64_t dev, ino;          /* of the nsfs inode: equal ids, same namespace */
};

struct peerns {
    struct peerns_id pid, mnt;
};

/* The daemon's own namespaces, and the mount namespace of PID 1 of its pid namespace (the
 * host's, when a service manager gave the daemon a private mount namespace). */
struct peerns_host {
    struct peerns self;
    struct peerns_id init_mnt;
    long pid_max;               /* /proc/sys/kernel/pid_max, 0 if unreadable */
};

/* A container's namespaces, held open so that their inode numbers cannot be reused by a
 * later container while a vTPM is bound to them. */
struct peerns_ref {
    int pid_fd, mnt_fd;         /* -1 when unbound */
    struct peerns ns;
    pid_t pid;                  /* the process they were taken from, and its start time */
    uint64_t start_ticks;       /* (/proc/PID/stat): kept across a daemon crash (bindrec.c) */
};

/* CLOCK_BOOTTIME in ns: the clock of /proc/PID/stat start times. */
uint64_t peerns_now(void);

/* Reads the daemon's namespaces. 0 or a negative errno. */
int peerns_self(struct peerns_host *h);

/*
 * Reads pid's namespaces. accepted_ns (peerns_now() at accept, 0: no bound) rejects a
 * process that started after the connection was accepted. Returns 0, -ESRCH (gone or
 * pid 0: not visible from the daemon's pid namespace), -ESTALE (pid reused), or another
 * negative errno (e.g. -EACCES: the daemon may not inspect it).
 */
int peerns_read(pid_t pid, uint64_t accepted_ns, struct peerns *out);

/* 1 if p is in the daemon's pid namespace and in its or PID 1's mount namespace. */
int peerns_is_host(const struct peerns_host *h, const struct peerns *p);

/* 1 if a and b are the same pid and mount namespaces. */
int peerns_same(const struct peerns *a, const struct peerns *b);

void peerns_ref_init(struct peerns_ref *r);
/* Takes references on pid's namespaces into r (replacing what r held only on success). */
int peerns_ref_open(pid_t pid, struct peerns_ref *r);
void peerns_ref_close(struct peerns_ref *r);
/* The same again after a daemon restart, only from the very process they were taken from:
 * pid must still have start time start_ticks and be in the namespaces ns. 0, -ESRCH (gone),
 * -ESTALE (another process or other namespaces now), or another negative errno. */
int peerns_ref_reopen(pid_t pid, uint64_t start_ticks, const struct peerns *ns,
                      struct peerns_ref *r);

#endif
