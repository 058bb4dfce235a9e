#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# kmod-vtpm lint: the module builds against the Debian kernel's headers with W=1 and sparse
# (C=2) without a warning, and checkpatch.pl --strict (from Debian's linux-source-6.1,
# cached under the build dir) reports no ERROR, WARNING or CHECK on any of its .c/.h files.
. "$(dirname "$0")/lib.sh"
SRC_TAR=/usr/src/linux-source-6.1.tar.xz
for tool in make sparse perl tar xz; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool missing (swtpm-ci/install-deps.sh)"
done
[ -f "$SRC_TAR" ] || fail "$SRC_TAR missing (package linux-source-6.1)"
KC=$(sh "$ROOT/swtpm-ci/kernel-fetch.sh" "$BUILD") || fail "kernel-fetch"
KVER=$(basename "$KC")

# --- W=1 and sparse: one build, both kinds of diagnostics land in its output -------------
mkdir "$T/kmod"
tar -C "$ROOT/kmod-vtpm" --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod' \
    --exclude='*.mod.c' --exclude=Module.symvers --exclude=modules.order -cf - . | tar -C "$T/kmod" -xf -
timeout -k 5 200 make -C "/usr/src/linux-headers-$KVER" M="$T/kmod" W=1 C=2 modules \
    >"$T/build.log" 2>&1 || { cat "$T/build.log"; fail "module build (W=1 C=2)"; }
[ -f "$T/kmod/vtpm_attest.ko" ] || fail "no vtpm_attest.ko"
nsrc=$(find "$T/kmod" -maxdepth 1 -name '*.c' ! -name '*.mod.c' | wc -l)
nchk=$(grep -c '^ *CHECK ' "$T/build.log") || true
[ "$nchk" -ge "$nsrc" ] || { cat "$T/build.log"; fail "sparse checked $nchk of $nsrc files"; }
if grep -E 'warning:|error:' "$T/build.log"; then fail "module build has diagnostics"; fi
ok "W=1 C=2 build of $nsrc files for $KVER: no warning (sparse ran on $nchk)"

# --- checkpatch ----------------------------------------------------------------------------
CP=$BUILD/checkpatch-6.1
if [ ! -f "$CP/.done" ]; then
    rm -rf "$CP" && mkdir -p "$T/src"
    timeout -k 5 150 tar -C "$T/src" -xJf "$SRC_TAR" linux-source-6.1/scripts/checkpatch.pl \
        linux-source-6.1/scripts/spelling.txt linux-source-6.1/scripts/const_structs.checkpatch ||
        fail "cannot extract checkpatch.pl from $SRC_TAR"
    mkdir -p "$CP" && cp "$T/src/linux-source-6.1/scripts/"* "$CP/" && touch "$CP/.done"
fi
checkpatch() { perl "$CP/checkpatch.pl" --no-tree --strict --no-summary --terse -f "$@"; }
# It must catch a known offence, or its silence below would mean nothing.
printf 'int  f( void ) {return 0;} \n' >"$T/bad.c"
checkpatch "$T/bad.c" >"$T/bad.out" 2>&1 && fail "checkpatch accepted a bad file"
grep -q 'ERROR:' "$T/bad.out" || { cat "$T/bad.out"; fail "checkpatch self-test gave no ERROR"; }
files=$(cd "$ROOT" && find kmod-vtpm -name '*.[ch]' ! -name '*.mod.c' | sort)
[ -n "$files" ] || fail "no kmod-vtpm sources"
rc=0
(cd "$ROOT" && checkpatch $files) >"$T/cp.out" 2>&1 || rc=$?
if [ $rc -ne 0 ] || grep -qE '(ERROR|WARNING|CHECK):' "$T/cp.out"; then
    cat "$T/cp.out"; fail "checkpatch --strict (exit $rc)"
fi
ok "checkpatch --strict clean: $(echo "$files" | wc -l) files"
