# SPDX-License-Identifier: BSD-3-Clause
# Every command's informational flags: --help and -h print usage on stdout and exit 0 (also
# after a subcommand), --version prints "NAME (vtpm-attest) VERSION" with VERSION from the file
# VERSION, and an unknown flag exits non-zero naming the flag. The version recorded elsewhere
# (kmod-vtpm/dkms.conf, debian/changelog) must be the same.
. "$(dirname "$0")/lib.sh"
VERSION=$(cat "$ROOT/VERSION")
[ -n "$VERSION" ] || fail "VERSION is empty"
cd "$T"

# run CMD...: runs a command of build/bin without stdin (the hook reads it), 10 s at most;
# sets RC, OUT (stdout file) and ERR (stderr file).
run() {
    RC=0
    timeout -k 2 10 "$@" </dev/null >"$T/out" 2>"$T/err" || RC=$?
    OUT=$T/out ERR=$T/err
}

CMDS="vtpm-mgr vtpm-mgr-worker vtpmctl verifier verifier-serve attest-agent attest-agent-hook vtpm-cuse"
for c in $CMDS; do
    [ -x "$BIN/$c" ] || fail "$BIN/$c missing"
    for h in --help -h; do
        run "$BIN/$c" $h
        [ "$RC" -eq 0 ] || fail "$c $h exits $RC: $(head -3 "$ERR")"
        grep -qi usage "$OUT" || fail "$c $h: no usage on stdout: $(head -3 "$OUT")"
        [ ! -s "$ERR" ] || fail "$c $h wrote on stderr: $(head -3 "$ERR")"
    done
    run "$BIN/$c" --version
    [ "$RC" -eq 0 ] || fail "$c --version exits $RC"
    [ "$(head -1 "$OUT")" = "$c (vtpm-attest) $VERSION" ] ||
        fail "$c --version: '$(head -1 "$OUT")', not '$c (vtpm-attest) $VERSION'"
    # The hook forwards to a service first: '' sends it straight to its fallback.
    extra=
    [ "$c" = attest-agent-hook ] && extra="--agent-socket="
    run "$BIN/$c" $extra --no-such-flag-zq
    [ "$RC" -ne 0 ] || fail "$c --no-such-flag-zq exits 0"
    grep -q -- --no-such-flag-zq "$ERR" || fail "$c: the bad flag is not named: $(head -3 "$ERR")"
    ok "$c: --help, -h, --version $VERSION, a bad flag named"
done

# Subcommands with their own parsers: help after the subcommand, a bad flag named by it.
for sub in "verifier verify" "verifier serve" "verifier boot-policy derive" \
           "verifier policy allow" "verifier-serve serve" "attest-agent hook" \
           "attest-agent serve" "attest-agent evidence" "attest-agent host-evidence" \
           "vtpmctl create" "vtpmctl host-quote"; do
    set -- $sub
    c=$1; shift
    run "$BIN/$c" "$@" --help
    [ "$RC" -eq 0 ] && [ -s "$OUT" ] || fail "$sub --help: exit $RC, $(wc -c <"$OUT") bytes"
    run "$BIN/$c" "$@" --version
    [ "$(head -1 "$OUT")" = "$c (vtpm-attest) $VERSION" ] || fail "$sub --version: $(head -1 "$OUT")"
    run "$BIN/$c" "$@" --no-such-flag-zq
    [ "$RC" -ne 0 ] || fail "$sub --no-such-flag-zq exits 0"
    grep -q -- --no-such-flag-zq "$ERR" || fail "$sub: the bad flag is not named: $(head -3 "$ERR")"
done
ok "subcommands: --help, --version, a bad flag named"

# Unknown commands are named too.
for c in vtpmctl verifier attest-agent; do
    run "$BIN/$c" no-such-command-zq
    [ "$RC" -ne 0 ] && grep -q no-such-command-zq "$ERR" || fail "$c: unknown command not named"
done
# A bad value before --help still fails (options are taken in order).
run "$BIN/vtpm-mgr" --issuer-lifetime 1 --help
[ "$RC" -ne 0 ] || fail "vtpm-mgr --issuer-lifetime 1 --help exits 0"
ok "unknown commands named; a bad value before --help refused"

# One version: the DKMS package and the Debian changelog say the same.
dk=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$ROOT/kmod-vtpm/dkms.conf")
[ "$dk" = "$VERSION" ] || fail "kmod-vtpm/dkms.conf PACKAGE_VERSION $dk, VERSION $VERSION"
dv=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$ROOT/debian/changelog")
[ "$dv" = "$VERSION" ] || fail "debian/changelog's version '$dv', VERSION $VERSION"
ok "dkms.conf and debian/changelog carry version $VERSION"
