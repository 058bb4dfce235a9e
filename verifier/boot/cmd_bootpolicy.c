/* SPDX-License-Identifier: BSD-3-Clause */
/* `verifier boot-policy derive|show|check`: derive a boot reference policy from a known-good
 * UEFI event log, print a log for inspection, check a log against a policy (docs/uefi-log.md). */
#include "boot/cmd_bootpolicy.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/bootpolicy.h"
#include "fileio.h"
#include "hexutil.h"
#include "pcrlist.h"
#include "check/reasons.h"
#include "boot/uefilog.h"
#include "check/cmdout.h"

#define EXIT_ALLOW 0
#define EXIT_DENY  1
#define EXIT_USAGE 2
#define SHOW_TEXT_MAX 128u

struct bp_opts {
    const char *log, *policy;
    uint32_t pcrs;
    int pcrs_set, no_kmod;
    uint32_t given;            /* --pcr N=HEX: bit N */
    uint8_t want[UEFILOG_PCRS][32];
};

static void usage(void)
{
    fprintf(stderr,
        "usage: verifier boot-policy derive --log FILE [--pcrs 0-7,13] [--no-kmod]\n"
        "       verifier boot-policy show --log FILE\n"
        "       verifier boot-policy check --policy FILE --log FILE [--pcr N=HEX ...]\n");
}

/* Parses --log into log; buf must outlive it (events borrow it). 0 or -1 with why set. */
static int load_log(const char *path, uint8_t **buf, struct uefi_log *log, char *why, size_t wsz)
{
    size_t len = 0;
    char err[128];
    int r = file_read_stream(path, UEFILOG_MAX_SIZE, buf, &len);

    if (r < 0) {
        snprintf(why, wsz, "cannot read %.80s: %s", path, strerror(-r));
        return -1;
    }
    if ((r = uefilog_parse(*buf, len, log, err, sizeof(err))) < 0) {
        snprintf(why, wsz, "log %.60s: %s", path, r == -ENOMEM ? "out of memory" : err);
        free(*buf);
        *buf = NULL;
        return -1;
    }
    return 0;
}

/* "N=HEX" with N 0-23 and 64 hex digits, optionally after "0x" (tpm2_pcrread's form). */
static int parse_pcr_value(struct bp_opts *o, const char *arg)
{
    char *end;
    unsigned long n = strtoul(arg, &end, 10);
    const char *h;

    if (end == arg || *end != '=' || n >= UEFILOG_PCRS || (o->given & (1u << n)))
        return -1;
    h = end + 1;
    if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X'))
        h += 2;
    if (bootpolicy_digest_parse(h, o->want[n]) < 0)
        return -1;
    o->given |= 1u << n;
    return 0;
}

static int parse_opts(int argc, char **argv, struct bp_opts *o)
{
    static const struct option lo[] = {
        { "log", required_argument, NULL, 'l' }, { "policy", required_argument, NULL, 'P' },
        { "pcrs", required_argument, NULL, 'p' }, { "no-kmod", no_argument, NULL, 'k' },
        { "pcr", required_argument, NULL, 'v' }, { NULL, 0, NULL, 0 },
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'l': o->log = optarg; break;
        case 'P': o->policy = optarg; break;
        case 'p': if (pcrlist_parse(optarg, &o->pcrs) < 0 || !o->pcrs) return -1;
                  o->pcrs_set = 1;
                  break;
        case 'k': o->no_kmod = 1; break;
        case 'v': if (parse_pcr_value(o, optarg) < 0) return -1; break;
        default: return -1;
        }
    }
    return optind == argc && o->log ? 0 : -1;
}

static int cmd_derive(const struct bp_opts *o)
{
    struct uefi_log log;
    uint8_t *buf;
    char why[200];
    json_t *j;
    int rc = EXIT_USAGE;

    if (load_log(o->log, &buf, &log, why, sizeof(why)) < 0) {
        fprintf(stderr, "verifier: %s\n", why);
        return EXIT_USAGE;
    }
    if (!(j = bootpolicy_derive(&log, o->pcrs))) {
        fprintf(stderr, "verifier: cannot derive a policy (%s)\n",
                log.has_sha256_bank ? "out of memory" : "the log has no sha256 bank");
        goto out;
    }
    if (o->no_kmod)
        json_object_set_new(j, "require_vtpm_in_kmod_list", json_false());
    if (cmd_print_json(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0)
        rc = EXIT_ALLOW;
    json_decref(j);
out:
    uefilog_free(&log);
    free(buf);
    return rc;
}

/* Printable ASCII, optionally NUL-terminated (EV_EFI_ACTION strings, signatures). */
static int printable(const uint8_t *d, size_t n)
{
    if (n && d[n - 1] == '\0')
        n--;
    if (n == 0 || n > SHOW_TEXT_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] < 0x20 || d[i] > 0x7e)
            return 0;
    return 1;
}

/* The event types whose data is a UEFI_VARIABLE_DATA. */
static int variable_type(uint32_t type)
{
    return type == EV_EFI_VARIABLE_DRIVER_CONFIG || type == 0x80000002u /* _BOOT */ ||
           type == 0x8000000cu /* _BOOT2 */ || type == 0x800000e0u /* _AUTHORITY */;
}

/* The variable name when it is plain ASCII in its UTF-16LE form, else NULL. */
static json_t *variable_name(const struct uefi_event *e)
{
    struct uefi_variable var;
    char name[65];

    if (!variable_type(e->type) || uefilog_variable(e, &var) < 0 ||
        var.name_chars == 0 || var.name_chars >= sizeof(name))
        return NULL;
    for (size_t i = 0; i < var.name_chars; i++) {
        if (var.name[2 * i + 1] || var.name[2 * i] < 0x20 || var.name[2 * i] > 0x7e)
            return NULL;
        name[i] = (char)var.name[2 * i];
    }
    name[var.name_chars] = '\0';
    return json_string(name);
}

