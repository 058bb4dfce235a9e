/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the Kubernetes admission webhook: AdmissionReview parsing and decisions against
 * a fake node table, the node lookup cache, node names, re-attestation due times and backoff. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../verifier/sched/admission.h"
#include "../../verifier/http/api.h"
#include "../../verifier/sched/sweeper.h"

#define NOW 1796119200 /* 2026-12-01T10:00:00Z */
#define D_OK  "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define D_BAD "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define IMG_OK  "registry.example/web:1.0@" D_OK
#define IMG_BAD "registry.example/web:1.0@" D_BAD

static int lookups;

/* The fake store: a few nodes in every state a verdict can be in. */
static int fake_lookup(void *arg, const char *node, json_t **out)
{
    const char *txt = NULL;

    lookups++;
    if (!strcmp(node, "db-down"))
        return -EIO;
    if (!strcmp(node, "good-1"))
        txt = "{\"node\":\"good-1\",\"host\":\"host:ab\",\"verdict\":\"allow\",\"reasons\":[],"
              "\"time\":1796119100,\"due\":1796119500}";
    else if (!strcmp(node, "forever-1"))
        txt = "{\"verdict\":\"allow\",\"reasons\":[],\"time\":1700000000,\"due\":0}";
    else if (!strcmp(node, "bad-1"))
        txt = "{\"verdict\":\"deny\",\"reasons\":[\"host-boot-digest-not-allowed:pcr 4\"],"
              "\"time\":1796119200,\"due\":0}";
    else if (!strcmp(node, "stale-1"))
        txt = "{\"verdict\":\"allow\",\"reasons\":[],\"time\":1796118000,\"due\":1796119200}";
    else if (!strcmp(node, "revoked-1"))
        txt = "{\"verdict\":\"deny\",\"reasons\":[\"reattest-missed\"],\"time\":1796119000,"
              "\"due\":0}";
    else if (!strcmp(node, "garbled-1"))
        txt = "{\"verdict\":7,\"time\":\"x\"}";
    if (!txt)
        return -ENOENT;
    *out = json_loads(txt, 0, NULL);
    return *out ? 0 : -ENOMEM;
}

static struct policy pol_images, pol_open, pol_strict;

/* The node and image tests send bare pods: their policies relax the launch rules a bare
 * container spec breaks (test_pod_security judges pods with the default rules). */
#define RELAXED_LAUNCH \
    "{\"allow_root\":true,\"require_no_new_privileges\":false,\"require_seccomp\":false," \
    "\"allowed_capabilities\":[\"CHOWN\",\"DAC_OVERRIDE\",\"FSETID\",\"FOWNER\",\"MKNOD\"," \
    "\"NET_RAW\",\"SETGID\",\"SETUID\",\"SETFCAP\",\"SETPCAP\",\"NET_BIND_SERVICE\"," \
    "\"SYS_CHROOT\",\"KILL\",\"AUDIT_WRITE\"]}"

static int setup(void **state)
{
    static const char with_list[] =
        "{\"version\":2,\"digests\":{\"image\":[\"" D_OK "\"],\"rootfs\":[],\"runtime\":[],"
        "\"agent\":null},\"launch\":" RELAXED_LAUNCH "}";
    static const char open_list[] = /* image list null: images not checked */
        "{\"version\":2,\"digests\":{\"image\":null,\"rootfs\":[],\"runtime\":[],"
        "\"agent\":null},\"launch\":" RELAXED_LAUNCH "}";
    char err[128];

    (void)state;
    if (policy_parse(with_list, strlen(with_list), &pol_images, err, sizeof(err)) < 0 ||
        policy_parse(open_list, strlen(open_list), &pol_open, err, sizeof(err)) < 0)
        return -1;
    return policy_default(&pol_strict);
}

static int teardown(void **state)
{
    (void)state;
    policy_free(&pol_images);
    policy_free(&pol_open);
    policy_free(&pol_strict);
    return 0;
}

/* An AdmissionReview of op on kind/sub with this object (JSON text, or NULL for null). */
static char *review(const char *uid, const char *op, const char *kind, const char *sub,
                    const char *object)
{
    char *s = NULL;

    assert_true(asprintf(&s,
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"%s\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"%s\"},"
        "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},%s%s%s"
        "\"operation\":\"%s\",\"namespace\":\"default\",\"name\":\"web\",\"object\":%s,"
        "\"userInfo\":{\"username\":\"system:kube-scheduler\"},\"dryRun\":false}}",
        uid, kind, sub ? "\"subResource\":\"" : "", sub ? sub : "", sub ? "\"," : "", op,
        object ? object : "null") > 0);
    return s;
}

/* review_own() of an object made by pod() or binding(), which it frees. */
static char *review_own(const char *uid, const char *op, const char *kind, const char *sub,
                        char *object)
{
    char *s = review(uid, op, kind, sub, object);

    free(object);
    return s;
}

static char *pod(const char *node, const char *image)
{
    char *s = NULL;

    assert_true(asprintf(&s, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
                             "\"web\"},\"spec\":{%s%s%s\"containers\":[{\"name\":\"app\","
                             "\"image\":\"%s\",\"ports\":[{\"containerPort\":80}]}]}}",
                         node ? "\"nodeName\":\"" : "", node ? node : "", node ? "\"," : "",
                         image) > 0);
    return s;
}

static char *binding(const char *node)
{
    char *s = NULL;

    assert_true(asprintf(&s, "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":"
                             "{\"name\":\"web\"},\"target\":{\"apiVersion\":\"v1\",\"kind\":"
                             "\"Node\",\"name\":\"%s\"}}", node) > 0);
    return s;
}

struct expect {
    int parse_rc, allowed;
    const char *msg, *warning; /* substrings; NULL: must be empty */
};

