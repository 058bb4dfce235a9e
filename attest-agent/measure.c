/* SPDX-License-Identifier: BSD-3-Clause */
/* Collects a container's measurements and turns them into event-log records. */
#include "measure.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cborenc.h"
#include "digestcache.h"
#include "hexutil.h"
#include "ctlproto.h"
#include "log.h"
#include "rootfs.h"
#include "timing.h"

static const char *first_annotation(const json_t *a, const char *k1, const char *k2)
{
    const char *v = oci_annotation(a, k1);

    return v ? v : oci_annotation(a, k2);
}

/* Digest of the binary at exe and the path it resolves to (the target of /proc/PID/exe). */
static int measure_binary(const char *exe, const char *cache_dir, char path[PATH_MAX],
                          uint8_t d[DIGEST_LEN])
{
    int r;

    if (!realpath(exe, path)) {
        r = -errno;
        LOG_ERROR("cannot resolve %s: %s", exe, strerror(-r));
        return r;
    }
    r = digest_cached_path(cache_dir, exe, d);
    if (r < 0)
        LOG_ERROR("cannot hash %s: %s", exe, strerror(-r));
    return r;
}

/*
 * The agent's own digest, once per process: the running image cannot change under it (writes
 * to a running binary fail with ETXTBSY, a rename leaves /proc/self/exe on the old inode), so
 * the long-running service hashes itself once instead of at every container start.
 */
static int measure_self(char path[PATH_MAX], uint8_t d[DIGEST_LEN])
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* the service's threads */
    static char self_path[PATH_MAX];
    static uint8_t self[DIGEST_LEN];
    static int known;
    int r = 0;

    pthread_mutex_lock(&mu);
    if (!known && (r = measure_binary("/proc/self/exe", NULL, self_path, self)) == 0)
        known = 1;
    if (known) {
        memcpy(path, self_path, PATH_MAX);
        memcpy(d, self, DIGEST_LEN);
    }
    pthread_mutex_unlock(&mu);
    return r;
}

int measure_collect(const struct oci_bundle *b, const json_t *annotations,
                    const char *runtime_exe, const char *cache_dir, const char *mgr_run_dir,
                    const char *own_vtpm, const struct measure_ctr *c, struct measurement *m)
{
    struct launch_env env = { .bundle_dir = b->dir, .mgr_run_dir = mgr_run_dir,
                              .own_vtpm = own_vtpm };
    char self[PATH_MAX];
    uint8_t d[DIGEST_LEN];
    int r;

    if (c) {
        env.ctr_id = c->id;
        env.pid = c->pid;
        env.runtime_pid = c->runtime_pid;
        env.engine_storage = c->engine_storage;
        env.cri_root = c->cri_root;
        env.cri_state = c->cri_state;
        env.kubelet_root = c->kubelet_root;
    }
    memset(m, 0, sizeof(*m));
    m->image_ref = first_annotation(annotations, ANN_IMAGE_REF, ANN_CRI_IMAGE);
    m->image_digest = first_annotation(annotations, ANN_MANIFEST, ANN_CONFIG_DIGEST);
    if ((r = measure_self(self, d)) < 0)
        return r;
    env.self_exe = self;
    if ((r = launchcfg_extract(b->config, b->config_digest, &env, &m->lc)) < 0)
        return r;
    r = rootfs_digest_manifest(b->rootfs, &m->lc.mount_points, m->rootfs, &m->lc.rootfs_setid,
                               &m->lc.rootfs_devices, &m->manifest);
    timing_mark("rootfs digest");
    if (r == 0)
        r = measure_binary(runtime_exe, cache_dir, m->runtime_path, m->runtime);
    timing_mark("runtime digest");
    if (r == 0)
        r = measure_self(m->agent_path, m->agent);
    timing_mark("agent digest");
    if (r < 0)
        measure_free(m);
    return r;
}

void measure_free(struct measurement *m)
{
    launchcfg_free(&m->lc);
    rootfs_manifest_free(&m->manifest);
}

static cbor_item_t *content(const char *type)
{
    cbor_item_t *c = ctl_map_new();

    if (c && ctl_put_str(c, "type", type))
        cbor_decref(&c);
    return c;
}

