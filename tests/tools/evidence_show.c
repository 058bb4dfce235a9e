/* SPDX-License-Identifier: BSD-3-Clause */
/* Test tool: splits an attest-agent evidence file into files tpm2-tools read (quote message,
 * signature, AK public, replayed PCR values) and prints the fields the tests compare. With
 * --state it replays the event log of an `attest-agent monitor` state file (<key>.ctr) and
 * prints PCR 11 and the record types (tests/kernel/t_94_monitor.sh). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "digest.h"
#include "eventlog.h"
#include "fileio.h"
#include "hexutil.h"

static void hexline(const char *label, const uint8_t *b, size_t n)
{
    char *h = malloc(2 * n + 1);

    if (!h)
        return;
    hex_encode(b, n, h);
    printf("%s: %s\n", label, h);
    free(h);
}

static int save(int dirfd, const cbor_item_t *ev, const char *key, const char *file)
{
    const uint8_t *p;
    size_t len;

    if (ctl_get_bytes(ev, key, &p, &len)) {
        fprintf(stderr, "evidence_show: no byte string \"%s\"\n", key);
        return -1;
    }
    return file_write_atomic(dirfd, file, p, len, 0644) ? -1 : 0;
}

static void print_types(const cbor_item_t *log)
{
    char type[64];

    printf("types:");
    for (size_t i = 0; i < cbor_array_size(log); i++) {
        const cbor_item_t *c = ctl_get(cbor_array_handle(log)[i], "content");
        if (c && !ctl_get_str(c, "type", type, sizeof(type)))
            printf(" %s", type);
    }
    printf("\n");
}

/* Replayed PCRs 8 to 11 (the quote's selection; 11 holds runtime records, zero at the start)
 * into pcrs.bin (tpm2_checkquote -f with -l sha256:8,9,10,11). */
static int replay(int dirfd, const cbor_item_t *ev)
{
    uint8_t pcrs[EVENTLOG_PCRS][DIGEST_LEN], cat[4 * DIGEST_LEN];
    const cbor_item_t *log = ctl_get(ev, "event_log");
    uint32_t used = 0;

    if (eventlog_replay(log, pcrs, &used) || (used & 0x700) != 0x700) {
        fprintf(stderr, "evidence_show: the event log does not replay PCRs 8, 9, 10\n");
        return -1;
    }
    if (!(used & 0x800))
        memset(pcrs[11], 0, DIGEST_LEN);
    for (int i = 0; i < 4; i++) {
        char label[24];
        snprintf(label, sizeof(label), "replay_%d", 8 + i);
        hexline(label, pcrs[8 + i], DIGEST_LEN);
        memcpy(cat + i * DIGEST_LEN, pcrs[8 + i], DIGEST_LEN);
    }
    printf("records: %zu\n", cbor_array_size(log));
    print_types(log);
    return file_write_atomic(dirfd, "pcrs.bin", cat, sizeof(cat), 0644) ? -1 : 0;
}

static int show(const cbor_item_t *ev, int dirfd)
{
    const uint8_t *nonce;
    size_t len;
    char text[128];

    if (ctl_get_bytes(ev, "nonce", &nonce, &len))
        return -1;
    hexline("nonce", nonce, len);
    if (!ctl_get_str(ev, "container_id", text, sizeof(text)))
        printf("container_id: %s\n", text);
    if (!ctl_get_str(ev, "vtpm_uuid", text, sizeof(text)))
        printf("vtpm_uuid: %s\n", text);
    printf("registration: %s\n", ctl_get(ev, "registration") ? "present" : "absent");
    if (save(dirfd, ev, "quote_attest", "quote.attest") || save(dirfd, ev, "quote_sig", "quote.sig") ||
        save(dirfd, ev, "ak_pub", "ak.pub") || save(dirfd, ev, "ek_cert", "ek.der"))
        return -1;
    return replay(dirfd, ev);
}

/* The monitor's saved log (key "log"): PCR 11 as its records replay (zero without any). */
static int show_state(const cbor_item_t *st)
{
    uint8_t pcrs[EVENTLOG_PCRS][DIGEST_LEN];
    const cbor_item_t *log = ctl_get(st, "log");
    uint32_t used = 0;

    if (!log || eventlog_replay(log, pcrs, &used)) {
        fprintf(stderr, "evidence_show: the state's event log does not replay\n");
        return -1;
    }
    if (!(used & 0x800))
        memset(pcrs[11], 0, DIGEST_LEN);
    hexline("replay_11", pcrs[11], DIGEST_LEN);
    printf("records: %zu\n", cbor_array_size(log));
    print_types(log);
    return 0;
}

int main(int argc, char **argv)
{
    cbor_item_t *ev = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int dirfd, r = 1;

    if (argc == 3 && !strcmp(argv[1], "--state")) {
        if (file_read_all(AT_FDCWD, argv[2], 1u << 22, &buf, &len) || ctl_decode(buf, len, &ev)) {
            fprintf(stderr, "evidence_show: %s: not a readable CBOR map\n", argv[2]);
            free(buf);
            return 1;
        }
        r = show_state(ev) ? 1 : 0;
        cbor_decref(&ev);
        free(buf);
        return r;
    }
    if (argc != 3 || file_read_all(AT_FDCWD, argv[1], 1u << 22, &buf, &len)) {
        fprintf(stderr, "usage: evidence_show EVIDENCE OUTDIR | evidence_show --state FILE.ctr\n");
        return 2;
    }
    dirfd = open(argv[2], O_RDONLY | O_DIRECTORY);
    if (dirfd >= 0 && ctl_decode(buf, len, &ev) == 0)
        r = show(ev, dirfd) ? 1 : 0;
    else
        fprintf(stderr, "evidence_show: not a CBOR map or no OUTDIR\n");
    if (ev)
        cbor_decref(&ev);
    free(buf);
    return r;
}
