/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's durable state (SQLite or PostgreSQL): nonces, registrations, TPM clocks,
 * verdicts of containers and nodes, the notification outbox, audit. */
#ifndef VERIFIER_STORE_H
#define VERIFIER_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "check/reasons.h"

#define STORE_SCHEMA_VERSION 7
#define STORE_ID_MAX 96u

struct store;

/* "sqlite:PATH" or a libpq URI "postgresql://..." / "postgres://...". 0 or -errno;
 * -EPROTO when the database has a newer schema than this binary knows. One struct store is
 * used by one thread at a time; a thread that needs its own opens its own. */
int store_open_url(const char *url, struct store **out);
/* The SQLite database at path (creating or upgrading the schema); as store_open_url. */
int store_open(const char *path, struct store **out);
void store_close(struct store *st);

int store_nonce_add(struct store *st, const char *hex, int64_t issued, int64_t expires);
/* Marks the nonce used, atomically across instances sharing the database: 0, -ENOENT never
 * issued, -ETIME expired, -EALREADY used before. */
int store_nonce_consume(struct store *st, const char *hex, int64_t now);

enum reg_state { REG_PENDING = 0, REG_ACTIVE = 1, REG_FAILED = 2 };

struct reg_row {
    char id[STORE_ID_MAX], vtpm_uuid[STORE_ID_MAX]; /* a vTPM UUID or "host:<hex>" */
    uint8_t *ak_pub, *ek_cert, *credential; /* callee-allocated by store_reg_get */
    size_t ak_pub_len, ek_cert_len, credential_len;
    int64_t created;
    int state;
};
/* 0, or -EEXIST when the id is taken. */
int store_reg_add(struct store *st, const struct reg_row *r);
/* 0 or -ENOENT; free the row with store_reg_free. */
int store_reg_get(struct store *st, const char *id, struct reg_row *r);
/* Moves a pending registration to state and wipes the stored credential (it is single use).
 * Only one caller wins: -EALREADY when it was no longer pending, -ENOENT when unknown. */
int store_reg_finish(struct store *st, const char *id, int state);
void store_reg_free(struct reg_row *r);
/* 0 when an activated registration exists for subject with exactly this AK; -ENOENT if not. */
int store_reg_active(struct store *st, const char *subject, const uint8_t *ak_pub, size_t len);

/* Compares (resetCount, restartCount, clock) with the last one stored for this vTPM, atomically
 * per vTPM: -ERANGE when it went backwards (nothing stored), else stores it and returns 0. */
int store_clock_advance(struct store *st, const char *vtpm_uuid, uint32_t reset,
                        uint32_t restart, uint64_t clock);

/* A container id's binding to the vTPM that first proved itself under it (binding.h). */
#define STORE_EK_ID_LEN 64u
struct verdict_binding {
    char vtpm_ek[STORE_EK_ID_LEN + 1]; /* hex SHA-256 of the vTPM's EK certificate; "" none */
    int64_t reset_count;               /* the vTPM's resetCount at the binding's first evidence */
    int64_t bound_until;               /* unix time the binding lapses at; 0 = never */
};

/* Containers: node is "" when none; due is the unix time after which an allow is stale
 * (re-attestation missed), 0 = never. b binds the row to a vTPM (NULL: "" / 0 / 0, a row of
 * no vTPM, for tools). In one atomic step: when the row is bound to another vTPM
 * (vtpm_ek differs, not "", and bound_until is 0 or > t) nothing is written and -EPERM is
 * returned; otherwise the row and its binding are written, except that the stored reset_count
 * is kept when vtpm_ek stays the same (the first attestation's). */
int store_verdict_put(struct store *st, const char *container_id, const char *vtpm_uuid,
                      const char *node, const char *verdict, const char *reasons_json,
                      int64_t t, int64_t due, const struct verdict_binding *b);
/* A node's row as a node-mode container write read it inside its own transaction. */
struct store_node_row {
    int found;               /* 0: the node has no verdict */
    char host[STORE_ID_MAX]; /* "host:<hex>" */
    char verdict[16];
    char reasons[128];       /* the row's reasons JSON, cut to fit (for humans) */
    int64_t time, due;
};

/* Node mode (docs/verifier.md, "Node verdicts"): the container's verdict stands on its node's
 * verdict. The put reads the node's row in the write's own transaction (PostgreSQL: FOR SHARE,
 * before the container's row, the lock order of every node-then-containers writer) and runs
 * nodeverdict_check on it: any reason it adds turns the verdict into "deny" (due 0) with those
 * reasons appended; an allow that stays gets its due capped to the node's freshness. So an
 * allow is never written while the node's row is not a fresh allow of this host, whatever
 * races with it. */
