/* SPDX-License-Identifier: BSD-3-Clause */
/* The host's UEFI (TCG PC Client crypto-agile) event log: parser, sha256 replay, event names. */
#ifndef VERIFIER_UEFILOG_H
#define VERIFIER_UEFILOG_H

#include <stddef.h>
#include <stdint.h>

#define UEFILOG_MAX_SIZE (4u * 1024u * 1024u)
#define UEFILOG_MAX_EVENTS 65536u
#define UEFILOG_PCRS 24u

/* Event types of the TCG PC Client Platform Firmware Profile that the code looks at. */
#define EV_NO_ACTION 0x00000003u
#define EV_SEPARATOR 0x00000004u
#define EV_EFI_VARIABLE_DRIVER_CONFIG 0x80000001u
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u

struct uefi_event {
    uint32_t index;      /* record number, 0 = the Spec ID header record */
    uint32_t pcr, type;  /* as in the log */
    int has_sha256;      /* the record carries a sha256 digest */
    uint8_t sha256[32];
    const uint8_t *data; /* event data, borrowed from the buffer given to uefilog_parse */
    size_t data_len;
};

struct uefi_log {
    struct uefi_event *ev; size_t n; /* callee-allocated */
    uint8_t startup_locality;  /* from an EV_NO_ACTION "StartupLocality" event, else 0 */
    int has_sha256_bank;       /* the Spec ID table lists sha256 */
};

/* A UEFI_VARIABLE_DATA event body (EV_EFI_VARIABLE_*), pointers into the event's data. */
struct uefi_variable {
    const uint8_t *guid;       /* 16 bytes, EFI_GUID memory layout */
    const uint8_t *name;       /* UTF-16LE, name_chars code units, no terminator */
    size_t name_chars;
    const uint8_t *value;
    size_t value_len;
};

/* 0, or -EBADMSG with a short human reason in err ("record 12: truncated digest", ...), or
 * -ENOMEM. Rejects: wrong header, algorithm ids not in the Spec ID table, digest counts other
 * than the table's, sizes out of bounds, pcr > 23 (except EV_NO_ACTION records, which are not
 * extended), truncation, more than UEFILOG_MAX_SIZE bytes or UEFILOG_MAX_EVENTS records, an
 * empty buffer, and any byte after the last record, zero padding included (the kernel's file
 * ends exactly at the last record; docs/uefi-log.md). On error *out is left empty. */
int uefilog_parse(const uint8_t *buf, size_t len, struct uefi_log *out, char *err, size_t errsz);
void uefilog_free(struct uefi_log *log);

/* Replays the sha256 bank: pcr[i] starts at zero (PCR 0 at the startup locality in its last
 * byte, per the PC Client spec), EV_NO_ACTION records are skipped, every other record extends
 * pcr = SHA-256(pcr || digest). touched gets bit i set when some record extended PCR i. */
void uefilog_replay_sha256(const struct uefi_log *log, uint8_t pcr[24][32], uint32_t *touched);

/* Stable names: "EV_POST_CODE", "EV_SEPARATOR", "EV_EFI_BOOT_SERVICES_APPLICATION", ... and
 * "0x%08x" for unknown types (written into caller's buf). */
const char *uefilog_type_name(uint32_t type, char *buf, size_t len);
/* A stable name or "0x" followed by 1 to 8 hex digits. 0 or -EINVAL. */
int uefilog_type_from_name(const char *name, uint32_t *type);

/* Splits an EV_EFI_VARIABLE_* event body; 0 or -EBADMSG when the sizes do not add up exactly. */
int uefilog_variable(const struct uefi_event *ev, struct uefi_variable *var);
/* 1 when var is EFI_GLOBAL_VARIABLE's variable called ascii_name. */
int uefilog_variable_is_global(const struct uefi_variable *var, const char *ascii_name);
/* The Secure Boot state the firmware measured: the EV_EFI_VARIABLE_DRIVER_CONFIG event of
 * EFI_GLOBAL_VARIABLE "SecureBoot" in PCR 7 (measured elsewhere it does not count). 1 on,
 * 0 off (also for an empty value: the variable does not exist), -ENOENT no such event,
 * -EBADMSG a value other than one byte 0/1, event data whose SHA-256 is not the event's sha256
 * digest (the quote covers only digests), or several such events that disagree. */
int uefilog_secure_boot(const struct uefi_log *log);

#endif
