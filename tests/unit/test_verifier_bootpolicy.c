/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the boot reference policy (verifier/boot/bootpolicy.c): strict loading, checks of
 * good and tampered UEFI logs, and derive -> check round trips. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../verifier/boot/bootpolicy.h"

/* The log writer of the uefilog_build test tool, without its main(). */
#define UEFILOG_BUILD_LIB
#include "../tools/uefilog_build.c"

#define EV_EFI_BOOT_SERVICES_DRIVER 0x80000004u

static const uint16_t banks2[] = { 0x0004, 0x000b };
#define HEX_A "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""
static const char *const hex_a = HEX_A;

/* What the firmware of these tests boots; variations change one thing. */
struct boot {
    int secure_boot;     /* 1, 0, or -1 for no SecureBoot variable */
    const char *loader;  /* the second boot application; NULL: no boot applications */
    int extra_loaders;   /* more copies of the loader (repeated digests) */
    const char *driver;  /* an EFI driver loaded after the loader, in PCR driver_pcr */
    uint32_t driver_pcr;
    const uint16_t *banks;
    size_t nbanks;
};

static void build(struct ulb *b, const struct boot *o)
{
    static const uint8_t sep[4], ld[32];
    const uint16_t *banks = o->banks ? o->banks : banks2;

    ulb_init(b);
    ulb_header(b, banks, o->banks ? o->nbanks : 2);
    ulb_locality(b, 3);
    ulb_text(b, 0, 0x00000008u, "CRTM 1.0");
    if (o->secure_boot >= 0)
        ulb_secureboot(b, o->secure_boot);
    for (uint32_t p = 0; p < 8; p++)
        ulb_event(b, p, EV_SEPARATOR, sep, sizeof(sep));
    if (o->loader) {
        ulb_event_src(b, 4, EV_EFI_BOOT_SERVICES_APPLICATION, ld, sizeof(ld), "shim", 4);
        for (int i = 0; i <= o->extra_loaders; i++)
            ulb_event_src(b, 4, EV_EFI_BOOT_SERVICES_APPLICATION, ld, sizeof(ld), o->loader,
                          strlen(o->loader));
    }
    if (o->driver)
        ulb_event_src(b, o->driver_pcr, EV_EFI_BOOT_SERVICES_DRIVER, ld, sizeof(ld), o->driver,
                      strlen(o->driver));
    ulb_text(b, 5, 0x80000007u, "Exit Boot Services Invocation");
    assert_false(b->oom);
}

static void parse_boot(const struct boot *o, struct ulb *b, struct uefi_log *log)
{
    char err[128];

    build(b, o);
    assert_int_equal(uefilog_parse(b->buf, b->len, log, err, sizeof(err)), 0);
}

static struct boot good(void)
{
    return (struct boot){ .secure_boot = 1, .loader = "grub" };
}

static int parse_text(const char *json, struct boot_policy **p)
{
    char err[160];
    int r = bootpolicy_parse(json, strlen(json), p, err, sizeof(err));

    if (r == 0)
        assert_non_null(*p);
    else
        assert_null(*p);
    return r;
}

static void expect_invalid(const char *json, const char *needle)
{
    struct boot_policy *p = (struct boot_policy *)1;
    char err[160] = "";

    assert_int_equal(bootpolicy_parse(json, strlen(json), &p, err, sizeof(err)), -EINVAL);
    assert_null(p);
    if (!strstr(err, needle))
        fail_msg("policy %s: error \"%s\" does not mention \"%s\"", json, err, needle);
}

/* A policy text with one events entry: {"<pcr>": {"<type>": [<digests>]}}. */
static void expect_invalid_events(const char *pcr, const char *type, const char *digests,
                                  const char *needle)
{
    char json[512];

    snprintf(json, sizeof(json), "{\"version\": 2, \"events\": {\"%s\": {\"%s\": [%s]}}}", pcr,
             type, digests);
    expect_invalid(json, needle);
}

static void test_load_defaults(void **state)
{
    struct boot_policy *p;

    assert_int_equal(parse_text("{\"version\": 2}", &p), 0);
    assert_int_equal(bootpolicy_pcrs(p), 0xffu | 1u << 13);
    assert_int_equal(bootpolicy_kmod_pcr(p), 13);
    assert_int_equal(bootpolicy_require_kmod(p), 1);
    bootpolicy_free(p);
    assert_int_equal(parse_text("{\"version\": 2, \"pcrs\": [0, 7, 23], \"kmod_pcr\": 23, "
                                "\"require_vtpm_in_kmod_list\": false, \"secure_boot\": true, "
                                "\"comment\": \"x\", \"events\": {}}", &p), 0);
    assert_int_equal(bootpolicy_pcrs(p), 1u | 1u << 7 | 1u << 23);
    assert_int_equal(bootpolicy_kmod_pcr(p), 23);
    assert_int_equal(bootpolicy_require_kmod(p), 0);
    bootpolicy_free(p);
}

