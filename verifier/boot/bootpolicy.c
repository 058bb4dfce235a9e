/* SPDX-License-Identifier: BSD-3-Clause */
/* The boot reference policy (docs/policy.md "Boot reference policy"): strict JSON loading into
 * sorted tables, the check of a parsed UEFI event log against it, and deriving one from a
 * known-good log. */
#include "boot/bootpolicy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fileio.h"
#include "hexutil.h"
#include "check/errfmt.h"

#define DEFAULT_PCRS (0xffu | 1u << 13)
#define DEFAULT_KMOD_PCR 13u

struct bp_rule {
    uint32_t pcr, type;
    uint8_t (*dg)[32]; /* sorted, no duplicates */
    size_t n;
    size_t max; /* most events of this (pcr, type) a log may have; 0: no limit */
};

struct boot_policy {
    uint32_t pcrs, kmod_pcr;
    uint32_t listed; /* PCRs with an events entry: closed unless in open */
    uint32_t open;   /* open_pcrs: unlisted event types not checked there */
    int require_kmod;
    int secure_boot; /* -1 not checked, else the value the log must show */
    struct bp_rule *rules; /* sorted by (pcr, type) */
    size_t nrules;
};

static const char *const top_keys[] = {
    "version", "comment", "pcrs", "kmod_pcr", "require_vtpm_in_kmod_list", "secure_boot",
    "events", "open_pcrs",
};
static const char *const rule_keys[] = { "digests", "max" };

static int pcr_value(const json_t *v, uint32_t *pcr)
{
    json_int_t i;

    if (!json_is_integer(v))
        return -1;
    i = json_integer_value(v);
    if (i < 0 || i >= (json_int_t)UEFILOG_PCRS)
        return -1;
    *pcr = (uint32_t)i;
    return 0;
}

/* An events key: a PCR number in canonical decimal ("0" to "23", no sign, no leading zero). */
static int pcr_key(const char *k, uint32_t *pcr)
{
    size_t n = strlen(k);

    if (n < 1 || n > 2 || k[0] < '0' || k[0] > '9' || (n == 2 && (k[0] == '0' || k[1] < '0' ||
                                                                  k[1] > '9')))
        return -1;
    *pcr = n == 1 ? (uint32_t)(k[0] - '0') : (uint32_t)((k[0] - '0') * 10 + (k[1] - '0'));
    return *pcr < UEFILOG_PCRS ? 0 : -1;
}

int bootpolicy_digest_parse(const char *s, uint8_t out[32])
{
    if (!s)
        return -EINVAL;
    if (!strncasecmp(s, "sha256:", 7))
        s += 7;
    if (strlen(s) != 64)
        return -EINVAL;
    return hex_decode_exact(s, out, 32);
}

static int cmp_digest(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static int cmp_rule(const void *a, const void *b)
{
    const struct bp_rule *x = a, *y = b;

    if (x->pcr != y->pcr)
        return x->pcr < y->pcr ? -1 : 1;
    return x->type < y->type ? -1 : x->type > y->type;
}

static int key_known(const char *k, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(k, keys[i]))
            return 1;
    return 0;
}

/* The object form {"digests": [...], "max": N}: *list is pointed at its digests. */
static int load_rule_object(struct bp_rule *rl, const char *tname, const json_t **list,
                            char *err, size_t errsz)
{
    const json_t *obj = *list, *mx;
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)obj, k, v)
        if (!key_known(k, rule_keys, sizeof(rule_keys) / sizeof(rule_keys[0])))
            return errf_inval(err, errsz, "events.%u.%.48s: unknown key %.32s", rl->pcr, tname, k);
    *list = json_object_get(obj, "digests");
    if ((mx = json_object_get(obj, "max"))) {
        if (!json_is_integer(mx) || json_integer_value(mx) < 1 ||
            json_integer_value(mx) > BOOTPOLICY_MAX_COUNT)
            return errf_inval(err, errsz, "events.%u.%.48s.max must be an integer 1-%u", rl->pcr,
                              tname, BOOTPOLICY_MAX_COUNT);
        rl->max = (size_t)json_integer_value(mx);
    }
    return 0;
}