static void decide_text(const char *body, const struct policy *pol, int64_t max_age,
                        const struct expect *e)
{
    struct admission_cfg cfg = { pol, fake_lookup, NULL, max_age, NULL, 0, 0 };
    struct admission_req rq;
    struct admission_result res;
    char err[160] = "";
    int rc = admission_parse((const uint8_t *)body, strlen(body), &rq, err, sizeof(err));

    assert_int_equal(rc, e->parse_rc);
    if (rc == 0) {
        admission_decide(&cfg, &rq, NOW, &res);
        if (e->msg && !strstr(res.msg, e->msg))
            fail_msg("message \"%s\" lacks \"%s\"", res.msg, e->msg);
        assert_int_equal(res.allowed, e->allowed);
        if (!e->msg)
            assert_string_equal(res.msg, "");
        if (e->warning ? !strstr(res.warning, e->warning) : res.warning[0] != '\0')
            fail_msg("warning \"%s\", expected \"%s\"", res.warning, e->warning ? e->warning : "");
    } else {
        assert_true(err[0] != '\0');
    }
    admission_req_free(&rq);
}

static void decide(char *body, const struct policy *pol, const struct expect *e)
{
    decide_text(body, pol, 0, e);
    free(body);
}

static void test_pods(void **state)
{
    (void)state;
    decide(review_own("u1", "CREATE", "Pod", NULL, pod("good-1", IMG_OK)), &pol_images,
           &(struct expect){ 0, 1, NULL, NULL });
    decide(review_own("u1", "UPDATE", "Pod", NULL, pod("forever-1", IMG_OK)), &pol_images,
           &(struct expect){ 0, 1, NULL, NULL });
    decide(review_own("u2", "CREATE", "Pod", NULL, pod("worker-9", IMG_OK)), &pol_images,
           &(struct expect){ 0, 0, "node worker-9 is unknown to the verifier", NULL });
    decide(review_own("u3", "CREATE", "Pod", NULL, pod("bad-1", IMG_OK)), &pol_images,
           &(struct expect){ 0, 0, "node bad-1 has no passing host attestation: "
                                   "host-boot-digest-not-allowed:pcr 4; last attested "
                                   "2026-12-01T10:00:00Z", NULL });
    decide(review_own("u4", "CREATE", "Pod", NULL, pod("stale-1", IMG_OK)), &pol_images,
           &(struct expect){ 0, 0, "node stale-1's host attestation is stale (re-attestation "
                                   "missed at 2026-12-01T10:00:00Z)", NULL });
    decide(review_own("u5", "CREATE", "Pod", NULL, pod("revoked-1", IMG_OK)), &pol_images,
           &(struct expect){ 0, 0, "node revoked-1's host attestation is stale (re-attestation "
                                   "missed; revoked at 2026-12-01T09:56:40Z)", NULL });
    decide(review_own("u6", "CREATE", "Pod", NULL, pod("db-down", IMG_OK)), &pol_images,
           &(struct expect){ 0, 0, "verifier database unavailable", NULL });
    decide(review_own("u7", "CREATE", "Pod", NULL, pod("garbled-1", IMG_OK)), &pol_images,
           &(struct expect){ 0, 0, "node garbled-1: the verifier's record of it is unreadable",
                             NULL });
}

static void test_max_age(void **state)
{
    char *b = review_own("u1", "CREATE", "Pod", NULL, pod("forever-1", IMG_OK));

    (void)state;
    decide_text(b, &pol_images, 3600, &(struct expect){ 0, 0, "node forever-1's host "
                "attestation is too old (last attested 2023-11-14T22:13:20Z", NULL });
    decide_text(b, &pol_images, 0, &(struct expect){ 0, 1, NULL, NULL });
    free(b);
    b = review_own("u1", "CREATE", "Pod", NULL, pod("good-1", IMG_OK)); /* 100 s old */
    decide_text(b, &pol_images, 100, &(struct expect){ 0, 1, NULL, NULL });
    decide_text(b, &pol_images, 99, &(struct expect){ 0, 0, "too old", NULL });
    free(b);
}

