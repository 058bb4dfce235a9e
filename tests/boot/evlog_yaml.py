#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Reads the YAML that tpm2-tools print (tpm2_eventlog, tpm2_pcrread, tpm2_checkquote) for
# the measured-boot checks of tests/integration/t_host_boot.sh: PCR values of one bank,
# SHA-256 digests of the events of one type, and a per-PCR summary of what the firmware
# measured. Line-based: tpm2_eventlog's output is not always valid YAML.
# Usage: evlog_yaml.py pcrs BANK FILE | digests TYPE FILE | summary FILE
import re
import sys

EVENT_RE = re.compile(r"^- EventNum: (\d+)$")
FIELD_RE = re.compile(r"^  (PCRIndex|EventType): (\S+)$")
ALG_RE = re.compile(r"^  - AlgorithmId: (\S+)$")
DIGEST_RE = re.compile(r'^    Digest: "([0-9a-f]+)"$')
DETAIL_RE = re.compile(r"^    (UnicodeName|BlobBase|BlobLength|DevicePath): '?([^']*)'?$")
BANK_RE = re.compile(r"^  ([a-z0-9]+):$")
PCR_RE = re.compile(r"^    (\d+) *: 0x([0-9A-Fa-f]+)$")


def pcr_values(lines, bank):
    """{index: hex} of BANK, from the last "BANK:" block (eventlog: under "pcrs:")."""
    values, cur = {}, None
    for line in lines:
        m = BANK_RE.match(line)
        if m:
            cur = m.group(1)
            if cur == bank:
                values = {}
            continue
        m = PCR_RE.match(line)
        if m and cur == bank:
            values[int(m.group(1))] = m.group(2).lower()
        elif not line.startswith("    "):
            cur = None
    return values


def events(lines):
    """The log's events as dicts: num, pcr, type, digests {alg: hex}, details, text."""
    out, alg, in_text = [], None, False
    for line in lines:
        if line.startswith("pcrs:"):
            break
        m = EVENT_RE.match(line)
        if m:
            out.append({"num": int(m.group(1)), "digests": {}, "details": {}, "text": ""})
            in_text = False
            continue
        if not out:
            continue
        ev = out[-1]
        in_text = parse_line(ev, line, in_text)
        m = ALG_RE.match(line)
        alg = m.group(1) if m else alg
        m = DIGEST_RE.match(line)
        if m and alg:
            ev["digests"][alg] = m.group(1)
    return out


def parse_line(ev, line, in_text):
    """One line of an event; returns whether a "|-" text block continues."""
    m = FIELD_RE.match(line)
    if m:
        ev["pcr" if m.group(1) == "PCRIndex" else "type"] = m.group(2)
        return False
    if line == "  Event: |-":
        return True
    if in_text and line.startswith("    "):
        ev["text"] += line.strip()
        return True
    m = re.match(r'^  Event: "([0-9a-f]*)"$', line)
    if m:
        ev["hex"] = m.group(1)
    m = DETAIL_RE.match(line)
    if m:
        ev["details"][m.group(1)] = m.group(2)
    return False


def tagged_text(hexdata):
    """EV_EVENT_TAG (TCG_PCClientTaggedEvent): id, size, then the data (kernel: a string)."""
    data = bytes.fromhex(hexdata)
    size = int.from_bytes(data[4:8], "little") if len(data) >= 8 else -1
    if size != len(data) - 8:
        return "(malformed tagged event)"
    return data[8:].rstrip(b"\0").decode("ascii", "replace")


def device_path_files(hexpath):
    """The UTF-16 names of the media file-path nodes (type 4, subtype 4) of a device path."""
    data, off, names = bytes.fromhex(hexpath), 0, []
    while off + 4 <= len(data):
        typ, sub, n = data[off], data[off + 1], int.from_bytes(data[off + 2:off + 4], "little")
        if n < 4 or off + n > len(data):
            break
        if typ == 4 and sub == 4:
            names.append(data[off + 4:off + n].decode("utf-16-le").rstrip("\0"))
        off += n
    return names


def detail(ev):
    d = ev["details"]
    if "UnicodeName" in d:
        return d["UnicodeName"]
    if "BlobBase" in d:
        return f"base {d['BlobBase']} length {d.get('BlobLength', '?')}"
    if "DevicePath" in d:
        return "file " + "/".join(device_path_files(d["DevicePath"]) or ["?"])
    if ev.get("type") == "EV_EVENT_TAG" and "hex" in ev:
        return tagged_text(ev["hex"])
    return ev["text"]


def summary(lines):
    evs = events(lines)
    for pcr in sorted({int(e["pcr"]) for e in evs}):
        print(f"PCR {pcr}:")
        for e in (e for e in evs if int(e["pcr"]) == pcr):
            print(f"  #{e['num']:<3} {e['type']:<34} {e['digests'].get('sha256', '-')[:16]}  {detail(e)}")


def main():
    args = sys.argv[1:]
    if len(args) not in (2, 3) or args[0] not in ("pcrs", "digests", "summary"):
        print(__doc__ or "usage: evlog_yaml.py pcrs BANK FILE | digests TYPE FILE | summary FILE",
              file=sys.stderr)
        return 2
    with open(args[-1], encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    if args[0] == "pcrs":
        for i, v in sorted(pcr_values(lines, args[1]).items()):
            print(i, v)
    elif args[0] == "digests":
        for e in events(lines):
            if e.get("type") == args[1] and "sha256" in e["digests"]:
                print(e["pcr"], e["digests"]["sha256"], detail(e))
    else:
        summary(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
