/* SPDX-License-Identifier: BSD-3-Clause */
/* Hook mode: the whole "may this container start?" sequence under one time bound. */
#include "hook.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest.h"
#include "binding.h"
#include "deadline.h"
#include "http.h"
#include "hookfwd.h"
#include "hostev.h"
#include "hostreg.h"
#include "log.h"
#include "nodemode.h"
#include "ocispec.h"
#include "opts.h"
#include "owner.h"
#include "procstat.h"
#include "registration.h"
#include "rtmon.h"
#include "timing.h"
#include "verifierapi.h"

_Static_assert(HOOKFWD_STATE_MAX == OCI_STATE_MAX, "one bound for the OCI state");

#define SOFT_MARGIN_MS 250 /* soft deadline ahead of the hard one, for a readable error */

struct hook {
    const struct agent_opts *o;
    int64_t deadline;
    struct oci_state st;
    struct oci_bundle b;
    struct measurement m;
    struct mgr_client mgr;
    char vtpm[MGR_UUID_LEN + 64];
    struct mgr_vtpm named;    /* a vTPM named by the annotation: vtpm-mgr's info */
    int is_named;
    int created;              /* the vTPM was created by this run */
    int vbound, cbound;       /* this run bound the vTPM / the container id */
    int extending;            /* extends into the vTPM may have begun */
    struct attest a;
    struct hook_env *env;
    char reg[REG_ID_MAX];     /* the AK's registration at the verifier */
};

/* The annotation in config.json (measured in PCR 10), else in the OCI state. */
static const char *named_vtpm(const struct hook *h)
{
    const char *n = oci_annotation(h->b.annotations, ANN_VTPM);

    return n ? n : oci_annotation(h->st.annotations, ANN_VTPM);
}

/* Parses the state, loads the bundle, measures: nothing is created before this succeeds. */
static int hook_measure(struct hook *h, const uint8_t *state, size_t len)
{
    char runtime[64];
    struct measure_ctr c = { .engine_storage = h->o->engine_storage,
                             .cri_root = h->o->cri_root, .cri_state = h->o->cri_state,
                             .kubelet_root = h->o->kubelet_root };
    int r = oci_state_parse((const char *)state, len, &h->st);

    if (r == 0)
        r = oci_bundle_load(h->st.bundle, &h->b);
    if (r < 0)
        return r;
    c.id = h->st.id;
    c.pid = h->st.pid;
    timing_mark("state, config");
    /* A named vTPM's canonical UUID is known before the launch configuration is measured: a
     * read-only bind of exactly its directory is the container's own vTPM, not vtpm-mgr's
     * run dir (launchmount.c). Nothing is made or bound yet. */
    h->mgr.run_dir = h->o->run_dir;
    h->mgr.timeout_ms = deadline_left_ms(h->deadline);
    if (named_vtpm(h) && (r = mgr_info(&h->mgr, named_vtpm(h), &h->named)) < 0)
        return r;
    /* The runtime is the process that runs the hook (for the service: the hook's parent). */
    c.runtime_pid = h->env->runtime_pid > 0 ? h->env->runtime_pid : (long long)getppid();
    snprintf(runtime, sizeof(runtime), "/proc/%lld/exe", c.runtime_pid);
    return measure_collect(&h->b, h->st.annotations,
                           h->o->runtime ? h->o->runtime
                                         : h->env->runtime ? h->env->runtime : runtime,
                           h->o->cache_dir, h->o->run_dir,
                           named_vtpm(h) ? h->named.uuid : NULL, &c, &h->m);
}

/* A vTPM named by the container (vtpm-mgr's info read in hook_measure): the container's own
 * (owner uid and tenant), not bound to another container or the pool; its freshness is read
 * before anything is made in it. */
static int hook_named(struct hook *h)
{
    struct ctr_owner own;
    int r;

    if ((r = owner_of_config(h->b.config, h->b.annotations, &own)) < 0)
        return r;
    if ((r = owner_check(&h->named, &own)) < 0)
        return r;
    h->is_named = 1;
    snprintf(h->vtpm, sizeof(h->vtpm), "%s", h->named.uuid);
    return binding_vtpm(h->o->bind_dir, h->vtpm, h->st.id, &h->vbound);
}

