# SPDX-License-Identifier: BSD-3-Clause
# A build on a machine that lacks a library stops before compiling anything and names the
# Debian package to install ("jansson not found: install libjansson-dev (make deps)"), not
# with a missing header or undefined references later. pkg-config is pointed at a copy of the
# system's .pc directories without some modules (PKG_CONFIG_LIBDIR). The module -> package
# table is checked against dpkg: each package really ships that module's .pc file.
. "$(dirname "$0")/lib.sh"
unset MAKEFLAGS MFLAGS MAKELEVEL # run alone or from make check alike

# pcdir DIR MODULE...: DIR gets links to every .pc file pkg-config sees, but those modules'.
pcdir() {
    _d=$1; shift
    mkdir -p "$_d"
    for _p in $(pkg-config --variable pc_path pkg-config | tr : ' '); do
        for _f in "$_p"/*.pc; do
            [ -f "$_f" ] && ln -sf "$_f" "$_d/"
        done
    done
    for _m; do rm -f "$_d/$_m.pc"; done
}

# build LIBDIR: make all into a private build dir (nothing may be compiled) with that libdir.
build() {
    RC=0
    PKG_CONFIG_LIBDIR=$1 timeout -k 5 60 make -C "$ROOT" B="$T/b" all >"$T/out" 2>"$T/err" || RC=$?
}

pcdir "$T/pc1" jansson
build "$T/pc1"
[ "$RC" -ne 0 ] || fail "make all succeeded without jansson"
grep -qx 'Makefile:[0-9]*: jansson not found: install libjansson-dev (make deps)' "$T/err" ||
    fail "no 'jansson not found: install libjansson-dev (make deps)': $(cat "$T/err")"
[ ! -e "$T/b/obj" ] || fail "objects were compiled before the check stopped the build"
grep -q 'undefined reference\|No such file' "$T/err" && fail "failed late: $(cat "$T/err")"
ok "jansson missing: $(grep -c 'not found' "$T/err") line, names libjansson-dev, nothing compiled"

pcdir "$T/pc2" libmicrohttpd tss2-esys cmocka
build "$T/pc2"
[ "$RC" -ne 0 ] || fail "make all succeeded without three modules"
for want in "libmicrohttpd:libmicrohttpd-dev" "tss2-esys:libtss2-dev" "cmocka:libcmocka-dev"; do
    grep -q "${want%%:*} not found: install ${want#*:} (make deps)" "$T/err" ||
        fail "${want%%:*} not named with ${want#*:}: $(cat "$T/err")"
done
ok "three modules missing: each named with its package"

RC=0
PKG_CONFIG=/nonexistent/pkg-config timeout -k 5 60 make -C "$ROOT" B="$T/b" all >"$T/out" 2>"$T/err" || RC=$?
[ "$RC" -ne 0 ] && grep -q 'not found: install pkg-config (make deps)' "$T/err" ||
    fail "no pkg-config: exit $RC, $(cat "$T/err")"
ok "pkg-config missing: named"

# Targets that install the packages first or build nothing are not stopped.
PKG_CONFIG_LIBDIR=$T/pc1 timeout -k 5 60 make -n -C "$ROOT" B="$T/b" deps clean >/dev/null 2>"$T/err" ||
    fail "make -n deps clean stopped: $(cat "$T/err")"
# With every module present the check passes (a dry run of the whole build).
pcdir "$T/pcall"
PKG_CONFIG_LIBDIR=$T/pcall timeout -k 5 60 make -n -C "$ROOT" B="$T/b" all >/dev/null 2>"$T/err" ||
    fail "make -n all with every module: $(cat "$T/err")"
ok "deps/clean not stopped; all modules present: no complaint"

# The table: each module's .pc file belongs to the package named for it.
table=$(timeout -k 5 60 make -s -C "$ROOT" B="$T/b" --eval 'show-deb-of: ; @echo $(DEB_OF)' show-deb-of) ||
    fail "cannot read DEB_OF"
n=0
for e in $table; do
    m=${e%%:*} p=${e#*:}
    pc=$(pkg-config --variable=pcfiledir "$m")/$m.pc
    got=$(dpkg -S "$(readlink -f "$pc")" 2>/dev/null | cut -d: -f1 | head -1)
    [ -z "$got" ] && got=$(dpkg -S "$pc" 2>/dev/null | cut -d: -f1 | head -1)
    [ "$got" = "$p" ] || fail "$m: its .pc ($pc) is in package '$got', the Makefile says $p"
    n=$((n + 1))
done
[ $n -ge 15 ] || fail "only $n modules in DEB_OF"
ok "DEB_OF: $n modules, each .pc file shipped by the package named"
