/* SPDX-License-Identifier: BSD-3-Clause */
/* Test tool: runs one store scenario on any backend (store_conformance URL) or races N
 * processes on one database (store_conformance --race URL N); exits non-zero on a mismatch. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../verifier/store/store.h"
#include "../../verifier/store/store_manifest.h"
#include "../../verifier/store/store_policy.h"

#define T0 INT64_C(1000000) /* the scenario's clock: far from real time, so nothing is "now" */
#define RACE_K 40           /* rows of each kind the racers fight over */

static int failures;

static void fail_at(int line, const char *what, long long got, long long want)
{
    fprintf(stderr, "store_conformance:%d: %s = %lld, want %lld\n", line, what, got, want);
    failures++;
}

#define EXPECT_EQ(expr, want)                                                                  \
    do {                                                                                       \
        long long got_ = (long long)(expr), want_ = (long long)(want);                         \
        if (got_ != want_)                                                                     \
            fail_at(__LINE__, #expr, got_, want_);                                             \
    } while (0)
#define EXPECT(cond) EXPECT_EQ(!!(cond), 1)

static int64_t count(struct store *st, const char *table)
{
    return store_count(st, table);
}

static void nonces(struct store *st)
{
    EXPECT_EQ(store_nonce_add(st, "aa01", T0, T0 + 60), 0);
    EXPECT_EQ(store_nonce_add(st, "aa01", T0, T0 + 60), -EEXIST);
    EXPECT_EQ(store_nonce_consume(st, "aa01", T0 + 1), 0);
    EXPECT_EQ(store_nonce_consume(st, "aa01", T0 + 2), -EALREADY);
    EXPECT_EQ(store_nonce_consume(st, "ffff", T0 + 1), -ENOENT);
    EXPECT_EQ(store_nonce_add(st, "aa02", T0, T0 + 60), 0);
    EXPECT_EQ(store_nonce_consume(st, "aa02", T0 + 61), -ETIME);
    EXPECT_EQ(store_nonce_consume(st, "aa02", T0 + 1), -EALREADY); /* expired use still counts */
    EXPECT_EQ(store_nonce_add(st, "aa03", T0, T0 + 1000), 0);
    EXPECT_EQ(store_nonce_consume(st, "aa03", T0 + 1000), 0); /* the expiry second is valid */
    EXPECT_EQ(count(st, "nonces"), 3);
}

/* Bytes that a text-mode or NUL-terminated path would mangle. */
static const uint8_t AK1[] = { 0x00, 0x23, 0xff, 0x00, 0x01, '\'', '\\', 0x80 };
static const uint8_t AK2[] = { 0x00, 0x23, 0xff, 0x00, 0x02 };
static const uint8_t EK1[] = { 0x30, 0x82, 0x00, 0x00, 0xfe };
static const uint8_t CRED[32] = { 0x00, 1, 2, 3, 0xff, 0, 0, 7 };

static struct reg_row reg(const char *id, const char *uuid)
{
    struct reg_row r = { .ak_pub = (uint8_t *)AK1, .ak_pub_len = sizeof(AK1),
                         .ek_cert = (uint8_t *)EK1, .ek_cert_len = sizeof(EK1),
                         .credential = (uint8_t *)CRED, .credential_len = sizeof(CRED),
                         .created = T0, .state = REG_PENDING };

    snprintf(r.id, sizeof(r.id), "%s", id);
    snprintf(r.vtpm_uuid, sizeof(r.vtpm_uuid), "%s", uuid);
    return r;
}

static void reg_get_checks(struct store *st)
{
    struct reg_row g;

    EXPECT_EQ(store_reg_get(st, "r1", &g), 0);
    EXPECT(!strcmp(g.id, "r1") && !strcmp(g.vtpm_uuid, "u1"));
    EXPECT(g.ak_pub_len == sizeof(AK1) && !memcmp(g.ak_pub, AK1, sizeof(AK1)));
    EXPECT(g.ek_cert_len == sizeof(EK1) && !memcmp(g.ek_cert, EK1, sizeof(EK1)));
    EXPECT(g.credential_len == sizeof(CRED) && !memcmp(g.credential, CRED, sizeof(CRED)));
    EXPECT_EQ(g.created, T0);
    EXPECT_EQ(g.state, REG_PENDING);
    store_reg_free(&g);
    EXPECT_EQ(store_reg_get(st, "nope", &g), -ENOENT);
}

static void registrations(struct store *st)
{
    struct reg_row r = reg("r1", "u1"), g;

    EXPECT_EQ(store_reg_add(st, &r), 0);
    EXPECT_EQ(store_reg_add(st, &r), -EEXIST);
    reg_get_checks(st);
    EXPECT_EQ(store_reg_active(st, "u1", AK1, sizeof(AK1)), -ENOENT); /* still pending */
    EXPECT_EQ(store_reg_finish(st, "r1", REG_ACTIVE), 0);
    EXPECT_EQ(store_reg_finish(st, "r1", REG_FAILED), -EALREADY);
    EXPECT_EQ(store_reg_finish(st, "nope", REG_ACTIVE), -ENOENT);
    EXPECT_EQ(store_reg_get(st, "r1", &g), 0);
    EXPECT(g.state == REG_ACTIVE && !g.credential && g.credential_len == 0);
    store_reg_free(&g);
    EXPECT_EQ(store_reg_active(st, "u1", AK1, sizeof(AK1)), 0);
    EXPECT_EQ(store_reg_active(st, "u1", AK2, sizeof(AK2)), -ENOENT);
    EXPECT_EQ(store_reg_active(st, "u2", AK1, sizeof(AK1)), -ENOENT);
    r = reg("r2", "u2");
    EXPECT_EQ(store_reg_add(st, &r), 0);
    EXPECT_EQ(store_reg_finish(st, "r2", REG_FAILED), 0);
    EXPECT_EQ(store_reg_active(st, "u2", AK1, sizeof(AK1)), -ENOENT); /* failed is not active */
    EXPECT_EQ(count(st, "registrations"), 2);
}

static void clocks(struct store *st)
{
    EXPECT_EQ(store_clock_advance(st, "u1", 1, 1, 100), 0);
    EXPECT_EQ(store_clock_advance(st, "u1", 1, 1, 100), 0); /* equal is not backwards */
    EXPECT_EQ(store_clock_advance(st, "u1", 1, 1, 99), -ERANGE);
    EXPECT_EQ(store_clock_advance(st, "u1", 1, 2, 0), 0);
    EXPECT_EQ(store_clock_advance(st, "u1", 1, 1, 500), -ERANGE);
    EXPECT_EQ(store_clock_advance(st, "u1", 2, 0, 0), 0);
    EXPECT_EQ(store_clock_advance(st, "u1", 1, 9, 9999), -ERANGE);
    EXPECT_EQ(store_clock_advance(st, "u1", 2, 0, UINT64_C(1) << 40), 0);
    EXPECT_EQ(store_clock_advance(st, "u1", 2, 0, (UINT64_C(1) << 40) - 1), -ERANGE);
    EXPECT_EQ(store_clock_advance(st, "u2", 0, 0, 5), 0); /* per vTPM */
}

/* Checks a string and an integer member of j. */
static void expect_str(json_t *j, const char *key, const char *want, int line)
{
    const char *got = json_string_value(json_object_get(j, key));

    if (!got || strcmp(got, want)) {
        fprintf(stderr, "store_conformance:%d: \"%s\" = %s, want %s\n", line, key,
                got ? got : "(none)", want);
        failures++;
    }
}

static void expect_int(json_t *j, const char *key, int64_t want, int line)
{
    json_t *v = json_object_get(j, key);

    if (!json_is_integer(v) || json_integer_value(v) != want)
        fail_at(line, key, json_is_integer(v) ? json_integer_value(v) : -1, want);
}

static void expect_reasons(json_t *j, const char *want_json, int line)
{
    json_t *want = json_loads(want_json, 0, NULL);

    if (!json_equal(json_object_get(j, "reasons"), want)) {
        fprintf(stderr, "store_conformance:%d: reasons differ from %s\n", line, want_json);
        failures++;
    }
    json_decref(want);
}

static void verdict_checks(struct store *st)
{
    json_t *j = NULL;

    EXPECT_EQ(store_verdict_get(st, "c1", &j), 0);
    if (!j)
        return;
    expect_str(j, "container_id", "c1", __LINE__);
    expect_str(j, "vtpm_uuid", "u1", __LINE__);
    expect_str(j, "node", "node-a", __LINE__);
    expect_str(j, "verdict", "allow", __LINE__);
    expect_reasons(j, "[]", __LINE__);
    expect_int(j, "time", T0, __LINE__);
    expect_int(j, "due", T0 + 100, __LINE__);
    json_decref(j);
}

/* The one pending notification with the highest id must be this revocation. */
static void expect_last_notice(struct store *st, const char *kind, const char *id,
                               const char *reasons, int64_t t, int line)
{
    struct store_notification n[64];
    size_t k = 0;
    json_t *j;

    /* A far-future claim with the lease equal to "now" leaves every row claimable again. */
    EXPECT_EQ(store_notify_claim(st, INT64_MAX / 2, 0, n, 64, &k), 0);
    if (k == 0) {
        fail_at(line, "pending notifications", 0, 1);
        return;
    }
    for (size_t i = 1; i < k; i++)
        if (n[i].id > n[0].id) {
            struct store_notification x = n[0];
            n[0] = n[i];
            n[i] = x;
        }
    j = json_loads(n[0].body, 0, NULL);
    expect_str(j, "kind", kind, line);
    expect_str(j, "id", id, line);
    expect_str(j, "verdict", "deny", line);
    expect_str(j, "event", "revoked", line);
    expect_reasons(j, reasons, line);
    expect_int(j, "time", t, line);
    json_decref(j);
    for (size_t i = 0; i < k; i++)
        store_notification_free(&n[i]);
}

static void verdicts(struct store *st)
{
    json_t *j = NULL;

    EXPECT_EQ(store_verdict_put(st, "c1", "u1", "node-a", "allow", "[]", T0, T0 + 100, NULL), 0);
    verdict_checks(st);
    EXPECT_EQ(count(st, "notifications"), 0);
    EXPECT_EQ(store_verdict_put(st, "c1", "u1", "node-a", "deny", "[\"x:1\"]", T0 + 1, 0, NULL), 0);
    EXPECT_EQ(count(st, "notifications"), 1); /* allow -> deny notifies */
    expect_last_notice(st, "container", "c1", "[\"x:1\"]", T0 + 1, __LINE__);
    EXPECT_EQ(store_verdict_put(st, "c1", "u1", "", "deny", "[\"y\"]", T0 + 2, 0, NULL), 0);
    EXPECT_EQ(count(st, "notifications"), 1); /* deny -> deny does not */
    EXPECT_EQ(store_verdict_put(st, "c2", "u2", "", "deny", "[]", T0, 0, NULL), 0);
    EXPECT_EQ(count(st, "notifications"), 1); /* a first verdict does not */
    EXPECT_EQ(store_verdict_get(st, "c1", &j), 0);
    expect_str(j, "node", "", __LINE__);
    expect_reasons(j, "[\"y\"]", __LINE__);
    json_decref(j);
    EXPECT_EQ(store_verdict_get(st, "nope", &j), -ENOENT);
    EXPECT_EQ(count(st, "verdicts"), 2);
}

static void expect_binding(struct store *st, const char *id, const char *ek, int64_t reset,
                           int64_t until, int line)
{
    struct verdict_binding b;

    if (store_verdict_binding(st, id, &b) != 0) {
        fail_at(line, "store_verdict_binding", -1, 0);
        return;
    }
    if (strcmp(b.vtpm_ek, ek)) {
        fprintf(stderr, "store_conformance:%d: vtpm_ek = \"%s\", want \"%s\"\n", line, b.vtpm_ek,
                ek);
        failures++;
    }
    if (b.reset_count != reset)
        fail_at(line, "reset_count", b.reset_count, reset);
    if (b.bound_until != until)
        fail_at(line, "bound_until", b.bound_until, until);
}

/* A container id is bound to the first vTPM that wrote it until the binding lapses; the same
 * vTPM keeps its first resetCount; a row of no vTPM cannot overwrite a bound one. No
 * allow -> deny transition here: the notification counts of later steps stay as they are. */
static void bindings(struct store *st)
{
    const struct verdict_binding a1 = { "ea", 1, T0 + 50 }, a5 = { "ea", 5, T0 + 80 },
                                 b7 = { "eb", 7, T0 + 200 }, forever = { "ea", 0, 0 };
    json_t *j = NULL;

    EXPECT_EQ(store_verdict_binding(st, "b1", &(struct verdict_binding){ "", 0, 0 }), -ENOENT);
    EXPECT_EQ(store_verdict_put(st, "b1", "ua", "n", "deny", "[\"p\"]", T0, 0, &a1), 0);
    expect_binding(st, "b1", "ea", 1, T0 + 50, __LINE__);
    EXPECT_EQ(store_verdict_put(st, "b1", "ub", "n", "allow", "[]", T0 + 10, 0, &b7), -EPERM);
    EXPECT_EQ(store_verdict_get(st, "b1", &j), 0);
    expect_str(j, "vtpm_uuid", "ua", __LINE__);
    expect_str(j, "verdict", "deny", __LINE__);
    expect_str(j, "vtpm_ek", "ea", __LINE__);
    expect_int(j, "time", T0, __LINE__);
    json_decref(j);
    EXPECT_EQ(store_verdict_put(st, "b1", "ua", "n", "deny", "[\"q\"]", T0 + 20, 0, &a5), 0);
    expect_binding(st, "b1", "ea", 1, T0 + 80, __LINE__); /* the first resetCount stays */
    EXPECT_EQ(store_verdict_put(st, "b1", "ux", "", "deny", "[]", T0 + 30, 0, NULL), -EPERM);
    EXPECT_EQ(store_verdict_put(st, "b1", "ub", "n", "allow", "[]", T0 + 80, 0, &b7), 0);
    expect_binding(st, "b1", "eb", 7, T0 + 200, __LINE__); /* lapsed: rebound */
    EXPECT_EQ(store_verdict_put(st, "b2", "ua", "", "deny", "[]", T0, 0, &forever), 0);
    EXPECT_EQ(store_verdict_put(st, "b2", "ub", "", "allow", "[]", T0 * 1000, 0, &b7), -EPERM);
    expect_binding(st, "b2", "ea", 0, 0, __LINE__);
    EXPECT_EQ(count(st, "verdicts"), 4);
}

static void nodes(struct store *st)
{
    json_t *j = NULL;

    EXPECT_EQ(store_node_put(st, "nA", "host:ab12", "allow", "[]", T0, T0 + 50), 0);
    EXPECT_EQ(store_node_get(st, "nA", &j), 0);
    expect_str(j, "node", "nA", __LINE__);
    expect_str(j, "host", "host:ab12", __LINE__);
    expect_str(j, "verdict", "allow", __LINE__);
    expect_reasons(j, "[]", __LINE__);
    expect_int(j, "time", T0, __LINE__);
    expect_int(j, "due", T0 + 50, __LINE__);
    json_decref(j);
    EXPECT_EQ(store_node_put(st, "nA", "host:ab12", "deny", "[\"host-pcr:0\"]", T0 + 3, 0), 0);
    EXPECT_EQ(count(st, "notifications"), 2);
    expect_last_notice(st, "node", "nA", "[\"host-pcr:0\"]", T0 + 3, __LINE__);
    EXPECT_EQ(store_node_get(st, "nope", &j), -ENOENT);
    EXPECT_EQ(count(st, "nodes"), 1);
}

static void revoke_setup(struct store *st)
{
    EXPECT_EQ(store_node_put(st, "nA", "host:ab12", "allow", "[]", T0, T0 + 50), 0);
    EXPECT_EQ(store_node_put(st, "nB", "host:cd34", "allow", "[]", T0, T0 + 1000), 0);
    EXPECT_EQ(store_node_put(st, "nC", "host:ef56", "allow", "[]", T0, 0), 0);
    EXPECT_EQ(store_verdict_put(st, "c3", "u3", "nA", "allow", "[]", T0, T0 + 55, NULL), 0);
    EXPECT_EQ(store_verdict_put(st, "c4", "u4", "nA", "deny", "[\"z\"]", T0, T0 + 10, NULL), 0);
    EXPECT_EQ(store_verdict_put(st, "c5", "u5", "nB", "allow", "[]", T0, T0 + 60, NULL), 0);
}

static void revocations(struct store *st)
{
    struct store_revoked out[4];
    int64_t before = count(st, "notifications");
    json_t *j = NULL;
    size_t n = 9;

    revoke_setup(st);
    /* nA's revocation cascades to c3 (allow on nA, not listed); c5 is overdue itself. */
    EXPECT_EQ(store_revoke_overdue(st, T0 + 60, out, 2, &n), 0);
    EXPECT_EQ(n, 2);
    EXPECT(!strcmp(out[0].kind, "node") && !strcmp(out[0].id, "nA"));
    EXPECT_EQ(out[0].cascaded, 1);
    EXPECT(!strcmp(out[1].kind, "container") && !strcmp(out[1].id, "c5")); /* due == now */
    EXPECT_EQ(out[1].cascaded, 0);
    EXPECT_EQ(store_verdict_get(st, "c3", &j), 0);
    expect_str(j, "verdict", "deny", __LINE__);
    expect_reasons(j, "[\"node-denied:nA\"]", __LINE__);
    expect_int(j, "time", T0 + 60, __LINE__);
    json_decref(j);
    EXPECT_EQ(store_verdict_get(st, "c4", &j), 0); /* a deny stays as it was */
    expect_reasons(j, "[\"z\"]", __LINE__);
    json_decref(j);
    EXPECT_EQ(store_revoke_overdue(st, T0 + 60, out, 4, &n), 0);
    EXPECT_EQ(n, 0);
    EXPECT_EQ(store_revoke_overdue(st, T0 + 60, out, 4, &n), 0);
    EXPECT_EQ(n, 0);
    EXPECT_EQ(store_revoke_overdue(st, T0 + 60, out, 0, &n), 0);
    EXPECT_EQ(count(st, "notifications"), before + 3);
    expect_last_notice(st, "container", "c5", "[\"reattest-missed\"]", T0 + 60, __LINE__);
    EXPECT_EQ(store_node_get(st, "nA", &j), 0);
    expect_str(j, "verdict", "deny", __LINE__);
    expect_reasons(j, "[\"reattest-missed\"]", __LINE__);
    expect_int(j, "time", T0 + 60, __LINE__);
    json_decref(j);
    EXPECT_EQ(store_node_get(st, "nB", &j), 0);
    expect_str(j, "verdict", "allow", __LINE__);
    json_decref(j);
}

static size_t claim(struct store *st, int64_t now, int64_t lease, struct store_notification *n,
                    size_t max)
{
    size_t k = 99;

    EXPECT_EQ(store_notify_claim(st, now, lease, n, max, &k), 0);
    return k;
}

static void free_claims(struct store_notification *n, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        json_t *j = n[i].body ? json_loads(n[i].body, 0, NULL) : NULL;

        EXPECT(json_is_object(j));
        json_decref(j);
        store_notification_free(&n[i]);
    }
}