struct store_node_gate {
    const char *host; /* the evidence's host subject, "host:<sha256 hex of the host EK cert>" */
    int64_t max_age;  /* the policy's node_verdict_max_age */
    struct reasons added; /* out: the node reasons the written row got (reasons_free) */
};
/* store_verdict_put with node (not "") judged through g, as above. */
int store_verdict_put_gated(struct store *st, const char *container_id, const char *vtpm_uuid,
                            const char *node, const char *verdict, const char *reasons_json,
                            int64_t t, int64_t due, const struct verdict_binding *b,
                            struct store_node_gate *g);
/* {"container_id","vtpm_uuid","node","verdict","reasons":[...],"time","due","vtpm_ek",
 * "reset_count","bound_until"} (callee-allocated) or -ENOENT. */
int store_verdict_get(struct store *st, const char *container_id, json_t **out);
/* The row's binding: 0, or -ENOENT when there is no row. */
int store_verdict_binding(struct store *st, const char *container_id, struct verdict_binding *b);

/* Nodes (hosts by Kubernetes node name): the latest host verdict. host_subject is
 * "host:<sha256 hex of the host EK cert>" (the registration subject). */
int store_node_put(struct store *st, const char *node, const char *host_subject,
                   const char *verdict, const char *reasons_json, int64_t t, int64_t due);
/* {"node","host","verdict","reasons":[...],"time","due"} (callee-allocated) or -ENOENT. */
int store_node_get(struct store *st, const char *node, json_t **out);

/* Both puts: when the previous stored verdict of that row was "allow" and the new one is
 * "deny", one notification is queued in the same transaction (a failed re-attestation
 * revokes and notifies). Notification body (JSON text):
 * {"kind":"node"|"container","id":..,"verdict":"deny","reasons":[..],"time":..,"event":"revoked"}
 * Cascade: a node put of "deny" turns, in the same transaction, every container verdict of
 * that node that is "allow" into "deny" with reasons ["node-denied:<node>"] and time t, each
 * with its notification. */

/* Revocation of missed re-attestations: in one transaction, rows of nodes and verdicts with
 * verdict "allow", due > 0 and due <= now (at most max, nodes first) become verdict "deny",
 * reasons ["reattest-missed"], time now, and each gets a notification as above; each revoked
 * node cascades to its containers as a node put of "deny" does. Rows locked by another
 * instance are skipped (PostgreSQL: FOR UPDATE SKIP LOCKED), so no row is revoked or notified
 * twice. out[i] gets the kind ("node"/"container"), id, and for a node the number of its
 * container verdicts the cascade denied (those are not listed in out). */
struct store_revoked {
    char kind[16];
    char id[STORE_ID_MAX];
    size_t cascaded;
};
int store_revoke_overdue(struct store *st, int64_t now, struct store_revoked *out, size_t max,
                         size_t *n);

/* The notification outbox (webhook deliveries, retried with backoff by the notifier). */
int store_notify_add(struct store *st, const char *body_json, int64_t now);
struct store_notification {
    int64_t id;
    char *body; /* callee-allocated; store_notification_free */
    int attempts;
};
/* Claims up to max rows with next_try <= now that are neither delivered nor failed, moving
 * their next_try to lease_until so no other instance takes them meanwhile (SKIP LOCKED). */
int store_notify_claim(struct store *st, int64_t now, int64_t lease_until,
                       struct store_notification *out, size_t max, size_t *n);
/* Delivered / to be tried again at next_try with this attempt count / given up.
 * -ENOENT when no such notification. */
int store_notify_done(struct store *st, int64_t id);
int store_notify_retry(struct store *st, int64_t id, int attempts, int64_t next_try);
int store_notify_fail(struct store *st, int64_t id);
void store_notification_free(struct store_notification *n);
/* Deletes, in one transaction, nonces expired more than `keep` seconds ago, delivered/failed
 * notifications created more than `keep` seconds ago and registrations still pending (never
 * activated) that were started more than `keep` seconds ago; returns rows deleted or -errno. */
int64_t store_purge(struct store *st, int64_t now, int64_t keep);
/* Deletes audit rows older than `before` (unix time), oldest first: every row whose id is
 * below the first row (by id) of time >= before, so the cost is the rows deleted (ids grow with
 * time; a row written late with an older time waits for a later purge, no newer row is ever
 * deleted). Returns rows deleted or -errno. */
int64_t store_purge_audit(struct store *st, int64_t before);

/* ---- One evidence check's writes in one transaction (store_check.c) ----
 * Every piece is optional. In order: a new nonce, a nonce consumed, a TPM clock advanced; then
 * decide (when set) fills the node and verdict pieces from those outcomes; then the node's
 * put, the container's put (gated when gate is set) and a last audit row. A piece's rc is its
 * outcome as the store_* function of the same write returns it (store_nonce_consume: 0,
 * -ENOENT, -ETIME, -EALREADY; store_clock_advance: 0, -ERANGE; a verdict put: 0, -EPERM);
 * any other failure fails the whole set: nothing of it is written. */
struct store_check_audit {
    const char *kind, *subject, *outcome, *detail; /* kind NULL: no row */
    int64_t t;
};

