/* SPDX-License-Identifier: BSD-3-Clause */
/* What the agent measures for one container, and the event log (PCRs 8, 9, 10) built from it. */
#ifndef AGENT_MEASURE_H
#define AGENT_MEASURE_H

#include <jansson.h>
#include <limits.h>

#include "eventlog.h"
#include "launchcfg.h"
#include "rootfs.h"
#include "ocispec.h"

#define PCR_WHAT 8   /* image, rootfs */
#define PCR_WHO  9   /* runtime, agent */
#define PCR_HOW  10  /* launch-config */

/* Annotation keys of the image record (first present wins). */
#define ANN_IMAGE_REF     "org.opencontainers.image.ref.name"
#define ANN_CRI_IMAGE     "io.kubernetes.cri.image-name"
#define ANN_MANIFEST      "org.opencontainers.image.manifest.digest"
#define ANN_CONFIG_DIGEST "io.containerd.image.config.digest"

struct measurement {
    const char *image_ref, *image_digest;   /* borrowed from annotations; NULL when absent */
    uint8_t rootfs[DIGEST_LEN];
    char runtime_path[PATH_MAX];
    uint8_t runtime[DIGEST_LEN];
    char agent_path[PATH_MAX];
    uint8_t agent[DIGEST_LEN];
    struct launch_config lc;
    struct rootfs_manifest manifest; /* the rootfs digest's entries (runtime integrity) */
};

/* The container as its start shows it (launchcfg.h): what the engine and the runtime say. */
struct measure_ctr {
    const char *id;                     /* OCI state id; NULL: none */
    long long pid, runtime_pid;         /* its process, the runtime's; 0: none / unknown */
    const char *const *engine_storage;  /* NULL-terminated storage roots, or NULL */
    const char *cri_root, *cri_state;   /* containerd CRI's directories, or NULL */
    const char *kubelet_root;           /* the kubelet's root, or NULL */
};

/*
 * Measures bundle b: image annotations (from annotations, which outlive m), the rootfs tree,
 * the runtime binary at runtime_exe (a path or /proc/PID/exe; its link target is recorded),
 * this binary (/proc/self/exe) and the launch config (host binds that reach mgr_run_dir,
 * vtpm-mgr's run dir, are flagged; NULL: none; a bind of exactly the directory of own_vtpm,
 * the UUID of the container's vTPM or NULL, is flagged `own_vtpm` instead; with c (NULL: none)
 * a bind of one of container c->id's own engine files under c->engine_storage is flagged
 * `engine_file`, so are a pod container's sandbox files under c->cri_root and c->cri_state, binds
 * from its pod's directory under c->kubelet_root are `pod_volume`, and namespaces joined by path are judged in the container's process against
 * the runtime's: see launchcfg.h). The runtime's digest is cached in cache_dir (NULL: hashed
 * every time; see digestcache.h). Free with measure_free().
 */
int measure_collect(const struct oci_bundle *b, const json_t *annotations,
                    const char *runtime_exe, const char *cache_dir, const char *mgr_run_dir,
                    const char *own_vtpm, const struct measure_ctr *c, struct measurement *m);
void measure_free(struct measurement *m);

/* The event log of m, in extend order: image (if any), rootfs, runtime, agent, launch-config. */
int measure_eventlog(const struct measurement *m, struct eventlog *log);

/* JSON for `attest-agent measure`: digests, paths, launch config and the PCR values the
 * event log replays to. NULL on error. */
json_t *measure_to_json(const struct measurement *m);

/* Runtime binary to measure when not a hook: the first "runc" in $PATH. */
int measure_default_runtime(char *out, size_t outsz);

#endif