static void test_images(void **state)
{
    (void)state;
    decide(review_own("u1", "CREATE", "Pod", NULL, pod("good-1", "nginx:1.25")), &pol_images,
           &(struct expect){ 0, 0, "image nginx:1.25 is not pinned by digest", NULL });
    decide(review_own("u1", "CREATE", "Pod", NULL, pod("good-1", IMG_BAD)), &pol_images,
           &(struct expect){ 0, 0, "image " IMG_BAD " digest " D_BAD " is not allowed by the "
                                   "verifier policy", NULL });
    /* upper-case hex, short digest, sha512, a digest without a name: not pinned */
    decide(review_own("u1", "CREATE", "Pod", NULL, pod("good-1", "web@sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
           &pol_images, &(struct expect){ 0, 0, "is not pinned by digest", NULL });
    decide(review_own("u1", "CREATE", "Pod", NULL, pod("good-1", "web@sha256:aaaa")), &pol_images,
           &(struct expect){ 0, 0, "is not pinned by digest", NULL });
    decide(review_own("u1", "CREATE", "Pod", NULL, pod("good-1", "web@sha512:" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")),
           &pol_images, &(struct expect){ 0, 0, "is not pinned by digest", NULL });
    decide(review_own("u1", "CREATE", "Pod", NULL, pod("good-1", "@" D_OK)), &pol_images,
           &(struct expect){ 0, 0, "is not pinned by digest", NULL });
    decide(review_own("u1", "CREATE", "Pod", NULL, pod("good-1", IMG_OK "0")), &pol_images,
           &(struct expect){ 0, 0, "is not pinned by digest", NULL });
    /* a null image list checks nothing */
    decide(review_own("u1", "CREATE", "Pod", NULL, pod("good-1", "nginx:1.25")), &pol_open,
           &(struct expect){ 0, 1, NULL, NULL });
    /* both the node and the image: both causes, in that order */
    decide(review_own("u1", "CREATE", "Pod", NULL, pod("bad-1", "nginx")), &pol_images,
           &(struct expect){ 0, 0, "last attested 2026-12-01T10:00:00Z; image nginx is not "
                                   "pinned by digest", NULL });
}

static void test_other_containers(void **state)
{
    static const char init_bad[] =
        "{\"spec\":{\"nodeName\":\"good-1\",\"containers\":[{\"name\":\"a\",\"image\":\"" IMG_OK
        "\"}],\"initContainers\":[{\"name\":\"init\",\"image\":\"busybox\"}]}}";
    static const char eph_bad[] =
        "{\"spec\":{\"nodeName\":\"good-1\",\"containers\":[{\"name\":\"a\",\"image\":\"" IMG_OK
        "\"}],\"ephemeralContainers\":[{\"name\":\"dbg\",\"image\":\"" IMG_BAD "\"}]}}";
    static const char all_ok[] =
        "{\"spec\":{\"containers\":[{\"image\":\"" IMG_OK "\"},{\"image\":\"" IMG_OK "\"}],"
        "\"initContainers\":[{\"image\":\"" IMG_OK "\"}],\"ephemeralContainers\":null}}";
    static const char no_image[] = "{\"spec\":{\"containers\":[{\"name\":\"noimg\"}]}}";

    (void)state;
    decide(review("u1", "CREATE", "Pod", NULL, init_bad), &pol_images,
           &(struct expect){ 0, 0, "image busybox is not pinned by digest", NULL });
    decide(review("u1", "CREATE", "Pod", NULL, eph_bad), &pol_images,
           &(struct expect){ 0, 0, "digest " D_BAD " is not allowed", NULL });
    /* kubectl debug: UPDATE of pods/ephemeralcontainers adds images to a running pod */
    decide(review("u1", "UPDATE", "Pod", "ephemeralcontainers", eph_bad), &pol_images,
           &(struct expect){ 0, 0, "digest " D_BAD " is not allowed", NULL });
    lookups = 0;
    decide(review("u1", "CREATE", "Pod", NULL, all_ok), &pol_images,
           &(struct expect){ 0, 1, NULL, NULL });
    assert_int_equal(lookups, 0); /* not scheduled yet: the node is checked at binding */
    decide(review("u1", "CREATE", "Pod", NULL, no_image), &pol_images,
           &(struct expect){ 0, 0, "container noimg has no image", NULL });
    decide(review("u1", "CREATE", "Pod", NULL, no_image), &pol_open,
           &(struct expect){ 0, 1, NULL, NULL });
}

static void test_bindings(void **state)
{
    (void)state;
    decide(review_own("u1", "CREATE", "Binding", "binding", binding("good-1")), &pol_images,
           &(struct expect){ 0, 1, NULL, NULL });
    decide(review_own("u1", "CREATE", "Binding", "binding", binding("bad-1")), &pol_images,
           &(struct expect){ 0, 0, "node bad-1 has no passing host attestation", NULL });
    decide(review_own("u1", "CREATE", "Binding", "binding", binding("worker-3")), &pol_images,
           &(struct expect){ 0, 0, "node worker-3 is unknown to the verifier", NULL });
    decide(review_own("u1", "CREATE", "Binding", "binding", binding("Worker_3")), &pol_images,
           &(struct expect){ 0, 0, "binding target.name is not a valid node name", NULL });
    decide(review("u1", "CREATE", "Binding", "binding", "{\"target\":{\"kind\":\"Pod\","
                  "\"name\":\"good-1\"}}"), &pol_images,
           &(struct expect){ 0, 0, "binding target is not a Node", NULL });
    decide(review("u1", "CREATE", "Binding", "binding", "{\"metadata\":{}}"), &pol_images,
           &(struct expect){ 0, 0, "binding without target.name", NULL });
    decide(review("u1", "CREATE", "Binding", "binding", NULL), &pol_images,
           &(struct expect){ 0, 0, "request.object is not an object", NULL });
}

static void test_unchecked(void **state)
{
    static const char deploy[] =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"d\",\"kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Pod\"},"
        "\"operation\":\"CREATE\",\"object\":{}}}";

    (void)state;
    /* DELETE is allowed whatever the object and the node */
    decide(review("u1", "DELETE", "Pod", NULL, NULL), &pol_images,
           &(struct expect){ 0, 1, NULL, NULL });
    decide(review_own("u1", "DELETE", "Pod", NULL, pod("bad-1", "nginx")), &pol_images,
           &(struct expect){ 0, 1, NULL, NULL });
    decide(review("u1", "CONNECT", "PodExecOptions", "exec", "{}"), &pol_images,
           &(struct expect){ 0, 1, NULL, "CONNECT of PodExecOptions/exec is not checked" });
    decide(review_own("u1", "UPDATE", "Pod", "status", pod("bad-1", "nginx")), &pol_images,
           &(struct expect){ 0, 1, NULL, "UPDATE of Pod/status is not checked" });
    decide(review("u1", "CREATE", "ConfigMap", NULL, "{}"), &pol_images,
           &(struct expect){ 0, 1, NULL, "CREATE of ConfigMap is not checked" });
    decide_text(deploy, &pol_images, 0, &(struct expect){ 0, 1, NULL, "is not checked" });
}

static void test_envelope(void **state)
{
    static const char *const bad[] = {
        "", "{", "[]", "null", "{\"apiVersion\":\"admission.k8s.io/v1\"}",
        "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\","
        "\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"}}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Review\","
        "\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"}}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":[]}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
        "\"request\":{\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"}}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
        "\"request\":{\"uid\":\"\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"}}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
        "\"request\":{\"uid\":7,\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"}}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
        "\"request\":{\"uid\":\"u\",\"kind\":{\"kind\":\"Pod\"}}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
        "\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":\"Pod\"}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"group\":1,\"kind\":\"Pod\"}}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"kind\":\"Pod\"},\"subResource\":3}}",
        /* duplicate keys: no second reading of the same object */
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u\",\"uid\":\"v\",\"operation\":\"DELETE\",\"kind\":{\"kind\":\"Pod\"}}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"\\u0000\",\"operation\":\"DELETE\",\"kind\":{\"kind\":\"Pod\"}}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"\xff\",\"operation\":\"DELETE\",\"kind\":{\"kind\":\"Pod\"}}}",
        /* what the review parser (cJSON) takes and JSON does not: refused as jansson did */
        /* a repeated key deep in a part admission does not read (managedFields) */
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u\",\"operation\":\"DELETE\",\"kind\":{\"kind\":\"Pod\"},\"object\":"
        "{\"metadata\":{\"managedFields\":[{\"f\":{\"a\":{},\"b\":{},\"c\":{},\"d\":{},\"e\":{},"
        "\"g\":{},\"h\":{},\"i\":{},\"j\":{},\"a\":{}}}]}}}}",
        /* a repeated key in a container's securityContext */
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"group\":\"\",\"kind\":\"Pod\"},"
        "\"object\":{\"spec\":{\"containers\":[{\"image\":\"a\",\"securityContext\":"
        "{\"privileged\":false,\"privileged\":true}}]}}}}",
        /* a NUL in an image would end it early for a C string */
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"group\":\"\",\"kind\":\"Pod\"},"
        "\"object\":{\"spec\":{\"containers\":[{\"image\":\"a@sha256:0\\u0000b\"}]}}}}",
        /* a raw control byte in a string; text after the value; a lone low surrogate */
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u\x01\",\"operation\":\"DELETE\",\"kind\":{\"kind\":\"Pod\"}}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u\",\"operation\":\"DELETE\",\"kind\":{\"kind\":\"Pod\"}}} x",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"\\udc00\",\"operation\":\"DELETE\",\"kind\":{\"kind\":\"Pod\"}}}",
        /* a number no double holds, where admission reads */
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u\",\"operation\":\"CREATE\",\"kind\":{\"group\":\"\",\"kind\":\"Pod\"},"
        "\"object\":{\"spec\":{\"hostPort\":1e999,\"containers\":[]}}}}",
    };
    char uid[ADMISSION_UID_MAX + 2];

    char deep[2048];
    size_t d = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        decide_text(bad[i], &pol_images, 0, &(struct expect){ -EINVAL, 0, NULL, NULL });
    /* nesting deeper than the parser's bound (cJSON's own is 1000) */
    d = (size_t)snprintf(deep, sizeof(deep), "{\"apiVersion\":\"admission.k8s.io/v1\","
                         "\"kind\":\"AdmissionReview\",\"x\":");
    for (int i = 0; i < 300; i++)
        deep[d++] = '[';
    for (int i = 0; i < 300; i++)
        deep[d++] = ']';
    snprintf(deep + d, sizeof(deep) - d, ",\"request\":{\"uid\":\"u\",\"operation\":\"DELETE\","
             "\"kind\":{\"kind\":\"Pod\"}}}");
    decide_text(deep, &pol_images, 0, &(struct expect){ -EINVAL, 0, NULL, NULL });
    memset(uid, 'u', sizeof(uid) - 1);
    uid[sizeof(uid) - 1] = '\0';
    decide(review(uid, "DELETE", "Pod", NULL, NULL), &pol_images,
           &(struct expect){ -EINVAL, 0, NULL, NULL });
    uid[sizeof(uid) - 2] = '\0'; /* exactly the maximum */
    decide(review(uid, "DELETE", "Pod", NULL, NULL), &pol_images,
           &(struct expect){ 0, 1, NULL, NULL });
}

