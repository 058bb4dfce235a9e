/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bindings between containers and vTPMs, kept in a root-only directory shared by every
 * hook process and the agent service: a vTPM serves one container only (or waits in the
 * service's pool), and a container id of a living container names one vTPM only.
 */
#ifndef AGENT_BINDING_H
#define AGENT_BINDING_H

#define AGENT_DEFAULT_BIND_DIR "/run/attest-agent/bind"

/* Binds vTPM uuid to container cid, or to the service's pool when cid is NULL. 0 (*created
 * set when this call made the binding), -EBUSY (bound to another container or to the pool;
 * logged), -errno. */
int binding_vtpm(const char *dir, const char *uuid, const char *cid, int *created);
/* Moves a vTPM from the pool to container cid: -EBUSY unless it is bound to the pool. */
int binding_vtpm_take(const char *dir, const char *uuid, const char *cid);
/* Removes the vTPM's binding (it was deleted, or given back before anything was extended). */
void binding_vtpm_release(const char *dir, const char *uuid);

/* Binds container id cid (of the vtpm-mgr at run_dir, its process pid) to vTPM uuid. A
 * binding to another vTPM stands while the process that made it lives (pid and start
 * time): then -EBUSY (logged). 0 (*created set when this call wrote it), -errno. */
int binding_container(const char *dir, const char *run_dir, const char *cid, long long pid,
                      const char *uuid, int *created);
void binding_container_release(const char *dir, const char *run_dir, const char *cid);

#endif