static void test_load_negatives(void **state)
{
    expect_invalid("[]", "JSON object");
    expect_invalid("{\"version\": 2,}", "JSON");
    expect_invalid("{\"version\": 2, \"version\": 2}", "JSON");
    expect_invalid("{}", "version");
    expect_invalid("{\"version\": 3}", "version must be 2");
    /* Version 1 left unlisted types unchecked: refused, saying how to convert. */
    expect_invalid("{\"version\": 1}", "open_pcrs");
    expect_invalid("{\"version\": 2, \"open_pcrs\": []}", "open_pcrs");
    expect_invalid("{\"version\": 2, \"open_pcrs\": [4, 4]}", "open_pcrs lists PCR 4 twice");
    expect_invalid("{\"version\": 2, \"open_pcrs\": [9]}", "open_pcrs: PCR 9 is not in pcrs");
    expect_invalid("{\"version\": \"1\"}", "version");
    expect_invalid("{\"version\": 2, \"pcr\": [0]}", "unknown key pcr");
    expect_invalid("{\"version\": 2, \"comment\": 3}", "comment");
    expect_invalid("{\"version\": 2, \"pcrs\": 7}", "pcrs");
    expect_invalid("{\"version\": 2, \"pcrs\": []}", "pcrs");
    expect_invalid("{\"version\": 2, \"pcrs\": [24]}", "pcrs[0]");
    expect_invalid("{\"version\": 2, \"pcrs\": [0, -1]}", "pcrs[1]");
    expect_invalid("{\"version\": 2, \"pcrs\": [1.0]}", "pcrs[0]");
    expect_invalid("{\"version\": 2, \"pcrs\": [\"0\"]}", "pcrs[0]");
    expect_invalid("{\"version\": 2, \"pcrs\": [4, 4]}", "twice");
    expect_invalid("{\"version\": 2, \"kmod_pcr\": 24}", "kmod_pcr");
    expect_invalid("{\"version\": 2, \"kmod_pcr\": true}", "kmod_pcr");
    expect_invalid("{\"version\": 2, \"pcrs\": [0], \"kmod_pcr\": 13}", "not in pcrs");
    expect_invalid("{\"version\": 2, \"require_vtpm_in_kmod_list\": 1}", "require_vtpm");
    expect_invalid("{\"version\": 2, \"secure_boot\": \"yes\"}", "secure_boot");
    expect_invalid("{\"version\": 2, \"secure_boot\": 1}", "secure_boot");
    expect_invalid("{\"version\": 2, \"events\": []}", "events must be an object");
    expect_invalid("{\"version\": 2, \"events\": {\"4\": []}}", "events.4 must be an object");
}

