# SPDX-License-Identifier: BSD-3-Clause
# Shared pieces of the end-to-end tests of `attest-agent hook` under runc (sourced after
# attest_lib.sh): bundles from ./base with the hook, runc create, and a deny checked.

# hooked_bundle NAME PYTHON: a copy of base with `attest-agent hook` (verifier URL, 5 s) as its
# createRuntime hook, then PYTHON run by edit on its config.json (c).
hooked_bundle() {
    cp -a base "$1" || fail "copy of base to $1"
    edit "$1/config.json" "c['hooks'] = {'createRuntime': [{'path': '$AGENT', 'args': ['attest-agent',
    'hook', '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '5']}]}
$2"
}
# create NAME: runc create of ID-NAME from bundle NAME (NAME.out, NAME.err); runc's status.
create() {
    CTRS="$CTRS $ID-$1"
    timeout 30 runc create --bundle "$1" "$ID-$1" </dev/null >"$1.out" 2>"$1.err"
}
# status_of NAME: runc's status of ID-NAME, empty when there is no such container.
status_of() { runc state "$ID-$1" 2>/dev/null | json status 2>/dev/null || true; }
# denied NAME REASON: create fails printing REASON and leaves no container.
denied() {
    if create "$1"; then fail "$1: container created"; fi
    grep -qF "$2" "$1.err" || { cat "$1.err" >&2; fail "$1: reason '$2' not printed"; }
    [ -z "$(status_of "$1")" ] || fail "$1: container exists after a deny"
    ok "denied: $1 ($2)"
}