static int has(const struct store_notification *n, size_t k, int64_t id)
{
    for (size_t i = 0; i < k; i++)
        if (n[i].id == id)
            return 1;
    return 0;
}

static int by_id(const void *a, const void *b)
{
    const struct store_notification *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

/* Leaves one delivered, one failed, one pending retry; returns the pending count left. */
static size_t notify_steps(struct store *st, int64_t ids[3])
{
    struct store_notification n[16];
    size_t k, all = claim(st, T0 + 130, T0 + 140, n, 16);

    EXPECT(all >= 5);
    qsort(n, all, sizeof(n[0]), by_id); /* the oldest three were created before T0+70 */
    for (size_t i = 0; i < 3 && i < all; i++)
        ids[i] = n[i].id;
    free_claims(n, all);
    EXPECT_EQ(claim(st, T0 + 139, T0 + 150, n, 16), 0); /* leased */
    EXPECT_EQ(store_notify_done(st, ids[0]), 0);
    EXPECT_EQ(store_notify_done(st, ids[0]), -ENOENT);
    EXPECT_EQ(store_notify_retry(st, ids[1], 1, T0 + 200), 0);
    EXPECT_EQ(store_notify_fail(st, ids[2]), 0);
    EXPECT_EQ(store_notify_retry(st, ids[2], 2, T0), -ENOENT);
    EXPECT_EQ(store_notify_fail(st, -5), -ENOENT);
    k = claim(st, T0 + 199, T0 + 300, n, 16);
    EXPECT_EQ(k, all - 3);
    EXPECT(!has(n, k, ids[0]) && !has(n, k, ids[1]) && !has(n, k, ids[2]));
    free_claims(n, k);
    return k;
}

static void notify(struct store *st)
{
    struct store_notification n[16];
    int64_t ids[3] = { 0, 0, 0 };
    size_t k;

    EXPECT_EQ(store_notify_add(st, "{\"kind\":\"test\"}", T0 + 100), 0);
    EXPECT_EQ(claim(st, T0 + 99, T0 + 200, n, 0), 0); /* max 0 claims nothing */
    notify_steps(st, ids);
    k = claim(st, T0 + 200, T0 + 400, n, 16);
    EXPECT_EQ(k, 1);
    EXPECT(k == 1 && n[0].id == ids[1] && n[0].attempts == 1);
    free_claims(n, k);
}

static void purge(struct store *st)
{
    int64_t nn = count(st, "nonces"), nt = count(st, "notifications");
    struct reg_row r3 = reg("r3", "u3"), r4 = reg("r4", "u4"), g;

    r4.created = T0 + 90;
    EXPECT_EQ(store_reg_add(st, &r3), 0);
    EXPECT_EQ(store_reg_add(st, &r4), 0);
    /* nonces expiring before T0+70: aa01, aa02; notifications finished: two (notify());
     * registrations pending since before it: r3 (r1 and r2 are finished, r4 is recent) */
    EXPECT_EQ(store_purge(st, T0 + 100, 30), 5);
    EXPECT_EQ(count(st, "nonces"), nn - 2);
    EXPECT_EQ(count(st, "notifications"), nt - 2);
    EXPECT_EQ(count(st, "registrations"), 3);
    EXPECT_EQ(store_reg_get(st, "r3", &g), -ENOENT);
    EXPECT_EQ(store_reg_get(st, "r4", &g), 0);
    store_reg_free(&g);
    EXPECT_EQ(store_purge(st, T0 + 100, 30), 0);
    EXPECT_EQ(store_purge(st, T0 + 100, -1), -EINVAL);
    EXPECT_EQ(store_purge(st, T0 + 2000, 0), 2); /* aa03, r4 */
}

static void misc(struct store *st)
{
    int64_t a = count(st, "audit");

    EXPECT_EQ(store_audit(st, T0, "evidence", "c1", "allow", "[]"), 0);
    EXPECT_EQ(store_audit(st, T0, "register", "u1", "pending", NULL), 0);
    EXPECT_EQ(count(st, "audit"), a + 2);
    EXPECT_EQ(count(st, "no_such_table"), -1);
    EXPECT_EQ(count(st, "audit; DROP TABLE audit"), -1);
}

/* Audit retention (store_purge_audit): rows at T0+1..3 and a late row of an older time: only
 * the rows below the first one (by id) at or after the cut go; nothing newer: all go. */
static void audit_purge(struct store *st)
{
    int64_t a;

    EXPECT(store_purge_audit(st, T0 + 1000000) >= 0); /* whatever earlier steps wrote */
    EXPECT_EQ(count(st, "audit"), 0);
    for (int i = 1; i <= 3; i++)
        EXPECT_EQ(store_audit(st, T0 + 1000000 + i, "evidence", "c", "allow", "[]"), 0);
    EXPECT_EQ(store_audit(st, T0 + 1000000, "evidence", "late", "allow", "[]"), 0);
    EXPECT_EQ(store_purge_audit(st, T0 + 1000000 + 2), 1);
    a = count(st, "audit");
    EXPECT_EQ(a, 3);
    EXPECT_EQ(store_purge_audit(st, T0 + 1000000 + 10), 3);
    EXPECT_EQ(count(st, "audit"), 0);
}

/* ---- node mode: container writes gated by their node's row (store_verdict_put_gated) ---- */

/* A gated put of verdict for id on node; the written row must have want_verdict, want_due
 * (-1: not checked) and, when want_reason is set, a last reason starting with it. */
static void gated(struct store *st, const char *id, const char *node, const char *verdict,
                  const char *reasons, int64_t t, int64_t due, const char *host,
                  const char *want_verdict, int64_t want_due, const char *want_reason, int line)
{
    struct store_node_gate g = { .host = host, .max_age = 50 };
    json_t *j = NULL, *rs;
    const char *last;

    if (store_verdict_put_gated(st, id, "u-g", node, verdict, reasons, t, due, NULL, &g) != 0 ||
        store_verdict_get(st, id, &j) != 0) {
        fail_at(line, "gated put", -1, 0);
        reasons_free(&g.added);
        return;
    }
    expect_str(j, "verdict", want_verdict, line);
    expect_str(j, "node", node, line);
    if (want_due >= 0)
        expect_int(j, "due", want_due, line);
    rs = json_object_get(j, "reasons");
    last = json_string_value(json_array_get(rs, json_array_size(rs) - 1));
    if (want_reason && (!last || strncmp(last, want_reason, strlen(want_reason)) ||
                        g.added.n != 1 || strncmp(g.added.v[0], want_reason, strlen(want_reason)))) {
        fprintf(stderr, "store_conformance:%d: last reason %s, want %s\n", line,
                last ? last : "(none)", want_reason);
        failures++;
    }
    if (!want_reason && g.added.n)
        fail_at(line, "node reasons added", (long long)g.added.n, 0);
    json_decref(j);
    reasons_free(&g.added);
}

static void node_gate(struct store *st)
{
    const int64_t t = T0 + 5000;
    json_t *j = NULL;

    gated(st, "g1", "gA", "allow", "[]", t, t + 300, "host:aa", "deny", 0,
          "node-verdict-missing:", __LINE__);
    gated(st, "g0", "gA", "deny", "[\"p\"]", t, 0, "host:aa", "deny", 0,
          "node-verdict-missing:", __LINE__);
    EXPECT_EQ(store_verdict_get(st, "g0", &j), 0);
    expect_reasons(j, "[\"p\",\"node-verdict-missing:node gA has no host attestation\"]",
                   __LINE__);
    json_decref(j);
    /* fresh until min(t + 50, due - 1) = t + 50: an allow's due is capped to t + 51 */
    EXPECT_EQ(store_node_put(st, "gA", "host:aa", "allow", "[]", t, t + 100), 0);
    gated(st, "g1", "gA", "allow", "[]", t + 10, t + 300, "host:aa", "allow", t + 51, NULL,
          __LINE__);
    gated(st, "g2", "gA", "allow", "[]", t + 10, 0, "host:aa", "allow", t + 51, NULL, __LINE__);
    gated(st, "g3", "gA", "allow", "[]", t + 10, t + 20, "host:aa", "allow", t + 20, NULL,
          __LINE__);
    gated(st, "g4", "gA", "allow", "[]", t + 50, 0, "host:aa", "allow", t + 51, NULL, __LINE__);
    gated(st, "g5", "gA", "allow", "[]", t + 51, 0, "host:aa", "deny", 0, "node-verdict-stale:",
          __LINE__);
    gated(st, "g6", "gA", "allow", "[]", t + 10, 0, "host:bb", "deny", 0,
          "node-verdict-other-host:", __LINE__);
    EXPECT_EQ(store_node_put(st, "gB", "host:aa", "allow", "[]", t, t + 20), 0);
    gated(st, "g7", "gB", "allow", "[]", t + 20, 0, "host:aa", "deny", 0, "node-verdict-stale:",
          __LINE__); /* due == now */
    EXPECT_EQ(store_node_put(st, "gC", "host:aa", "deny", "[\"host-x\"]", t, 0), 0);
    gated(st, "g8", "gC", "allow", "[]", t + 1, 0, "host:aa", "deny", 0, "node-verdict-deny:",
          __LINE__);
}

/* Pending notifications whose body contains text (every one is claimed and left claimable). */
static int64_t pending_with(struct store *st, const char *text)
{
    struct store_notification n[64];
    size_t k = 0;
    int64_t hits = 0;

    EXPECT_EQ(store_notify_claim(st, INT64_MAX / 2, 0, n, 64, &k), 0);
    for (size_t i = 0; i < k; i++) {
        hits += strstr(n[i].body, text) != NULL;
        store_notification_free(&n[i]);
    }
    return hits;
}

/* A node's deny turns every allow of its containers (gated or not) into node-denied:<node>,
 * each notified; denies and other nodes' rows stay. */
static void node_cascade(struct store *st)
{
    const int64_t t = T0 + 6000;
    int64_t before = count(st, "notifications");
    json_t *j = NULL;

    EXPECT_EQ(store_verdict_put(st, "q1", "u-q", "gA", "allow", "[]", t, 0, NULL), 0);
    EXPECT_EQ(store_verdict_put(st, "q2", "u-q", "gB", "allow", "[]", t, 0, NULL), 0);
    EXPECT_EQ(store_node_put(st, "gA", "host:aa", "deny", "[\"host-eventlog-replay-mismatch:pcr 4\"]",
                             t + 1, 0), 0);
    /* the node's own revocation, then g1, g2, g3, g4 (gated allows) and q1 */
    EXPECT_EQ(count(st, "notifications"), before + 6);
    EXPECT_EQ(pending_with(st, "\"reasons\":[\"node-denied:gA\"]"), 5);
    for (const char *const *id = (const char *const[]){ "g1", "g4", "q1", NULL }; *id; id++) {
        EXPECT_EQ(store_verdict_get(st, *id, &j), 0);
        expect_str(j, "verdict", "deny", __LINE__);
        expect_reasons(j, "[\"node-denied:gA\"]", __LINE__);
        expect_int(j, "time", t + 1, __LINE__);
        json_decref(j);
    }
    EXPECT_EQ(store_verdict_get(st, "g5", &j), 0); /* a deny keeps its own reasons */
    expect_str(j, "verdict", "deny", __LINE__);
    EXPECT(!strncmp(json_string_value(json_array_get(json_object_get(j, "reasons"), 0)),
                    "node-verdict-stale:", 19));
    json_decref(j);
    EXPECT_EQ(store_verdict_get(st, "q2", &j), 0); /* another node's container */
    expect_str(j, "verdict", "allow", __LINE__);
    json_decref(j);
    /* after the deny, a gated allow on the node is written as a deny */
    gated(st, "g9", "gA", "allow", "[]", t + 2, 0, "host:aa", "deny", 0, "node-verdict-deny:",
          __LINE__);
}

/* ---- one transaction per check (store_check_apply / store_check_commit) ---- */

static int decide_fail(struct store_check *chk)
{
    (void)chk;
    return -ECANCELED;
}

/* The verdict as decide would write it: allow only when the nonce and the clock passed. */
static int decide_verdict(struct store_check *chk)
{
    chk->verdict.on = 1;
    chk->verdict.verdict = chk->nonce.rc == 0 && chk->clock.rc == 0 ? "allow" : "deny";
    chk->verdict.reasons = chk->nonce.rc == 0 && chk->clock.rc == 0 ? "[]" : "[\"bad\"]";
    return 0;
}

static struct store_check check_of(const char *nonce, const char *id, const char *ek,
                                   uint64_t clock, int64_t t)
{
    struct store_check c = { 0 };

    c.nonce.hex = nonce;
    c.nonce.now = t;
    c.clock.uuid = "ck-vt";
    c.clock.reset = 1;
    c.clock.clock = clock;
    c.decide = decide_verdict;
    c.verdict.id = id;
    c.verdict.vtpm_uuid = "ck-vt";
    c.verdict.node = "ck-node";
    c.verdict.t = t;
    snprintf(c.verdict.b.vtpm_ek, sizeof(c.verdict.b.vtpm_ek), "%s", ek);
    c.verdict.audit.kind = "evidence";
    c.verdict.refused_detail = "[\"container-vtpm-mismatch\"]";
    return c;
}

static void checks(struct store *st)
{
    struct store_node_gate g = { .host = "host:ck", .max_age = 100 };
    int64_t a = count(st, "audit"), t = T0 + 5000;
    struct store_check c;
    json_t *j = NULL;

    EXPECT_EQ(store_nonce_add(st, "ck01", t, t + 60), 0);
    EXPECT_EQ(store_nonce_add(st, "ck02", t, t + 60), 0);
    /* a set that fails (here: decide) takes back its nonce use and clock */
    c = check_of("ck01", "ck-c1", "ek-a", 50, t);
    c.decide = decide_fail;
    EXPECT_EQ(store_check_commit(st, &c), -ECANCELED);
    EXPECT_EQ(store_clock_advance(st, "ck-vt", 1, 0, 10), 0); /* 50 was not stored */
    EXPECT_EQ(store_verdict_get(st, "ck-c1", &j), -ENOENT);
    c = check_of("ck01", "ck-c1", "ek-a", 50, t);
    EXPECT_EQ(store_check_apply(st, &c), 0);
    EXPECT(c.nonce.rc == 0 && c.clock.rc == 0 && c.verdict.rc == 0);
    EXPECT_EQ(store_verdict_get(st, "ck-c1", &j), 0);
    expect_str(j, "verdict", "allow", __LINE__);
    json_decref(j);
    /* replayed nonce, older clock: their outcomes, a deny written, the clock kept */
    c = check_of("ck01", "ck-c1", "ek-a", 40, t);
    EXPECT_EQ(store_check_commit(st, &c), 0);
    EXPECT(c.nonce.rc == -EALREADY && c.clock.rc == -ERANGE && c.verdict.rc == 0);
    EXPECT_EQ(store_clock_advance(st, "ck-vt", 1, 0, 49), -ERANGE);
    /* another vTPM: -EPERM, audited refused; the nonce and the clock stay consumed */
    c = check_of("ck02", "ck-c1", "ek-b", 60, t);
    EXPECT_EQ(store_check_commit(st, &c), 0);
    EXPECT_EQ(c.verdict.rc, -EPERM);
    EXPECT_EQ(store_nonce_consume(st, "ck02", t), -EALREADY);
    EXPECT_EQ(store_clock_advance(st, "ck-vt", 1, 0, 59), -ERANGE);
    EXPECT_EQ(store_verdict_get(st, "ck-c1", &j), 0);
    expect_str(j, "vtpm_ek", "ek-a", __LINE__);
    expect_str(j, "verdict", "deny", __LINE__);
    json_decref(j);
    /* a node piece's deny cascades; a gated container piece then sees it */
    c = (struct store_check){ 0 };
    c.node.on = 1;
    c.node.node = "ck-node";
    c.node.host = "host:ck";
    c.node.verdict = "allow";
    c.node.reasons = "[]";
    c.node.t = t;
    c.node.due = t + 300;
    c.node.audit.kind = "host-evidence";
    EXPECT_EQ(store_check_commit(st, &c), 0);
    c = check_of(NULL, "ck-c2", "ek-c", 0, t + 1);
    c.clock.uuid = NULL;
    c.verdict.gate = &g;
    EXPECT_EQ(store_check_commit(st, &c), 0);
    EXPECT(c.verdict.rc == 0 && g.added.n == 0);
    EXPECT_EQ(store_verdict_get(st, "ck-c2", &j), 0);
    expect_str(j, "verdict", "allow", __LINE__);
    expect_int(j, "due", t + 101, __LINE__); /* "never" capped to the node's fresh_until + 1 */
    json_decref(j);
    c = (struct store_check){ 0 };
    c.node.on = 1;
    c.node.node = "ck-node";
    c.node.host = "host:ck";
    c.node.verdict = "deny";
    c.node.reasons = "[\"pcr\"]";
    c.node.t = t + 2;
    c.node.audit.kind = "host-evidence";
    EXPECT_EQ(store_check_commit(st, &c), 0);
    EXPECT_EQ(store_verdict_get(st, "ck-c2", &j), 0);
    expect_str(j, "verdict", "deny", __LINE__);
    expect_reasons(j, "[\"node-denied:ck-node\"]", __LINE__);
    json_decref(j);
    c = check_of(NULL, "ck-c3", "ek-d", 0, t + 3);
    c.clock.uuid = NULL;
    c.verdict.gate = &g;
    EXPECT_EQ(store_check_commit(st, &c), 0);
    EXPECT_EQ(store_verdict_get(st, "ck-c3", &j), 0);
    expect_str(j, "verdict", "deny", __LINE__); /* the gate's reason, written and audited */
    json_decref(j);
    EXPECT_EQ(g.added.n, 1);
    reasons_free(&g.added);
    /* audit rows: allow, deny, refused, node allow, c2 allow, node deny, c3 deny */
    EXPECT_EQ(count(st, "audit"), a + 7);
}

/* A node-mode container check (nonce, clock, gated container put, audit) on rt-node. */
static struct store_check rt_check(const char *nonce, const char *id, uint64_t clock, int64_t t,
                                   struct store_node_gate *g)
{
    struct store_check c = check_of(nonce, id, "ek-rt", clock, t);

    c.clock.uuid = "rt-vt";
    c.verdict.vtpm_uuid = "rt-vt";
    c.verdict.node = "rt-node";
    c.verdict.gate = g;
    return c;
}

/* A host check: the node's verdict and its audit row. */
static struct store_check rt_node_check(const char *node, const char *verdict, int64_t t)
{
    struct store_check c = { 0 };

    c.node.on = 1;
    c.node.node = node;
    c.node.host = "host:rt";
    c.node.verdict = verdict;
    c.node.reasons = strcmp(verdict, "allow") ? "[\"pcr\"]" : "[]";
    c.node.t = t;
    c.node.due = t + 300;
    c.node.audit.kind = "host-evidence";
    return c;
}

/* The round trips of one store_check_apply (or, steps, store_check_apply_steps) on st. */
static uint64_t trips_of(struct store *st, struct store_check *c, int steps, int want_rc)
{
    uint64_t n0 = store_round_trips(st);

    EXPECT_EQ(steps ? store_check_apply_steps(st, c) : store_check_apply(st, c), want_rc);
    return store_round_trips(st) - n0;
}

/* PostgreSQL: a check's whole write set goes out as one pipeline, BEGIN to COMMIT in one round
 * trip, where statement by statement it takes one round trip per statement; the outcomes the
 * pipeline does not expect still come out as statement by statement. */
static void round_trips(struct store *st)
{
    struct store_node_gate g = { .host = "host:rt", .max_age = 100 };
    const int64_t t = T0 + 7000;
    char nonce[16];
    struct store_check c;
    uint64_t steps, n;
    json_t *j = NULL;

    if (store_round_trips(st) == 0) /* SQLite: no server */
        return;
    EXPECT_EQ(store_node_put(st, "rt-node", "host:rt", "allow", "[]", t, 0), 0);
    for (int i = 0; i < 8; i++) {
        snprintf(nonce, sizeof(nonce), "rt%02d", i);
        EXPECT_EQ(store_nonce_add(st, nonce, t, t + 60), 0);
    }
    c = rt_check("rt00", "rt-c0", 1, t, &g); /* the first prepares its statements */
    EXPECT_EQ(store_check_apply(st, &c), 0);
    c = rt_check("rt01", "rt-c1", 2, t, &g);
    EXPECT_EQ(trips_of(st, &c, 0, 0), 1);
    EXPECT(c.nonce.rc == 0 && c.clock.rc == 0 && c.verdict.rc == 0 && g.added.n == 0);
    EXPECT_EQ(store_verdict_get(st, "rt-c1", &j), 0);
    expect_str(j, "verdict", "allow", __LINE__);
    expect_int(j, "due", t + 101, __LINE__); /* capped on the server as gate_apply caps */
    json_decref(j);
    c = rt_check("rt02", "rt-c2", 3, t, &g);
    steps = trips_of(st, &c, 1, 0);
    EXPECT(steps >= 6);
    printf("store_conformance: round trips per check (nonce, clock, gated container put, audit): "
           "1 in one pipeline, %llu statement by statement\n", (unsigned long long)steps);
    /* the same check again, its nonce replayed and its clock behind: not what the pipeline
     * expects; rolled back and decided statement by statement */
    c = rt_check("rt01", "rt-c1", 1, t + 1, &g);
    n = trips_of(st, &c, 0, 0);
    EXPECT(n > 1);
    EXPECT(c.nonce.rc == -EALREADY && c.clock.rc == -ERANGE && c.verdict.rc == 0);
    EXPECT_EQ(store_verdict_get(st, "rt-c1", &j), 0);
    expect_str(j, "verdict", "deny", __LINE__);
    json_decref(j);
    EXPECT_EQ(store_nonce_consume(st, "rt01", t), -EALREADY);
    /* a host check, then one with the node's row and a gated put on it: one round trip each */
    c = rt_node_check("rt-node", "allow", t + 2);
    EXPECT_EQ(trips_of(st, &c, 0, 0), 1);
    c = rt_node_check("rt-node", "allow", t + 3);
    c.nonce.hex = "rt03";
    c.nonce.now = t + 3;
    c.decide = decide_verdict;
    c.verdict.id = "rt-c3";
    c.verdict.vtpm_uuid = "rt-vt3";
    c.verdict.node = "rt-node";
    c.verdict.t = t + 3;
    c.verdict.gate = &g;
    snprintf(c.verdict.b.vtpm_ek, sizeof(c.verdict.b.vtpm_ek), "ek-rt3");
    c.verdict.audit.kind = "evidence";
    EXPECT_EQ(trips_of(st, &c, 0, 0), 1);
    EXPECT_EQ(store_verdict_get(st, "rt-c3", &j), 0);
    expect_int(j, "due", t + 3 + 100 + 1, __LINE__);
    json_decref(j);
    /* a node's deny with no container allowed on it: one round trip; with one: the cascade */
    c = rt_node_check("rt-lone", "deny", t + 4);
    EXPECT_EQ(trips_of(st, &c, 0, 0), 1);
    n = count(st, "notifications");
    c = rt_node_check("rt-node", "deny", t + 5);
    EXPECT(trips_of(st, &c, 0, 0) > 1);
    EXPECT_EQ(count(st, "notifications"), n + 4); /* the node, rt-c0, rt-c2, rt-c3 */
    EXPECT_EQ(store_verdict_get(st, "rt-c3", &j), 0);
    expect_reasons(j, "[\"node-denied:rt-node\"]", __LINE__);
    json_decref(j);
    /* a gated put on the denied node: not what the pipeline expects; written as a deny */
    c = rt_check("rt04", "rt-c4", 9, t + 6, &g);
    EXPECT(trips_of(st, &c, 0, 0) > 1);
    EXPECT_EQ(g.added.n, 1);
    reasons_free(&g.added);
    /* a nonce issued alone */
    c = (struct store_check){ 0 };
    c.issue.hex = "rt99";
    c.issue.issued = t;
    c.issue.expires = t + 60;
    EXPECT_EQ(trips_of(st, &c, 0, 0), 1);
    /* again: failed and rolled back (2), then by statement: BEGIN with the insert, ROLLBACK */
    EXPECT_EQ(trips_of(st, &c, 0, -EEXIST), 4);
}

/* Threads, each with its own handle, commit checks at once: every result as alone. Every
 * third set fails (a nonce issued twice: on PostgreSQL the statement's error aborts the
 * transaction until ROLLBACK TO its savepoint). */
#define GROUP_THREADS 6
#define GROUP_CHECKS 12

struct group_thread {
    const char *url;
    pthread_barrier_t *go;
    pthread_t tid;
    int me, bad;
};

static void *group_run(void *arg)
{
    struct group_thread *t = arg;
    struct store *st = NULL;
    char nonce[32], id[32];

    if (store_open_url(t->url, &st) < 0)
        t->bad = GROUP_CHECKS;
    pthread_barrier_wait(t->go); /* all open: their checks meet at the committer */
    for (int i = 0; st && i < GROUP_CHECKS; i++) {
        struct store_check c;
        int r;

        snprintf(nonce, sizeof(nonce), "gr-%d-%d", t->me, i);
        snprintf(id, sizeof(id), "gr-%d-%d", t->me, i);
        c = check_of(nonce, id, "ek-g", (uint64_t)i, T0);
        c.clock.uuid = NULL;
        c.issue.hex = i % 3 == 2 ? "ck01" : nonce; /* ck01 exists: the set fails */
        c.issue.issued = T0;
        c.issue.expires = T0 + 60;
        r = store_check_group(st, &c); /* group commit on either backend: savepoints */
        if (i % 3 == 2)
            t->bad += r != -EEXIST;
        else
            t->bad += r != 0 || c.nonce.rc != 0 || c.verdict.rc != 0;
    }
    store_close(st);
    return NULL;
}

static void group(const char *url, struct store *st)
{
    struct group_thread t[GROUP_THREADS];
    struct store_commit_stats s;
    int64_t v = count(st, "verdicts");
    int ok = GROUP_THREADS * (GROUP_CHECKS - GROUP_CHECKS / 3);
    pthread_barrier_t go;

    pthread_barrier_init(&go, NULL, GROUP_THREADS);
    for (int i = 0; i < GROUP_THREADS; i++) {
        t[i] = (struct group_thread){ .url = url, .go = &go, .me = i };
        if (pthread_create(&t[i].tid, NULL, group_run, &t[i]) != 0) {
            fprintf(stderr, "store_conformance: cannot start a thread\n");
            exit(1);
        }
    }
    for (int i = 0; i < GROUP_THREADS; i++) {
        pthread_join(t[i].tid, NULL);
        EXPECT_EQ(t[i].bad, 0);
    }
    pthread_barrier_destroy(&go);
    EXPECT_EQ(count(st, "verdicts"), v + ok);
    store_commit_stats(st, &s);
    EXPECT(s.sets >= (uint64_t)GROUP_THREADS * GROUP_CHECKS);
    printf("store_conformance: group commit: %llu sets in %llu commits, largest group %llu\n",
           (unsigned long long)s.sets, (unsigned long long)s.commits,
           (unsigned long long)s.max_group);
}

/* Per-workload policies: the statements written once for both backends (store_policy.c). */
static void policies(struct store *st)
{
    int64_t v = 0, s0 = -1, s1 = -1;
    json_t *j = NULL;

    EXPECT_EQ(store_policy_stamp(st, &s0), 0);
    EXPECT_EQ(store_policy_put(st, "web", "{}", "{\"a\":1}", "admin", 10, &v), 0);
    EXPECT_EQ(v, 1);
    EXPECT_EQ(store_policy_put(st, "web", "{}", "{\"a\":2}", "admin", 11, &v), 0);
    EXPECT_EQ(v, 2);
    EXPECT_EQ(store_policy_stamp(st, &s1), 0);
    EXPECT(s1 > s0);
    EXPECT_EQ(store_policy_get(st, "web", 1, &j), 0);
    EXPECT(j && !strcmp(json_string_value(json_object_get(j, "body")), "{\"a\":1}"));
    json_decref(j);
    j = NULL;
    EXPECT_EQ(store_policy_get(st, "web", 0, &j), 0);
    EXPECT_EQ(json_integer_value(json_object_get(j, "version")), 2);
    EXPECT_EQ(json_integer_value(json_object_get(j, "time")), 11);
    json_decref(j);
    EXPECT_EQ(store_policy_delete(st, "web", "admin", 12, &v), 0);
    EXPECT_EQ(v, 3);
    EXPECT_EQ(store_policy_delete(st, "web", "admin", 12, &v), -ENOENT);
    j = NULL;
    EXPECT_EQ(store_policy_latest(st, &j), 0);
    EXPECT_EQ(json_array_size(j), 1);
    EXPECT(json_is_true(json_object_get(json_array_get(j, 0), "deleted")));
    json_decref(j);
    j = NULL;
    EXPECT_EQ(store_policy_versions(st, "web", &j), 0);
    EXPECT_EQ(json_array_size(j), 3);
    json_decref(j);
    /* admitted pods: upsert by uid, get, purge by time */
    j = NULL;
    EXPECT_EQ(store_pod_get(st, "u-1", &j), -ENOENT);
    EXPECT_EQ(store_pod_admit(st, "u-1", "ns", "p", "{\"a\":1}", "default", 0, 100), 0);
    EXPECT_EQ(store_pod_admit(st, "u-1", "ns", "p", "{\"a\":2}", "web", 2, 200), 0);
    EXPECT_EQ(store_pod_admit(st, "u-2", "ns", "q", "{}", "default", 0, 50), 0);
    EXPECT_EQ(store_pod_get(st, "u-1", &j), 0);
    EXPECT(j && !strcmp(json_string_value(json_object_get(j, "facts")), "{\"a\":2}"));
    EXPECT_EQ(json_integer_value(json_object_get(j, "policy_version")), 2);
    json_decref(j);
    EXPECT_EQ(store_pod_purge(st, 100), 1);
    j = NULL;
    EXPECT_EQ(store_pod_get(st, "u-2", &j), -ENOENT);
}

/* The manifest store (store_manifest.c): content-addressed rows, binary-safe bytes, the
 * quota with its eviction order (never used first, then least recently used). */
static void manifests(struct store *st)
{
    const struct store_manifest_quota q = { .total = 250, .idle_s = 3600, .unused_s = 600 };
    uint8_t a[100], *got = NULL;
    size_t len = 0;
    int64_t size = 0, n = -1, bytes = -1;
    int ev = -1;

    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = (uint8_t)(i * 37 + (i == 5 ? 0 : 1)); /* a NUL and high bytes */
    a[5] = 0;
    EXPECT_EQ(store_manifest_stat(st, "aa", &size), -ENOENT);
    EXPECT_EQ(store_manifest_get(st, "aa", &got, &len), -ENOENT);
    EXPECT_EQ(store_manifest_put(st, "aa", a, sizeof(a), T0, &q, &ev), 0);
    EXPECT_EQ(ev, 0);
    EXPECT_EQ(store_manifest_put(st, "aa", a, sizeof(a), T0, &q, &ev), 1);
    EXPECT_EQ(store_manifest_stat(st, "aa", &size), 0);
    EXPECT_EQ(size, 100);
    EXPECT_EQ(store_manifest_get(st, "aa", &got, &len), 0);
    EXPECT(len == sizeof(a) && got && !memcmp(got, a, sizeof(a)));
    free(got);
    EXPECT_EQ(store_manifest_put(st, "bb", a, sizeof(a), T0 + 1, &q, &ev), 0);
    /* over the quota with nothing evictable yet: refused, nothing written */
    EXPECT_EQ(store_manifest_put(st, "cc", a, sizeof(a), T0 + 10, &q, &ev), -ENOSPC);
    EXPECT_EQ(store_manifest_stat(st, "cc", &size), -ENOENT);
    EXPECT_EQ(store_manifest_put(st, "big", a, 1, T0, &(struct store_manifest_quota){ 0, 1, 1 },
                                 &ev), -ENOSPC);
    EXPECT_EQ(store_manifest_used(st, "bb", T0 + 650, 600), 0);
    /* aa never used and older than unused_s: evicted for cc; bb (used) stays */
    EXPECT_EQ(store_manifest_put(st, "cc", a, sizeof(a), T0 + 700, &q, &ev), 0);
    EXPECT_EQ(ev, 1);
    EXPECT_EQ(store_manifest_stat(st, "aa", &size), -ENOENT);
    EXPECT_EQ(store_manifest_stat(st, "bb", &size), 0);
    /* bb used recently, cc unused but young: nothing to evict */
    EXPECT_EQ(store_manifest_put(st, "dd", a, sizeof(a), T0 + 800, &q, &ev), -ENOSPC);
    /* later: cc (never used) goes before bb (used, idle too) */
    EXPECT_EQ(store_manifest_put(st, "dd", a, sizeof(a), T0 + 5000, &q, &ev), 0);
    EXPECT_EQ(ev, 1);
    EXPECT_EQ(store_manifest_stat(st, "cc", &size), -ENOENT);
    EXPECT_EQ(store_manifest_stat(st, "bb", &size), 0);
    EXPECT_EQ(store_manifest_totals(st, &n, &bytes), 0);
    EXPECT_EQ(n, 2);
    EXPECT_EQ(bytes, 200);
}

static int empty(struct store *st)
{
    static const char *const t[] = { "nonces", "registrations", "verdicts", "nodes",
                                     "notifications" };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (count(st, t[i]) != 0) {
            fprintf(stderr, "store_conformance: needs an empty database (%s has rows)\n", t[i]);
            return 0;
        }
    return 1;
}

static int scenario(const char *url)
{
    struct store *st;
    int r = store_open_url(url, &st);

    if (r < 0) {
        fprintf(stderr, "store_conformance: cannot open the database: %s\n", strerror(-r));
        return 2;
    }
    if (!empty(st)) {
        store_close(st);
        return 2;
    }
    nonces(st);
    registrations(st);
    clocks(st);
    verdicts(st);
    bindings(st);
    nodes(st);
    revocations(st);
    notify(st);
    purge(st);
    misc(st);
    audit_purge(st);
    node_gate(st);
    node_cascade(st);
    policies(st);
    manifests(st);
    checks(st);
    round_trips(st);
    group(url, st);
    store_close(st);
    printf("store_conformance %s: %d failure(s)\n", strncmp(url, "sqlite:", 7) ? "postgresql"
                                                                             : "sqlite", failures);
    return failures ? 1 : 0;
}

/* ---- race mode: every contended item must be taken by exactly one process ---- */

static void race_setup(struct store *st)
{
    char id[32];

    for (int i = 0; i < RACE_K; i++) {
        struct reg_row r;

        snprintf(id, sizeof(id), "%04x", i);
        EXPECT_EQ(store_nonce_add(st, id, T0, T0 + 100), 0);
        r = reg(id, "race");
        EXPECT_EQ(store_reg_add(st, &r), 0);
        snprintf(id, sizeof(id), "node-%d", i);
        EXPECT_EQ(store_node_put(st, id, "host:x", "allow", "[]", T0, T0 + 5), 0);
        snprintf(id, sizeof(id), "ctr-%d", i);
        EXPECT_EQ(store_verdict_put(st, id, "u", "", "allow", "[]", T0, T0 + 5, NULL), 0);
        EXPECT_EQ(store_notify_add(st, "{\"kind\":\"race\"}", T0), 0);
    }
}

static int race_nonces(struct store *st, int me, FILE *out)
{
    char id[32];

    for (int j = 0; j < RACE_K; j++) {
        int i = (j + me * 7) % RACE_K, r;

        snprintf(id, sizeof(id), "%04x", i);
        r = store_nonce_consume(st, id, T0 + 1);
        if (r == 0)
            fprintf(out, "nonce %s\n", id);
        else if (r != -EALREADY)
            return -1;
        r = store_reg_finish(st, id, REG_ACTIVE);
        if (r == 0)
            fprintf(out, "reg %s\n", id);
        else if (r != -EALREADY)
            return -1;
    }
    return 0;
}

/* Every racer binds the same new container ids to its own vTPM: one wins each id. */
static int race_bind(struct store *st, int me, FILE *out)
{
    struct verdict_binding b = { "", 0, 0 };
    char id[32];

    snprintf(b.vtpm_ek, sizeof(b.vtpm_ek), "ek-%d", me);
    for (int j = 0; j < RACE_K; j++) {
        int r;

        snprintf(id, sizeof(id), "bind-%d", (j + me * 5) % RACE_K);
        r = store_verdict_put(st, id, "u", "", "deny", "[]", T0, 0, &b);
        if (r == 0)
            fprintf(out, "bound %s\n", id);
        else if (r != -EPERM)
            return -1;
    }
    return 0;
}

static int race_revoke(struct store *st, FILE *out)
{
    struct store_revoked rv[3];
    size_t n;

    do {
        if (store_revoke_overdue(st, T0 + 10, rv, 3, &n) < 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            fprintf(out, "revoked %s %s\n", rv[i].kind, rv[i].id);
    } while (n > 0);
    return 0;
}

static int race_claim(struct store *st, FILE *out)
{
    struct store_notification nt[3];
    size_t n;

    do {
        if (store_notify_claim(st, T0 + 10, T0 + 100000, nt, 3, &n) < 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            fprintf(out, "claim %" PRId64 "\n", nt[i].id);
            store_notification_free(&nt[i]);
        }
    } while (n > 0);
    return 0;
}

static int race_child(const char *url, int me, int go, FILE *out)
{
    struct store *st;
    char c;
    int r;

    if (store_open_url(url, &st) < 0)
        return 3;
    if (read(go, &c, 1) != 0) /* the parent closes the pipe: everyone starts at once */
        return 3;
    r = race_nonces(st, me, out) < 0 || race_bind(st, me, out) < 0 || race_revoke(st, out) < 0 ||
        race_claim(st, out) < 0;
    store_close(st);
    return r || fflush(out) ? 4 : 0;
}

/* Adds every line of f to tally (a JSON object line -> count). */
static void tally_file(FILE *f, json_t *tally)
{
    char line[256];

    rewind(f);
    while (fgets(line, sizeof(line), f)) {
        json_t *v = json_object_get(tally, line);

        json_object_set_new(tally, line, json_integer(v ? json_integer_value(v) + 1 : 1));
    }
}

static int race_spawn(const char *url, int n, FILE **files, pid_t *pids, int go[2])
{
    for (int i = 0; i < n; i++) {
        if (!(files[i] = tmpfile()) || (pids[i] = fork()) < 0)
            return -1;
        if (pids[i] == 0) {
            close(go[1]);
            _exit(race_child(url, i, go[0], files[i]));
        }
    }
    return 0;
}

static int race_wait(int n, const pid_t *pids)
{
    int bad = 0, status;

    for (int i = 0; i < n; i++) {
        if (pids[i] <= 0 || waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            fprintf(stderr, "store_conformance: racer %d failed\n", i);
            bad = 1;
        }
    }
    return bad;
}

/* Each taken item appears exactly once; kinds: nonce, reg, revoked (2 per i), claim. */
static void race_check(json_t *tally, int64_t claims_expected)
{
    const char *key;
    json_t *v;
    int64_t per[5] = { 0, 0, 0, 0, 0 };

    json_object_foreach (tally, key, v) {
        if (json_integer_value(v) != 1)
            fprintf(stderr, "store_conformance: taken %lld times: %s",
                    (long long)json_integer_value(v), key);
        failures += json_integer_value(v) != 1;
        per[!strncmp(key, "reg ", 4) ? 1 : !strncmp(key, "revoked ", 8) ? 2
            : !strncmp(key, "claim ", 6) ? 3 : !strncmp(key, "bound ", 6) ? 4 : 0]++;
    }
    EXPECT_EQ(per[0], RACE_K);
    EXPECT_EQ(per[1], RACE_K);
    EXPECT_EQ(per[2], 2 * RACE_K);
    EXPECT_EQ(per[3], claims_expected);
    EXPECT_EQ(per[4], RACE_K);
}

/* Notifications queued by revocations after a racer's last claim are claimed here. */
static void race_leftover(struct store *st, json_t *tally)
{
    FILE *f = tmpfile();

    if (!f || race_claim(st, f) < 0 || fflush(f))
        failures++;
    else
        tally_file(f, tally);
    if (f)
        fclose(f);
}

/* n processes open a fresh database at the same moment: every one must find or make the
 * current schema (the migration lock makes the others wait, none fails). */
static int race_migrate(const char *url, int n)
{
    pid_t pids[64] = { 0 };
    int go[2];
    char c;

    if (pipe(go) < 0)
        return 1;
    for (int i = 0; i < n; i++) {
        if ((pids[i] = fork()) == 0) {
            struct store *st;

            close(go[1]);
            if (read(go[0], &c, 1) != 0 || store_open_url(url, &st) < 0)
                _exit(1);
            store_close(st);
            _exit(0);
        }
    }
    close(go[0]);
    close(go[1]);
    return race_wait(n, pids);
}

/* Node mode under contention: every racer writes gated allows of its own containers on one
 * node while racer 0, halfway, turns the node to deny. Whatever the interleaving, no allow may
 * be left on a denied node: each write either saw the deny (and wrote a deny) or came before
 * it (and the cascade denied it). */
static int gate_child(const char *url, int me, int go)
{
    struct store *st;
    char id[48], c;
    int bad = 0;

    if (store_open_url(url, &st) < 0)
        return 3;
    if (read(go, &c, 1) != 0)
        return 3;
    for (int j = 0; j < RACE_K && !bad; j++) {
        struct store_node_gate g = { .host = "host:x", .max_age = 1000000 };

        if (me == 0 && j == RACE_K / 2)
            bad |= store_node_put(st, "gate-node", "host:x", "deny", "[\"race\"]", T0 + 2, 0) < 0;
        snprintf(id, sizeof(id), "gate-%d-%d", me, j);
        bad |= store_verdict_put_gated(st, id, "u", "gate-node", "allow", "[]", T0 + 1, 0, NULL,
                                       &g) < 0;
        reasons_free(&g.added);
    }
    store_close(st);
    return bad ? 4 : 0;
}

static void gate_tally(struct store *st, int n)
{
    int64_t allow = 0, cascaded = 0, rows = 0;
    char id[48];

    for (int i = 0; i < n; i++)
        for (int j = 0; j < RACE_K; j++) {
            json_t *v = NULL;

            snprintf(id, sizeof(id), "gate-%d-%d", i, j);
            if (store_verdict_get(st, id, &v) < 0)
                continue;
            rows++;
            allow += !strcmp(json_string_value(json_object_get(v, "verdict")), "allow");
            cascaded += !strcmp(json_string_value(json_array_get(json_object_get(v, "reasons"), 0)),
                                "node-denied:gate-node");
            json_decref(v);
        }
    EXPECT_EQ(rows, (int64_t)n * RACE_K);
    EXPECT_EQ(allow, 0);
    printf("store_conformance --race: node gate: %lld rows, %lld denied by the cascade, "
           "%lld allowed\n", (long long)rows, (long long)cascaded, (long long)allow);
}

static int race_gate(const char *url, int n)
{
    pid_t pids[64] = { 0 };
    struct store *st;
    int go[2], bad;

    if (store_open_url(url, &st) < 0)
        return 1;
    EXPECT_EQ(store_node_put(st, "gate-node", "host:x", "allow", "[]", T0, 0), 0);
    store_close(st);
    if (pipe(go) < 0)
        return 1;
    for (int i = 0; i < n; i++)
        if ((pids[i] = fork()) == 0) {
            close(go[1]);
            _exit(gate_child(url, i, go[0]));
        }
    close(go[0]);
    close(go[1]);
    bad = race_wait(n, pids);
    if (store_open_url(url, &st) < 0)
        return 1;
    gate_tally(st, n);
    store_close(st);
    return bad;
}

static int race(const char *url, int n)
{
    FILE *files[64] = { NULL };
    pid_t pids[64] = { 0 };
    json_t *tally = json_object();
    struct store *st;
    int go[2], bad;

    if (n < 2 || n > 64)
        return 2;
    if (race_migrate(url, n)) {
        fprintf(stderr, "store_conformance: concurrent first opens failed\n");
        return 1;
    }
    if (store_open_url(url, &st) < 0)
        return 2;
    if (!empty(st) || pipe(go) < 0) {
        store_close(st);
        return 2;
    }
    race_setup(st);
    store_close(st); /* no database handle may cross fork() */
    bad = race_spawn(url, n, files, pids, go) < 0;
    close(go[0]);
    close(go[1]);
    bad |= race_wait(n, pids);
    for (int i = 0; i < n && files[i]; i++) {
        tally_file(files[i], tally);
        fclose(files[i]);
    }
    if (store_open_url(url, &st) < 0)
        return 2;
    race_leftover(st, tally);
    race_check(tally, 3 * RACE_K); /* K queued + one per revoked row */
    EXPECT_EQ(count(st, "notifications"), 3 * RACE_K);
    store_close(st);
    json_decref(tally);
    bad |= race_gate(url, n);
    printf("store_conformance --race (%d processes): %d failure(s)\n", n, failures + bad);
    return failures || bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && argv[1][0] != '-')
        return scenario(argv[1]);
    if (argc == 4 && !strcmp(argv[1], "--race"))
        return race(argv[2], atoi(argv[3]));
    fprintf(stderr, "usage: store_conformance URL | store_conformance --race URL N\n");
    return 2;
}