static void test_load_event_negatives(void **state)
{
    expect_invalid_events("24", "EV_SEPARATOR", hex_a, "not a PCR number");
    expect_invalid_events("04", "EV_SEPARATOR", hex_a, "not a PCR number");
    expect_invalid_events("-1", "EV_SEPARATOR", hex_a, "not a PCR number");
    expect_invalid_events("x", "EV_SEPARATOR", hex_a, "not a PCR number");
    expect_invalid_events("", "EV_SEPARATOR", hex_a, "not a PCR number");
    expect_invalid_events("9", "EV_SEPARATOR", hex_a, "not in pcrs");
    expect_invalid_events("4", "EV_SEPERATOR", hex_a, "unknown event type EV_SEPERATOR");
    expect_invalid_events("4", "ev_separator", hex_a, "unknown event type");
    expect_invalid_events("4", "EV_NO_ACTION", hex_a, "EV_NO_ACTION");
    expect_invalid_events("4", "EV_SEPARATOR", "", "non-empty array");
    expect_invalid("{\"version\": 2, \"events\": {\"4\": {\"EV_SEPARATOR\": {\"max\": 1}}}}",
                   "non-empty array");
    expect_invalid("{\"version\": 2, \"events\": {\"4\": {\"EV_SEPARATOR\": {\"digests\": ["
                   HEX_A "], \"max\": 0}}}}", "events.4.EV_SEPARATOR.max must be an integer");
    expect_invalid("{\"version\": 2, \"events\": {\"4\": {\"EV_SEPARATOR\": {\"digests\": ["
                   HEX_A "], \"max\": \"1\"}}}}", "max must be an integer");
    expect_invalid("{\"version\": 2, \"events\": {\"4\": {\"EV_SEPARATOR\": {\"digests\": ["
                   HEX_A "], \"count\": 1}}}}", "events.4.EV_SEPARATOR: unknown key count");
    expect_invalid_events("4", "EV_SEPARATOR", "1", "events.4.EV_SEPARATOR[0]");
    expect_invalid_events("4", "EV_SEPARATOR", "\"aa\"", "events.4.EV_SEPARATOR[0]");
    expect_invalid_events("4", "EV_SEPARATOR",
                          "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaag\"",
                          "not a sha256 hex digest");
    expect_invalid_events("4", "EV_SEPARATOR",
                          "\"sha1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
                          "not a sha256 hex digest");
    expect_invalid("{\"version\": 2, \"events\": {\"4\": {\"EV_SEPARATOR\": [\"" "a" "\"],"
                   " \"EV_SEPARATOR\": []}}}", "JSON");
    /* Two spellings of one type are one rule listed twice. */
    expect_invalid("{\"version\": 2, \"events\": {\"4\": {\"EV_SEPARATOR\": ["
                   "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"],"
                   " \"0x4\": [\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]}}}",
                   "events.4 lists EV_SEPARATOR twice");
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/test_bootpolicy.XXXXXX", err[160];
    const char *text = "{\"version\": 2, \"secure_boot\": false}";
    struct boot_policy *p;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(bootpolicy_load(path, &p, err, sizeof(err)), 0);
    bootpolicy_free(p);
    unlink(path);
    assert_int_equal(bootpolicy_load(path, &p, err, sizeof(err)), -ENOENT);
    assert_null(p);
    assert_non_null(strstr(err, "cannot read"));
}

/* The policy derived from the good boot, dumped and parsed back as an operator would. */
static struct boot_policy *derived(const struct boot *o, uint32_t mask)
{
    struct ulb b;
    struct uefi_log log;
    struct boot_policy *p;
    json_t *j;
    char *text;

    parse_boot(o, &b, &log);
    assert_non_null(j = bootpolicy_derive(&log, mask));
    assert_non_null(text = json_dumps(j, JSON_INDENT(2)));
    assert_int_equal(parse_text(text, &p), 0);
    free(text);
    json_decref(j);
    uefilog_free(&log);
    ulb_free(&b);
    return p;
}

static void check(const struct boot_policy *p, const struct boot *o, struct reasons *r)
{
    struct ulb b;
    struct uefi_log log;

    memset(r, 0, sizeof(*r));
    parse_boot(o, &b, &log);
    bootpolicy_check(p, &log, r);
    uefilog_free(&log);
    ulb_free(&b);
}

static int has_reason(const struct reasons *r, const char *full)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->v[i], full))
            return 1;
    return 0;
}

static void expect_reason(const struct reasons *r, const char *full)
{
    if (has_reason(r, full))
        return;
    for (size_t i = 0; i < r->n; i++)
        print_message("reason: %s\n", r->v[i]);
    fail_msg("missing reason %s", full);
}

static void test_derive_then_check_passes(void **state)
{
    struct boot g = good(), off = good(), none = good();
    struct boot_policy *p;
    struct reasons r;

    off.secure_boot = 0;
    none.secure_boot = -1;
    p = derived(&g, 0xffu | 1u << 13);
    check(p, &g, &r);
    assert_int_equal(r.n, 0);
    assert_false(reasons_deny(&r));
    reasons_free(&r);
    bootpolicy_free(p);
    p = derived(&off, 0xff);
    check(p, &off, &r);
    assert_int_equal(r.n, 0);
    reasons_free(&r);
    bootpolicy_free(p);
    p = derived(&none, 0xff);
    check(p, &none, &r);
    assert_int_equal(r.n, 0);
    reasons_free(&r);
    bootpolicy_free(p);
}

