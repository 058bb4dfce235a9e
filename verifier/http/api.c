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
#include "check/tpmobj.h"
#include "check/verify.h"

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

    if (RAND_bytes(n, sizeof(n)) != 1) {
        api_error(rep, 500, "no randomness");
        return;
    }
    hex_encode(n, sizeof(n), hex);
    if (store_nonce_add(c->st, hex, now, exp) < 0) {
        api_error(rep, 500, "database");
        return;
    }
    c->m.nonces++;
    api_json(rep, 200, json_pack("{s:s, s:I}", "nonce", hex, "expires", (json_int_t)exp));
}

static void check_nonce(struct api_ctx *c, const struct evidence *ev, struct reasons *r)
{
    char hex[2 * EVIDENCE_NONCE_MAX + 1];

    hex_encode(ev->nonce.p, ev->nonce.len, hex);
    switch (store_nonce_consume(c->st, hex, time(NULL))) {
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
    int ok;

    if (!ev->registration[0] || store_reg_get(c->st, ev->registration, &reg) < 0) {
        reasons_add(r, "ak-not-registered", NULL);
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

    uint8_t key[32];
    int keyed = chaincache_key("host-registered", NULL, ev->host_chain, NULL, key) == 0;

    if (keyed && chaincache_hit(key))
        return;
    chain_host_identity(ev->host_chain, c->trust, &tmp, &ek, &ak, name, &nlen, subject);
    if (!reasons_deny(&tmp) && ek && store_reg_active(c->st, subject, ak.p, ak.len) != 0)
        reasons_add(r, "host-ak-not-registered", NULL);
    else if (!reasons_deny(&tmp) && ek && keyed)
        chaincache_put(key); /* registrations are never withdrawn; the TTL bounds it anyway */
    EVP_PKEY_free(ek);
    reasons_free(&tmp);
}

static void check_clock(struct api_ctx *c, const struct evidence *ev, const TPMS_CLOCK_INFO *ci,
                        struct reasons *r)
{
    int rc = store_clock_advance(c->st, ev->vtpm_uuid, ci->resetCount, ci->restartCount,
                                 ci->clock);

    if (rc == -ERANGE)
        reasons_add(r, "clock-rollback", NULL);
    else if (rc < 0)
        reasons_add(r, "internal-error", "clock store");
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

/* Writes the container's row under binding b: 0, -EPERM when another vTPM bound the id
 * between the binding's read and this write (nothing written), or another error. Node-mode
 * evidence is judged against its node's row in the write's own transaction: the node reasons
 * the row got are appended to r. */
static int record(struct api_ctx *c, const struct evidence *ev, struct reasons *r,
                  const struct verdict_binding *b, const char *subject, int64_t now)
{
    struct store_node_gate g = { .host = subject, .max_age = policy_node_max_age(&c->pol) };
    const char *verdict = reasons_deny(r) ? "deny" : "allow";
    char *rs = reasons_text(r);
    int rc = ev->node[0] ? store_verdict_put_gated(c->st, ev->container_id, ev->vtpm_uuid,
                                                   ev->node, verdict, rs ? rs : "[]", now,
                                                   due_of(c, r, now), b, &g)
                         : store_verdict_put(c->st, ev->container_id, ev->vtpm_uuid,
                                             vf_evidence_node(ev), verdict, rs ? rs : "[]", now,
                                             due_of(c, r, now), b);

    if (rc == 0 && g.added.n) {
        reasons_append(r, &g.added);
        free(rs);
        rs = reasons_text(r);
    }
    reasons_free(&g.added);
    if (rc == 0 && store_audit(c->st, now, "evidence", ev->container_id,
                               reasons_deny(r) ? "deny" : "allow", rs ? rs : "[]") < 0)
        LOG_ERROR("could not audit the verdict for %s", ev->container_id);
    else if (rc < 0 && rc != -EPERM)
        LOG_ERROR("could not record the verdict for %s", ev->container_id);
    free(rs);
    return rc;
}

/* Evidence that may not write the container's row: audited as refused, row untouched. */
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

/* The container's verdict: written only by evidence that proves its vTPM (registered AK,
 * verified quote, none of binding.h's unproven reasons) and comes from the vTPM the id is bound
 * to. Returns "allow", "deny" or "refused"; res->reasons gets the binding's reasons. */
static const char *judge_container(struct api_ctx *c, const struct evidence *ev,
                                   struct verify_result *res, int registered, const char *subject)
{
    struct verdict_binding old, mine;
    int64_t now = time(NULL);
    int rc;

    if (!registered || !res->quote.signature_ok || !binding_vtpm_proven(&res->reasons)) {
        refuse(c, ev, &res->reasons);
        return "refused";
    }
    binding_of(c, ev, res, now, &mine);
    rc = store_verdict_binding(c->st, ev->container_id, &old);
    if (rc < 0 && rc != -ENOENT)
        reasons_add(&res->reasons, "internal-error", "verdict store");
    if ((rc < 0 && rc != -ENOENT) ||
        binding_judge(rc == 0 ? &old : NULL, &mine, now, &res->reasons) == BINDING_OTHER) {
        refuse(c, ev, &res->reasons);
        return "refused";
    }
    rc = record(c, ev, &res->reasons, &mine, subject, now);
    if (rc == -EPERM) /* bound by another instance meanwhile */
        reasons_add(&res->reasons, "container-vtpm-mismatch", "the id is bound to another vTPM");
    else if (rc < 0) /* nothing was written: never answer a verdict that is not stored */
        reasons_add(&res->reasons, "internal-error", "verdict store");
    if (rc < 0) {
        refuse(c, ev, &res->reasons);
        return "refused";
    }
    return reasons_deny(&res->reasons) ? "deny" : "allow";
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
 * now with *due (0 for a deny); evidence that does not prove its host is audited only. -errno
 * when a proven verdict could not be written. */
static int record_node(struct api_ctx *c, const struct evidence *ev, const struct reasons *host,
                       const char *subject, int64_t now, int64_t *due)
{
    const char *verdict = reasons_deny(host) ? "deny" : "allow";
    char *rs = reasons_text(host);
    int proven = host_proven(host), r = 0;

    *due = due_of(c, host, now);
    if (proven)
        r = store_node_put(c->st, ev->host.node, subject, verdict, rs ? rs : "[]", now, *due);
    if (r < 0 || store_audit(c->st, now, "host-evidence", ev->host.node,
                             proven ? verdict : "refused", rs ? rs : "[]") < 0)
        LOG_ERROR("could not record the verdict for node %s", ev->host.node);
    if (proven)
        admission_cache_forget(c->acache, ev->host.node);
    free(rs);
    return r;
}

static void bad_evidence(struct api_ctx *c, const char *err, struct api_reply *rep)
{
    json_t *j = json_pack("{s:s, s:[s]}", "verdict", "deny", "reasons", "evidence-malformed");
    char detail[160];

    c->m.bad_evidence++;
    snprintf(detail, sizeof(detail), "[\"evidence-malformed:%s\"]", err);
    store_audit(c->st, time(NULL), "evidence", "", "deny", detail);
    api_json(rep, 400, j);
}

/* Checks that need the store and bind both the container and the host verdict; subject gets
 * the host's registration subject when the evidence has a host part or names its node. */
static void check_shared(struct api_ctx *c, const struct evidence *ev, struct verify_result *res,
                         char subject[CHAIN_SUBJECT_MAX])
{
    struct reasons extra = { 0 };

    check_nonce(c, ev, &extra);
    check_host(c, ev, &extra);
    if ((ev->host.present || ev->node[0]) && chain_host_subject(ev->host_chain, subject) < 0)
        reasons_add(&extra, "host-chain-malformed", "host-ek.pem");
    else if (ev->host.present)
        check_node_binding(c, ev->host.node, subject, &extra);
    reasons_append(&res->reasons, &extra);
    reasons_append(&res->host, &extra);
    reasons_free(&extra);
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

void api_evidence(struct api_ctx *c, const uint8_t *body, size_t len, struct api_reply *rep)
{
    struct evidence ev;
    struct verify_result res;
    char err[128] = "";
    char subject[CHAIN_SUBJECT_MAX] = "";
    const char *verdict;
    int64_t due;
    int registered;

    if (vf_evidence_parse(body, len, &ev, err, sizeof(err)) < 0) {
        vf_evidence_free(&ev);
        bad_evidence(c, err, rep);
        return;
    }
    verify_evidence(&ev, &c->pol, c->trust, &res);
    check_shared(c, &ev, &res, subject);
    registered = check_registration(c, &ev, &res.reasons);
    if (registered && res.quote.signature_ok)
        check_clock(c, &ev, &res.quote.clock, &res.reasons);
    if (ev.host.present)
        record_node(c, &ev, &res.host, subject, time(NULL), &due);
    verdict = judge_container(c, &ev, &res, registered, subject);
    count_verdict(c, verdict);
    LOG_INFO("evidence %s (vTPM %s): %s", ev.container_id, ev.vtpm_uuid, verdict);
    api_json(rep, 200, verify_verdict_json(&ev, verdict, &res.reasons));
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
    char err[128] = "", subject[CHAIN_SUBJECT_MAX] = "";
    int64_t now = time(NULL), due = 0;

    if (vf_host_evidence_parse(body, len, &ev, err, sizeof(err)) < 0) {
        vf_evidence_free(&ev);
        bad_evidence(c, err, rep);
        return;
    }
    verify_host_evidence(&ev, &c->pol, c->trust, &res);
    check_shared(c, &ev, &res, subject);
    /* An allow that is not stored is no allow: node-mode containers would find no row. */
    if (record_node(c, &ev, &res.host, subject, now, &due) < 0)
        reasons_add(&res.host, "internal-error", "node store");
    count(c, &res.host);
    LOG_INFO("host evidence of node %s: %s", ev.host.node,
             reasons_deny(&res.host) ? "deny" : "allow");
    api_json(rep, 200, host_answer(c, &ev, &res.host, now, due));
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

/* The requests each serving thread answered (how evenly the kernel spreads connections). */
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
    api_admission_metrics(c, m, f);
    api_sweeper_metrics(c, f);
    fclose(f);
    rep->status = 200;
    rep->ctype = "text/plain; version=0.0.4";
    rep->body = (uint8_t *)buf;
    rep->len = len;
}
