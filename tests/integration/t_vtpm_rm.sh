#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Transient objects of a client (docs/architecture.md, "Transient objects of a client"): stock
# tpm2-tools and the tpm2-openssl provider, each process on one data connection (tpm2-tss's cmd
# TCTI through socat), leave objects and sessions behind; vtpm-mgr flushes what a connection
# holds when it closes, so rounds of createek, createak and quote never run a vTPM out of its
# three object slots. On the swtpm TCTI (a connection per command) objects stay until flushed.
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || fail "socat missing (swtpm-ci/install-deps.sh)"
command -v openssl >/dev/null || fail "openssl missing"
start_host_tpm
start_mgr
cd "$T"
U=$(create_vtpm --name rm-1) || fail "create"
S=$(sock_of "$U")
# one: a tool on one connection for its whole run.
one() { s=$1; shift; TPM2TOOLS_TCTI="cmd:socat - UNIX-CONNECT:$s" timeout 30 "$@"; }
# held KIND: the vTPM's handles of a tpm2_getcap kind (its connection holds none of its own).
held() { vt "$S" tpm2_getcap "$1" | grep -c '^- 0x' || true; }

# The swtpm TCTI: a connection per command; the EK stays loaded after the tool exits.
vt "$S" tpm2_createek -G ecc -c ek.ctx >/dev/null || fail "createek (swtpm TCTI)"
[ "$(held handles-transient)" = 1 ] || fail "swtpm TCTI: $(held handles-transient) transient objects, want 1"
vt "$S" tpm2_flushcontext -t || fail flushcontext
ok "swtpm TCTI: an object stays loaded after its tool exits (connection per command)"

# Five rounds of createek, createak (a policy session for the EK) and quote, each tool on one
# connection, none flushing: nine objects and five sessions left by them in all.
i=0
while [ $i -lt 5 ]; do
    i=$((i + 1))
    one "$S" tpm2_createek -G ecc -c ek.ctx >/dev/null || fail "createek, round $i"
    one "$S" tpm2_createak -C ek.ctx -c ak.ctx -G ecc -g sha256 -s ecdsa -u ak.pub >/dev/null ||
        fail "createak, round $i"
    one "$S" tpm2_quote -c ak.ctx -l sha256:0,1 -q 0011223344 -m q.msg -s q.sig -g sha256 \
        >/dev/null || fail "quote, round $i"
    tpm2_checkquote -u ak.pub -m q.msg -s q.sig -q 0011223344 -g sha256 >/dev/null 2>&1 ||
        fail "the quote of round $i does not verify"
done
[ "$(held handles-transient)" = 0 ] || fail "$(held handles-transient) transient objects left"
[ "$(held handles-loaded-session)" = 0 ] || fail "loaded sessions left"
[ "$(held handles-saved-session)" = 0 ] || fail "saved sessions left"
ok "5 rounds of createek, createak, quote on the cmd TCTI: no object or session left"

# The tpm2-openssl provider: a key made and used by openssl, five times.
export TPM2OPENSSL_TCTI="cmd:socat - UNIX-CONNECT:$S"
echo "data to sign" >msg
i=0
while [ $i -lt 5 ]; do
    i=$((i + 1))
    timeout 60 openssl genpkey -provider tpm2 -provider base -algorithm EC \
        -pkeyopt group:P-256 -out "key$i.pem" 2>"ossl.log" || { cat ossl.log >&2; fail "genpkey $i"; }
    timeout 60 openssl pkeyutl -provider tpm2 -provider base -sign -inkey "key$i.pem" -rawin \
        -digest sha256 -in msg -out "sig$i" 2>"ossl.log" || { cat ossl.log >&2; fail "sign $i"; }
done
unset TPM2OPENSSL_TCTI
[ "$(held handles-transient)" = 0 ] || fail "$(held handles-transient) transient objects left by openssl"
[ "$(held handles-loaded-session)" = 0 ] || fail "loaded sessions left by openssl"
ok "tpm2-openssl provider: 5 keys made and used, no object or session left"

# A client's objects live while its connection does: a sixth tool run after all of the above
# still finds every slot free.
one "$S" tpm2_createprimary -C o -G ecc -c p1.ctx >/dev/null || fail "createprimary 1"
one "$S" tpm2_createprimary -C o -G ecc -c p2.ctx >/dev/null || fail "createprimary 2"
one "$S" tpm2_createprimary -C o -G ecc -c p3.ctx >/dev/null || fail "createprimary 3"
one "$S" tpm2_createprimary -C o -G ecc -c p4.ctx >/dev/null || fail "createprimary 4"
[ "$(held handles-transient)" = 0 ] || fail "primaries left"
ok "four primaries one after another: slots freed at each tool's exit"