static void test_malformed_objects(void **state)
{
    static const char *const objs[] = {
        "{}", "{\"spec\":[]}", "{\"spec\":{}}", "{\"spec\":{\"containers\":{}}}",
        "{\"spec\":{\"containers\":[7]}}", "{\"spec\":{\"containers\":[{\"image\":5}]}}",
        "{\"spec\":{\"containers\":[],\"initContainers\":\"x\"}}",
        "{\"spec\":{\"nodeName\":3,\"containers\":[]}}",
        "{\"spec\":{\"nodeName\":\"Worker_3\",\"containers\":[]}}",
        "{\"spec\":{\"nodeName\":\"-a\",\"containers\":[]}}",
        "{\"spec\":{\"nodeName\":\"a..b\",\"containers\":[]}}", "[]", "\"pod\"",
    };

    (void)state;
    lookups = 0;
    for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
        decide(review("u1", "CREATE", "Pod", NULL, objs[i]), &pol_open,
               &(struct expect){ 0, 0, "", NULL });
    assert_int_equal(lookups, 0);
    /* an empty containers list with a good node is a pod with nothing to check */
    decide(review("u1", "CREATE", "Pod", NULL, "{\"spec\":{\"nodeName\":\"good-1\","
                  "\"containers\":[]}}"), &pol_images, &(struct expect){ 0, 1, NULL, NULL });
}

static char *many_containers(size_t n, const char *image)
{
    size_t cap = 64 + n * (strlen(image) + 16);
    char *s = malloc(cap);
    size_t len;

    assert_non_null(s);
    len = (size_t)snprintf(s, cap, "{\"spec\":{\"containers\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s{\"image\":\"%s\"}", i ? "," : "", image);
    snprintf(s + len, cap - len, "]}}");
    return s;
}