static json_t *event_json(const struct uefi_event *e)
{
    char tb[16], h[65];
    json_t *j, *v;

    if (e->has_sha256)
        hex_encode(e->sha256, 32, h);
    j = json_pack("{s:I, s:I, s:s, s:s?, s:I}", "index", (json_int_t)e->index,
                  "pcr", (json_int_t)e->pcr, "type", uefilog_type_name(e->type, tb, sizeof(tb)),
                  "sha256", e->has_sha256 ? h : NULL, "data_len", (json_int_t)e->data_len);
    if (j && (v = variable_name(e)))
        json_object_set_new(j, "variable", v);
    else if (j && printable(e->data, e->data_len))
        json_object_set_new(j, "text", json_stringn((const char *)e->data,
                                                    strnlen((const char *)e->data, e->data_len)));
    return j;
}

static json_t *summary_json(const struct uefi_log *log)
{
    uint8_t pcr[UEFILOG_PCRS][32];
    uint32_t touched;
    char key[4], h[65];
    json_t *replay = json_object();
    int sb = uefilog_secure_boot(log);

    uefilog_replay_sha256(log, pcr, &touched);
    for (uint32_t i = 0; replay && i < UEFILOG_PCRS; i++) {
        if (!(touched & (1u << i)))
            continue;
        snprintf(key, sizeof(key), "%u", i);
        hex_encode(pcr[i], 32, h);
        json_object_set_new(replay, key, json_string(h));
    }
    return json_pack("{s:I, s:b, s:o, s:o}", "startup_locality",
                     (json_int_t)log->startup_locality, "sha256_bank", log->has_sha256_bank,
                     "secure_boot", sb < 0 ? json_null() : json_boolean(sb), "replay", replay);
}

static int cmd_show(const struct bp_opts *o)
{
    struct uefi_log log;
    uint8_t *buf;
    char why[200];
    json_t *j;
    int rc = EXIT_ALLOW;

    if (load_log(o->log, &buf, &log, why, sizeof(why)) < 0) {
        fprintf(stderr, "verifier: %s\n", why);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < log.n && rc == EXIT_ALLOW; i++) {
        j = event_json(&log.ev[i]);
        rc = cmd_print_json(j, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0 ? EXIT_USAGE : EXIT_ALLOW;
        json_decref(j);
    }
    j = rc == EXIT_ALLOW ? summary_json(&log) : NULL;
    if (rc == EXIT_ALLOW && cmd_print_json(j, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0)
        rc = EXIT_USAGE;
    json_decref(j);
    uefilog_free(&log);
    free(buf);
    return rc;
}

static int check_error(const char *what)
{
    json_t *j = json_pack("{s:s, s:s}", "verdict", "error", "error", what);

    cmd_print_json(j, JSON_COMPACT);
    json_decref(j);
    return EXIT_USAGE;
}

/* The replayed sha256 PCRs against the values the caller read from the TPM (or the quote). */
static void check_replay(const struct bp_opts *o, const struct uefi_log *log, struct reasons *r)
{
    uint8_t pcr[UEFILOG_PCRS][32];
    uint32_t touched;

    uefilog_replay_sha256(log, pcr, &touched);
    for (uint32_t i = 0; i < UEFILOG_PCRS; i++)
        if ((o->given & (1u << i)) && memcmp(pcr[i], o->want[i], 32))
            reasons_add(r, "host-eventlog-replay-mismatch", "pcr %u", i);
}

static int verdict(const struct reasons *r)
{
    json_t *j = json_pack("{s:s, s:o}", "verdict", reasons_deny(r) ? "deny" : "allow",
                          "reasons", reasons_json(r));

    if (cmd_print_json(j, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0) {
        json_decref(j);
        return EXIT_USAGE;
    }
    json_decref(j);
    return reasons_deny(r) ? EXIT_DENY : EXIT_ALLOW;
}

static int cmd_check(const struct bp_opts *o)
{
    struct boot_policy *p = NULL;
    struct reasons r = { 0 };
    struct uefi_log log;
    uint8_t *buf = NULL;
    char why[200], err[128];
    int rc;

    if (bootpolicy_load(o->policy, &p, err, sizeof(err)) < 0) {
        snprintf(why, sizeof(why), "policy %.60s: %.120s", o->policy, err);
        return check_error(why);
    }
    if (load_log(o->log, &buf, &log, why, sizeof(why)) < 0) {
        bootpolicy_free(p);
        return check_error(why);
    }
    check_replay(o, &log, &r);
    bootpolicy_check(p, &log, &r);
    rc = verdict(&r);
    reasons_free(&r);
    uefilog_free(&log);
    free(buf);
    bootpolicy_free(p);
    return rc;
}

int cmd_boot_policy(int argc, char **argv)
{
    struct bp_opts o = { .pcrs = 0xffu | 1u << 13 };
    const char *sub = argc > 1 ? argv[1] : "";

    if (parse_opts(argc - 1, argv + 1, &o) < 0) {
        usage();
        return EXIT_USAGE;
    }
    if (!strcmp(sub, "derive") && !o.policy && !o.given)
        return cmd_derive(&o);
    if (!strcmp(sub, "show") && !o.policy && !o.given && !o.no_kmod && !o.pcrs_set)
        return cmd_show(&o);
    if (!strcmp(sub, "check") && o.policy && !o.no_kmod && !o.pcrs_set)
        return cmd_check(&o);
    usage();
    return EXIT_USAGE;
}