/* events.<pcr>.<type>: a non-empty array of digests, or {"digests": [...], "max": N}; the
 * digests are stored sorted without duplicates. */
static int load_rule(struct bp_rule *rl, const char *tname, const json_t *list, char *err,
                     size_t errsz)
{
    size_t i, n = 0;
    json_t *v;
    int r;

    if (uefilog_type_from_name(tname, &rl->type) < 0)
        return errf_inval(err, errsz, "events.%u: unknown event type %.48s", rl->pcr, tname);
    if (rl->type == EV_NO_ACTION)
        return errf_inval(err, errsz, "events.%u: EV_NO_ACTION records are not measured", rl->pcr);
    if (json_is_object(list) && (r = load_rule_object(rl, tname, &list, err, errsz)) < 0)
        return r;
    if (!json_is_array(list) || json_array_size(list) == 0)
        return errf_inval(err, errsz, "events.%u.%.48s must be a non-empty array of digests "
                          "or {\"digests\": [...], \"max\": N}", rl->pcr, tname);
    if (!(rl->dg = calloc(json_array_size(list), 32)))
        return -ENOMEM;
    json_array_foreach(list, i, v)
        if (bootpolicy_digest_parse(json_string_value(v), rl->dg[i]) < 0)
            return errf_inval(err, errsz, "events.%u.%.48s[%zu] is not a sha256 hex digest",
                              rl->pcr, tname, i);
    qsort(rl->dg, json_array_size(list), 32, cmp_digest);
    for (i = 0; i < json_array_size(list); i++)
        if (n == 0 || memcmp(rl->dg[n - 1], rl->dg[i], 32))
            memmove(rl->dg[n++], rl->dg[i], 32);
    rl->n = n;
    return 0;
}

static int count_rules(struct boot_policy *p, const json_t *events, size_t *n, char *err,
                       size_t errsz)
{
    const char *k;
    json_t *v;
    uint32_t pcr;

    *n = 0;
    if (!json_is_object(events))
        return errf_inval(err, errsz, "events must be an object");
    json_object_foreach((json_t *)events, k, v) {
        if (pcr_key(k, &pcr) < 0)
            return errf_inval(err, errsz, "events: key %.32s is not a PCR number 0-23", k);
        if (!(p->pcrs & (1u << pcr)))
            return errf_inval(err, errsz, "events.%u: PCR %u is not in pcrs", pcr, pcr);
        if (!json_is_object(v))
            return errf_inval(err, errsz, "events.%u must be an object of event types", pcr);
        p->listed |= 1u << pcr;
        *n += json_object_size(v);
    }
    return 0;
}

static int check_duplicates(const struct boot_policy *p, char *err, size_t errsz)
{
    char tb[16];

    for (size_t i = 1; i < p->nrules; i++)
        if (!cmp_rule(&p->rules[i - 1], &p->rules[i]))
            return errf_inval(err, errsz, "events.%u lists %s twice", p->rules[i].pcr,
                              uefilog_type_name(p->rules[i].type, tb, sizeof(tb)));
    return 0;
}

static int load_events(struct boot_policy *p, const json_t *events, char *err, size_t errsz)
{
    const char *k, *tk;
    json_t *v, *list;
    size_t n;
    int r;

    if (!events)
        return 0;
    if ((r = count_rules(p, events, &n, err, errsz)) < 0 || n == 0)
        return r;
    if (!(p->rules = calloc(n, sizeof(*p->rules))))
        return -ENOMEM;
    json_object_foreach((json_t *)events, k, v) {
        uint32_t pcr;

        pcr_key(k, &pcr);
        json_object_foreach(v, tk, list) {
            p->rules[p->nrules].pcr = pcr;
            if ((r = load_rule(&p->rules[p->nrules++], tk, list, err, errsz)) < 0)
                return r;
        }
    }
    qsort(p->rules, p->nrules, sizeof(*p->rules), cmp_rule);
    return check_duplicates(p, err, errsz);
}