struct store_check {
    struct { const char *hex; int64_t issued, expires; } issue;     /* store_nonce_add */
    struct { const char *hex; int64_t now; int rc; } nonce;         /* store_nonce_consume */
    struct { const char *uuid; uint32_t reset, restart; uint64_t clock; int rc; } clock;
    /* Runs inside the transaction once nonce.rc and clock.rc are known (on whichever thread
     * commits the group: it may touch only the check's own data, never a store). 0, or -errno
     * to fail the set. It may run again for the same set (a set retried alone after a
     * deadlock with another instance's group, PostgreSQL): each run must start afresh. */
    int (*decide)(struct store_check *chk);
    void *arg;
    /* on: store_node_put, then (audit.kind set) an audit row of the verdict and reasons as
     * written; not on: the audit row as given (a refused host). */
    struct {
        int on;
        const char *node, *host, *verdict, *reasons;
        int64_t t, due;
        struct store_check_audit audit;
    } node;
    /* on: store_verdict_put (store_verdict_put_gated when gate is set, node not ""), then the
     * audit row (audit.kind, id, verdict and reasons as written); -EPERM (rc): the audit row
     * (audit.kind, id, "refused", refused_detail) instead. Not on: the audit row as given. */
    struct store_check_verdict {
        int on;
        const char *id, *vtpm_uuid, *node, *verdict, *reasons;
        int64_t t, due;
        struct verdict_binding b;
        struct store_node_gate *gate;
        struct store_check_audit audit;
        const char *refused_detail;
        int rc;
    } verdict;
    struct store_check_audit audit; /* a last row (e.g. malformed evidence) */
    /* uid set: store_pod_admit (an admitted pod, for the admission-to-runtime binding). A
     * set of this piece alone is one statement on its own (PostgreSQL; SQLite outside a
     * group); store_check_commit groups it on SQLite, one durable commit for the pods of
     * concurrent admission reviews. */
    struct {
        const char *uid, *ns, *name, *facts, *policy;
        int64_t policy_version, t;
    } pod;
};

/* The check's writes as one transaction shared with the checks of other threads that commit
 * at the same time (store_check_group: one durable commit for all of them, each set under its
 * own savepoint, so a set that fails takes back only its own writes). Returns once the
 * group's commit returned: 0 (the pieces' outcomes in their rc) or -errno (nothing written).
 * Safe from any number of threads, each with its own handle of the same database. On
 * PostgreSQL, whose server already shares WAL flushes between connections that commit
 * together, the set is committed alone on st (store_check_apply), which measured faster. */
int store_check_commit(struct store *st, struct store_check *chk);
/* Makes st's committer (and, where checks are grouped, its own database handle) now rather
 * than at the first check: a service calls it at start, so that a first check never opens a
 * database connection (nor waits on a locked file to do so). 0 or -errno. */
int store_check_ready(struct store *st);
/* Group commit whatever the backend (store_check_commit on SQLite). */
int store_check_group(struct store *st, struct store_check *chk);
/* The check in a transaction of its own on st (no grouping, not counted in the stats). On
 * PostgreSQL the whole set goes out as one pipeline, BEGIN to COMMIT in one round trip, for the
 * outcomes checks mostly have (nonce fresh, clock ahead, no revocation, the binding kept, a
 * gated put's node a fresh allow of its host); the server checks those expectations in the
 * statements themselves, and a set that meets another outcome is rolled back and run again
 * statement by statement (store_check_apply_steps), which decides every case. */
int store_check_apply(struct store *st, struct store_check *chk);
/* The check in a transaction of its own, each statement its own round trip on PostgreSQL (the
 * path before pipelining; for tests and benchmarks). */
int store_check_apply_steps(struct store *st, struct store_check *chk);
/* Round trips to the database server made on st so far (PostgreSQL; 0 on SQLite): for tests
 * and benchmarks. */
uint64_t store_round_trips(struct store *st);

/* Commit counters of store_check_commit/_group on st's database in this process (for /metrics
 * and benchmarks); a set committed alone counts as a group of one. */
struct store_commit_stats {
    uint64_t commits;      /* transactions committed (or tried) by the group committer */
    uint64_t sets;         /* check write sets committed through it */
    uint64_t failed_sets;  /* sets that returned an error */
    uint64_t max_group;    /* the largest group */
    uint64_t wait_ns;      /* summed over sets: from store_check_commit's call to its return */
    uint64_t commit_ns;    /* summed over groups: the transaction, begin to commit */
};
void store_commit_stats(struct store *st, struct store_commit_stats *out);

/* One audit row per decision. */
int store_audit(struct store *st, int64_t t, const char *kind, const char *subject,
                const char *outcome, const char *detail);
/* Row counts for /metrics and /healthz (-1 on error): "nonces", "registrations", "verdicts",
 * "nodes", "notifications", "audit". */
int64_t store_count(struct store *st, const char *table);

#endif
