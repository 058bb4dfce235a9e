/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's REST operations: nonces, evidence verdicts, container lookups, health, metrics. */
#include "http/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sched/admission.h"
#include "check/binding.h"
#include "check/chain.h"
#include "check/chaincache.h"
#include "hexutil.h"
#include "log.h"
#include "check/nodeverdict.h"
#include "check/rtcache.h"
#include "check/runtime.h"
#include "check/tpmobj.h"
#include "check/verify.h"
#include "sched/podbind.h"
#include "sched/rtalert.h"
#include "sched/wpolicy.h"
#include "store/store_policy.h"

#define NONCE_BYTES 32u

void api_json(struct api_reply *rep, unsigned status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    rep->ctype = "application/json";
    if (!s) {
        rep->status = 500;
        rep->body = (uint8_t *)strdup("{\"error\":\"internal\"}");
        rep->len = rep->body ? strlen((char *)rep->body) : 0;
        return;
    }
    rep->status = status;
    rep->body = (uint8_t *)s;
    rep->len = strlen(s);
}

void api_error(struct api_reply *rep, unsigned status, const char *msg)
{
    api_json(rep, status, json_pack("{s:s}", "error", msg));
}

void api_reply_free(struct api_reply *rep)
{
    free(rep->body);
    memset(rep, 0, sizeof(*rep));
}

void api_nonce(struct api_ctx *c, struct api_reply *rep)
{
    uint8_t n[NONCE_BYTES];
    char hex[2 * NONCE_BYTES + 1];
    int64_t now = time(NULL), exp = now + c->nonce_ttl;
    struct store_check chk = { 0 };

    if (RAND_bytes(n, sizeof(n)) != 1) {
        api_error(rep, 500, "no randomness");
        return;
    }
    hex_encode(n, sizeof(n), hex);
    chk.issue.hex = hex;
    chk.issue.issued = now;
    chk.issue.expires = exp;
    if (store_check_commit(c->st, &chk) < 0) {
        api_error(rep, 500, "database");
        return;
    }
    c->m.nonces++;
    api_json(rep, 200, json_pack("{s:s, s:I}", "nonce", hex, "expires", (json_int_t)exp));
}

/* The reason of a nonce's consumption (store_nonce_consume's outcome), if any. */
static void nonce_reason(int rc, struct reasons *r)
{
    switch (rc) {
    case 0: break;
    case -ENOENT: reasons_add(r, "nonce-unknown", NULL); break;
    case -ETIME: reasons_add(r, "nonce-expired", NULL); break;
    case -EALREADY: reasons_add(r, "nonce-reused", NULL); break;
    default: reasons_add(r, "internal-error", "nonce store"); break;
    }
}

static int same(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    return al == bl && CRYPTO_memcmp(a, b, al) == 0;
}

/* 1 when the evidence's AK is the one activated for this vTPM and EK certificate. */
static int check_registration(struct api_ctx *c, const struct evidence *ev, struct reasons *r)
{
    struct reg_row reg;
    int ok, e = ev->registration[0] ? store_reg_get(c->st, ev->registration, &reg) : -ENOENT;

    if (e < 0) { /* a database fault is not a missing registration */
        reasons_add(r, e == -ENOENT ? "ak-not-registered" : "internal-error",
                    e == -ENOENT ? NULL : "registration store");
        return 0;
    }
    /* Host registrations share the table; they never stand for a vTPM's AK. */
    ok = reg.state == REG_ACTIVE && strncmp(reg.vtpm_uuid, "host:", 5) != 0;
    if (!ok)
        reasons_add(r, "ak-not-registered", "not activated");
    else if (!(ok = strcmp(reg.vtpm_uuid, ev->vtpm_uuid) == 0 &&
                    same(reg.ak_pub, reg.ak_pub_len, ev->ak_pub.p, ev->ak_pub.len) &&
                    same(reg.ek_cert, reg.ek_cert_len, ev->ek_cert.p, ev->ek_cert.len)))
        reasons_add(r, "registration-mismatch", NULL);
    store_reg_free(&reg);
    return ok;
}

/* The host AK that certified the vTPM-CA key must have been activated against this host's EK
 * (POST /v1/hosts/register); otherwise anyone holding a trusted host EK certificate, which is
 * public, could present an AK of their own. Chain faults are reported by chain_check. */