/* A non-empty array of distinct PCR numbers (pcrs, open_pcrs) into a mask. */
static int load_pcr_list(const char *name, const json_t *a, uint32_t *mask, char *err,
                         size_t errsz)
{
    size_t i;
    json_t *v;
    uint32_t pcr;

    if (!json_is_array(a) || json_array_size(a) == 0)
        return errf_inval(err, errsz, "%s must be a non-empty array of PCR numbers", name);
    *mask = 0;
    json_array_foreach(a, i, v) {
        if (pcr_value(v, &pcr) < 0)
            return errf_inval(err, errsz, "%s[%zu] is not a PCR number 0-23", name, i);
        if (*mask & (1u << pcr))
            return errf_inval(err, errsz, "%s lists PCR %u twice", name, pcr);
        *mask |= 1u << pcr;
    }
    return 0;
}

static int load_pcrs(struct boot_policy *p, const json_t *root, char *err, size_t errsz)
{
    const json_t *a;
    uint32_t extra;
    int r;

    if ((a = json_object_get(root, "pcrs")) &&
        (r = load_pcr_list("pcrs", a, &p->pcrs, err, errsz)) < 0)
        return r;
    if (!(a = json_object_get(root, "open_pcrs")))
        return 0;
    if ((r = load_pcr_list("open_pcrs", a, &p->open, err, errsz)) < 0)
        return r;
    if ((extra = p->open & ~p->pcrs))
        return errf_inval(err, errsz, "open_pcrs: PCR %d is not in pcrs", __builtin_ctz(extra));
    return 0;
}

static int load_scalars(struct boot_policy *p, const json_t *root, char *err, size_t errsz)
{
    const json_t *v;

    if ((v = json_object_get(root, "comment")) && !json_is_string(v))
        return errf_inval(err, errsz, "comment must be a string");
    if ((v = json_object_get(root, "kmod_pcr")) && pcr_value(v, &p->kmod_pcr) < 0)
        return errf_inval(err, errsz, "kmod_pcr must be a PCR number 0-23");
    if ((v = json_object_get(root, "require_vtpm_in_kmod_list"))) {
        if (!json_is_boolean(v))
            return errf_inval(err, errsz, "require_vtpm_in_kmod_list must be true or false");
        p->require_kmod = json_is_true(v);
    }
    if ((v = json_object_get(root, "secure_boot"))) {
        if (!json_is_boolean(v) && !json_is_null(v))
            return errf_inval(err, errsz, "secure_boot must be null, true or false");
        p->secure_boot = json_is_null(v) ? -1 : json_is_true(v);
    }
    if (p->require_kmod && !(p->pcrs & (1u << p->kmod_pcr)))
        return errf_inval(err, errsz, "kmod_pcr %u is not in pcrs", p->kmod_pcr);
    return 0;
}

static int load_root(struct boot_policy *p, const json_t *root, char *err, size_t errsz)
{
    const char *k;
    json_t *v;
    int r;

    if (!json_is_object(root))
        return errf_inval(err, errsz, "boot policy must be a JSON object");
    json_object_foreach((json_t *)root, k, v)
        if (!key_known(k, top_keys, sizeof(top_keys) / sizeof(top_keys[0])))
            return errf_inval(err, errsz, "unknown key %.48s", k);
    v = json_object_get(root, "version");
    if (json_is_integer(v) && json_integer_value(v) == 1)
        return errf_inval(err, errsz, "version 1 left unlisted event types unchecked: derive "
                          "again, or set version 2 (PCRs under events closed) and open_pcrs "
                          "(docs/policy.md)");
    if (!json_is_integer(v) || json_integer_value(v) != BOOTPOLICY_VERSION)
        return errf_inval(err, errsz, "version must be 2");
    if ((r = load_pcrs(p, root, err, errsz)) < 0 ||
        (r = load_scalars(p, root, err, errsz)) < 0)
        return r;
    return load_events(p, json_object_get(root, "events"), err, errsz);
}