static void test_check_digest_swapped(void **state)
{
    struct boot g = good(), evil = good();
    struct boot_policy *p = derived(&g, 0xff);
    struct reasons r;

    evil.loader = "evil";
    check(p, &evil, &r);
    /* Record 13: header, locality, CRTM, SecureBoot, 8 separators, shim, then the loader. */
    expect_reason(&r, "host-boot-digest-not-allowed:pcr 4 EV_EFI_BOOT_SERVICES_APPLICATION record 13");
    assert_int_equal(r.n, 1);
    reasons_free(&r);
    bootpolicy_free(p);
}

static void test_check_event_removed(void **state)
{
    struct boot g = good(), gone = good();
    struct boot_policy *p = derived(&g, 0xff);
    struct reasons r;

    gone.loader = NULL;
    check(p, &gone, &r);
    expect_reason(&r, "host-boot-event-missing:pcr 4 EV_EFI_BOOT_SERVICES_APPLICATION");
    assert_int_equal(r.n, 1);
    reasons_free(&r);
    bootpolicy_free(p);
}

static void test_check_secure_boot(void **state)
{
    struct boot g = good(), off = good(), none = good();
    struct boot_policy *p = derived(&g, 0xff);
    struct reasons r;

    off.secure_boot = 0;
    none.secure_boot = -1;
    check(p, &off, &r);
    expect_reason(&r, "host-boot-secureboot:true/false");
    /* The variable's digest changed too: the PCR 7 event is not the reference one. */
    expect_reason(&r, "host-boot-digest-not-allowed:pcr 7 EV_EFI_VARIABLE_DRIVER_CONFIG record 3");
    assert_int_equal(r.n, 2);
    reasons_free(&r);
    check(p, &none, &r);
    expect_reason(&r, "host-boot-secureboot:true/missing");
    expect_reason(&r, "host-boot-event-missing:pcr 7 EV_EFI_VARIABLE_DRIVER_CONFIG");
    assert_int_equal(r.n, 2);
    reasons_free(&r);
    bootpolicy_free(p);
}

static void test_check_secure_boot_only(void **state)
{
    struct boot off = good(), g = good();
    struct boot_policy *p;
    struct reasons r;

    off.secure_boot = 0;
    assert_int_equal(parse_text("{\"version\": 2, \"secure_boot\": false}", &p), 0);
    check(p, &off, &r);
    assert_int_equal(r.n, 0);
    reasons_free(&r);
    check(p, &g, &r);
    expect_reason(&r, "host-boot-secureboot:false/true");
    assert_int_equal(r.n, 1);
    reasons_free(&r);
    bootpolicy_free(p);
}

/* A derived policy is closed: an added driver (a type the reference boot did not have, in a
 * PCR that had only a separator) and a second copy of the loader (a listed digest, one event
 * more than the reference boot had) are denied. */
static void test_derived_policy_closed(void **state)
{
    struct boot g = good(), drv = good(), twice = good(), drv4 = good();
    struct boot_policy *p = derived(&g, 0xff);
    struct reasons r;

    drv.driver = "evil.efi";
    drv.driver_pcr = 2;
    check(p, &drv, &r);
    /* Record 14: header, locality, CRTM, SecureBoot, 8 separators, shim, loader, driver. */
    expect_reason(&r, "host-boot-event-unexpected:pcr 2 EV_EFI_BOOT_SERVICES_DRIVER record 14");
    assert_int_equal(r.n, 1);
    reasons_free(&r);
    drv4.driver = "evil.efi";
    drv4.driver_pcr = 4;
    check(p, &drv4, &r);
    expect_reason(&r, "host-boot-event-unexpected:pcr 4 EV_EFI_BOOT_SERVICES_DRIVER record 14");
    assert_int_equal(r.n, 1);
    reasons_free(&r);
    twice.extra_loaders = 1;
    check(p, &twice, &r);
    expect_reason(&r, "host-boot-event-unexpected:pcr 4 EV_EFI_BOOT_SERVICES_APPLICATION record 14");
    assert_int_equal(r.n, 1);
    reasons_free(&r);
    bootpolicy_free(p);
}

/* A PCR without events in the reference boot is derived as {} and admits none; the kmod PCR
 * is left out (its list is checked on its own). */
static void test_derived_empty_pcr_closed(void **state)
{
    struct boot g = good(), drv = good();
    struct boot_policy *p = derived(&g, 0xffu | 1u << 9 | 1u << 13);
    struct reasons r;

    drv.driver = "evil.efi";
    drv.driver_pcr = 9;
    check(p, &drv, &r);
    expect_reason(&r, "host-boot-event-unexpected:pcr 9 EV_EFI_BOOT_SERVICES_DRIVER record 14");
    assert_int_equal(r.n, 1);
    reasons_free(&r);
    drv.driver_pcr = 13;
    check(p, &drv, &r);
    assert_int_equal(r.n, 0);
    reasons_free(&r);
    bootpolicy_free(p);
}

