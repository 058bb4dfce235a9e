#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Bad settings are refused before anything is made: each row runs one command with one bad
# path, flag value or URL in a directory of its own, and checks that it exits non-zero, that
# its message names the option and the value at fault, and that nothing was created (no
# socket, lock, state or database file). No host TPM is needed: nothing gets that far.
. "$(dirname "$0")/lib.sh"
cd "$T"
VF=$BIN/verifier AGENT=$BIN/attest-agent
"$VF" policy default >policy.json || fail "policy default"
mkdir trust && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout trust/ca.key -subj /CN=t -days 1 -out trust/ca.pem 2>/dev/null || fail "trust"
mkdir mgrrun
V="serve --listen 127.0.0.1:0 --policy $T/policy.json --trust $T/trust --insecure-no-tls"
A="--verifier http://127.0.0.1:9 --run-dir $T/mgrrun --no-host-evidence"
M="--foreground --host-tcti device:/dev/null"

n=0
# row EXPECTED COMMAND ARGS...: run in a fresh $T/c<n> ("D" in the arguments), which holds a
# regular file "file" (a path below it cannot exist); EXPECTED must appear in the output.
row() {
    n=$((n + 1)); _exp=$1; shift
    D=$T/c$n; mkdir "$D"; : >"$D/file"
    _args=$(printf '%s\n' "$*" | sed "s#@D#$D#g")
    _exp=$(printf '%s\n' "$_exp" | sed "s#@D#$D#g")
    (cd "$D" && find . | sort) >"$T/before"
    _rc=0
    # shellcheck disable=SC2086 # the row's words
    (cd "$D" && timeout -k 5 30 $_args) >"$T/out" 2>&1 || _rc=$?
    (cd "$D" && find . | sort) >"$T/after"
    if [ $_rc -eq 0 ] || [ $_rc -ge 124 ]; then
        check "row $n ($_args): exits non-zero (got $_rc)" false
    elif ! grep -qF -- "$_exp" "$T/out"; then
        sed 's/^/    /' "$T/out" >&2
        check "row $n: the message names '$_exp'" false
    elif ! cmp -s "$T/before" "$T/after"; then
        diff "$T/before" "$T/after" >&2 || true
        check "row $n ($_args): nothing created" false
    else
        ok "row $n: exit $_rc, names '$_exp': $(grep -F -m1 -- "$_exp" "$T/out")"
    fi
}

# vtpm-mgr
row "--worker @D/nope" "$BIN/vtpm-mgr" $M --state-dir @D/s --run-dir @D/r --worker @D/nope
row "--worker @D/file" "$BIN/vtpm-mgr" $M --state-dir @D/s --run-dir @D/r --worker @D/file
row "--state-dir @D/file/s" "$BIN/vtpm-mgr" $M --state-dir @D/file/s --run-dir @D/r
row "--run-dir @D/file/r" "$BIN/vtpm-mgr" $M --state-dir @D/s --run-dir @D/file/r
row "--host-ek-ca @D/ca.pem" "$BIN/vtpm-mgr" $M --state-dir @D/s --run-dir @D/r --host-ek-ca @D/ca.pem
row "--host-tcti device:@D/tpm" "$BIN/vtpm-mgr" --foreground --host-tcti device:@D/tpm --state-dir @D/s --run-dir @D/r
# attest-agent serve and hook
row "--verifier ftp://x" "$AGENT" serve --verifier ftp://x --run-dir $T/mgrrun --listen-socket @D/a.sock
row "--verifier http://" "$AGENT" hook --verifier http:// --run-dir $T/mgrrun
row "--ca @D/ca.pem" "$AGENT" serve $A --ca @D/ca.pem --listen-socket @D/a.sock
row "--key @D/k.pem" "$AGENT" serve $A --cert $T/trust/ca.pem --key @D/k.pem --listen-socket @D/a.sock
row "--run-dir @D/mgr" "$AGENT" serve --verifier http://127.0.0.1:9 --run-dir @D/mgr --listen-socket @D/a.sock
row "--run-dir @D/mgr" "$AGENT" hook --verifier http://127.0.0.1:9 --run-dir @D/mgr
row "--listen-socket's directory @D/file/x" "$AGENT" serve $A --listen-socket @D/file/x/a.sock
row "--cache-dir @D/file/c" "$AGENT" serve $A --cache-dir @D/file/c --listen-socket @D/a.sock
# verifier serve
row "--listen 127.0.0.1:http-x" "$VF" $V --listen 127.0.0.1:http-x --db sqlite:@D/v.db --port-file @D/port
row "--port-file @D/file/port" "$VF" $V --db sqlite:@D/v.db --port-file @D/file/port
row "--db @D/no/v.db" "$VF" $V --db sqlite:@D/no/v.db --port-file @D/port
row "--db postgresql://u:***@127.0.0.1:9/x" "$VF" $V --db postgresql://u:secret@127.0.0.1:9/x --port-file @D/port
row "--policy @D/p.json" "$VF" serve --listen 127.0.0.1:0 --policy @D/p.json --trust $T/trust --insecure-no-tls --db sqlite:@D/v.db
row "--tls-cert @D/c.pem" "$VF" serve --listen 127.0.0.1:0 --policy $T/policy.json --trust $T/trust --db sqlite:@D/v.db --tls-cert @D/c.pem --tls-key $T/trust/ca.key --client-ca $T/trust/ca.pem
row "no trusted certificate in @D" "$VF" serve --listen 127.0.0.1:0 --policy $T/policy.json --trust @D --insecure-no-tls --db sqlite:@D/v.db
# vtpm-cuse
row "--socket @D/tpm.sock" "$BIN/vtpm-cuse" --socket @D/tpm.sock --name badcfg0 --foreground
row "--socket @D/file" "$BIN/vtpm-cuse" --socket @D/file --name badcfg0 --foreground

grep -q secret "$T/out" 2>/dev/null && fail "a database password was printed"
[ -z "$FAILED" ] || fail "bad settings:$FAILED"
