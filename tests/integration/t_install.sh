# SPDX-License-Identifier: BSD-3-Clause
# make install / make uninstall. Into a DESTDIR with PREFIX=/usr: exactly the expected files
# (binaries in bin, sbin and libexec/vtpm-attest, man pages, units with their paths rewritten,
# docs and example policies, the uapi header, the DKMS source tree), and the installed
# binaries run from there; uninstall leaves nothing of ours and keeps what was there. Into a
# real PREFIX under the test dir: vtpm-mgr runs its workers, and `verifier serve` its service
# binary, from the installed libexec directory (compiled in), with the example policies.
# The build state is copied to a private build dir: a PREFIX of its own relinks the binaries,
# which must not happen under the other tests' feet.
. "$(dirname "$0")/lib.sh"
unset MAKEFLAGS MFLAGS MAKELEVEL VERIFIER_SERVE
VERSION=$(cat "$ROOT/VERSION")
[ -f "$BUILD/gen/flags" ] || fail "$BUILD/gen/flags missing (built by an older Makefile?)"
. "$BUILD/gen/flags" # SANITIZE, CFLAGS of that build: the relinked binaries must match it
mkdir "$T/b"
cp -a "$BUILD/obj" "$BUILD/lib" "$BUILD/bin" "$BUILD/gen" "$T/b/"
mk() { timeout -k 5 240 make -s -C "$ROOT" B="$T/b" SANITIZE="$SANITIZE" CFLAGS="$CFLAGS" "$@" \
           >>"$T/make.log" 2>&1 || { tail -30 "$T/make.log" >&2; fail "make $*"; }; }

