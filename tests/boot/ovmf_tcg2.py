#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Checks that an OVMF code image was built with TPM 2.0 support (edk2's TPM2_ENABLE): its
# LZMA-compressed firmware volumes must hold the Tcg2Pei, Tcg2ConfigPei and Tcg2Dxe
# drivers, found by their user-interface (UTF-16 name) sections.
# Usage: tests/boot/ovmf_tcg2.py OVMF_CODE.fd    (exit 0: present, 1: missing, 2: unreadable)
import lzma
import struct
import sys
import uuid

# EFI_SECTION_GUID_DEFINED with edk2's LZMA decompression GUID (LzmaCustomDecompress).
LZMA_GUID = uuid.UUID("ee4e5898-3914-4259-9d6e-dc7bd79403cf").bytes_le
DRIVERS = ("Tcg2Pei", "Tcg2ConfigPei", "Tcg2Dxe")


def lzma_sections(image):
    """Yields the decompressed payload of every LZMA GUID-defined section."""
    pos = image.find(LZMA_GUID)
    while pos >= 4:
        start = pos - 4  # 3-byte size, 1-byte type before the GUID
        if image[start + 3] == 0x02 and pos + 20 <= len(image):
            data_off = struct.unpack_from("<H", image, pos + 16)[0]
            try:
                yield lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(
                    image[start + data_off:])
            except lzma.LZMAError:
                pass  # the GUID's bytes inside other data: not a section
        pos = image.find(LZMA_GUID, pos + 1)


def main():
    if len(sys.argv) != 2:
        print("usage: ovmf_tcg2.py OVMF_CODE.fd", file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1], "rb") as f:
            image = f.read()
    except OSError as e:
        print(f"ovmf_tcg2: {e}", file=sys.stderr)
        return 2
    found = set()
    for payload in lzma_sections(image):
        for name in DRIVERS:
            if (name + "\0").encode("utf-16-le") in payload:
                found.add(name)
    missing = [n for n in DRIVERS if n not in found]
    if missing:
        print(f"ovmf_tcg2: {sys.argv[1]} lacks {' '.join(missing)} (not built with TPM2_ENABLE)")
        return 1
    print(f"ovmf_tcg2: {sys.argv[1]} has {' '.join(DRIVERS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