static int hook_vtpm(struct hook *h)
{
    const char *named = named_vtpm(h);
    struct mgr_vtpm vt;
    int r;

    h->mgr.timeout_ms = deadline_left_ms(h->deadline);
    if (named)
        return hook_named(h);
    if (h->env->take_vtpm && h->env->take_vtpm(h->env->arg, vt.uuid) == 0) {
        timing_mark("vtpm pool");
        h->created = 1;
        snprintf(h->vtpm, sizeof(h->vtpm), "%s", vt.uuid);
        LOG_INFO("container %s: vTPM %s from the pool", h->st.id, vt.uuid);
        return binding_vtpm_take(h->o->bind_dir, h->vtpm, h->st.id);
    }
    r = mgr_create(&h->mgr, &vt);
    timing_mark("vtpm create");
    if (r < 0)
        return r;
    h->created = 1;
    snprintf(h->vtpm, sizeof(h->vtpm), "%s", vt.uuid);
    LOG_INFO("container %s: created vTPM %s", h->st.id, vt.uuid);
    return binding_vtpm(h->o->bind_dir, h->vtpm, h->st.id, &h->vbound);
}

static int node_mode(const struct hook *h)
{
    return !h->o->host.off && h->o->host.mode == HOST_MODE_NODE;
}

/* Node mode: the node's verdict must be fresh when the verifier judges this container's
 * evidence, sent right after; host-only evidence first when the record says it is not (or
 * waiting, within the hook's time, for a concurrent start's). */
static int hook_node(struct hook *h, const struct nodemode *nm, struct noderec_use *u)
{
    int r;

    h->mgr.timeout_ms = deadline_left_ms(h->deadline);
    r = nodemode_ensure(nm, 0, deadline_left_ms(h->deadline), 1, u);
    timing_mark(u->refreshed ? "node: host evidence" : "node: record");
    return r;
}

static int hook_verify(struct hook *h)
{
    struct http_opts ho = { .base_url = h->o->verifier, .ca = h->o->ca, .cert = h->o->cert,
                            .key = h->o->key, .deadline = h->deadline };
    struct nodemode nm = { .o = h->o, .tab = h->env->nodes, .mgr = &h->mgr, .ho = &ho,
                           .host_registered = &h->env->host_registered };
    struct noderec_use use = { 0 };
    struct verdict_info vi = { 0 };
    struct evidence e;
    uint8_t *nonce = NULL;
    size_t nonce_len = 0;
    int r;

    attest_identity(&h->a, &e);
    if (!h->env->host_registered && (r = hostreg_ensure(&h->mgr, &e, &ho)) < 0)
        return r;
    h->env->host_registered = 1;
    if ((r = registration_ensure(&h->a, &e, &ho, h->reg)) < 0)
        return r;
    timing_mark("registration");
    if (node_mode(h) && (r = hook_node(h, &nm, &use)) < 0)
        return r;
    if ((r = verifier_nonce(&ho, &nonce, &nonce_len)) < 0)
        return r;
    timing_mark("nonce");
    r = attest_quote(&h->a, h->st.id, nonce, nonce_len, &e);
    timing_mark("quote");
    e.registration = h->reg;
    h->mgr.timeout_ms = deadline_left_ms(h->deadline);
    if (r == 0) /* quote mode: the host quote with the same nonce */
        r = hostev_send_container(&h->mgr, &h->o->host, &e, &ho, &vi);
    timing_mark("host part, evidence");
    if (r == -EACCES && vi.node_deny && node_mode(h))
        nodemode_drop(&nm, &use);
    free(nonce);
    return r;
}

/* The service keeps what it needs to quote this container's vTPM again later. */
static void hook_report(struct hook *h)
{
    struct hook_attested a = { .container_id = h->st.id, .vtpm = h->a.vt.uuid,
                               .registration = h->reg, .pid = h->st.pid,
                               .event_log = h->a.log.records };

    if (h->env->attested)
        h->env->attested(h->env->attested_arg, &a);
}

/*
 * Runtime integrity (docs/runtime-integrity.md): with --monitor-socket the allowed container
 * is registered with the monitor, which marks its file systems before this returns, so that
 * its first program is seen (and, in enforcement mode, judged). The annotation ANN_RUNTIME
 * (off|monitor|enforce, default monitor) chooses; a registration that fails fails the start.
 * A watched container is re-attested by the monitor (its event log goes on in PCR 11), not by
 * the agent service, whose copy of the start log would no longer replay to the quote.
 */
