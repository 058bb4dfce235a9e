/* SPDX-License-Identifier: BSD-3-Clause */
/* Continuous attestation in `verifier serve`: a thread that revokes allow verdicts whose
 * re-attestation is overdue, delivers the notifications they queue, and purges old rows. */
#ifndef VERIFIER_SWEEPER_H
#define VERIFIER_SWEEPER_H

#include <stdatomic.h>
#include <stdint.h>

#define SWEEPER_DEFAULT_MAX_ATTEMPTS 12
#define SWEEPER_BACKOFF_MAX_S        300
#define SWEEPER_LEASE_S              30  /* a claimed notification is another instance's after */
#define SWEEPER_PURGE_KEEP_S         3600

struct sweeper_cfg {
    const char *db_url;     /* opened by the sweeper for itself: one store per thread */
    const char *notify_url; /* NULL: notifications are discarded (marked done) */
    const char *notify_ca;
    int max_attempts;
    int64_t audit_keep_s;   /* audit rows older than this are purged; 0: kept for ever */
};

/* Written by the sweeper thread, read by /metrics. */
struct sweeper_stats {
    atomic_uint_fast64_t revoked, delivered, retried, failed, discarded, db_errors;
};

struct sweeper;

/* Opens the store and the notifier, then starts the thread; stats must outlive it.
 * 0 or a negative errno (nothing started). */
int sweeper_start(const struct sweeper_cfg *cfg, struct sweeper_stats *stats,
                  struct sweeper **out);
/* Stops (a transfer in flight is aborted; within about a second) and joins. NULL is fine. */
void sweeper_stop(struct sweeper *s);

/* Seconds to wait after failed attempt number `attempts` (1, 2, 4, ... capped). */
int64_t sweeper_backoff(int attempts);

#endif
