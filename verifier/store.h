/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's durable state in SQLite: nonces, registrations, TPM clocks, verdicts, audit. */
#ifndef VERIFIER_STORE_H
#define VERIFIER_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 1
#define STORE_ID_MAX 96u

struct store;

/* Opens (creating or upgrading the schema) the database at path. 0 or a negative errno;
 * -EPROTO when the file has a newer schema than this binary knows. */
int store_open(const char *path, struct store **out);
void store_close(struct store *st);

int store_nonce_add(struct store *st, const char *hex, int64_t issued, int64_t expires);
/* Marks the nonce used: 0, -ENOENT never issued, -ETIME expired, -EALREADY used before. */
int store_nonce_consume(struct store *st, const char *hex, int64_t now);

enum reg_state { REG_PENDING = 0, REG_ACTIVE = 1, REG_FAILED = 2 };

struct reg_row {
    char id[STORE_ID_MAX], vtpm_uuid[STORE_ID_MAX]; /* a vTPM UUID or "host:<hex>" */
    uint8_t *ak_pub, *ek_cert, *credential; /* callee-allocated by store_reg_get */
    size_t ak_pub_len, ek_cert_len, credential_len;
    int64_t created;
    int state;
};
int store_reg_add(struct store *st, const struct reg_row *r);
/* 0 or -ENOENT; free the row with store_reg_free. */
int store_reg_get(struct store *st, const char *id, struct reg_row *r);
/* Sets the state and wipes the stored credential (it is single use). */
int store_reg_finish(struct store *st, const char *id, int state);
void store_reg_free(struct reg_row *r);
/* 0 when an activated registration exists for subject with exactly this AK; -ENOENT if not. */
int store_reg_active(struct store *st, const char *subject, const uint8_t *ak_pub, size_t len);

/* Compares (resetCount, restartCount, clock) with the last one stored for this vTPM:
 * -ERANGE when it went backwards (nothing stored), else stores it and returns 0. */
int store_clock_advance(struct store *st, const char *vtpm_uuid, uint32_t reset,
                        uint32_t restart, uint64_t clock);

int store_verdict_put(struct store *st, const char *container_id, const char *vtpm_uuid,
                      const char *verdict, const char *reasons_json, int64_t t);
/* The latest verdict as a JSON object (callee-allocated) or -ENOENT. */
int store_verdict_get(struct store *st, const char *container_id, json_t **out);

/* One audit row per decision. */
int store_audit(struct store *st, int64_t t, const char *kind, const char *subject,
                const char *outcome, const char *detail);
/* Row counts for /metrics (-1 on error). */
int64_t store_count(struct store *st, const char *table);

#endif