static void check_host(struct api_ctx *c, const struct evidence *ev, struct reasons *r)
{
    char subject[CHAIN_SUBJECT_MAX];
    uint8_t name[TPM_NAME_MAX];
    size_t nlen = 0;
    struct bytes ak = { 0 };
    struct reasons tmp = { 0 };
    EVP_PKEY *ek = NULL;
    int e = 0;

    uint8_t key[32];
    int keyed = chaincache_key("host-registered", NULL, ev->host_chain, NULL, key) == 0;

    if (keyed && chaincache_hit(key))
        return;
    chain_host_identity(ev->host_chain, c->trust, &tmp, &ek, &ak, name, &nlen, subject);
    if (!reasons_deny(&tmp) && ek && (e = store_reg_active(c->st, subject, ak.p, ak.len)) != 0)
        reasons_add(r, e == -ENOENT ? "host-ak-not-registered" : "internal-error",
                    e == -ENOENT ? NULL : "registration store");
    else if (!reasons_deny(&tmp) && ek && keyed)
        chaincache_put(key); /* registrations are never withdrawn; the TTL bounds it anyway */
    EVP_PKEY_free(ek);
    reasons_free(&tmp);
}

static char *reasons_text(const struct reasons *r)
{
    json_t *rj = reasons_json(r);
    char *rs = rj ? json_dumps(rj, JSON_COMPACT) : NULL;

    json_decref(rj);
    return rs;
}

static int64_t due_of(const struct api_ctx *c, const struct reasons *r, int64_t now)
{
    return reasons_deny(r) ? 0 : api_due(c, now);
}

/* Evidence that may not write the container's row: audited as refused, row untouched (a
 * store that failed the check's transaction: best effort, alone). */
static void refuse(struct api_ctx *c, const struct evidence *ev, const struct reasons *r)
{
    char *rs = reasons_text(r);

    if (store_audit(c->st, time(NULL), "evidence", ev->container_id, "refused",
                    rs ? rs : "[]") < 0)
        LOG_ERROR("could not audit the refused evidence for %s", ev->container_id);
    free(rs);
}

/* The binding this evidence asks for: its vTPM, the quote's resetCount, and a lapse one
 * re-attestation period after now (never when re-attestation is off). */
static void binding_of(const struct api_ctx *c, const struct evidence *ev,
                       const struct verify_result *res, int64_t now, struct verdict_binding *b)
{
    binding_vtpm_id(ev->ek_cert.p, ev->ek_cert.len, b->vtpm_ek);
    b->reset_count = res->quote.clock.resetCount;
    b->bound_until = api_due(c, now);
}

/* One evidence check: what was read before its transaction, and the texts its pieces point
 * to. Its writes (nonce, TPM clock, node verdict, container verdict, audit) are one
 * store_check, committed together (store_check_commit); decide() turns the nonce's and the
 * clock's outcomes into the verdicts inside that transaction. */
struct evcheck {
    struct api_ctx *c;
    const struct evidence *ev;
    struct verify_result *res;
    const char *subject;
    struct reasons shared, reg; /* check_shared's (but the nonce's) and the registration's */
    int registered, container, gathered, proven;
    size_t n_reasons, n_host;   /* the lengths of res's lists before the transaction */
    struct verdict_binding old; /* the id's binding, read before the transaction */
    int old_rc;
    int64_t now, due;           /* due: the node verdict's */
    const char *verdict;        /* the container's: "allow", "deny" or "refused" */
    char *node_rs, *rs, *refused_rs;
    struct store_node_gate g;
    struct store_check chk;
};

/* The reasons in the order the checks ran: the nonce's, check_shared's (to the container and
 * the host), the registration's, the TPM clock's. */
static void gather(struct evcheck *e, int nonce_rc, int clock_rc)
{
    struct reasons n = { 0 };

    if (e->gathered)
        return;
    e->gathered = 1;
    nonce_reason(nonce_rc, &n);
    reasons_append(&n, &e->shared);
    reasons_append(&e->res->reasons, &n);
    reasons_append(&e->res->host, &n);
    reasons_free(&n);
    reasons_append(&e->res->reasons, &e->reg);
    if (clock_rc == -ERANGE)
        reasons_add(&e->res->reasons, "clock-rollback", NULL);
    else if (clock_rc < 0)
        reasons_add(&e->res->reasons, "internal-error", "clock store");
}