static void test_big_and_odd(void **state)
{
    char *obj, *big;
    size_t n = 900 * 1024;

    (void)state;
    obj = many_containers(ADMISSION_IMAGES_MAX, IMG_OK);
    decide(review("u1", "CREATE", "Pod", NULL, obj), &pol_images,
           &(struct expect){ 0, 1, NULL, NULL });
    free(obj);
    obj = many_containers(ADMISSION_IMAGES_MAX + 1, IMG_OK);
    decide(review("u1", "CREATE", "Pod", NULL, obj), &pol_images,
           &(struct expect){ 0, 0, "more than 256 containers", NULL });
    free(obj);
    /* many bad images: the message is cut, never overflows, stays one deny */
    obj = many_containers(200, "nginx:latest-with-a-rather-long-tag-name-to-fill-the-message");
    decide(review("u1", "CREATE", "Pod", NULL, obj), &pol_images,
           &(struct expect){ 0, 0, "is not pinned by digest", NULL });
    free(obj);
    /* a large annotation the webhook does not read */
    big = malloc(n + 64);
    assert_non_null(big);
    memcpy(big, "{\"metadata\":{\"a\":\"", 18);
    memset(big + 18, 'x', n);
    strcpy(big + 18 + n, "\"},\"spec\":{\"containers\":[]}}");
    decide(review("u1", "CREATE", "Pod", NULL, big), &pol_images,
           &(struct expect){ 0, 1, NULL, NULL });
    free(big);
}

/* ---- the launch rules on the pod spec (podspec.c), default policy ---- */

#define SC_BASE "\"runAsNonRoot\":true,\"allowPrivilegeEscalation\":false," \
                "\"seccompProfile\":{\"type\":\"RuntimeDefault\"}"
#define DROP_ALL ",\"capabilities\":{\"drop\":[\"ALL\"]}"
#define SC_OK SC_BASE DROP_ALL

/* A pod with pod-level fields pod_extra (ending in ',' or "") and one container "app" whose
 * securityContext is SC_OK plus sc_extra (starting with ',' or ""; its own capabilities
 * replace DROP_ALL, an own key replaces SC_BASE's), and c_extra (ditto). */
static char *secpod(const char *pod_extra, const char *sc_extra, const char *c_extra)
{
    json_t *sc = json_loads("{" SC_OK "}", 0, NULL), *extra;
    char *s = NULL, *sct, *etxt = NULL;

    assert_true(asprintf(&etxt, "{%s}", sc_extra[0] ? sc_extra + 1 : "") > 0);
    assert_non_null(extra = json_loads(etxt, 0, NULL));
    assert_int_equal(json_object_update(sc, extra), 0);
    assert_non_null(sct = json_dumps(sc, JSON_COMPACT));
    assert_true(asprintf(&s, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
                             "\"web\",\"uid\":\"6f1e\"},\"spec\":{%s\"containers\":[{\"name\":\"app\","
                             "\"image\":\"" IMG_OK "\",\"securityContext\":%s%s}]}}",
                         pod_extra, sct, c_extra) > 0);
    json_decref(sc);
    json_decref(extra);
    free(sct);
    free(etxt);
    return s;
}

/* The message lists whole reasons, each one of the causes, then at most "and N more": never
 * a reason cut in the middle. */
static void msg_names_whole_reasons(const struct admission_result *res)
{
    char buf[ADMISSION_MSG_MAX], *p, *end, *tok, *save = NULL;
    size_t k;

    snprintf(buf, sizeof(buf), "%s", res->msg + 36);
    if ((end = strstr(buf, " (policy ")))
        *end = '\0';
    if ((end = strstr(buf, " and ")) && strstr(end, " more"))
        *end = '\0';
    for (p = buf; (tok = strtok_r(p, ",", &save)); p = NULL) {
        while (*tok == ' ')
            tok++;
        for (k = 0; k < res->n_reason && strcmp(res->reason[k], tok); k++)
            ;
        if (k == res->n_reason)
            fail_msg("\"%s\" in the message is not one of the causes: %s", tok, res->msg);
    }
}

