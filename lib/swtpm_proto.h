/* SPDX-License-Identifier: BSD-3-Clause */
/* Constants of the swtpm socket control-channel protocol (swtpm 0.7 tpm_ioctl.h, big-endian wire). */
#ifndef VTPM_SWTPM_PROTO_H
#define VTPM_SWTPM_PROTO_H

/*
 * Wire format on the control socket: request = be32 command code followed by the "req" part
 * of the matching ptm_* structure; response = the "resp" part, which starts with a be32
 * result (0 = success, else a TPM 1.2 style error such as SWTPM_RES_FAIL). The one exception
 * is CMD_GET_CAPABILITY, whose response is just the be64 capability mask without a result.
 */
enum swtpm_ctrl_cmd {
    CMD_GET_CAPABILITY = 0x01,       /* resp: be64 caps */
    CMD_INIT = 0x02,                 /* req: be32 init_flags; resp: be32 result */
    CMD_SHUTDOWN = 0x03,             /* resp: be32 result */
    CMD_GET_TPMESTABLISHED = 0x04,   /* resp: be32 result, u8 bit */
    CMD_SET_LOCALITY = 0x05,         /* req: u8 locality; resp: be32 result */
    CMD_HASH_START = 0x06,           /* resp: be32 result */
    CMD_HASH_DATA = 0x07,            /* req: be32 length, data; resp: be32 result */
    CMD_HASH_END = 0x08,             /* resp: be32 result */
    CMD_CANCEL_TPM_CMD = 0x09,       /* resp: be32 result */
    CMD_STORE_VOLATILE = 0x0a,       /* resp: be32 result */
    CMD_RESET_TPMESTABLISHED = 0x0b, /* req: u8 locality; resp: be32 result */
    CMD_GET_STATEBLOB = 0x0c,        /* req: be32 flags, type, offset; resp: result ... */
    CMD_SET_STATEBLOB = 0x0d,        /* req: be32 flags, type, length, data; resp: result */
    CMD_STOP = 0x0e,                 /* resp: be32 result */
    CMD_GET_CONFIG = 0x0f,           /* resp: be32 result, be32 flags */
    CMD_SET_DATAFD = 0x10,           /* fd via SCM_RIGHTS; resp: be32 result */
    CMD_SET_BUFFERSIZE = 0x11,       /* req: be32 size; resp: be32 result, size, min, max */
    CMD_GET_INFO = 0x12,             /* req: be64 flags, be32 offset, be32 pad; resp: ... */
    CMD_LOCK_STORAGE = 0x13,         /* req: be32 retries; resp: be32 result */
};

/* Capability bits returned by CMD_GET_CAPABILITY. */
#define PTM_CAP_INIT                 (1ull << 0)
#define PTM_CAP_SHUTDOWN             (1ull << 1)
#define PTM_CAP_GET_TPMESTABLISHED   (1ull << 2)
#define PTM_CAP_SET_LOCALITY         (1ull << 3)
#define PTM_CAP_HASHING              (1ull << 4)
#define PTM_CAP_CANCEL_TPM_CMD       (1ull << 5)
#define PTM_CAP_STORE_VOLATILE       (1ull << 6)
#define PTM_CAP_RESET_TPMESTABLISHED (1ull << 7)
#define PTM_CAP_GET_STATEBLOB        (1ull << 8)
#define PTM_CAP_SET_STATEBLOB        (1ull << 9)
#define PTM_CAP_STOP                 (1ull << 10)
#define PTM_CAP_GET_CONFIG           (1ull << 11)
#define PTM_CAP_SET_DATAFD           (1ull << 12)
#define PTM_CAP_SET_BUFFERSIZE       (1ull << 13)
#define PTM_CAP_GET_INFO             (1ull << 14)
#define PTM_CAP_SEND_COMMAND_HEADER  (1ull << 15)
#define PTM_CAP_LOCK_STORAGE         (1ull << 16)

/* CMD_INIT flags. */
#define PTM_INIT_FLAG_DELETE_VOLATILE (1u << 0)

/* CMD_GET_INFO flags (TPMLIB_GetInfo). */
#define SWTPM_INFO_TPMSPECIFICATION (1u << 0)
#define SWTPM_INFO_TPMATTRIBUTES    (1u << 1)

/* Result codes used on the control channel (TPM 1.2 base error values, as swtpm returns). */
#define SWTPM_RES_SUCCESS       0x00u
#define SWTPM_RES_BAD_PARAMETER 0x03u
#define SWTPM_RES_FAIL          0x09u
#define SWTPM_RES_BAD_ORDINAL   0x0au

#endif
