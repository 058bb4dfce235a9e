/* SPDX-License-Identifier: BSD-3-Clause */
/* The container event log (docs/evidence.md): CBOR records in extend order, and its replay. */
#ifndef AGENT_EVENTLOG_H
#define AGENT_EVENTLOG_H

#include <cbor.h>
#include <stdint.h>

#include "digest.h"

#define EVENTLOG_PCRS 24
#define EVENTLOG_MAX_RECORDS 1024

struct eventlog {
    cbor_item_t *records; /* definite-length array of record maps */
    size_t count;
};

int eventlog_init(struct eventlog *log);
void eventlog_free(struct eventlog *log);

/*
 * Appends {recnum, pcr, digest, content}; content (a map; consumed, also on error) is stored
 * as its definite-length encoding decodes, and digest = SHA-256 of that encoding, which is
 * also returned in out (what to extend into pcr). Returns 0 or a negative errno.
 */
int eventlog_add(struct eventlog *log, unsigned pcr, cbor_item_t *content,
                 uint8_t out[DIGEST_LEN]);

/*
 * Replays records (an array as in the evidence): checks every record's shape, recnum order
 * and that digest is the SHA-256 of content's encoding, and computes the PCR values from
 * zero. pcrs[i] is valid where bit i of *used is set. Returns 0 or -EBADMSG.
 */
int eventlog_replay(const cbor_item_t *records, uint8_t pcrs[EVENTLOG_PCRS][DIGEST_LEN],
                    uint32_t *used);

#endif
