#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Prints the Authenticode SHA-256 of a PE/COFF image (e.g. a kernel with an EFI stub): the
# digest UEFI firmware records for an EV_EFI_BOOT_SERVICES_APPLICATION event in PCR 4, so
# that a reference value can be computed from the file the platform boots.
# QEMU's -kernel does not hand the firmware the file as it is: it fills in the boot
# protocol fields of the setup header first (loader type, heap, command line and initrd
# address and size), and OVMF measures that copy. --qemu-initrd-size and --qemu-mem-mib
# apply those edits as QEMU 7.2 makes them (x86_load_linux, protocol >= 2.12 kernel, RAM
# below 4 GiB) to give the digest OVMF logs under `qemu -kernel`.
# Usage: tests/boot/pe_authenticode.py IMAGE [--qemu-initrd-size N --qemu-mem-mib M]
# (exit 1: not a PE image, truncated, or not a bzImage for the QEMU edits)
import argparse
import hashlib
import struct
import sys

CERT_DIR = 4  # IMAGE_DIRECTORY_ENTRY_SECURITY


class BadImage(Exception):
    pass


def u(fmt, data, off):
    if off < 0 or off + struct.calcsize(fmt) > len(data):
        raise BadImage(f"truncated at {off:#x}")
    return struct.unpack_from(fmt, data, off)


def layout(data):
    """Offsets of the checksum, the certificate directory entry, the headers' end, the
    certificate table's size and the section table."""
    pe = u("<I", data, 0x3C)[0]
    if data[:2] != b"MZ" or data[pe:pe + 4] != b"PE\0\0":
        raise BadImage("no MZ/PE signature")
    nsect, = u("<H", data, pe + 6)
    optsize, = u("<H", data, pe + 20)
    opt = pe + 24
    magic, = u("<H", data, opt)
    if magic not in (0x10B, 0x20B):
        raise BadImage(f"optional header magic {magic:#x}")
    ddir = opt + (96 if magic == 0x10B else 112)
    nrva, = u("<I", data, ddir - 4)
    if nrva <= CERT_DIR:
        raise BadImage("no certificate directory entry")
    certdir = ddir + 8 * CERT_DIR
    hdr_end, = u("<I", data, opt + 60)
    cert_size = u("<II", data, certdir)[1]
    if not certdir + 8 <= hdr_end <= len(data) or cert_size > len(data):
        raise BadImage("header sizes out of range")
    return opt + 64, certdir, hdr_end, cert_size, (opt + optsize, nsect)


def sections(data, table):
    start, n = table
    out = []
    for i in range(n):
        size, ptr = u("<II", data, start + 40 * i + 16)
        if size:
            if ptr + size > len(data):
                raise BadImage(f"section {i} beyond the file")
            out.append((ptr, size))
    return sorted(out)


def authenticode(data):
    csum, certdir, hdr_end, cert_size, table = layout(data)
    h = hashlib.sha256()
    h.update(data[:csum])                  # skip the checksum ...
    h.update(data[csum + 4:certdir])       # ... and the certificate table entry
    h.update(data[certdir + 8:hdr_end])
    hashed = hdr_end
    for ptr, size in sections(data, table):
        h.update(data[ptr:ptr + size])
        hashed += size
    end = len(data) - cert_size            # trailing data, but not the signatures
    if end > hashed:
        h.update(data[hashed:end])
    return h.hexdigest()


# QEMU's fixed addresses for a "high and recent" kernel, and the RAM it keeps for ACPI
# tables at the top of low memory (pc/q35 machines).
QEMU_REAL_ADDR = 0x10000
QEMU_CMDLINE_ADDR = 0x20000
QEMU_ACPI_DATA_SIZE = 0x20000 + 0x8000
XLF_CAN_BE_LOADED_ABOVE_4G = 1 << 1


def qemu_patch(image, initrd_size, mem_mib):
    """The setup header as QEMU's -kernel/-initrd loader rewrites it."""
    d = bytearray(image)
    magic, proto = u("<IH", d, 0x202)
    if magic != 0x53726448 or proto < 0x20C:  # "HdrS", boot protocol 2.12+
        raise BadImage("not a bzImage with boot protocol >= 2.12")
    xlf, = u("<H", d, 0x236)
    initrd_max = 0xFFFFFFFF if xlf & XLF_CAN_BE_LOADED_ABOVE_4G else u("<I", d, 0x22C)[0]
    initrd_max = min(initrd_max, mem_mib * 1024 * 1024 - QEMU_ACPI_DATA_SIZE - 1)
    d[0x210] = 0xB0                                          # type_of_loader: QEMU
    d[0x211] |= 0x80                                         # CAN_USE_HEAP
    struct.pack_into("<H", d, 0x224, QEMU_CMDLINE_ADDR - QEMU_REAL_ADDR - 0x200)
    struct.pack_into("<I", d, 0x228, QEMU_CMDLINE_ADDR)
    if initrd_size:
        struct.pack_into("<II", d, 0x218, (initrd_max - initrd_size) & ~4095, initrd_size)
    return bytes(d)


def parse_args():
    p = argparse.ArgumentParser(description="Authenticode SHA-256 of a PE image")
    p.add_argument("image")
    p.add_argument("--qemu-initrd-size", type=int)
    p.add_argument("--qemu-mem-mib", type=int)
    a = p.parse_args()
    if (a.qemu_initrd_size is None) != (a.qemu_mem_mib is None):
        p.error("--qemu-initrd-size and --qemu-mem-mib go together")
    if a.qemu_mem_mib is not None and not 64 <= a.qemu_mem_mib <= 2048:
        p.error("--qemu-mem-mib: 64 to 2048 (RAM below 4 GiB on q35)")
    return a


def main():
    a = parse_args()
    try:
        with open(a.image, "rb") as f:
            image = f.read()
        if a.qemu_mem_mib is not None:
            image = qemu_patch(image, a.qemu_initrd_size, a.qemu_mem_mib)
        print(authenticode(image))
    except (OSError, BadImage) as e:
        print(f"pe_authenticode: {a.image}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
