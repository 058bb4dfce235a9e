/* SPDX-License-Identifier: BSD-3-Clause */
/* The container event log (docs/evidence.md): record checks, PCR replay, measured values. */
#ifndef VERIFIER_EVENTLOG_H
#define VERIFIER_EVENTLOG_H

#include <cbor.h>
#include <stdint.h>

#include "check/evidence.h"
#include "check/reasons.h"

#define EVENTLOG_MAX_RECORDS 1024u
#define MEASURE_MAX_TEXT     256u

/* What the log says was measured; pointers borrow from the evidence's CBOR. */
struct measurements {
    int has_image, has_rootfs, has_runtime, has_agent;
    char image_digest[MEASURE_MAX_TEXT], image_ref[MEASURE_MAX_TEXT];
    char rootfs_digest[MEASURE_MAX_TEXT];
    char runtime_digest[MEASURE_MAX_TEXT], runtime_path[MEASURE_MAX_TEXT];
    char agent_digest[MEASURE_MAX_TEXT];
    const cbor_item_t *launch_config; /* the launch-config record's `config` map, or NULL */
};

/*
 * Checks every record (structure, recnum order, PCR assignment per type, digest = SHA-256 of
 * the content's encoding), replays the log and compares the result with the PCR values of
 * the evidence (a quoted PCR no record touches must be zero; a record for a PCR that is not
 * in the evidence is an error). Problems go to r; m is filled from the well-formed records.
 * Returns 0 when the log could be walked, -EBADMSG when it is malformed (reason added).
 */
int vf_eventlog_check(const struct evidence *ev, struct measurements *m, struct reasons *r);

/* Replay only: pcr[i] for i < 24 from zero, over every record (no checks). For tools. */
int vf_eventlog_replay(const cbor_item_t *log, uint8_t pcr[24][32]);

#endif
