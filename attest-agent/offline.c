/* SPDX-License-Identifier: BSD-3-Clause */
/* `attest-agent measure` prints what would be extended; `attest-agent evidence` extends,
 * quotes with a given nonce (the host too, unless --no-host-evidence) and writes the
 * evidence file. */
#include "offline.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest.h"
#include "fileio.h"
#include "hook.h"
#include "hostev.h"
#include "log.h"
#include "measure.h"
#include "ocispec.h"

#define OFFLINE_MGR_TIMEOUT_MS 30000

static int collect(const struct agent_opts *o, struct oci_bundle *b, struct measurement *m)
{
    const struct measure_ctr c = { .id = o->container_id, .engine_storage = o->engine_storage,
                                   .cri_root = o->cri_root, .cri_state = o->cri_state,
                                   .kubelet_root = o->kubelet_root };
    char runtime[PATH_MAX];
    int r;

    memset(m, 0, sizeof(*m));
    r = oci_bundle_load(o->bundle, b);

    if (r < 0)
        return r;
    if (o->runtime)
        snprintf(runtime, sizeof(runtime), "%s", o->runtime);
    else if ((r = measure_default_runtime(runtime, sizeof(runtime))) < 0)
        return r;
    /* The container's vTPM: --vtpm (evidence), else config.json's annotation when it is a
     * UUID (a vtpm-mgr name is not resolved here: its directory's bind stays flagged). The
     * engine files are those of --container-id only (a bundle's directory name is not an
     * engine's container id); no process, so a namespace joined by path may be the host's. */
    return measure_collect(b, b->annotations, runtime, NULL, o->run_dir,
                           o->vtpm ? o->vtpm : oci_annotation(b->annotations, ANN_VTPM), &c, m);
}

int offline_measure(const struct agent_opts *o)
{
    struct oci_bundle b;
    struct measurement m;
    json_t *j = NULL;
    int r = collect(o, &b, &m);

    if (r == 0 && o->out && m.manifest.over) {
        LOG_ERROR("--out %s: the rootfs manifest is over %u bytes", o->out, ROOTFS_MANIFEST_MAX);
        r = -EMSGSIZE;
    }
    /* --out: the rootfs manifest (the tree digest's entries, docs/runtime-integrity.md) */
    if (r == 0 && o->out && (r = offline_write(o->out, m.manifest.p, m.manifest.len)) < 0)
        r = -EIO;
    if (r == 0 && !(j = measure_to_json(&m)))
        r = -ENOMEM;
    if (r == 0 && (json_dumpf(j, stdout, JSON_INDENT(2)) || putchar('\n') == EOF))
        r = -EIO;
    json_decref(j);
    measure_free(&m);
    oci_bundle_free(&b);
    return r == 0 ? 0 : 1;
}

int offline_write(const char *path, const uint8_t *data, size_t len)
{
    char d[PATH_MAX], n[PATH_MAX];
    int dirfd, r;

    snprintf(d, sizeof(d), "%s", path);
    snprintf(n, sizeof(n), "%s", path);
    dirfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return -errno;
    r = file_write_atomic(dirfd, basename(n), data, len, 0644);
    close(dirfd);
    if (r < 0)
        LOG_ERROR("cannot write %s: %s", path, strerror(-r));
    return r;
}

static int quote_to_file(const struct agent_opts *o, struct attest *a, const char *id)
{
    struct evidence e;
    cbor_item_t *host = NULL;
    uint8_t *nonce = NULL, *body = NULL;
    size_t nonce_len = 0, len = 0;
    int r = hex_decode(o->nonce, &nonce, &nonce_len);

    if (r < 0 || nonce_len == 0 || nonce_len > VTPM_NONCE_MAX) {
        LOG_ERROR("--nonce: 1 to %d bytes in hex", VTPM_NONCE_MAX);
        r = -EINVAL;
        goto out;
    }
    r = attest_quote(a, id, nonce, nonce_len, &e);
    if (r == 0 && !o->host.off)
        r = hostev_part(&a->mgr, &o->host, nonce, nonce_len, &host); /* the same nonce */
    e.host = host;
    if (r == 0)
        r = evidence_encode(&e, &body, &len);
    if (r == 0)
        r = offline_write(o->out, body, len);
out:
    if (host)
        cbor_decref(&host);
    free(body);
    free(nonce);
    return r;
}

int offline_evidence(const struct agent_opts *o)
{
    struct mgr_client mgr = { .run_dir = o->run_dir, .timeout_ms = OFFLINE_MGR_TIMEOUT_MS };
    char bundle[PATH_MAX];
    struct oci_bundle b;
    struct measurement m;
    struct attest a = { 0 };
    int r = collect(o, &b, &m);

    snprintf(bundle, sizeof(bundle), "%s", o->bundle);
    if (r == 0)
        r = attest_open(&a, &mgr, o->vtpm);
    if (r == 0)
        r = attest_extend(&a, &m);
    if (r == 0)
        r = quote_to_file(o, &a, o->container_id ? o->container_id : basename(bundle));
    if (r < 0)
        fprintf(stderr, "attest-agent: evidence: %s\n", strerror(-r));
    attest_close(&a);
    measure_free(&m);
    oci_bundle_free(&b);
    return r == 0 ? 0 : 1;
}
