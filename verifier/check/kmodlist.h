/* SPDX-License-Identifier: BSD-3-Clause */
/* The kmod-vtpm measurement list as the host exposes it (docs/kmod-vtpm.md): strict parse,
 * SHA-256 replay, and the question "was this vTPM created on this host's kernel?". */
#ifndef VERIFIER_KMODLIST_H
#define VERIFIER_KMODLIST_H

#include <stddef.h>
#include <stdint.h>

#define KMODLIST_MAX_LINE 1024u

struct kmod_replay {
    uint32_t pcr;        /* the PCR every line names (the load line's pcr=) */
    uint8_t value[32];   /* SHA-256 bank value the whole list predicts */
    size_t lines;
    /* The list is read apart from the quote, so lines may have been added after it: matched
     * is the number of leading lines whose replay equals the quoted value (0: none does). */
    size_t matched;
};

/*
 * Checks every line (`<pcr> <sha256(event) hex> <event>\n`, the first one op=load with the
 * SHA-256 base it starts from) and replays it; quoted (may be NULL) is the PCR value the
 * host quote holds. 0, or -EBADMSG with a reason in err ("line 3: digest does not match").
 */
int kmodlist_replay(const uint8_t *buf, size_t len, const uint8_t *quoted,
                    struct kmod_replay *out, char *err, size_t errsz);

/* 1 when the first `lines` lines of a replayed list have an op=create for uuid (lower-case
 * text) with this EK digest and no later op=destroy of it within them; 0 otherwise. */
int kmodlist_has_vtpm(const uint8_t *buf, size_t len, size_t lines, const char *uuid,
                      const uint8_t ek_digest[32]);

#endif
