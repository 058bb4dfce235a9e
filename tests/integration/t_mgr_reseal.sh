#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The state key is sealed to host PCRs: a PCR change locks the state (clear error); the
# documented update procedure (re-seal to no PCRs before the update, back to the PCRs after)
# keeps every vTPM; re-sealing never works once the PCRs have already changed.
. "$(dirname "$0")/lib.sh"
start_host_tpm
cd "$T"
MGR_OPTS="--state-dir $STATE --run-dir $RUN --host-tcti $HOST_TCTI"
extend16() { TPM2TOOLS_TCTI="$HOST_TCTI" tpm2_pcrextend "16:sha256=$(printf "$1" | sha256sum | cut -d' ' -f1)"; }
start_mgr
U=$(create_vtpm --name keep)
S=$(json socket <create.json)
printf 'survives-updates' >nv.in
vt "$S" tpm2_nvdefine 0x01500020 -C o -s 16 -a "ownerread|ownerwrite" >/dev/null || fail nvdefine
vt "$S" tpm2_nvwrite 0x01500020 -C o -i nv.in || fail nvwrite
stop_mgr

# An unplanned change of the sealed PCR: the daemon refuses to start, saying why.
extend16 unplanned
"$BIN/vtpm-mgr" --foreground $MGR_OPTS --seal-pcrs sha256:16 >locked.log 2>&1 && fail "started with changed PCRs"
grep -q "no longer unseals" locked.log || fail "unclear error: $(grep -i error locked.log | head -n 2)"
"$BIN/vtpm-mgr" --reseal $MGR_OPTS --seal-pcrs none >reseal0.log 2>&1 && fail "re-sealed after the PCRs changed"
TPM2TOOLS_TCTI="$HOST_TCTI" tpm2_pcrreset 16 || fail "pcrreset"
ok "changed PCR 16: state locked with a clear error, and re-sealing is refused"

# Planned update: re-seal to no PCRs, change the PCRs (the update), re-seal to the new values.
"$BIN/vtpm-mgr" --reseal $MGR_OPTS --seal-pcrs none >reseal1.log 2>&1 || fail "reseal to none: $(cat reseal1.log)"
extend16 approved-update
"$BIN/vtpm-mgr" --reseal $MGR_OPTS --seal-pcrs sha256:16 >reseal2.log 2>&1 || fail "reseal to new values: $(cat reseal2.log)"
start_mgr
vt "$S" tpm2_nvread 0x01500020 -C o -o nv.out >/dev/null && cmp -s nv.in nv.out || fail "vTPM lost across the update"
stop_mgr
extend16 unapproved
"$BIN/vtpm-mgr" --foreground $MGR_OPTS >locked2.log 2>&1 && fail "started after an unapproved change"
ok "planned update: re-sealed to the new PCR values, vTPM kept; a later change locks again"
echo "t_mgr_reseal: all passed"