static void test_pod_security(void **state)
{
    static const struct {
        const char *pod, *sc, *c, *reason; /* reason NULL: allowed */
    } t[] = {
        { "", "", "", NULL },
        { "", ",\"privileged\":true", "", "capability-not-allowed:ALL" },
        { "", ",\"privileged\":true", "", "device-rule-forbidden:a *:* rwm" },
        { "", ",\"privileged\":true", "", "sysfs-writable:/sys" },
        { "", ",\"privileged\":true", "", "masked-path-missing:/proc/kcore" },
        { "", ",\"privileged\":true", "", "no-new-privileges-missing" },
        { "", ",\"capabilities\":{\"drop\":[\"ALL\"],\"add\":[\"NET_ADMIN\"]}", "",
          "capability-not-allowed:NET_ADMIN" },
        { "", ",\"capabilities\":{\"drop\":[\"ALL\"],\"add\":[\"NET_BIND_SERVICE\"]}", "", NULL },
        { "", ",\"capabilities\":{\"add\":[]}", "", "capability-not-allowed:CHOWN" },
        { "", ",\"capabilities\":{\"drop\":[\"ALL\"],\"add\":[\"SYS_ADMIN\"]}", "",
          "no-new-privileges-missing" },
        { "\"hostNetwork\":true,", "", "", "host-namespace-forbidden:network" },
        { "\"hostNetwork\":true,", "", "", "host-namespace-forbidden:uts" },
        { "\"hostPID\":true,", "", "", "host-namespace-forbidden:pid" },
        { "\"hostIPC\":true,", "", "", "host-namespace-forbidden:ipc" },
        { "\"hostNetwork\":false,\"hostPID\":false,\"hostIPC\":false,", "", "", NULL },
        { "\"volumes\":[{\"name\":\"v\",\"hostPath\":{\"path\":\"/etc\"}}],", "",
          ",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/x\",\"readOnly\":true}]",
          "host-mount-sensitive:/etc (ro)" },
        { "\"volumes\":[{\"name\":\"v\",\"hostPath\":{\"path\":\"/data\"}}],", "",
          ",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/x\"}]",
          "host-mount-not-allowed:/data (rw)" },
        { "\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}],", "",
          ",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/x\"}]", NULL },
        { "", "", ",\"ports\":[{\"containerPort\":80,\"hostPort\":8080}]",
          "host-port-forbidden:8080" },
        { "", "", ",\"ports\":[{\"containerPort\":80}]", NULL },
        { "", ",\"seccompProfile\":{\"type\":\"Unconfined\"}", "", "seccomp-missing" },
        { "", ",\"seccompProfile\":{\"type\":\"Localhost\",\"localhostProfile\":\"p.json\"}", "",
          NULL },
        { "", ",\"runAsNonRoot\":false", "", "run-as-root:user not set" },
        { "", ",\"runAsUser\":0", "", "run-as-root" },
        { "\"securityContext\":{\"runAsUser\":0},", "", "", "run-as-root" },
        { "\"securityContext\":{\"runAsUser\":0},", ",\"runAsUser\":1000", "", NULL },
        { "\"hostUsers\":false,", ",\"runAsUser\":0", "", NULL },
        { "", ",\"runAsGroup\":0", "", "run-as-root-group:gid 0" },
        { "\"securityContext\":{\"supplementalGroups\":[0]},", "", "",
          "run-as-root-group:additional gid 0" },
        { "", ",\"allowPrivilegeEscalation\":true", "", "no-new-privileges-missing" },
        { "", ",\"procMount\":\"Unmasked\"", "", "masked-path-missing:/proc/kcore" },
        { "", ",\"procMount\":\"Unmasked\"", "", "readonly-path-missing:/proc/sys" },
        { "", ",\"procMount\":\"Default\"", "", NULL },
        { "\"securityContext\":{\"sysctls\":[{\"name\":\"kernel.msgmax\",\"value\":\"1\"}]},",
          "", "", "sysctl-forbidden:kernel.msgmax" },
        { "", ",\"appArmorProfile\":{\"type\":\"Unconfined\"}", "",
          "apparmor-profile-forbidden:unconfined" },
        { "", ",\"seLinuxOptions\":{\"type\":\"spc_t\"}", "", "selinux-type-forbidden:spc_t" },
    };
    struct admission_cfg cfg = { &pol_strict, fake_lookup, NULL, 0, NULL, 0, 0 };

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *b = review_own("u", "CREATE", "Pod", NULL, secpod(t[i].pod, t[i].sc, t[i].c));
        struct admission_req rq;
        struct admission_result res;
        char err[160];
        size_t k;

        assert_int_equal(admission_parse((const uint8_t *)b, strlen(b), &rq, err, sizeof(err)),
                         0);
        admission_decide(&cfg, &rq, NOW, &res);
        if (!t[i].reason) {
            if (!res.allowed)
                fail_msg("case %zu denied: %s", i, res.msg);
        } else {
            for (k = 0; k < res.n_reason && strcmp(res.reason[k], t[i].reason); k++)
                ;
            if (res.allowed || k == res.n_reason ||
                strncmp(res.msg, "pod spec violates the launch rules: ", 36))
                fail_msg("case %zu: no %s in \"%s\"", i, t[i].reason, res.msg);
            msg_names_whole_reasons(&res);
        }
        admission_req_free(&rq);
        free(b);
    }
}

/* The deny names each reason in status.details.causes; an init container is judged too. */
static void test_pod_security_response(void **state)
{
    static const char obj[] =
        "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"securityContext\":{"
        SC_OK "}}],\"initContainers\":[{\"name\":\"i\",\"image\":\"x\",\"securityContext\":{"
        SC_BASE ",\"capabilities\":{\"add\":[\"SYS_PTRACE\"],\"drop\":[\"ALL\"]}}}]}}";
    char *b = review("u9", "CREATE", "Pod", NULL, obj);
    struct admission_cfg cfg = { &pol_strict, fake_lookup, NULL, 0, NULL, 0, 0 };
    struct admission_req rq;
    struct admission_result res;
    char err[160];
    json_t *j, *causes;

    (void)state;
    assert_int_equal(admission_parse((const uint8_t *)b, strlen(b), &rq, err, sizeof(err)), 0);
    admission_decide(&cfg, &rq, NOW, &res);
    assert_false(res.allowed);
    assert_non_null(j = admission_response(&rq, &res));
    causes = json_object_get(json_object_get(json_object_get(json_object_get(j, "response"),
                                                             "status"), "details"), "causes");
    assert_int_equal(json_array_size(causes), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(causes, 0), "reason")),
                        "capability-not-allowed:SYS_PTRACE");
    json_decref(j);
    admission_req_free(&rq);
    free(b);
}

static void test_response(void **state)
{
    char *b = review_own("4b1f-uid-\\u00e9", "CREATE", "Pod", NULL, pod("bad-1", "nginx"));
    struct admission_cfg cfg = { &pol_images, fake_lookup, NULL, 0, NULL, 0, 0 };
    struct admission_req rq;
    struct admission_result res;
    char err[160];
    json_t *j, *r;

    (void)state;
    assert_int_equal(admission_parse((const uint8_t *)b, strlen(b), &rq, err, sizeof(err)), 0);
    admission_decide(&cfg, &rq, NOW, &res);
    assert_non_null(j = admission_response(&rq, &res));
    assert_string_equal(json_string_value(json_object_get(j, "apiVersion")), "admission.k8s.io/v1");
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "AdmissionReview");
    r = json_object_get(j, "response");
    assert_string_equal(json_string_value(json_object_get(r, "uid")), "4b1f-uid-\xc3\xa9");
    assert_true(json_is_false(json_object_get(r, "allowed")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "status"), "code")), 403);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "status"), "message")),
                        res.msg);
    json_decref(j);
    admission_req_free(&rq);
    free(b);
    /* allowed: no status; a warning goes in "warnings" */
    b = review("u-ok", "CONNECT", "PodExecOptions", "exec", "{}");
    assert_int_equal(admission_parse((const uint8_t *)b, strlen(b), &rq, err, sizeof(err)), 0);
    admission_decide(&cfg, &rq, NOW, &res);
    assert_non_null(j = admission_response(&rq, &res));
    r = json_object_get(j, "response");
    assert_true(json_is_true(json_object_get(r, "allowed")));
    assert_null(json_object_get(r, "status"));
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "warnings"), 0)),
                        res.warning);
    json_decref(j);
    admission_req_free(&rq);
    free(b);
}