/* The loader list of the derived policy, hand-written into a policy: as a plain array (no
 * count limit) in a closed or an open PCR 4. */
static struct boot_policy *loader_only(const char *extra)
{
    struct boot g = good();
    struct boot_policy *p;
    char json[1024];
    struct ulb b;
    struct uefi_log log;
    json_t *d, *list;

    parse_boot(&g, &b, &log);
    d = bootpolicy_derive(&log, 0xff);
    list = json_object_get(json_object_get(json_object_get(json_object_get(d, "events"), "4"),
                                           "EV_EFI_BOOT_SERVICES_APPLICATION"), "digests");
    assert_int_equal(json_array_size(list), 2);
    snprintf(json, sizeof(json), "{\"version\": 2%s, \"events\": {\"4\": "
             "{\"EV_EFI_BOOT_SERVICES_APPLICATION\": [\"%s\", \"sha256:%s\"]}}}", extra,
             json_string_value(json_array_get(list, 0)), json_string_value(json_array_get(list, 1)));
    json_decref(d);
    uefilog_free(&log);
    ulb_free(&b);
    assert_int_equal(parse_text(json, &p), 0);
    return p;
}

static void test_hand_written_closed_and_open(void **state)
{
    struct boot evil = good();
    struct boot_policy *p = loader_only("");
    struct reasons r;

    /* PCR 4 is listed, so closed: its separator is not listed; PCR 7 is not listed at all. */
    evil.secure_boot = 0;
    evil.extra_loaders = 3; /* an array states no max */
    check(p, &evil, &r);
    expect_reason(&r, "host-boot-event-unexpected:pcr 4 EV_SEPARATOR record 8");
    assert_int_equal(r.n, 1);
    reasons_free(&r);
    bootpolicy_free(p);
    /* Opened: only the loader list is checked there, like a version 1 policy. */
    p = loader_only(", \"open_pcrs\": [4]");
    evil.driver = "evil.efi";
    evil.driver_pcr = 4;
    check(p, &evil, &r);
    assert_int_equal(r.n, 0);
    reasons_free(&r);
    evil.loader = "evil";
    check(p, &evil, &r);
    assert_true(reasons_has(&r, "host-boot-digest-not-allowed"));
    assert_false(reasons_has(&r, "host-boot-event-unexpected"));
    reasons_free(&r);
    bootpolicy_free(p);
}

/* max holds in an open PCR too; reasons are capped like the digest ones. */
static void test_max_in_open_pcr_and_capped(void **state)
{
    struct boot g = good(), many = good();
    struct boot_policy *p;
    struct reasons r;
    char json[512];
    size_t n = 0;

    snprintf(json, sizeof(json), "{\"version\": 2, \"open_pcrs\": [4], \"events\": {\"4\": "
             "{\"EV_SEPARATOR\": {\"digests\": [\"%s\"], \"max\": 1}}}}",
             "df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119");
    assert_int_equal(parse_text(json, &p), 0);
    check(p, &g, &r);
    assert_int_equal(r.n, 0);
    reasons_free(&r);
    bootpolicy_free(p);
    p = derived(&g, 0xff);
    many.extra_loaders = 99;
    check(p, &many, &r);
    for (size_t i = 0; i < r.n; i++)
        n += !strncmp(r.v[i], "host-boot-event-unexpected:", 27);
    assert_int_equal(n, BOOTPOLICY_MAX_DIGEST_REASONS + 1);
    expect_reason(&r, "host-boot-event-unexpected:67 more records");
    reasons_free(&r);
    bootpolicy_free(p);
}

static void test_check_no_sha256(void **state)
{
    static const uint16_t sha1[] = { 0x0004 };
    struct boot g = good(), s1 = good();
    struct boot_policy *p = derived(&g, 0xff);
    struct reasons r;

    s1.banks = sha1;
    s1.nbanks = 1;
    check(p, &s1, &r);
    expect_reason(&r, "host-boot-no-sha256");
    /* Digests cannot be checked: every checked event is refused, and the SecureBoot value
     * cannot be tied to its measurement. */
    assert_true(reasons_has(&r, "host-boot-digest-not-allowed"));
    expect_reason(&r, "host-boot-secureboot:true/invalid");
    reasons_free(&r);
    bootpolicy_free(p);
}

