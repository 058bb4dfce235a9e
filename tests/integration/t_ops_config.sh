#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# --config FILE (JSON, keys = long option names) for vtpm-mgr, `verifier serve`,
# `attest-agent serve` and vtpm-cuse: each daemon starts from a file alone, an option on the
# command line wins over the file's, and an unknown key or a value of the wrong type is an
# error naming the key and the file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attest_lib.sh"
start_host_tpm
cd "$T"

# expect_error WHAT PATTERN CMD...: CMD exits non-zero and its message matches PATTERN.
expect_error() {
    _w=$1 _p=$2; shift 2
    _rc=0
    timeout -k 5 30 "$@" >err.out 2>&1 || _rc=$?
    [ $_rc -ne 0 ] && [ $_rc -lt 124 ] || { cat err.out >&2; fail "$_w: exit $_rc"; }
    grep -q -- "$_p" err.out || { cat err.out >&2; fail "$_w: no '$_p' in the message"; }
}

# vtpm-mgr: everything from the file but --run-dir, whose command-line value wins.
cat >mgr.json <<JSON
{ "state-dir": "$STATE", "run-dir": "$T/not-this-one", "host-tcti": "$HOST_TCTI",
  "host-ek-ca": "$HOST/ek-ca.pem", "seal-pcrs": "sha256:16", "foreground": true,
  "instances-per-worker": 8 }
JSON
"$BIN/vtpm-mgr" --config mgr.json --run-dir "$RUN" >>"$T/mgr.log" 2>&1 &
MGR_PID=$!
i=0
while ! "$BIN/vtpmctl" list >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 300 ] || { cat "$T/mgr.log" >&2; fail "vtpm-mgr from mgr.json not ready"; }
    kill -0 "$MGR_PID" 2>/dev/null || { cat "$T/mgr.log" >&2; fail "vtpm-mgr from mgr.json exited"; }
    sleep 0.1
done
[ -S "$RUN/vtpm-mgr.sock" ] && [ ! -e "$T/not-this-one" ] || fail "--run-dir did not win over the file"
ok "vtpm-mgr: settings from --config, --run-dir on the command line wins"
echo '{ "state-dir": "/x", "run-dirr": "/y" }' >bad.json
expect_error "vtpm-mgr unknown key" "config file bad.json: key \"run-dirr\": not an option" \
    "$BIN/vtpm-mgr" --config bad.json
echo '{ "foreground": "yes" }' >bad2.json
expect_error "vtpm-mgr flag as a string" "config file bad2.json: key \"foreground\"" \
    "$BIN/vtpm-mgr" --config bad2.json
expect_error "vtpm-mgr missing file" "config file $T/none.json" "$BIN/vtpm-mgr" --config "$T/none.json"
ok "vtpm-mgr: unknown key, wrong type and missing file named"

# verifier serve: the file's --port-file loses to the command line's.
mkdir trust && cp "$HOST/ek-ca.pem" trust/
"$VF" policy default >policy.json || fail "policy default"
cat >vf.json <<JSON
{ "listen": "127.0.0.1:0", "db": "sqlite:$T/vf.db", "policy": "$T/policy.json",
  "trust": "$T/trust", "insecure-no-tls": true, "port-file": "$T/port-from-file",
  "threads": 2 }
JSON
rm -f port
"$VF" serve --config vf.json --port-file port >>vf.log 2>&1 &
VF_PID=$!
wait_verifier
URL=http://127.0.0.1:$PORT
[ ! -e port-from-file ] || fail "the file's --port-file was used"
curl -sf -m 10 "$URL/healthz" >/dev/null || fail "verifier from vf.json does not answer"
grep -q "2 serving thread" vf.log || fail "the file's --threads 2 was not used"
echo '{ "listen": "127.0.0.1:0", "bogus": 1 }' >bad3.json
expect_error "verifier unknown key" "config file bad3.json: key \"bogus\"" "$VF" serve --config bad3.json
echo '{ "listen": ' >bad4.json
expect_error "verifier JSON error" "config file bad4.json" "$VF" serve --config bad4.json
ok "verifier serve: settings from --config, --port-file on the command line wins, errors named"

# attest-agent serve: everything from the file.
cat >ad.json <<JSON
{ "verifier": "$URL", "run-dir": "$RUN", "listen-socket": "$T/ad/agent.sock", "pool": 0,
  "no-host-evidence": true, "reattest-interval": 0 }
JSON
"$AGENT" serve --config ad.json >>ad.log 2>&1 &
AD_PID=$!
wait_socket "$T/ad/agent.sock" "$AD_PID" ad.log "agent service from ad.json" 150
grep -q "re-attestation every 0 s" ad.log || { cat ad.log >&2; fail "the file's settings were not used"; }
echo '{ "verifier": "http://x", "pool": [1, 2], "lanes": "4", "nope": true }' >bad5.json
expect_error "agent unknown key" "config file bad5.json: key \"nope\"" "$AGENT" serve --config bad5.json
echo '{ "no-host-evidence": 1 }' >bad6.json
expect_error "agent flag as a number" "key \"no-host-evidence\": a flag" "$AGENT" hook --config bad6.json
ok "attest-agent serve: settings from --config; errors named (hook too)"

# vtpm-cuse: no CUSE here, but the file's --socket is the one checked (and named).
echo "{ \"socket\": \"$T/no-such.sock\", \"name\": \"cfgtest0\", \"foreground\": true }" >cuse.json
expect_error "vtpm-cuse from its file" "--socket $T/no-such.sock" "$BIN/vtpm-cuse" --config cuse.json
expect_error "vtpm-cuse command line wins" "--socket $T/other.sock" \
    "$BIN/vtpm-cuse" --config cuse.json --socket "$T/other.sock"
echo '{ "sockett": "x" }' >bad7.json
expect_error "vtpm-cuse unknown key" "config file bad7.json: key \"sockett\"" "$BIN/vtpm-cuse" --config bad7.json
ok "vtpm-cuse: settings from --config, the command line wins, unknown key named"