/* Request strings quoted in the message are cut at byte limits and may hold control
 * characters: the message must stay valid UTF-8 without them, or there is no response. */
static void test_message_sanitized(void **state)
{
    char img[260], *b;
    struct admission_cfg cfg = { &pol_images, fake_lookup, NULL, 0, NULL, 0, 0 };
    struct admission_req rq;
    struct admission_result res;
    char err[160];
    json_t *j;

    (void)state;
    memset(img, 'a', 199);
    strcpy(img + 199, "\\u00e9\\u0001tail"); /* é straddles the 200-byte cut */
    b = review_own("u", "CREATE", "Pod", NULL, pod("good-1", img));
    assert_int_equal(admission_parse((const uint8_t *)b, strlen(b), &rq, err, sizeof(err)), 0);
    admission_decide(&cfg, &rq, NOW, &res);
    assert_false(res.allowed);
    assert_non_null(strstr(res.msg, "a? is not pinned"));
    assert_non_null(j = admission_response(&rq, &res));
    json_decref(j);
    admission_req_free(&rq);
    free(b);
    b = review_own("u", "CREATE", "Pod", NULL, pod("good-1", "x\\u0001\\u007fy"));
    assert_int_equal(admission_parse((const uint8_t *)b, strlen(b), &rq, err, sizeof(err)), 0);
    admission_decide(&cfg, &rq, NOW, &res);
    assert_non_null(strstr(res.msg, "image x??y is not pinned"));
    admission_req_free(&rq);
    free(b);
}

static void test_node_names(void **state)
{
    char long_ok[ADMISSION_NODE_MAX + 2];

    (void)state;
    assert_true(admission_node_name_ok("worker-3"));
    assert_true(admission_node_name_ok("ip-10-0-0-1.eu-west-1.compute.internal"));
    assert_true(admission_node_name_ok("a"));
    assert_false(admission_node_name_ok(""));
    assert_false(admission_node_name_ok(NULL));
    assert_false(admission_node_name_ok("Worker"));
    assert_false(admission_node_name_ok("-a"));
    assert_false(admission_node_name_ok("a-"));
    assert_false(admission_node_name_ok("a.-b"));
    assert_false(admission_node_name_ok("a..b"));
    assert_false(admission_node_name_ok("a/b"));
    assert_false(admission_node_name_ok("a_b"));
    memset(long_ok, 'a', ADMISSION_NODE_MAX);
    long_ok[ADMISSION_NODE_MAX] = '\0';
    assert_true(admission_node_name_ok(long_ok));
    long_ok[ADMISSION_NODE_MAX] = 'a';
    long_ok[ADMISSION_NODE_MAX + 1] = '\0';
    assert_false(admission_node_name_ok(long_ok));
}

static int cached(struct admission_cache *c, int64_t ms, const char *node, int *hit)
{
    json_t *j = NULL;
    int r = admission_cache_lookup(c, ms, node, fake_lookup, NULL, &j, hit);

    assert_true(r == 0 ? j != NULL : j == NULL);
    if (j)
        assert_non_null(json_object_get(j, "verdict"));
    json_decref(j);
    return r;
}

static void test_cache_ttl(void **state)
{
    struct admission_cache *c = admission_cache_new(64, 1000);
    int hit;

    (void)state;
    assert_non_null(c);
    lookups = 0;
    assert_int_equal(cached(c, 5000, "good-1", &hit), 0);
    assert_false(hit);
    for (int i = 0; i < 100; i++) /* a burst: one query */
        assert_int_equal(cached(c, 5000 + i, "good-1", &hit), 0);
    assert_true(hit);
    assert_int_equal(lookups, 1);
    assert_int_equal(cached(c, 5999, "good-1", &hit), 0);
    assert_true(hit);
    assert_int_equal(cached(c, 6000, "good-1", &hit), 0); /* TTL over: asked again */
    assert_false(hit);
    assert_int_equal(lookups, 2);
    /* unknown nodes and database errors are remembered too (both deny) */
    assert_int_equal(cached(c, 6000, "nobody", &hit), -ENOENT);
    assert_int_equal(cached(c, 6001, "nobody", &hit), -ENOENT);
    assert_true(hit);
    assert_int_equal(cached(c, 6000, "db-down", &hit), -EIO);
    assert_int_equal(cached(c, 6001, "db-down", &hit), -EIO);
    assert_true(hit);
    assert_int_equal(lookups, 4);
    /* a clock that went backwards never serves an entry */
    assert_int_equal(cached(c, 4000, "good-1", &hit), 0);
    assert_false(hit);
    admission_cache_free(c);
}

/* A verdict this instance just stored is never answered from the cache. */
static void test_cache_forget(void **state)
{
    struct admission_cache *c = admission_cache_new(64, 1000);
    int hit;

    (void)state;
    lookups = 0;
    assert_int_equal(cached(c, 5000, "good-1", &hit), 0);
    assert_int_equal(cached(c, 5001, "good-1", &hit), 0);
    assert_true(hit);
    admission_cache_forget(c, "good-1");
    admission_cache_forget(c, "never-seen");
    assert_int_equal(cached(c, 5002, "good-1", &hit), 0);
    assert_false(hit);
    assert_int_equal(lookups, 2);
    assert_int_equal(admission_cache_size(c), 1);
    admission_cache_forget(NULL, "good-1");
    admission_cache_free(c);
}