/* The container's verdict: written only by evidence that proves its vTPM (registered AK,
 * verified quote, none of binding.h's unproven reasons) and comes from the vTPM the id is bound
 * to; otherwise audited as refused, row untouched. A put refused by the store (-EPERM: another
 * instance bound the id meanwhile) is audited with refused_rs. 0 or -ENOMEM. */
static int decide_container(struct evcheck *e)
{
    struct store_check_verdict *v = &e->chk.verdict;
    const struct evidence *ev = e->ev;
    struct reasons *r = &e->res->reasons, eperm = { 0 };

    v->audit = (struct store_check_audit){ "evidence", ev->container_id, "refused", NULL,
                                           e->now };
    e->verdict = "refused";
    if (e->registered && e->res->quote.signature_ok && binding_vtpm_proven(r)) {
        binding_of(e->c, ev, e->res, e->now, &v->b);
        if (e->old_rc < 0 && e->old_rc != -ENOENT)
            reasons_add(r, "internal-error", "verdict store");
        else if (binding_judge(e->old_rc == 0 ? &e->old : NULL, &v->b, e->now, r) !=
                 BINDING_OTHER)
            v->on = 1;
    }
    if (!(e->rs = reasons_text(r)))
        return -ENOMEM;
    v->audit.detail = e->rs;
    if (!v->on)
        return 0;
    e->verdict = reasons_deny(r) ? "deny" : "allow";
    reasons_append(&eperm, r);
    reasons_add(&eperm, "container-vtpm-mismatch", "the id is bound to another vTPM");
    e->refused_rs = reasons_text(&eperm);
    reasons_free(&eperm);
    if (!e->refused_rs)
        return -ENOMEM;
    v->id = ev->container_id;
    v->vtpm_uuid = ev->vtpm_uuid;
    v->node = ev->node[0] ? ev->node : vf_evidence_node(ev);
    v->verdict = e->verdict;
    v->reasons = e->rs;
    v->t = e->now;
    v->due = due_of(e->c, r, e->now);
    v->gate = ev->node[0] ? &e->g : NULL;
    v->audit.outcome = NULL; /* the verdict as written */
    v->refused_detail = e->refused_rs;
    return 0;
}

/* A node name stays bound to the host (EK) that first attested under it: another host's
 * evidence cannot take over a node's verdict. */
static void check_node_binding(struct api_ctx *c, const char *node, const char *subject,
                               struct reasons *r)
{
    json_t *j = NULL;
    const char *bound;
    int rc = store_node_get(c->st, node, &j);

    if (rc == -ENOENT)
        return;
    if (rc < 0) {
        reasons_add(r, "internal-error", "node store");
        return;
    }
    bound = json_string_value(json_object_get(j, "host"));
    if (bound && *bound && strcmp(bound, subject))
        reasons_add(r, "host-node-mismatch", "node %s belongs to another host", node);
    json_decref(j);
}

/* Reasons that leave open who sent the host part: the node's row must not change on them,
 * or anyone could bind a node name to their own EK or flip a good node to deny. */
static const char *const unproven[] = {
    "nonce-unknown", "nonce-expired", "nonce-reused", "internal-error",
    "host-chain-malformed", "host-ek-untrusted", "host-ek-key-mismatch", "host-ak-invalid",
    "host-ak-not-registered", "host-ak-malformed", "host-quote-malformed",
    "host-quote-signature-invalid", "host-quote-magic", "host-quote-type",
    "host-quote-nonce-mismatch", "host-node-mismatch",
};

static int host_proven(const struct reasons *host)
{
    for (size_t i = 0; i < sizeof(unproven) / sizeof(unproven[0]); i++)
        if (reasons_has(host, unproven[i]))
            return 0;
    return 1;
}

/* The node's verdict from the host part alone (container evidence carries it too), written at
 * now with e->due (0 for a deny); evidence that does not prove its host is audited only. */
static int decide_node(struct evcheck *e)
{
    const struct reasons *host = &e->res->host;
    const char *verdict = reasons_deny(host) ? "deny" : "allow";

    if (!(e->node_rs = reasons_text(host)))
        return -ENOMEM;
    e->proven = host_proven(host);
    e->due = due_of(e->c, host, e->now);
    e->chk.node.on = e->proven;
    e->chk.node.node = e->ev->host.node;
    e->chk.node.host = e->subject;
    e->chk.node.verdict = verdict;
    e->chk.node.reasons = e->node_rs;
    e->chk.node.t = e->now;
    e->chk.node.due = e->due;
    e->chk.node.audit = (struct store_check_audit){ "host-evidence", e->ev->host.node,
                                                    e->proven ? NULL : "refused", e->node_rs,
                                                    e->now };
    return 0;
}