static cbor_item_t *image_record(const struct measurement *m)
{
    cbor_item_t *c = content("image");

    if (c && (ctl_put_str(c, "ref", m->image_ref ? m->image_ref : "") ||
              ctl_put_str(c, "digest", m->image_digest ? m->image_digest : "")))
        cbor_decref(&c);
    return c;
}

static cbor_item_t *digest_record(const char *type, const char *path, const uint8_t *d)
{
    char text[DIGEST_TEXT_LEN];
    cbor_item_t *c = content(type);

    digest_text(d, text);
    if (c && ((path && ctl_put_str(c, "path", path)) || ctl_put_str(c, "digest", text)))
        cbor_decref(&c);
    return c;
}

static cbor_item_t *launch_record(const struct measurement *m)
{
    cbor_item_t *c = content("launch-config");

    if (c && ctl_put_item(c, "config", launchcfg_to_cbor(&m->lc)))
        cbor_decref(&c);
    return c;
}

int measure_eventlog(const struct measurement *m, struct eventlog *log)
{
    uint8_t d[DIGEST_LEN];
    int r = eventlog_init(log);

    if (r == 0 && (m->image_ref || m->image_digest))
        r = eventlog_add(log, PCR_WHAT, image_record(m), d);
    if (r == 0)
        r = eventlog_add(log, PCR_WHAT, digest_record("rootfs", NULL, m->rootfs), d);
    if (r == 0)
        r = eventlog_add(log, PCR_WHO, digest_record("runtime", m->runtime_path, m->runtime), d);
    if (r == 0)
        r = eventlog_add(log, PCR_WHO, digest_record("agent", m->agent_path, m->agent), d);
    if (r == 0)
        r = eventlog_add(log, PCR_HOW, launch_record(m), d);
    if (r < 0)
        eventlog_free(log);
    return r;
}

static json_t *pcrs_json(const struct measurement *m)
{
    uint8_t pcrs[EVENTLOG_PCRS][DIGEST_LEN];
    char hex[2 * DIGEST_LEN + 1], key[4];
    struct eventlog log;
    uint32_t used = 0;
    json_t *o = NULL;

    if (measure_eventlog(m, &log) < 0)
        return NULL;
    if (eventlog_replay(log.records, pcrs, &used) == 0 && (o = json_object())) {
        for (int i = 0; i < EVENTLOG_PCRS; i++) {
            if (!(used & (1u << i)))
                continue;
            hex_encode(pcrs[i], DIGEST_LEN, hex);
            snprintf(key, sizeof(key), "%d", i);
            json_object_set_new(o, key, json_string(hex));
        }
    }
    eventlog_free(&log);
    return o;
}

static json_t *image_json(const struct measurement *m)
{
    if (!m->image_ref && !m->image_digest)
        return json_null();
    return json_pack("{s:s, s:s}", "ref", m->image_ref ? m->image_ref : "", "digest",
                     m->image_digest ? m->image_digest : "");
}

json_t *measure_to_json(const struct measurement *m)
{
    char rootfs[2 * DIGEST_LEN + 1], runtime[2 * DIGEST_LEN + 1], agent[2 * DIGEST_LEN + 1];
    char config[2 * DIGEST_LEN + 1];

    hex_encode(m->rootfs, DIGEST_LEN, rootfs);
    hex_encode(m->runtime, DIGEST_LEN, runtime);
    hex_encode(m->agent, DIGEST_LEN, agent);
    hex_encode(m->lc.config_digest, DIGEST_LEN, config);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}",
                     "rootfs_digest", rootfs, "config_digest", config,
                     "runtime_digest", runtime, "runtime_path", m->runtime_path,
                     "agent_digest", agent, "agent_path", m->agent_path,
                     "image", image_json(m), "launch_config", launchcfg_to_json(&m->lc),
                     "pcrs", pcrs_json(m));
}

int measure_default_runtime(char *out, size_t outsz)
{
    const char *path = getenv("PATH");
    char *copy, *dir, *save = NULL;
    int r = -ENOENT;

    copy = strdup(path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    if (!copy)
        return -ENOMEM;
    for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        if (snprintf(out, outsz, "%s/runc", dir) < (int)outsz && access(out, X_OK) == 0) {
            r = 0;
            break;
        }
    }
    free(copy);
    if (r < 0)
        LOG_ERROR("no runc in $PATH: name the runtime binary with --runtime");
    return r;
}