static void test_digest_reasons_capped(void **state)
{
    struct boot g = good(), many = good();
    struct boot_policy *p = derived(&g, 0xff);
    struct reasons r;
    size_t n = 0;

    many.loader = "evil";
    many.extra_loaders = 99;
    check(p, &many, &r);
    for (size_t i = 0; i < r.n; i++)
        n += !strncmp(r.v[i], "host-boot-digest-not-allowed:", 29);
    assert_int_equal(n, BOOTPOLICY_MAX_DIGEST_REASONS + 1);
    expect_reason(&r, "host-boot-digest-not-allowed:68 more records");
    reasons_free(&r);
    bootpolicy_free(p);
}

static void test_derive_content(void **state)
{
    struct boot g = good(), s1 = good();
    static const uint16_t sha1[] = { 0x0004 };
    struct ulb b;
    struct uefi_log log;
    json_t *d, *ev;
    const char *k;
    json_t *v;
    int last = -1;

    g.extra_loaders = 3; /* the same loader four times: listed once */
    parse_boot(&g, &b, &log);
    d = bootpolicy_derive(&log, 0x7f);
    assert_int_equal(json_integer_value(json_object_get(d, "version")), 2);
    assert_true(json_is_true(json_object_get(d, "secure_boot")));
    assert_true(json_is_false(json_object_get(d, "require_vtpm_in_kmod_list")));
    assert_int_equal(json_array_size(json_object_get(d, "pcrs")), 7);
    ev = json_object_get(d, "events");
    assert_null(json_object_get(ev, "7"));
    json_object_foreach(ev, k, v) {
        assert_true(atoi(k) > last);
        last = atoi(k);
        assert_null(json_object_get(v, "EV_NO_ACTION"));
    }
    assert_int_equal(last, 6);
    v = json_object_get(json_object_get(ev, "4"), "EV_EFI_BOOT_SERVICES_APPLICATION");
    assert_int_equal(json_array_size(json_object_get(v, "digests")), 2);
    assert_int_equal(json_integer_value(json_object_get(v, "max")), 5); /* shim + 4 loaders */
    v = json_object_get(json_object_get(ev, "0"), "EV_S_CRTM_VERSION");
    assert_int_equal(json_array_size(json_object_get(v, "digests")), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "max")), 1);
    assert_null(json_object_get(d, "open_pcrs")); /* closed */
    json_decref(d);
    assert_null(bootpolicy_derive(&log, 1u << 24));
    uefilog_free(&log);
    ulb_free(&b);

    s1.banks = sha1;
    s1.nbanks = 1;
    parse_boot(&s1, &b, &log);
    assert_null(bootpolicy_derive(&log, 0xff));
    uefilog_free(&log);
    ulb_free(&b);
}

static void test_derive_secure_boot_states(void **state)
{
    struct boot off = good(), none = good();
    struct ulb b;
    struct uefi_log log;
    json_t *d;

    off.secure_boot = 0;
    none.secure_boot = -1;
    parse_boot(&off, &b, &log);
    d = bootpolicy_derive(&log, 0xff | 1u << 13);
    assert_true(json_is_false(json_object_get(d, "secure_boot")));
    assert_true(json_is_true(json_object_get(d, "require_vtpm_in_kmod_list")));
    json_decref(d);
    uefilog_free(&log);
    ulb_free(&b);
    parse_boot(&none, &b, &log);
    d = bootpolicy_derive(&log, 0xff);
    assert_true(json_is_null(json_object_get(d, "secure_boot")));
    json_decref(d);
    uefilog_free(&log);
    ulb_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_defaults),
        cmocka_unit_test(test_load_negatives),
        cmocka_unit_test(test_load_event_negatives),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_derive_then_check_passes),
        cmocka_unit_test(test_check_digest_swapped),
        cmocka_unit_test(test_check_event_removed),
        cmocka_unit_test(test_check_secure_boot),
        cmocka_unit_test(test_check_secure_boot_only),
        cmocka_unit_test(test_derived_policy_closed),
        cmocka_unit_test(test_derived_empty_pcr_closed),
        cmocka_unit_test(test_hand_written_closed_and_open),
        cmocka_unit_test(test_max_in_open_pcr_and_capped),
        cmocka_unit_test(test_check_no_sha256),
        cmocka_unit_test(test_digest_reasons_capped),
        cmocka_unit_test(test_derive_content),
        cmocka_unit_test(test_derive_secure_boot_states),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