/* A lookup whose store query runs while the node's verdict is stored (another serving thread
 * forgets the node meanwhile) must not enter the row it read, which may be the old one. */
static struct admission_cache *g_racing;
static int forget_while_reading(void *arg, const char *node, json_t **out)
{
    int r = fake_lookup(arg, node, out);

    admission_cache_forget(g_racing, node); /* the writer, between the read and the entry */
    return r;
}

static void test_cache_forget_during_lookup(void **state)
{
    json_t *j = NULL;
    int hit;

    (void)state;
    assert_non_null(g_racing = admission_cache_new(64, 1000));
    lookups = 0;
    assert_int_equal(admission_cache_lookup(g_racing, 5000, "good-1", forget_while_reading, NULL,
                                            &j, &hit), 0);
    assert_non_null(j);
    json_decref(j);
    assert_int_equal(admission_cache_size(g_racing), 0);
    assert_int_equal(cached(g_racing, 5001, "good-1", &hit), 0);
    assert_false(hit); /* asked again: the row read across the forget was not kept */
    assert_int_equal(cached(g_racing, 5002, "good-1", &hit), 0);
    assert_true(hit);
    admission_cache_free(g_racing);
    g_racing = NULL;
}

#define CACHE_THREADS 4
#define CACHE_ROUNDS  3000
static atomic_int t_lookups;

static int counting_lookup(void *arg, const char *node, json_t **out)
{
    atomic_fetch_add(&t_lookups, 1);
    *out = json_pack("{s:s, s:s}", "node", node, "verdict", "allow");
    return *out ? 0 : -ENOMEM;
}

/* Serving threads share one cache (make tsan runs this under ThreadSanitizer): lookups of a few
 * nodes, forgets and expiry at once; every answer is the asked node's. */
static void *cache_worker(void *arg)
{
    struct admission_cache *c = arg;
    char node[16];

    for (int i = 0; i < CACHE_ROUNDS; i++) {
        json_t *j = NULL;
        int hit;

        snprintf(node, sizeof(node), "n-%d", i % 13);
        if (admission_cache_lookup(c, 1000 + i / 10, node, counting_lookup, NULL, &j, &hit) != 0 ||
            strcmp(json_string_value(json_object_get(j, "node")), node)) {
            json_decref(j);
            return (void *)1;
        }
        json_decref(j);
        if (i % 97 == 0)
            admission_cache_forget(c, node);
        (void)admission_cache_size(c);
    }
    return NULL;
}

static void test_cache_threads(void **state)
{
    struct admission_cache *c = admission_cache_new(64, 50);
    pthread_t t[CACHE_THREADS];
    void *rv;

    (void)state;
    assert_non_null(c);
    for (int i = 0; i < CACHE_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, cache_worker, c), 0);
    for (int i = 0; i < CACHE_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], &rv), 0);
        assert_null(rv);
    }
    assert_true(atomic_load(&t_lookups) < CACHE_THREADS * CACHE_ROUNDS); /* some hits */
    assert_true(admission_cache_size(c) <= 64);
    admission_cache_free(c);
}

static void test_cache_bounded(void **state)
{
    struct admission_cache *c = admission_cache_new(64, 1000);
    char node[32];
    int hit;

    (void)state;
    assert_non_null(c);
    for (int i = 0; i < 10000; i++) {
        snprintf(node, sizeof(node), "node-%d", i);
        cached(c, 100, node, &hit);
        assert_true(admission_cache_size(c) <= 64);
    }
    assert_true(admission_cache_size(c) > 32);
    /* once expired, entries go even if nobody asks for them again */
    for (int i = 0; i < 64; i++)
        cached(c, 5000 + i, "good-1", &hit);
    assert_int_equal(admission_cache_size(c), 1);
    admission_cache_free(c);
    /* TTL 0 is no cache; NULL is no cache */
    assert_non_null(c = admission_cache_new(64, 0));
    lookups = 0;
    cached(c, 1, "good-1", &hit);
    cached(c, 1, "good-1", &hit);
    assert_false(hit);
    assert_int_equal(lookups, 2);
    admission_cache_free(c);
    cached(NULL, 1, "good-1", &hit);
    assert_false(hit);
}

static void test_due_and_backoff(void **state)
{
    struct api_ctx c = { 0 };

    (void)state;
    assert_int_equal(api_due(&c, NOW), 0); /* interval 0: never due */
    c.reattest_interval = 300;
    c.reattest_grace = 60;
    assert_int_equal(api_due(&c, NOW), NOW + 360);
    assert_int_equal(sweeper_backoff(1), 1);
    assert_int_equal(sweeper_backoff(2), 2);
    assert_int_equal(sweeper_backoff(3), 4);
    assert_int_equal(sweeper_backoff(9), 256);
    assert_int_equal(sweeper_backoff(10), SWEEPER_BACKOFF_MAX_S);
    assert_int_equal(sweeper_backoff(1000), SWEEPER_BACKOFF_MAX_S);
    assert_int_equal(sweeper_backoff(0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pods),
        cmocka_unit_test(test_max_age),
        cmocka_unit_test(test_images),
        cmocka_unit_test(test_other_containers),
        cmocka_unit_test(test_bindings),
        cmocka_unit_test(test_unchecked),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_malformed_objects),
        cmocka_unit_test(test_big_and_odd),
        cmocka_unit_test(test_pod_security),
        cmocka_unit_test(test_pod_security_response),
        cmocka_unit_test(test_response),
        cmocka_unit_test(test_message_sanitized),
        cmocka_unit_test(test_node_names),
        cmocka_unit_test(test_cache_ttl),
        cmocka_unit_test(test_cache_bounded),
        cmocka_unit_test(test_cache_forget),
        cmocka_unit_test(test_cache_forget_during_lookup),
        cmocka_unit_test(test_cache_threads),
        cmocka_unit_test(test_due_and_backoff),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
