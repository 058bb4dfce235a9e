/* SPDX-License-Identifier: BSD-3-Clause */
/* `verifier policy check-image`: judges one image (reference, manifest digest) by a policy's
 * image_signatures section exactly as evidence and admission are judged (imagesig.c). */
#include "check/cmd_sigs.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check/imagesig.h"
#include "check/policy.h"
#include "check/reasons.h"
#include "check/sigkeys.h"

#define EXIT_ALLOW 0
#define EXIT_DENY  1
#define EXIT_USAGE 2

int cmd_policy_check_image(int argc, char **argv)
{
    static const struct option lo[] = {
        { "policy", required_argument, NULL, 'p' },
        { "image", required_argument, NULL, 'i' },
        { "digest", required_argument, NULL, 'd' },
        { "time", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = NULL, *image = NULL, *digest = NULL, *at;
    struct policy pol = { 0 };
    struct reasons r = { 0 };
    int64_t now = (int64_t)time(NULL);
    char err[512], *s;
    json_t *j;
    int c, rc = EXIT_USAGE;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'p': path = optarg; break;
        case 'i': image = optarg; break;
        case 'd': digest = optarg; break;
        case 't':
            if (sig_time_parse(optarg, &now) < 0) {
                fprintf(stderr, "verifier: --time %s is not YYYY-MM-DDTHH:MM:SSZ\n", optarg);
                return EXIT_USAGE;
            }
            break;
        default: return EXIT_USAGE;
        }
    }
    if (!path || !image || optind != argc) {
        fprintf(stderr, "usage: verifier policy check-image --policy FILE --image REF "
                "[--digest sha256:HEX] [--time YYYY-MM-DDTHH:MM:SSZ]\n");
        return EXIT_USAGE;
    }
    if (!digest && (at = strrchr(image, '@')))
        digest = at + 1; /* REF@sha256:HEX */
    if (policy_load(path, &pol, err, sizeof(err)) < 0) {
        fprintf(stderr, "verifier: policy %s: %s\n", path, err);
        return EXIT_USAGE;
    }
    if (!pol.sig) {
        fprintf(stderr, "verifier: policy %s has no image_signatures section\n", path);
        goto out;
    }
    imagesig_check(pol.sig, image, digest ? digest : "", now, &r);
    j = json_pack("{s:s, s:o}", "verdict", reasons_deny(&r) ? "deny" : "allow", "reasons",
                  reasons_json(&r));
    s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (s) {
        printf("%s\n", s);
        rc = reasons_deny(&r) ? EXIT_DENY : EXIT_ALLOW;
    }
    free(s);
    json_decref(j);
out:
    reasons_free(&r);
    policy_free(&pol);
    return rc;
}