static void reasons_cut(struct reasons *r, size_t n)
{
    while (r->n > n)
        free(r->v[--r->n]);
}

/* Inside the check's transaction (on the thread committing its group): its verdicts from the
 * nonce's and the clock's outcomes. A set the store retries (store.h) runs it again: it starts
 * from the state before the first run. */
static int decide(struct store_check *chk)
{
    struct evcheck *e = chk->arg;
    int r = 0;

    if (e->gathered) {
        reasons_cut(&e->res->reasons, e->n_reasons);
        reasons_cut(&e->res->host, e->n_host);
        reasons_free(&e->g.added);
        free(e->node_rs);
        free(e->rs);
        free(e->refused_rs);
        e->node_rs = e->rs = e->refused_rs = NULL;
        memset(&chk->node, 0, sizeof(chk->node));
        memset(&chk->verdict, 0, sizeof(chk->verdict));
        e->gathered = e->proven = 0;
    }
    gather(e, chk->nonce.rc, chk->clock.rc);
    if (e->ev->host.present)
        r = decide_node(e);
    if (r == 0 && e->container)
        r = decide_container(e);
    return r;
}

static void evcheck_free(struct evcheck *e)
{
    reasons_free(&e->shared);
    reasons_free(&e->reg);
    reasons_free(&e->g.added);
    free(e->node_rs);
    free(e->rs);
    free(e->refused_rs);
}

/* Commits the check; on a store failure nothing was written and the answer says so. */
static int evcheck_commit(struct evcheck *e, char nonce_hex[2 * EVIDENCE_NONCE_MAX + 1])
{
    int r;

    hex_encode(e->ev->nonce.p, e->ev->nonce.len, nonce_hex);
    e->chk.nonce.hex = nonce_hex;
    e->chk.nonce.now = e->now;
    e->chk.decide = decide;
    e->chk.arg = e;
    e->n_reasons = e->res->reasons.n;
    e->n_host = e->res->host.n;
    if ((r = store_check_commit(e->c->st, &e->chk)) < 0) {
        LOG_ERROR("could not record the check of %s: %s",
                  e->container ? e->ev->container_id : e->ev->host.node, strerror(-r));
        gather(e, r, 0);
    }
    if (e->ev->host.present && e->proven)
        admission_cache_forget(e->c->acache, e->ev->host.node);
    return r;
}

static void bad_evidence(struct api_ctx *c, const char *err, struct api_reply *rep)
{
    json_t *j = json_pack("{s:s, s:[s]}", "verdict", "deny", "reasons", "evidence-malformed");
    char detail[160];
    struct store_check chk = { 0 };

    c->m.bad_evidence++;
    snprintf(detail, sizeof(detail), "[\"evidence-malformed:%s\"]", err);
    chk.audit = (struct store_check_audit){ "evidence", "", "deny", detail, time(NULL) };
    if (store_check_commit(c->st, &chk) < 0)
        LOG_ERROR("could not audit malformed evidence");
    api_json(rep, 400, j);
}

/* Checks that need the store and bind both the container and the host verdict (reads; the
 * nonce is consumed in the check's transaction); subject gets the host's registration subject
 * when the evidence has a host part or names its node. */
static void check_shared(struct api_ctx *c, const struct evidence *ev, struct reasons *extra,
                         char subject[CHAIN_SUBJECT_MAX])
{
    check_host(c, ev, extra);
    if ((ev->host.present || ev->node[0]) && chain_host_subject(ev->host_chain, subject) < 0)
        reasons_add(extra, "host-chain-malformed", "host-ek.pem");
    else if (ev->host.present)
        check_node_binding(c, ev->host.node, subject, extra);
}

static void count(struct api_ctx *c, const struct reasons *r)
{
    if (reasons_deny(r))
        c->m.deny++;
    else
        c->m.allow++;
}

static void count_verdict(struct api_ctx *c, const char *verdict)
{
    if (!strcmp(verdict, "allow"))
        c->m.allow++;
    else if (!strcmp(verdict, "deny"))
        c->m.deny++;
    else
        c->m.refused++;
}

