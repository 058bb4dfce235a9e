/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `attest-agent prepare`: AK creation and registration (credential activation) for a vTPM
 * made ahead of a container start. Nothing is measured or extended: PCRs 8-10 stay zero, so
 * the hook still accepts the vTPM as fresh, and the verifier's checks are the same as when
 * the hook registers by itself; only the time of the registration moves.
 */
#include "prepare.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "attest.h"
#include "deadline.h"
#include "http.h"
#include "log.h"
#include "registration.h"

static int prepare_steps(const struct agent_opts *o, struct attest *a, char reg[REG_ID_MAX])
{
    int64_t deadline = deadline_now_ms() + o->timeout_ms;
    struct mgr_client mgr = { .run_dir = o->run_dir, .timeout_ms = o->timeout_ms };
    struct http_opts ho = { .base_url = o->verifier, .ca = o->ca, .cert = o->cert,
                            .key = o->key, .deadline = deadline };
    struct evidence e;
    int r;

    if ((r = attest_open(a, &mgr, o->vtpm)) < 0)
        return r;
    attest_identity(a, &e);
    return registration_ensure(a, &e, &ho, reg);
}

int prepare_run(const struct agent_opts *o)
{
    struct attest a;
    char reg[REG_ID_MAX] = "";
    int r;

    memset(&a, 0, sizeof(a));
    r = prepare_steps(o, &a, reg);
    if (r == 0) {
        json_t *j = json_pack("{s:s, s:s}", "vtpm", a.vt.uuid, "registration", reg);
        if (!j || json_dumpf(j, stdout, 0) || putchar('\n') == EOF)
            r = -EIO;
        json_decref(j);
    }
    if (r < 0)
        fprintf(stderr, "attest-agent: vTPM %s not prepared: %s\n", o->vtpm, strerror(-r));
    attest_close(&a);
    return r == 0 ? 0 : 1;
}