static int hook_runtime(struct hook *h, int *monitored)
{
    const char *a = oci_annotation(h->b.annotations, ANN_RUNTIME);
    enum rt_mode mode = RT_MONITOR;
    char root[PATH_MAX], err[512];
    struct rtmon_watch w;
    int64_t left;
    int r;

    if (a && rt_mode_parse(a, &mode) < 0) {
        log_diag("attest-agent: container %s: annotation %s is '%s', not off|monitor|enforce\n",
                 h->st.id, ANN_RUNTIME, a);
        return -EINVAL;
    }
    if (mode == RT_OFF)
        return 0;
    if (!h->o->monitor_socket) {
        if (mode == RT_ENFORCE) {
            log_diag("attest-agent: container %s: %s=enforce, but no --monitor-socket\n",
                     h->st.id, ANN_RUNTIME);
            return -EINVAL;
        }
        return 0;
    }
    if (!realpath(h->b.rootfs, root)) {
        r = -errno;
        log_diag("attest-agent: container %s: rootfs %s: %s\n", h->st.id, h->b.rootfs,
                 strerror(-r));
        return r;
    }
    if (h->m.manifest.over) {
        log_diag("attest-agent: container %s: runtime monitor: the rootfs manifest is over %u "
                 "bytes (too many files)\n", h->st.id, ROOTFS_MANIFEST_MAX);
        return -EMSGSIZE;
    }
    w = (struct rtmon_watch){ .id = h->st.id, .vtpm = h->a.vt.uuid, .registration = h->reg,
                              .rootfs = root, .pid = h->st.pid,
                              .start = procstat_start_time(h->st.pid),
                              .manifest = &h->m.manifest, .log = h->a.log.records,
                              .mode = mode };
    left = deadline_left_ms(h->deadline);
    r = rtmon_register(h->o->monitor_socket, &w, left > 0 ? (int)left : 1, err, sizeof(err));
    if (r < 0) {
        log_diag("attest-agent: container %s: runtime monitor: %s\n", h->st.id, err);
        return r;
    }
    timing_mark("runtime monitor");
    *monitored = 1;
    return 0;
}

/*
 * Gives the vTPM's sockets to the container (vtpm-mgr `bind`: its pid and mount namespaces,
 * which exist at createRuntime), after the agent's checks of the vTPM passed and before
 * anything is extended: a container that uses its vTPM directly through the bind-mounted
 * socket is admitted by vtpm-mgr, other containers are not. Failing it fails the start.
 */
static int hook_bind(struct hook *h)
{
    int r;

    if (h->st.pid <= 0 || h->st.pid > INT_MAX) {
        log_diag("attest-agent: container %s: the OCI state has no pid: cannot bind "
                "vTPM %s to the container\n", h->st.id, h->vtpm);
        return -EINVAL;
    }
    h->mgr.timeout_ms = deadline_left_ms(h->deadline);
    if ((r = mgr_bind(&h->mgr, h->vtpm, (pid_t)h->st.pid)) < 0) {
        log_diag("attest-agent: container %s: vtpm-mgr cannot bind vTPM %s to the "
                "container (pid %lld): %s\n", h->st.id, h->vtpm, h->st.pid, strerror(-r));
        return r;
    }
    timing_mark("vtpm bind");
    return 0;
}

/* Whether the container gets a kmod-vtpm device: the config.json annotation, else the
 * option; auto means "when the module's control device exists". 1, 0, or -EINVAL. */
static int kdev_wanted(const struct hook *h)
{
    const char *a = oci_annotation(h->b.annotations, ANN_KDEV);
    enum agent_kdev k = h->o->kdev;

    if (a && opts_kdev_parse(a, &k) < 0) {
        log_diag("attest-agent: container %s: annotation %s is '%s', not auto|on|off\n",
                 h->st.id, ANN_KDEV, a);
        return -EINVAL;
    }
    if (k == KDEV_AUTO)
        return access(h->o->kmod_control, F_OK) == 0;
    return k == KDEV_ON;
}

/*
 * With kmod-vtpm, the container also gets its vTPM as a TPM character device: vtpm-mgr
 * `attach-device` makes a /dev/vtpm<N> bound to the container's namespaces and its node at
 * --device-node inside the container's rootfs (at createRuntime the runtime has not done
 * its pivot_root: the rootfs is reached by its path in the container's mount namespace),
 * with the cgroup v1 device rule. vtpm-mgr records it and makes it again after a restart.
 */