/* The policy a container's evidence is judged by: for a Kubernetes container of an admitted
 * pod, the per-workload policy that admitted the pod (by name, its version in force now; the
 * file when that was the file or the policy is gone); otherwise the most specific
 * per-workload policy whose selector has no namespaces or labels (such a container is known by
 * its measured image reference only) and matches that reference, else the --policy file. The
 * event log is read first for the pod and the image (its own pass: only when policies exist). */
struct chosen {
    const struct policy *pol;
    struct policy eff;
    char name[WP_NAME_MAX + 1];
    int64_t version;
    int unreadable;
};

/* The policy that admitted the pod m's launch config names: 0 and *e (NULL: the file, or a
 * policy since deleted), -1 when there is no admitted pod to go by. */
static int admitted_by(struct api_ctx *c, const struct measurements *m,
                       const struct wp_set *set, const struct wp_entry **e)
{
    struct podbind_id id;
    struct reasons scratch = { 0 };
    json_t *row = NULL;
    int r;

    *e = NULL;
    r = m->launch_config ? podbind_pod(m->launch_config, &id, &scratch) : 0;
    reasons_free(&scratch);
    if (r <= 0 || store_pod_get(c->st, id.uid, &row) < 0)
        return -1;
    *e = wp_find(set, json_string_value(json_object_get(row, "policy")));
    json_decref(row);
    return 0;
}

static void choose_policy(struct api_ctx *c, const struct evidence *ev,
                          const struct wp_set *set, struct chosen *ch)
{
    struct measurements m;
    struct reasons scratch = { 0 };
    const struct wp_entry *e;
    const char *img;

    ch->pol = &c->pol;
    snprintf(ch->name, sizeof(ch->name), "%s", WP_FILE_NAME);
    ch->version = 0;
    ch->unreadable = 0;
    if (!wp_set_size(set))
        return;
    memset(&m, 0, sizeof(m));
    vf_eventlog_check(ev, &m, &scratch);
    reasons_free(&scratch);
    if (admitted_by(c, &m, set, &e) == 0) {
        if (!e)
            return; /* admitted by the file */
    } else if (!wp_any_for_containers(set)) {
        return;
    } else {
        img = m.image_ref;
        e = m.has_image && img[0] ? wp_select(set, NULL, NULL, &img, 1)
                                  : wp_select(set, NULL, NULL, NULL, 0);
    }
    if (!e)
        return;
    snprintf(ch->name, sizeof(ch->name), "%s", e->name);
    ch->version = e->version;
    if (!e->pol.root) { /* judged by the file, and denied */
        ch->unreadable = 1;
        return;
    }
    ch->eff = (struct policy){ .root = e->pol.root, .boot = c->pol.boot };
    ch->pol = &ch->eff;
}

/* Admission-to-runtime binding: a Kubernetes container (its launch config names a pod) must
 * be what admission recorded for that pod uid; an unknown uid is denied unless the policy's
 * launch.require_admitted_pod is false. Containers without a pod: nothing here. */
static void check_admitted(struct api_ctx *c, const struct policy *pol, struct verify_result *res)
{
    const cbor_item_t *cfg = res->meas.launch_config;
    struct podbind_id id;
    json_t *row = NULL, *facts = NULL;
    const char *text;
    int r;

    if (!cfg || podbind_pod(cfg, &id, &res->reasons) <= 0)
        return;
    r = store_pod_get(c->st, id.uid, &row);
    if (r == -ENOENT && !json_is_true(json_object_get(json_object_get(pol->root, "launch"),
                                                      "require_admitted_pod")))
        return;
    if (r < 0 && r != -ENOENT) {
        reasons_add(&res->reasons, "internal-error", "admitted pods");
        return;
    }
    text = json_string_value(json_object_get(row, "facts"));
    if (row && !(facts = text ? json_loads(text, 0, NULL) : NULL))
        reasons_add(&res->reasons, "launch-config-not-admitted", "pod %.100s: record unreadable",
                    id.uid);
    else
        podbind_check(facts, &id, cfg, &res->meas, &res->reasons);
    json_decref(facts);
    json_decref(row);
}

