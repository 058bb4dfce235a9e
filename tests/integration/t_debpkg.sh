# SPDX-License-Identifier: BSD-3-Clause
# The Debian packages: dpkg-buildpackage -us -uc -b on a copy of the source tree (the files git
# tracks or would track: no build/) makes vtpm-mgr, attest-agent, verifier and
# vtpm-attest-dkms with the expected files, library dependencies from shlibs, the DKMS
# maintainer scripts and the worker user; the build runs no test and no `make deps`; lintian
# reports no error and no warning. About a minute (most of it the compile, -j2).
. "$(dirname "$0")/lib.sh"
unset MAKEFLAGS MFLAGS MAKELEVEL
for tool in dpkg-buildpackage dh dh_dkms lintian help2man git; do
    command -v "$tool" >/dev/null || fail "$tool missing (swtpm-ci/install-deps.sh)"
done
VERSION=$(cat "$ROOT/VERSION")
ARCH=$(dpkg --print-architecture)
mkdir "$T/src"
git -C "$ROOT" ls-files -z -co --exclude-standard |
    (cd "$ROOT" && tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -C "$T/src" -xf - ||
    fail "copying the tree"
[ ! -e "$T/src/build" ] && [ -f "$T/src/debian/rules" ] || fail "copy: build/ copied or debian/ missing"

start=$(date +%s)
(cd "$T/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" timeout -k 5 600 \
    dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 || { tail -40 "$T/build.log" >&2; fail "dpkg-buildpackage"; }
ok "dpkg-buildpackage -us -uc -b: $(( $(date +%s) - start )) s"
grep -q 'install-deps' "$T/build.log" && fail "the build ran make deps"
grep -q 'tests/run.sh\|build/tests/test_' "$T/build.log" && fail "the build ran tests"
grep -q 'dh_auto_test' "$T/build.log" && ! grep -q 'override_dh_auto_test' "$T/build.log" &&
    fail "dh_auto_test ran"

# contents DEB: the file paths in a .deb (no directories).
contents() { dpkg-deb -c "$1" | awk '{print $6}' | sed 's|^\./|/|' | grep -v '/$'; }
# has DEB PATH...: each PATH is in the package.
has() {
    _deb=$1; shift
    contents "$_deb" >"$T/c"
    for _p; do grep -qx "$_p" "$T/c" || fail "$(basename "$_deb") lacks $_p"; done
}
MGR=$T/vtpm-mgr_${VERSION}_$ARCH.deb AG=$T/attest-agent_${VERSION}_$ARCH.deb
VF=$T/verifier_${VERSION}_$ARCH.deb DK=$T/vtpm-attest-dkms_${VERSION}_all.deb
for d in "$MGR" "$AG" "$VF" "$DK"; do [ -f "$d" ] || fail "$(basename "$d") not built: $(ls "$T")"; done
has "$MGR" /usr/sbin/vtpm-mgr /usr/libexec/vtpm-attest/vtpm-mgr-worker /usr/bin/vtpmctl \
    /usr/sbin/vtpm-cuse /lib/systemd/system/vtpm-mgr.service /usr/lib/sysusers.d/vtpm-mgr.conf \
    /usr/share/man/man8/vtpm-mgr.8.gz /usr/share/man/man8/vtpm-mgr-worker.8.gz \
    /usr/share/man/man1/vtpmctl.1.gz /usr/share/man/man8/vtpm-cuse.8.gz \
    /usr/share/doc/vtpm-mgr/copyright /usr/share/doc/vtpm-mgr/operations.md.gz \
    '/lib/systemd/system/vtpm-cuse@.service' \
    /usr/share/doc/vtpm-mgr/examples/vtpm-mgr.service.d/kmod-vtpm.conf
has "$AG" /usr/bin/attest-agent /usr/bin/attest-agent-hook /lib/systemd/system/attest-agent.service \
    /usr/share/man/man1/attest-agent.1.gz /usr/share/man/man1/attest-agent-hook.1.gz \
    /usr/share/doc/attest-agent/copyright /usr/share/doc/attest-agent/examples/hooks.d/vtpm-attest.json
has "$VF" /usr/bin/verifier /usr/libexec/vtpm-attest/verifier-serve \
    /lib/systemd/system/vtpm-attest-verifier.service /usr/share/man/man1/verifier.1.gz \
    /usr/share/man/man8/verifier-serve.8.gz /usr/share/doc/verifier/examples/policy.json \
    /usr/share/doc/verifier/examples/boot-policy-ovmf-qemu.json /usr/share/doc/verifier/copyright
has "$DK" "/usr/src/vtpm-attest-$VERSION/dkms.conf" "/usr/src/vtpm-attest-$VERSION/main.c" \
    "/usr/src/vtpm-attest-$VERSION/Kbuild" "/usr/src/vtpm-attest-$VERSION/include/uapi/vtpm_attest.h" \
    /usr/include/vtpm-attest/vtpm_attest.h /usr/share/doc/vtpm-attest-dkms/copyright
# The DKMS tree is kmod-vtpm's tracked sources, no more, no less.
contents "$DK" | sed -n "s|^/usr/src/vtpm-attest-$VERSION/||p" | sort >"$T/dk.got"
git -C "$ROOT" ls-files kmod-vtpm | grep -v '/\.[^/]*$' | sed 's|^kmod-vtpm/||' | sort >"$T/dk.want"
diff "$T/dk.want" "$T/dk.got" >&2 || fail "vtpm-attest-dkms: /usr/src tree differs from kmod-vtpm (< git, > package)"
# No file in two packages, nothing of the DKMS tree outside its package.
for d in "$MGR" "$AG" "$VF" "$DK"; do contents "$d"; done | grep -v '^/usr/share/doc/' | sort | uniq -d >"$T/dup"
[ ! -s "$T/dup" ] || fail "files in two packages: $(cat "$T/dup")"
for d in "$MGR" "$AG" "$VF"; do contents "$d" | grep -q '^/usr/src/' && fail "$(basename "$d") ships /usr/src"; done
ok "4 packages with the expected files, none shared"

dep() { dpkg-deb -f "$1" Depends; }
dep "$MGR" | grep -q 'libtpms0' && dep "$MGR" | grep -q 'libtss2-esys' || fail "vtpm-mgr Depends: $(dep "$MGR")"
dep "$VF" | grep -q 'libmicrohttpd12' && dep "$VF" | grep -q 'libpq5' || fail "verifier Depends: $(dep "$VF")"
dep "$AG" | grep -q 'libcurl4' || fail "attest-agent Depends: $(dep "$AG")"
dep "$DK" | grep -q '^dkms\|, dkms' || fail "vtpm-attest-dkms Depends: $(dep "$DK")"
for d in "$MGR" "$AG" "$VF"; do dep "$d" | grep -q dkms && fail "$(basename "$d") depends on dkms"; done
dpkg-deb -I "$DK" postinst | grep -q 'DKMS_NAME=vtpm-attest' || fail "no dkms postinst"
dpkg-deb -I "$MGR" postinst | grep -q 'systemd-sysusers' || fail "vtpm-mgr's postinst makes no worker user"
ok "Depends from shlibs (libtpms0, libtss2, libmicrohttpd12, libpq5, libcurl4), dkms postinst, sysusers"

# The packaged files themselves: binaries run, look in /usr/libexec, units name packaged paths.
for d in "$MGR" "$AG" "$VF" "$DK"; do dpkg-deb -x "$d" "$T/x"; done
for b in usr/sbin/vtpm-mgr usr/bin/vtpmctl usr/bin/verifier usr/bin/attest-agent \
         usr/libexec/vtpm-attest/vtpm-mgr-worker usr/libexec/vtpm-attest/verifier-serve; do
    [ "$("$T/x/$b" --version | head -1)" = "$(basename "$b") (vtpm-attest) $VERSION" ] || fail "$b --version"
done
grep -aq /usr/libexec/vtpm-attest "$T/x/usr/sbin/vtpm-mgr" || fail "vtpm-mgr does not look in /usr/libexec/vtpm-attest"
for u in "$T"/x/lib/systemd/system/*.service; do
    exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$u")
    doc=$(sed -n 's|^Documentation=file://\([^ ]*\).*|\1|p' "$u")
    [ -x "$T/x$exe" ] || fail "$(basename "$u"): ExecStart $exe not in the packages"
    [ -f "$T/x$doc.gz" ] || [ -f "$T/x$doc" ] || fail "$(basename "$u"): Documentation $doc not in the packages"
done
grep -q 'u vtpm-worker ' "$T/x/usr/lib/sysusers.d/vtpm-mgr.conf" || fail "sysusers: no vtpm-worker"
ok "packaged binaries run (--version $VERSION); units name packaged binaries and docs"
# debian/rules links the packaged verifier dynamically: libssl3 and libjansson4 updates reach it.
ldd "$T/x/usr/bin/verifier" | grep -q 'libcrypto\.so' && ldd "$T/x/usr/bin/verifier" | grep -q 'libjansson' ||
    fail "the packaged verifier does not load libcrypto and jansson (VERIFIER_STATIC in debian/rules)"
ok "the packaged verifier loads libcrypto and jansson as shared libraries"

start=$(date +%s)
timeout -k 5 300 lintian --fail-on error,warning --display-info --tag-display-limit 0 \
    "$T/vtpm-attest_${VERSION}_$ARCH.changes" >"$T/lintian.log" 2>&1 ||
    { cat "$T/lintian.log" >&2; fail "lintian: errors or warnings"; }
grep -q '^[EW]:' "$T/lintian.log" && { cat "$T/lintian.log" >&2; fail "lintian printed E: or W:"; }
ok "lintian: no error, no warning ($(( $(date +%s) - start )) s; $(grep -c '^[IP]:' "$T/lintian.log") info tags)"
cat "$T/lintian.log"