# --- DESTDIR, PREFIX=/usr ---
D=$T/dest
mkdir -p "$D/usr/bin" "$D/usr/share/doc"
echo keep >"$D/usr/bin/zz-not-ours"
mk install DESTDIR="$D" PREFIX=/usr
(cd "$D" && find . -type f | sed 's|^\./|/|' | sort) >"$T/got"
{
    for f in vtpmctl verifier attest-agent attest-agent-hook zz-not-ours; do echo "/usr/bin/$f"; done
    for f in vtpm-mgr vtpm-cuse; do echo "/usr/sbin/$f"; done
    for f in vtpm-mgr-worker verifier-serve; do echo "/usr/libexec/vtpm-attest/$f"; done
    for f in vtpmctl verifier attest-agent attest-agent-hook; do echo "/usr/share/man/man1/$f.1"; done
    for f in vtpm-mgr vtpm-mgr-worker verifier-serve vtpm-cuse; do echo "/usr/share/man/man8/$f.8"; done
    for f in "$ROOT"/systemd/*.service; do echo "/usr/lib/systemd/system/$(basename "$f")"; done
    for f in "$ROOT"/README.md "$ROOT"/docs/*.md; do echo "/usr/share/doc/vtpm-attest/$(basename "$f")"; done
    echo /usr/share/doc/vtpm-attest/examples/policy.json
    echo /usr/share/doc/vtpm-attest/examples/boot-policy-ovmf-qemu.json
    echo /usr/share/doc/vtpm-attest/examples/hooks.d/vtpm-attest.json
    echo /usr/share/doc/vtpm-attest/examples/vtpm-mgr.service.d/kmod-vtpm.conf
    echo /usr/include/vtpm-attest/vtpm_attest.h
    git -C "$ROOT" ls-files kmod-vtpm | grep -v "/\.[^/]*$" | sed "s|^kmod-vtpm/|/usr/src/vtpm-attest-$VERSION/|"
} | sort >"$T/want"
[ "$(wc -l <"$T/want")" -gt 50 ] || fail "expected list too short (git ls-files kmod-vtpm?)"
diff "$T/want" "$T/got" >&2 || fail "installed files differ from the expected list (< expected, > installed)"
ok "install DESTDIR PREFIX=/usr: $(wc -l <"$T/got") files as expected"
# The hooks.d example names the installed hook and no placeholder is left; it is valid JSON.
HK=$D/usr/share/doc/vtpm-attest/examples/hooks.d/vtpm-attest.json
grep -q '"path": "/usr/bin/attest-agent-hook"' "$HK" || fail "hooks.d example: hook path ($(cat "$HK"))"
! grep -q @ "$HK" || fail "hooks.d example: a placeholder left"
jq -e '.stages == ["createRuntime"]' "$HK" >/dev/null || fail "hooks.d example: not the hook's JSON"

for f in /usr/bin/vtpmctl /usr/sbin/vtpm-mgr /usr/libexec/vtpm-attest/vtpm-mgr-worker; do
    [ "$(stat -c %a "$D$f")" = 755 ] || fail "$f mode $(stat -c %a "$D$f")"
done
[ "$(stat -c %a "$D/usr/share/man/man8/vtpm-mgr.8")" = 644 ] || fail "man page mode"
for f in vtpmctl verifier attest-agent attest-agent-hook; do
    [ "$("$D/usr/bin/$f" --version | head -1)" = "$f (vtpm-attest) $VERSION" ] || fail "$f --version from DESTDIR"
done
for f in /usr/sbin/vtpm-mgr /usr/sbin/vtpm-cuse /usr/libexec/vtpm-attest/vtpm-mgr-worker \
         /usr/libexec/vtpm-attest/verifier-serve; do
    [ "$("$D$f" --version | head -1)" = "$(basename "$f") (vtpm-attest) $VERSION" ] || fail "$f --version"
done
ok "installed binaries run from DESTDIR (--version $VERSION), modes 0755/0644"

# Units: no /usr/local left; every ExecStart binary is an installed file.
grep -l /usr/local "$D"/usr/lib/systemd/system/*.service && fail "a unit still names /usr/local"
for u in "$D"/usr/lib/systemd/system/*.service; do
    exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$u")
    [ -n "$exe" ] && [ -x "$D$exe" ] || fail "$(basename "$u"): ExecStart $exe is not installed"
done
grep -q "^ExecStart=/usr/sbin/vtpm-mgr " "$D/usr/lib/systemd/system/vtpm-mgr.service" || fail "vtpm-mgr unit path"
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (swtpm-ci/install-deps.sh)"
# Only the paths are ours to check here; the units' other settings are checked elsewhere.
systemd-analyze verify --root="$D" "$D"/usr/lib/systemd/system/*.service >"$T/sa.log" 2>&1 || true
# (system commands such as ExecReload's /bin/kill are not in DESTDIR: only ours are checked)
grep -i 'not executable\|no such file' "$T/sa.log" | grep -E 'Command [^ ]*/(vtpm|attest|verifier)' &&
    fail "systemd-analyze: a unit's binary is missing"
# ... and it would have said so: the same check with vtpm-mgr moved away.
mv "$D/usr/sbin/vtpm-mgr" "$T/vtpm-mgr.away"
systemd-analyze verify --root="$D" "$D/usr/lib/systemd/system/vtpm-mgr.service" >"$T/sa.log" 2>&1 || true
mv "$T/vtpm-mgr.away" "$D/usr/sbin/vtpm-mgr"
grep -q 'vtpm-mgr is not executable' "$T/sa.log" || fail "systemd-analyze missed a missing binary: $(cat "$T/sa.log")"
dk=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$D/usr/src/vtpm-attest-$VERSION/dkms.conf")
[ "$dk" = "$VERSION" ] || fail "installed dkms.conf version $dk"
ok "units name the installed paths; DKMS tree vtpm-attest-$VERSION"

mk uninstall DESTDIR="$D" PREFIX=/usr
left=$(cd "$D" && find . -type f | sed 's|^\./|/|')
[ "$left" = /usr/bin/zz-not-ours ] || fail "after uninstall: $left"
[ -z "$(find "$D" -name '*vtpm-attest*')" ] || fail "left: $(find "$D" -name '*vtpm-attest*')"
ok "uninstall removed every file it installed (and its directories), kept the rest"

# --- a real PREFIX: the installed binaries find their helpers in libexec ---
P=$T/root
mk install PREFIX="$P" dkmsdir="$P/src/vtpm-attest-$VERSION"
[ ! -e "$P/bin/vtpm-mgr-worker" ] && [ ! -e "$P/sbin/vtpm-mgr-worker" ] || fail "worker beside vtpm-mgr"
start_host_tpm
mkdir "$T/lnk"
ln -s "$P/sbin/vtpm-mgr" "$T/lnk/vtpm-mgr"
ln -s "$P/bin/vtpmctl" "$T/lnk/vtpmctl"
BIN=$T/lnk start_mgr
U=$("$P/bin/vtpmctl" create --name inst-1 | json uuid) || fail "vtpmctl create"
w=$(worker_pids | head -1)
[ -n "$w" ] || fail "no worker running"
[ "$(readlink "/proc/$w/exe")" = "$P/libexec/vtpm-attest/vtpm-mgr-worker" ] ||
    fail "worker runs $(readlink "/proc/$w/exe")"
ok "vtpm-mgr from $P/sbin runs $P/libexec/vtpm-attest/vtpm-mgr-worker (vTPM $U)"

cd "$T"
mkdir trust
cp "$HOST/ek-ca.pem" trust/
EX=$P/share/doc/vtpm-attest/examples
"$P/bin/verifier" serve --listen 127.0.0.1:0 --port-file port --db "sqlite:$T/vf.db" \
    --policy "$EX/policy.json" --boot-policy "$EX/boot-policy-ovmf-qemu.json" --trust trust \
    --insecure-no-tls >vf.log 2>&1 &
VF_PID=$!
at_exit stop_vf
wait_verifier
[ "$(readlink "/proc/$VF_PID/exe")" = "$P/libexec/vtpm-attest/verifier-serve" ] ||
    fail "verifier serve runs $(readlink "/proc/$VF_PID/exe")"
curl -sS --max-time 10 "http://127.0.0.1:$PORT/healthz" | grep -q '"ok"' || fail "healthz"
stop_vf
ok "verifier serve from $P/bin execs $P/libexec/vtpm-attest/verifier-serve; the example policies load"

stop_mgr
mk uninstall PREFIX="$P" dkmsdir="$P/src/vtpm-attest-$VERSION"
[ -z "$(find "$P" -type f)" ] || fail "left after uninstall: $(find "$P" -type f | head)"
ok "uninstall from $P: no file left"