/* The verdict answer with the policy that decided it. */
static json_t *with_policy(json_t *j, const struct chosen *ch)
{
    if (j && json_object_set_new(j, "policy", json_pack("{s:s, s:I}", "name", ch->name,
                                                        "version",
                                                        (json_int_t)ch->version)) < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* An inline rootfs_manifest (agents before the manifest store) that hashes to the quoted
 * rootfs digest and decoded in the check is kept in the store, so that newer agents and other
 * instances find it; best effort. */
static void keep_inline_manifest(struct api_ctx *c, const struct evidence *ev,
                                 const struct verify_result *res)
{
    struct rt_manifest m;
    uint8_t want[32];
    char hex[65], err[96];
    int64_t size;
    int rc;

    if (!ev->rootfs_manifest.len || !res->meas.has_rootfs ||
        strlen(res->meas.rootfs_digest) != 71)
        return;
    memcpy(hex, res->meas.rootfs_digest + 7, 65);
    if (hex_decode_exact(hex, want, 32) < 0 || store_manifest_stat(c->st, hex, &size) == 0)
        return;
    /* content-addressed: kept only when it hashes to its name and decodes */
    if (rt_manifest_parse(ev->rootfs_manifest.p, ev->rootfs_manifest.len, want, &m, err,
                          sizeof(err)) < 0)
        return;
    rt_manifest_free(&m);
    rc = store_manifest_put(c->st, hex, ev->rootfs_manifest.p, ev->rootfs_manifest.len,
                            time(NULL), &c->mquota, NULL);
    if (rc == 0)
        LOG_INFO("manifest sha256:%s stored from the inline rootfs_manifest of %s (%zu bytes)",
                 hex, ev->container_id, ev->rootfs_manifest.len);
    else if (rc < 0)
        LOG_WARN("manifest sha256:%s of %s not stored: %s", hex, ev->container_id,
                 strerror(-rc));
}

void api_evidence(struct api_ctx *c, const uint8_t *body, size_t len, struct api_reply *rep)
{
    struct rt_source src;
    struct chosen ch;
    struct wp_set *set;
    struct evidence ev;
    struct verify_result res;
    char err[128] = "", nonce[2 * EVIDENCE_NONCE_MAX + 1];
    char subject[CHAIN_SUBJECT_MAX] = "";
    struct evcheck e = { .c = c, .ev = &ev, .res = &res, .subject = subject, .container = 1 };

    if (vf_evidence_parse(body, len, &ev, err, sizeof(err)) < 0) {
        vf_evidence_free(&ev);
        bad_evidence(c, err, rep);
        return;
    }
    set = c->wp ? wp_acquire(c->wp, c->st, mono_ms()) : NULL;
    choose_policy(c, &ev, set, &ch);
    api_manifest_source(c, &src);
    verify_evidence_src(&ev, ch.pol, c->trust, &src, &res);
    keep_inline_manifest(c, &ev, &res);
    check_admitted(c, ch.pol, &res);
    wp_set_put(set); /* ch.pol is not read after this */
    if (ch.unreadable)
        reasons_add(&res.reasons, "workload-policy-unreadable", "%s", ch.name);
    check_shared(c, &ev, &e.shared, subject);
    e.registered = check_registration(c, &ev, &e.reg);
    e.g = (struct store_node_gate){ .host = subject, .max_age = policy_node_max_age(&c->pol) };
    e.now = time(NULL);
    if (e.registered && res.quote.signature_ok) {
        e.chk.clock.uuid = ev.vtpm_uuid;
        e.chk.clock.reset = res.quote.clock.resetCount;
        e.chk.clock.restart = res.quote.clock.restartCount;
        e.chk.clock.clock = res.quote.clock.clock;
        e.old_rc = store_verdict_binding(c->st, ev.container_id, &e.old);
    }
    if (evcheck_commit(&e, nonce) < 0) {
        /* nothing was written: never answer a verdict that is not stored */
        reasons_add(&res.reasons, "internal-error", "verdict store");
        refuse(c, &ev, &res.reasons);
        e.verdict = "refused";
    } else if (e.chk.verdict.on && e.chk.verdict.rc == -EPERM) {
        /* bound by another instance meanwhile */
        reasons_add(&res.reasons, "container-vtpm-mismatch", "the id is bound to another vTPM");
        e.verdict = "refused";
    } else if (e.chk.verdict.on) {
        reasons_append(&res.reasons, &e.g.added); /* the node gate's, as written */
        e.verdict = reasons_deny(&res.reasons) ? "deny" : "allow";
        /* alert mode's findings (runtime.drift / gap "alert"): a notification, no revocation;
         * only for evidence that proved its vTPM and was stored */
        if (res.alerts.n && rtalert_queue(c->st, &ev, e.verdict, &res.alerts, e.now) < 0)
            LOG_ERROR("evidence %s: its runtime alert could not be queued", ev.container_id);
    }
    count_verdict(c, e.verdict);
    LOG_INFO("evidence %s (vTPM %s): %s (policy %s version %lld)", ev.container_id,
             ev.vtpm_uuid, e.verdict, ch.name, (long long)ch.version);
    api_json(rep, 200, with_policy(verify_verdict_json(&ev, e.verdict, &res.reasons), &ch));
    evcheck_free(&e);
    verify_result_free(&res);
    vf_evidence_free(&ev);
}

/* The host-evidence answer: the verdict, and when the node verdict was written, falls due and
 * stops being fresh for node-mode container evidence (0 when there is nothing to rely on). */
static json_t *host_answer(const struct api_ctx *c, const struct evidence *ev,
                           const struct reasons *r, int64_t now, int64_t due)
{
    json_t *j = verify_host_result_json(ev, r);
    int allow = !reasons_deny(r);

    if (j && (json_object_set_new(j, "time", json_integer(now)) < 0 ||
              json_object_set_new(j, "due", json_integer(allow ? due : 0)) < 0 ||
              json_object_set_new(j, "fresh_until", json_integer(
                  allow ? nodeverdict_fresh_until(now, due, policy_node_max_age(&c->pol)) : 0)) < 0)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

void api_host_evidence(struct api_ctx *c, const uint8_t *body, size_t len, struct api_reply *rep)
{
    struct evidence ev;
    struct verify_result res;
    char err[128] = "", subject[CHAIN_SUBJECT_MAX] = "", nonce[2 * EVIDENCE_NONCE_MAX + 1];
    struct evcheck e = { .c = c, .ev = &ev, .res = &res, .subject = subject };

    if (vf_host_evidence_parse(body, len, &ev, err, sizeof(err)) < 0) {
        vf_evidence_free(&ev);
        bad_evidence(c, err, rep);
        return;
    }
    verify_host_evidence(&ev, &c->pol, c->trust, &res);
    check_shared(c, &ev, &e.shared, subject);
    e.now = time(NULL);
    /* An allow that is not stored is no allow: node-mode containers would find no row. */
    if (evcheck_commit(&e, nonce) < 0)
        reasons_add(&res.host, "internal-error", "node store");
    count(c, &res.host);
    LOG_INFO("host evidence of node %s: %s", ev.host.node,
             reasons_deny(&res.host) ? "deny" : "allow");
    api_json(rep, 200, host_answer(c, &ev, &res.host, e.now, e.due));
    evcheck_free(&e);
    verify_result_free(&res);
    vf_evidence_free(&ev);
}

void api_container(struct api_ctx *c, const char *id, struct api_reply *rep)
{
    json_t *j = NULL;
    int r = store_verdict_get(c->st, id, &j);

    if (r == -ENOENT)
        api_error(rep, 404, "no verdict for this container");
    else if (r < 0)
        api_error(rep, 500, "database");
    else
        api_json(rep, 200, j);
}

void api_health(struct api_ctx *c, struct api_reply *rep)
{
    int ok = store_count(c->st, "audit") >= 0;

    api_json(rep, ok ? 200 : 503, json_pack("{s:s}", "status", ok ? "ok" : "database"));
}

static int metric(FILE *f, const char *name, const char *type, const char *help, const char *labels,
                  int64_t v)
{
    return fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s%s %lld\n", name, help, name, type, name,
                   labels, (long long)v);
}

void api_metrics_sum(const struct api_ctx *c, struct api_counts *out)
{
    const struct api_ctx *all = c->peers ? c->peers : c;
    size_t n = c->peers ? c->npeers : 1;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
#define API_COUNTER_ADD(f) out->f += atomic_load_explicit(&all[i].m.f, memory_order_relaxed);
        API_COUNTERS(API_COUNTER_ADD)
#undef API_COUNTER_ADD
    }
}

/* The requests each serving thread answered and the connections it holds (how evenly the
 * accepting thread spreads them). */
static void thread_metrics(const struct api_ctx *c, FILE *f)
{
    const struct api_ctx *all = c->peers ? c->peers : c;
    size_t n = c->peers ? c->npeers : 1;
    unsigned busy = 0;

    for (size_t i = 0; i < n; i++)
        busy += atomic_load_explicit(&all[i].busy, memory_order_relaxed);
    fprintf(f, "# HELP verifier_serving_threads Threads serving HTTP requests\n"
               "# TYPE verifier_serving_threads gauge\nverifier_serving_threads %zu\n"
               "# HELP verifier_requests_in_flight Requests being answered (this one included)\n"
               "# TYPE verifier_requests_in_flight gauge\nverifier_requests_in_flight %u\n"
               "# HELP verifier_thread_requests_total HTTP requests by serving thread\n"
               "# TYPE verifier_thread_requests_total counter\n", n, busy);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "verifier_thread_requests_total{thread=\"%zu\"} %llu\n", i,
                (unsigned long long)atomic_load_explicit(&all[i].m.requests,
                                                         memory_order_relaxed));
    fprintf(f, "# HELP verifier_thread_connections Open connections by serving thread\n"
               "# TYPE verifier_thread_connections gauge\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "verifier_thread_connections{thread=\"%zu\"} %d\n", i,
                atomic_load_explicit(&all[i].conns, memory_order_relaxed));
}

/* Group commit (store_check_commit): how many checks share a commit, and the time they wait. */
static void store_metrics(struct api_ctx *c, FILE *f)
{
    struct store_commit_stats s;

    store_commit_stats(c->st, &s);
    metric(f, "verifier_store_commits_total", "counter",
           "Transactions committed for evidence checks (one per group)", "", (int64_t)s.commits);
    metric(f, "verifier_store_check_sets_total", "counter",
           "Evidence checks' write sets committed (a group shares one commit)", "",
           (int64_t)s.sets);
    metric(f, "verifier_store_check_failures_total", "counter",
           "Write sets the store failed (nothing of them written)", "", (int64_t)s.failed_sets);
    fprintf(f, "# HELP verifier_store_commit_wait_seconds_total Time checks spent waiting for "
               "their commit\n# TYPE verifier_store_commit_wait_seconds_total counter\n"
               "verifier_store_commit_wait_seconds_total %.6f\n", (double)s.wait_ns / 1e9);
}

void api_metrics(struct api_ctx *c, struct api_reply *rep)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct api_counts sum;
    const struct api_counts *m = &sum;

    api_metrics_sum(c, &sum);
    if (!f) {
        api_error(rep, 500, "memory");
        return;
    }
    metric(f, "verifier_http_requests_total", "counter", "HTTP requests", "", (int64_t)m->requests);
    metric(f, "verifier_nonces_issued_total", "counter", "Nonces issued", "", (int64_t)m->nonces);
    fprintf(f, "# HELP verifier_verdicts_total Evidence verdicts\n# TYPE verifier_verdicts_total counter\n"
               "verifier_verdicts_total{verdict=\"allow\"} %llu\n"
               "verifier_verdicts_total{verdict=\"deny\"} %llu\n"
               "verifier_verdicts_total{verdict=\"refused\"} %llu\n",
            (unsigned long long)m->allow, (unsigned long long)m->deny,
            (unsigned long long)m->refused);
    metric(f, "verifier_evidence_malformed_total", "counter", "Evidence that did not parse", "",
           (int64_t)m->bad_evidence);
    metric(f, "verifier_registrations_total", "counter", "Registrations started", "",
           (int64_t)m->registrations);
    metric(f, "verifier_activations_total", "counter", "Successful credential activations", "",
           (int64_t)m->activations);
    metric(f, "verifier_activation_failures_total", "counter", "Failed activations", "",
           (int64_t)m->activation_failures);
    metric(f, "verifier_tls_refused_total", "counter", "Requests without a valid client certificate",
           "", (int64_t)m->tls_refused);
    metric(f, "verifier_audit_rows", "gauge", "Rows in the audit trail", "", store_count(c->st, "audit"));
    metric(f, "verifier_registration_rows", "gauge", "Registrations stored", "",
           store_count(c->st, "registrations"));
    thread_metrics(c, f);
    store_metrics(c, f);
    api_admission_metrics(c, m, f);
    api_sweeper_metrics(c, f);
    api_manifest_metrics(c, m, f);
    fclose(f);
    rep->status = 200;
    rep->ctype = "text/plain; version=0.0.4";
    rep->body = (uint8_t *)buf;
    rep->len = len;
}