int bootpolicy_parse(const char *json_text, size_t len, struct boot_policy **out, char *err,
                     size_t errsz)
{
    struct boot_policy *p = NULL;
    json_error_t je;
    json_t *root = NULL;
    int r = -ENOMEM;

    *out = NULL;
    if (!(root = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &je))) {
        r = errf_inval(err, errsz, "JSON: %.100s (line %d)", je.text, je.line);
        goto out;
    }
    if (!(p = calloc(1, sizeof(*p))))
        goto out;
    *p = (struct boot_policy){ .pcrs = DEFAULT_PCRS, .kmod_pcr = DEFAULT_KMOD_PCR,
                               .require_kmod = 1, .secure_boot = -1 };
    if ((r = load_root(p, root, err, errsz)) < 0)
        goto out;
    *out = p;
    p = NULL;
out:
    if (r == -ENOMEM)
        errf_inval(err, errsz, "out of memory");
    bootpolicy_free(p);
    json_decref(root);
    return r;
}

int bootpolicy_load(const char *path, struct boot_policy **out, char *err, size_t errsz)
{
    uint8_t *buf;
    size_t len;
    int r = file_read_all_flags(AT_FDCWD, path, 0, BOOTPOLICY_MAX_SIZE, &buf, &len);

    *out = NULL;
    if (r < 0) {
        errf_inval(err, errsz, "cannot read %.80s: %s", path, strerror(-r));
        return r;
    }
    r = bootpolicy_parse((const char *)buf, len, out, err, errsz);
    free(buf);
    return r;
}

void bootpolicy_free(struct boot_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nrules; i++)
        free(p->rules[i].dg);
    free(p->rules);
    free(p);
}

uint32_t bootpolicy_pcrs(const struct boot_policy *p)
{
    return p->pcrs;
}

int bootpolicy_require_kmod(const struct boot_policy *p)
{
    return p->require_kmod;
}

uint32_t bootpolicy_kmod_pcr(const struct boot_policy *p)
{
    return p->kmod_pcr;
}

static const struct bp_rule *find_rule(const struct boot_policy *p, uint32_t pcr, uint32_t type)
{
    struct bp_rule key = { .pcr = pcr, .type = type };

    if (!p->nrules)
        return NULL;
    return bsearch(&key, p->rules, p->nrules, sizeof(*p->rules), cmp_rule);
}

static int rule_allows(const struct bp_rule *rl, const struct uefi_event *e)
{
    return e->has_sha256 && bsearch(e->sha256, rl->dg, rl->n, 32, cmp_digest) != NULL;
}

/* One pass over the log: reasons counted per code so that a hostile log cannot make the list
 * long; count[i] is the number of events of rule i seen so far. */
struct walk {
    const struct boot_policy *p;
    size_t *count;
    size_t bad_digest, unexpected;
    struct reasons *r;
};

static void report(struct walk *w, size_t *n, const char *code, const struct uefi_event *e)
{
    char tb[16];

    if ((*n)++ < BOOTPOLICY_MAX_DIGEST_REASONS)
        reasons_add(w->r, code, "pcr %u %s record %u", e->pcr,
                    uefilog_type_name(e->type, tb, sizeof(tb)), e->index);
}

/* In a closed PCR an event needs a rule; under a rule with max, at most max events. */
static void walk_event(struct walk *w, const struct uefi_event *e)
{
    const struct boot_policy *p = w->p;
    const struct bp_rule *rl = find_rule(p, e->pcr, e->type);
    uint32_t closed = p->listed & ~p->open;

    if (!rl) {
        if (e->pcr < UEFILOG_PCRS && (closed & (1u << e->pcr)))
            report(w, &w->unexpected, "host-boot-event-unexpected", e);
        return;
    }
    if (++w->count[rl - p->rules] > rl->max && rl->max)
        report(w, &w->unexpected, "host-boot-event-unexpected", e);
    if (!rule_allows(rl, e))
        report(w, &w->bad_digest, "host-boot-digest-not-allowed", e);
}