static int hook_kdev(struct hook *h)
{
    char root[PATH_MAX], dev[64];
    int r = kdev_wanted(h);

    if (r <= 0)
        return r;
    if (!realpath(h->b.rootfs, root)) {
        r = -errno;
        log_diag("attest-agent: container %s: rootfs %s: %s\n", h->st.id, h->b.rootfs,
                 strerror(-r));
        return r;
    }
    h->mgr.timeout_ms = deadline_left_ms(h->deadline);
    r = mgr_attach_device(&h->mgr, h->vtpm, (pid_t)h->st.pid, h->o->device_node, root, dev,
                          sizeof(dev));
    if (r < 0) {
        log_diag("attest-agent: container %s: vtpm-mgr cannot give vTPM %s to the container "
                 "as %s (kmod-vtpm): %s\n", h->st.id, h->vtpm, h->o->device_node,
                 strerror(-r));
        return r;
    }
    LOG_INFO("container %s: vTPM %s is %s, %s in the container", h->st.id, h->vtpm, dev,
             h->o->device_node);
    timing_mark("kernel device");
    return 0;
}

static int hook_steps(struct hook *h, const uint8_t *state, size_t len)
{
    int r;

    if ((r = hook_measure(h, state, len)) < 0 || (r = hook_vtpm(h)) < 0)
        return r;
    if ((r = binding_container(h->o->bind_dir, h->o->run_dir, h->st.id, h->st.pid, h->vtpm,
                               &h->cbound)) < 0)
        return r;
    timing_mark("bindings");
    h->mgr.timeout_ms = deadline_left_ms(h->deadline);
    r = h->is_named ? attest_open_known(&h->a, &h->mgr, &h->named, 1)
                    : attest_open(&h->a, &h->mgr, h->vtpm);
    if (r < 0 || (r = hook_bind(h)) < 0 || (r = hook_kdev(h)) < 0)
        return r;
    h->extending = 1;
    if ((r = attest_extend(&h->a, &h->m)) < 0)
        return r;
    timing_mark("extend");
    return hook_verify(h);
}

/* A container that will not run: its id is free again, a vTPM made for it is deleted, a
 * named one nothing was extended into is free again. */
static void hook_unwind(struct hook *h)
{
    if (h->cbound)
        binding_container_release(h->o->bind_dir, h->o->run_dir, h->st.id);
    if (h->created) {
        h->mgr.timeout_ms = 1000;
        (void)mgr_delete(&h->mgr, h->vtpm);
        binding_vtpm_release(h->o->bind_dir, h->vtpm);
    } else if (h->vbound && !h->extending) {
        binding_vtpm_release(h->o->bind_dir, h->vtpm);
    }
    h->env->host_registered = 0; /* ask again next time: the verifier may have forgotten */
}

int hook_check(const struct agent_opts *o, const uint8_t *state, size_t len,
               struct hook_env *env)
{
    struct hook h = { .o = o, .env = env };
    int64_t start = deadline_now_ms();
    int r, monitored = 0;

    h.deadline = start + (o->timeout_ms > 2 * SOFT_MARGIN_MS ? o->timeout_ms - SOFT_MARGIN_MS
                                                             : o->timeout_ms);
    r = hook_steps(&h, state, len);
    if (r == 0)
        r = hook_runtime(&h, &monitored);
    if (r == 0 && !monitored) /* the monitor re-attests what it watches (its log has PCR 11) */
        hook_report(&h);
    attest_close(&h.a);
    if (r < 0)
        hook_unwind(&h);
    if (r == 0)
        LOG_INFO("container %s: allowed (%lld ms)", h.st.id,
                 (long long)(deadline_now_ms() - start));
    else
        log_diag("attest-agent: container %s must not start: %s\n",
                h.st.id ? h.st.id : "?", r == -EACCES ? "denied" : strerror(-r));
    measure_free(&h.m);
    oci_bundle_free(&h.b);
    oci_state_free(&h.st);
    return r == 0 ? 0 : 1;
}

int hook_run(const struct agent_opts *o, int argc, char **argv)
{
    struct hook_env env = { 0 };
    uint8_t *state = NULL;
    size_t len = 0;
    int r;

    if (hookfwd_watchdog(o->timeout_ms) < 0 || hookfwd_read_state(&state, &len) < 0)
        return 1;
    r = HOOKFWD_FALLBACK;
    if (o->agent_socket && argc >= 2) {
        r = hookfwd_run(o->agent_socket, argv + 2, argc - 2, state, len);
        timing_mark("service");
    }
    if (r == HOOKFWD_FALLBACK)
        r = hook_check(o, state, len, &env);
    free(state);
    return r;
}
