/* SPDX-License-Identifier: BSD-3-Clause */
/* Command-line options of attest-agent's commands (hook, evidence, measure, prepare, serve,
 * host-evidence). */
#ifndef AGENT_OPTS_H
#define AGENT_OPTS_H

#include <stdio.h>

#include "hostev.h"

enum agent_cmd { CMD_HOOK, CMD_EVIDENCE, CMD_MEASURE, CMD_PREPARE, CMD_SERVE, CMD_HOST_EVIDENCE,
                CMD_MONITOR };

#define AGENT_DEFAULT_RUN_DIR  "/run/vtpm-mgr"
#define AGENT_DEFAULT_TIMEOUT_MS 5000
#define AGENT_DEFAULT_SOCKET   "/run/attest-agent/agent.sock"
#define AGENT_DEFAULT_POOL     2
#define AGENT_MAX_POOL         512   /* a burst as large as this starts with no create */
#define AGENT_DEFAULT_REATTEST_S 300
#define AGENT_MAX_REATTEST_S   86400
#define AGENT_MAX_LANES        64     /* serve: requests served at once */
#define AGENT_MAX_ENGINE_STORAGE 8
#define AGENT_DEFAULT_GRAPH_ROOT "/var/lib/containers/storage"
#define AGENT_DEFAULT_RUN_ROOT   "/run/containers/storage"
#define AGENT_DEFAULT_CRI_ROOT   "/var/lib/containerd/io.containerd.grpc.v1.cri"
#define AGENT_DEFAULT_CRI_STATE  "/run/containerd/io.containerd.grpc.v1.cri"
#define AGENT_DEFAULT_KUBELET_ROOT "/var/lib/kubelet"
#define AGENT_DEFAULT_REFILL_MS 250   /* serve: quiet time after a request before a refill */
#define AGENT_MAX_REFILL_MS    600000
#define AGENT_DEFAULT_KMOD_CTL "/dev/vtpmx-attest" /* kmod-vtpm's control device */
#define AGENT_DEFAULT_DEV_NODE "/dev/tpm0"          /* the kernel device in the container */

enum agent_kdev { KDEV_AUTO = 0, KDEV_ON, KDEV_OFF };

struct agent_opts {
    enum agent_cmd cmd;
    const char *verifier;         /* hook: base URL */
    const char *run_dir;          /* vtpm-mgr run dir */
    const char *ca, *cert, *key;  /* TLS to the verifier */
    int timeout_ms;               /* hook: overall bound */
    const char *runtime;          /* runtime binary to measure; NULL: parent / runc in PATH */
    const char *cache_dir;        /* hook: runtime digest cache; NULL: none */
    const char *bind_dir;         /* hook, serve: container <-> vTPM bindings (binding.h) */
    const char *vtpm;             /* evidence, prepare: vTPM UUID */
    const char *nonce;            /* evidence: hex */
    const char *bundle;           /* evidence, measure */
    const char *out;              /* evidence: output file */
    const char *container_id;     /* evidence: id recorded (default: bundle directory name) */
    const char *agent_socket;     /* hook: the service to forward to; NULL: do the work here */
    const char *listen_socket;    /* serve: socket path */
    int pool;                     /* serve: vTPMs kept created and registered ahead */
    int reattest_s;               /* serve: re-attestation interval in seconds, 0: off */
    int lanes;                    /* serve: requests served at once; 0: 4 per core (4..32) */
    int refill_ms;                /* serve: a pool refill starts this long after the last request */
    struct host_opts host;        /* hook, evidence, serve, host-evidence: the host part */
    /* hook, serve, measure, evidence: containers/storage roots whose per-container files a
     * container may have bound (launchcfg.h); NULL-terminated, default podman's rootful ones */
    const char *engine_storage[AGENT_MAX_ENGINE_STORAGE + 1];
    int n_engine_storage;         /* given with --engine-storage (0: the defaults apply) */
    /* hook, serve, measure, evidence: containerd CRI's root and state, the kubelet's root;
     * NULL: none (launchcfg.h: a pod's sandbox files and volumes) */
    const char *cri_root, *cri_state, *kubelet_root;
    enum agent_kdev kdev;         /* hook: a kmod-vtpm device for the container (auto: when
                                     kmod_control exists) */
    const char *kmod_control;     /* hook: kmod-vtpm's control device, for auto */
    const char *device_node;      /* hook: where the container sees its device */
    const char *monitor_socket;   /* hook: the runtime monitor to register with (NULL: none);
                                   * monitor: where it listens (docs/runtime-integrity.md) */
    const char *state_dir;        /* monitor: its watched containers, for a restart */
};

/* Parses argv (argv[1] is the command). Returns 0, or 2 after printing usage. */
int opts_parse(int argc, char **argv, struct agent_opts *o);
void opts_usage(FILE *f);
/* The paths and URL of hook, serve and prepare checked before anything is made (main only:
 * the service's sandbox parses hooks' options without touching files). 0, or -1 after
 * logging the option and value at fault. */
int opts_validate(const struct agent_opts *o);
/* --config FILE (or the command's default file) expanded into argv ahead of its options
 * (cfgfile.h); main only. 0, or -1 after the error. */
int opts_config(int *argc, char ***argv);
/* "auto", "on" or "off" (--kernel-device, and the annotation ANN_KDEV). 0 or -1. */
int opts_kdev_parse(const char *s, enum agent_kdev *k);

#endif