static void summarize(struct walk *w)
{
    if (w->bad_digest > BOOTPOLICY_MAX_DIGEST_REASONS)
        reasons_add(w->r, "host-boot-digest-not-allowed", "%zu more records",
                    w->bad_digest - BOOTPOLICY_MAX_DIGEST_REASONS);
    if (w->unexpected > BOOTPOLICY_MAX_DIGEST_REASONS)
        reasons_add(w->r, "host-boot-event-unexpected", "%zu more records",
                    w->unexpected - BOOTPOLICY_MAX_DIGEST_REASONS);
}

static void check_events(const struct boot_policy *p, const struct uefi_log *log,
                         struct reasons *r)
{
    struct walk w = { .p = p, .r = r };
    char tb[16];

    if (!p->nrules && !p->listed)
        return;
    if (!(w.count = calloc(p->nrules ? p->nrules : 1, sizeof(*w.count)))) {
        r->oom = 1;
        return;
    }
    for (size_t i = 0; i < log->n; i++)
        if (log->ev[i].type != EV_NO_ACTION)
            walk_event(&w, &log->ev[i]);
    summarize(&w);
    for (size_t i = 0; i < p->nrules; i++)
        if (!w.count[i])
            reasons_add(r, "host-boot-event-missing", "pcr %u %s", p->rules[i].pcr,
                        uefilog_type_name(p->rules[i].type, tb, sizeof(tb)));
    free(w.count);
}

static const char *secure_boot_word(int v)
{
    switch (v) {
    case 1: return "true";
    case 0: return "false";
    case -ENOENT: return "missing";
    default: return "invalid";
    }
}

static void check_secure_boot(const struct boot_policy *p, const struct uefi_log *log,
                              struct reasons *r)
{
    int got;

    if (p->secure_boot < 0)
        return;
    got = uefilog_secure_boot(log);
    if (got != p->secure_boot)
        reasons_add(r, "host-boot-secureboot", "%s/%s", secure_boot_word(p->secure_boot),
                    secure_boot_word(got));
}

void bootpolicy_check(const struct boot_policy *p, const struct uefi_log *log, struct reasons *r)
{
    if (!log->has_sha256_bank)
        reasons_add(r, "host-boot-no-sha256", NULL);
    check_events(p, log, r);
    check_secure_boot(p, log, r);
}

static int derivable(const struct uefi_event *e, uint32_t mask)
{
    return e->type != EV_NO_ACTION && e->has_sha256 && e->pcr < UEFILOG_PCRS &&
           (mask & (1u << e->pcr));
}

/* Orders by (pcr, type, digest, record) so that equal digests of one (pcr, type) are
 * neighbours with the first-logged one first. */
static int cmp_event(const void *a, const void *b)
{
    const struct uefi_event *x = *(const struct uefi_event *const *)a;
    const struct uefi_event *y = *(const struct uefi_event *const *)b;
    int c;

    if (x->pcr != y->pcr)
        return x->pcr < y->pcr ? -1 : 1;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    if ((c = memcmp(x->sha256, y->sha256, 32)))
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* dup[i] = 1 when event i repeats the digest of an earlier event of its (pcr, type). */
static uint8_t *mark_duplicates(const struct uefi_log *log, uint32_t mask)
{
    const struct uefi_event **v = calloc(log->n ? log->n : 1, sizeof(*v));
    uint8_t *dup = calloc(log->n ? log->n : 1, 1);
    size_t n = 0;

    if (!v || !dup) {
        free(v);
        free(dup);
        return NULL;
    }
    for (size_t i = 0; i < log->n; i++)
        if (derivable(&log->ev[i], mask))
            v[n++] = &log->ev[i];
    qsort(v, n, sizeof(*v), cmp_event);
    for (size_t i = 1; i < n; i++)
        if (v[i]->pcr == v[i - 1]->pcr && v[i]->type == v[i - 1]->type &&
            !memcmp(v[i]->sha256, v[i - 1]->sha256, 32))
            dup[v[i] - log->ev] = 1;
    free(v);
    return dup;
}

/* The {"digests": [...], "max": N} entry of the event's (pcr, type), created on first use. */
static json_t *type_entry(json_t *events, const struct uefi_event *e)
{
    char key[4], tb[16];
    const char *tn = uefilog_type_name(e->type, tb, sizeof(tb));
    json_t *po, *ent;

    snprintf(key, sizeof(key), "%u", e->pcr);
    po = json_object_get(events, key);
    if ((ent = json_object_get(po, tn)))
        return ent;
    if (!(ent = json_pack("{s:[], s:i}", "digests", "max", 0)) ||
        json_object_set_new(po, tn, ent) < 0)
        return NULL;
    return ent;
}

/* One more event of the entry's (pcr, type): max counts it, a new digest is appended. */
static int derive_add(json_t *ent, const struct uefi_event *e, int dup)
{
    json_t *mx = json_object_get(ent, "max");
    char h[65];

    if (json_integer_set(mx, json_integer_value(mx) + 1) < 0)
        return -1;
    if (dup)
        return 0;
    hex_encode(e->sha256, 32, h);
    return json_array_append_new(json_object_get(ent, "digests"), json_string(h));
}

/* PCR keys in ascending order, then types and digests in the order the log has them. Every
 * PCR of the mask gets a key (closed), {} when the log has no event there, except the kmod
 * PCR: kmod-vtpm's list is checked on its own. */
static json_t *derive_events(const struct uefi_log *log, uint32_t mask, const uint8_t *dup)
{
    json_t *events = json_object(), *ent;
    uint32_t present = 0;
    char key[4];

    for (size_t i = 0; i < log->n; i++)
        if (derivable(&log->ev[i], mask))
            present |= 1u << log->ev[i].pcr;
    present |= mask & ~(1u << DEFAULT_KMOD_PCR);
    for (uint32_t pcr = 0; events && pcr < UEFILOG_PCRS; pcr++) {
        snprintf(key, sizeof(key), "%u", pcr);
        if ((present & (1u << pcr)) && json_object_set_new(events, key, json_object()) < 0)
            goto fail;
    }
    for (size_t i = 0; events && i < log->n; i++) {
        if (!derivable(&log->ev[i], mask))
            continue;
        if (!(ent = type_entry(events, &log->ev[i])) || derive_add(ent, &log->ev[i], dup[i]) < 0)
            goto fail;
    }
    return events;
fail:
    json_decref(events);
    return NULL;
}

static json_t *pcr_array(uint32_t mask)
{
    json_t *a = json_array();

    for (uint32_t pcr = 0; a && pcr < UEFILOG_PCRS; pcr++)
        if ((mask & (1u << pcr)) && json_array_append_new(a, json_integer(pcr)) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *secure_boot_json(const struct uefi_log *log)
{
    int sb = uefilog_secure_boot(log);

    return sb < 0 ? json_null() : json_boolean(sb);
}

json_t *bootpolicy_derive(const struct uefi_log *log, uint32_t pcr_mask)
{
    json_t *root = NULL, *events = NULL;
    uint8_t *dup = NULL;
    char comment[96];

    pcr_mask &= (1u << UEFILOG_PCRS) - 1;
    if (!log->has_sha256_bank || !pcr_mask || !(dup = mark_duplicates(log, pcr_mask)))
        goto out;
    if (!(events = derive_events(log, pcr_mask, dup)))
        goto out;
    snprintf(comment, sizeof(comment), "derived from a UEFI event log of %zu records", log->n);
    root = json_pack("{s:i, s:s, s:o, s:i, s:b, s:o, s:O}", "version", BOOTPOLICY_VERSION,
                     "comment", comment, "pcrs", pcr_array(pcr_mask),
                     "kmod_pcr", (int)DEFAULT_KMOD_PCR,
                     "require_vtpm_in_kmod_list", (pcr_mask & (1u << DEFAULT_KMOD_PCR)) != 0,
                     "secure_boot", secure_boot_json(log), "events", events);
out:
    json_decref(events);
    free(dup);
    return root;
}
