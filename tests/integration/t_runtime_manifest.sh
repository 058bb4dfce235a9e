#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runtime integrity for a large image (docs/runtime-integrity.md, "The rootfs manifest"): a
# rootfs of 60,000 files, whose manifest (~7 MB) is over what evidence can carry, is
# registered with `attest-agent monitor` through real runc and monitored: the monitor uploads
# the manifest once to the verifier's manifest store (PUT /v1/manifests/sha256:<hex>) and
# sends evidence without it; the verifier looks it up by the quoted rootfs digest. Running an
# image binary raises no deny, a copy of busybox run from /tmp is revoked (runtime-drift). A
# second container of the same image does not upload the manifest again. The upload endpoint
# refuses bytes that do not hash to the name, malformed entries, an oversized body and an
# upload over the store's quota, and one while two others hold both upload slots, each naming
# the fault. Against a verifier without the store
# (an older one, played by oldverifier.py) the monitor sends a small image's manifest inline;
# a verifier that lost a stored manifest gets it uploaded again.
. "$(dirname "$0")/lib.sh"
need_runc curl
. "$(dirname "$0")/attest_lib.sh"
. "$(dirname "$0")/runtime_lib.sh"

NFILES=${RTMF_FILES:-60000}

start_host_tpm
start_mgr
cd "$T" || fail "cd $T"
ID=rm-$$

# b1 and b2: one image of NFILES files (big_bundle), each with a writable tmpfs /tmp
for b in b1 b2; do
    big_bundle "$b" "$NFILES"
    edit "$b/config.json" "c['mounts'].append({'destination': '/tmp', 'type': 'tmpfs',
    'source': 'tmpfs', 'options': ['nosuid', 'nodev', 'mode=1777', 'size=8m']})"
done
allow_bundle b1 policy.json
own_bundle s1 # a small image, for the older verifier at the end
allow_rootfs policy.json s1
"$AGENT" measure --bundle b1 --out mf.bin >m1.json || fail "measure b1 --out"
"$AGENT" measure --bundle b2 >m2.json || fail "measure b2"
DIG=$(json rootfs_digest <m1.json)
[ "$(json rootfs_digest <m2.json)" = "$DIG" ] || fail "b1 and b2 are not the same image"
[ "$(sha256sum mf.bin | cut -c1-64)" = "$DIG" ] || fail "the manifest does not hash to the rootfs digest"
MFSIZE=$(stat -c %s mf.bin)
[ "$MFSIZE" -gt 1048576 ] || fail "the manifest ($MFSIZE bytes) is not over evidence's 1 MiB"
ok "an image of $NFILES files: manifest of $MFSIZE bytes, over what evidence carries"
mkdir trust && cp "$HOST/ek-ca.pem" trust/ || fail "trust/"

start_rx 120
# a quota this image's manifest fits in, with less than 1 MiB left: a second one of 1.2 MB does not
QUOTA=$((MFSIZE / 1048576 + 1))
start_verifier policy.json trust --reattest-interval 120 --manifest-quota-mb "$QUOTA" \
    --notify-url "http://127.0.0.1:$(cat rx.port)/hook"
start_mon --reattest-interval 2
hook_monitor b1 b2

# --- the container starts and is monitored; the manifest goes to the store once -------------
run_ctr b1
grep -q "container $ID-b1: watched (monitor" mon.log || { cat mon.log >&2; fail "b1 not watched"; }
x b1 /bin/busybox true || fail "b1: exec busybox"
allowed() { [ "$(count "container $ID-$1: runtime evidence allowed")" -ge 1 ]; }
until_ok 20 "b1: no runtime evidence allowed" allowed b1
grep -q "container $ID-b1: rootfs manifest sha256:$DIG uploaded to the verifier ($MFSIZE bytes)" mon.log ||
    { cat mon.log >&2; fail "b1: the manifest was not uploaded"; }
grep -q "manifest sha256:$DIG stored ($MFSIZE bytes, " vf.log || fail "the verifier did not store it"
grep -q "not a file of the measured rootfs" mon.log && fail "an image binary was taken for drift"
[ "$(field b1 verdict)" = allow ] || fail "b1: running the image's binaries was denied: $(field b1 reasons)"
ok "b1: started, watched, its manifest uploaded once, image binaries allowed"

# --- a second container of the same image: no second upload ---------------------------------
rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$MON_PID/status"; }
RSS1=$(rss)
run_ctr b2
x b2 /bin/busybox true || fail "b2: exec busybox"
until_ok 20 "b2: no runtime evidence allowed" allowed b2
[ "$(field b2 verdict)" = allow ] || fail "b2 denied: $(field b2 reasons)"
[ "$(grep -c "manifest sha256:$DIG stored" vf.log)" = 1 ] || fail "the verifier stored the manifest twice"
[ "$(grep -c "rootfs manifest sha256:$DIG uploaded" mon.log)" = 1 ] || fail "the monitor uploaded it twice"
up=$(curl -sS --max-time 5 "$URL/metrics" | sed -n 's/^verifier_manifest_uploads_total //p')
[ "$up" = 1 ] || fail "verifier_manifest_uploads_total is $up, not 1"
hits=$(curl -sS --max-time 5 "$URL/metrics" | sed -n 's/^verifier_manifest_cache_hits_total //p')
[ "${hits:-0}" -ge 1 ] || fail "no check found the manifest in the cache"
ok "b2 (same image): allowed with the stored manifest, not uploaded again (1 upload, $hits cache hits)"
# the monitor holds the image's manifest (7 MB) and its index once for both containers
grep -q "container $ID-b2: watched (.*held by 2 watched containers)" mon.log ||
    { grep "watched (" mon.log >&2; fail "b2 does not share b1's manifest in the monitor"; }
[ "$(ls "$STATE"/*.img | wc -l)" = 1 ] && ! ls "$STATE"/*.mf >/dev/null 2>&1 ||
    { ls -la "$STATE" >&2; fail "not one image file for b1 and b2"; }
RSS2=$(rss)
# (an ASan build keeps freed memory in its quarantine: its RSS says nothing of this)
if ldd "$AGENT" | grep -q libasan; then
    grew="not measured: an ASan build"
else
    [ $((RSS2 - RSS1)) -lt "$MFSIZE" ] ||
        fail "the monitor grew by $((RSS2 - RSS1)) bytes for b2, more than its image's manifest ($MFSIZE)"
    grew="it grew by $(((RSS2 - RSS1) / 1024)) KiB for b2"
fi
ok "the monitor keeps b1's and b2's manifest once (one image, one state file; $grew)"

# --- drift: /tmp/sh revoked ---------------------------------------------------------------
drift_revoked b1
field b1 reasons | grep -q 'runtime-manifest' && fail "b1 judged without its manifest: $(field b1 reasons)"
notified() { grep -q "\"id\":\"$ID-b1\".*\"revoked\"\|\"revoked\".*\"id\":\"$ID-b1\"" rx.log 2>/dev/null; }
until_ok 5 "no revocation of b1 at the webhook" notified
[ "$(field b2 verdict)" = allow ] || fail "b2 revoked with b1"
ok "b1: /tmp/sh revoked as runtime-drift:/tmp/sh (webhook notified), b2 still allowed"

# --- the upload endpoint's refusals ---------------------------------------------------------
put() { # FILE NAME-HEX: the status and body of PUT /v1/manifests/sha256:NAME-HEX
    curl -sS --max-time 30 -o put.out -w '%{http_code}' -X PUT \
        -H 'Content-Type: application/cbor-seq' --data-binary "@$1" "$URL/v1/manifests/sha256:$2"
}
refused() { # STATUS TEXT FILE NAME-HEX
    _s=$(put "$3" "$4")
    [ "$_s" = "$1" ] || { cat put.out >&2; fail "PUT $3: HTTP $_s, not $1"; }
    grep -q "$2" put.out || { cat put.out >&2; fail "PUT $3: the answer does not say '$2'"; }
}
head -c 1000 mf.bin >cut.bin
refused 400 "SHA-256 is not the name" cut.bin "$DIG"
refused 400 "not tree-digest entries" cut.bin "$(sha256sum cut.bin | cut -c1-64)"
head -c 34000000 /dev/zero >big.bin
refused 413 "manifest over 33554432 bytes" big.bin "$(sha256sum big.bin | cut -c1-64)"
# another valid manifest (10,240 files, 1.2 MB): over the quota with b1's, nothing evictable
# (b1's manifest is in use and young)
mkdir -p small/rootfs && cp b1/config.json small/ && (cd b1/rootfs && tar cf - bin usr/share/data/package-0[0-3]*) |
    (cd small/rootfs && tar xf -) || fail "small image"
"$AGENT" measure --bundle small --out small.bin >/dev/null || fail "measure small --out"
SDIG=$(sha256sum small.bin | cut -c1-64)
refused 507 "over its quota" small.bin "$SDIG"
[ "$(curl -sS -o /dev/null -w '%{http_code}' -I "$URL/v1/manifests/sha256:$SDIG")" = 404 ] ||
    fail "a refused manifest is in the store"
[ "$(curl -sS -o /dev/null -w '%{http_code}' -I "$URL/v1/manifests/sha256:$DIG")" = 200 ] ||
    fail "HEAD does not find b1's manifest"
s=$(put mf.bin "$DIG")
[ "$s" = 200 ] && grep -q '"stored":false' put.out || fail "PUT of a stored manifest: HTTP $s $(cat put.out)"
grep -q "refused (400): the body's SHA-256 is not the name" vf.log || fail "the hash refusal is not logged"
ok "uploads refused: hash not the name (400), malformed (400), over 32 MiB (413), over quota (507)"

# --- upload slots: two bodies being read (the default --max-manifest-uploads 2) hold them; a
# third upload is refused before its body (503), and once they are gone one is taken again ---
cat >hold.py <<'EOF'
import os, socket, sys, time
port, name = int(sys.argv[1]), sys.argv[2]
socks = []
for _ in range(2):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(("PUT /v1/manifests/sha256:%s HTTP/1.1\r\nHost: x\r\n"
               "Content-Type: application/cbor-seq\r\nContent-Length: 1000000\r\n\r\n"
               % name).encode() + b"\0" * 1000)
    socks.append(s)
open("held", "w").close()
for _ in range(100):
    if not os.path.exists("release"):
        time.sleep(0.1)
for s in socks:
    s.close()
EOF
rm -f held release
timeout 30 python3 hold.py "$PORT" "$SDIG" &
HOLD_PID=$!
until_ok 5 "the slow uploads did not start" test -f held
sleep 0.3
refused 503 "2 manifest uploads at once already" small.bin "$SDIG"
touch release
wait "$HOLD_PID" || true
free_slot() { [ "$(put mf.bin "$DIG")" = 200 ]; }
until_ok 10 "no upload slot free after the slow uploads left" free_slot
ok "two uploads being read hold both slots: a third refused (503); a slot free once they left"

# --- the verifier loses the manifest (its row deleted, the verifier restarted: no cache) -----
stop_vf
python3 -c "import sqlite3; c = sqlite3.connect('$T/vf.db'); c.execute('DELETE FROM manifests'); c.commit()" ||
    fail "delete the stored manifests"
start_verifier policy.json trust --reattest-interval 120 --manifest-quota-mb "$QUOTA" \
    --notify-url "http://127.0.0.1:$(cat rx.port)/hook" --listen "127.0.0.1:$PORT"
reuploaded() { [ "$(grep -c "rootfs manifest sha256:$DIG uploaded" mon.log)" -ge 2 ]; }
until_ok 20 "the monitor did not upload the lost manifest again" reuploaded
# whichever of b1 and b2 (one image) sent evidence first met the missing manifest
grep -q "container $ID-b[12]: runtime evidence denied: the verifier has no manifest of its rootfs any more; uploading it again" mon.log ||
    fail "the deny for the missing manifest not seen by the monitor"
b2allowed() { [ "$(field b2 verdict)" = allow ]; }
until_ok 10 "b2 not allowed again after the upload" b2allowed
ok "a verifier that lost the manifest: denied runtime-manifest-missing, the monitor uploaded it again, b2 allowed"

term_mon
[ "$mrc" = 0 ] || { tail -n 5 mon.log >&2; fail "the monitor exited with $mrc"; }

# --- a verifier without the manifest store (older): the manifest goes inline ---------------
# oldverifier.py answers /v1/manifests/... as such a verifier did (405) and passes the rest on
python3 "$ROOT/tests/integration/oldverifier.py" "$URL" old.port old.log 2>old.err &
OLD_PID=$!
at_exit 'stop_pid "$OLD_PID" 30 || true'
i=0; while [ ! -s old.port ]; do
    i=$((i + 1)); [ $i -lt 100 ] || { cat old.err >&2; fail "oldverifier.py did not start"; }
    sleep 0.1
done
URL=http://127.0.0.1:$(cat old.port)
STATE=$T/mstate2 start_mon --reattest-interval 2
hook_monitor s1
run_ctr s1
x s1 /bin/busybox true || fail "s1: exec busybox"
until_ok 20 "s1: no runtime evidence allowed through the older verifier" allowed s1
grep -q "the verifier has no manifest store (an older one): rootfs manifests go inline" mon.log ||
    fail "the monitor did not fall back to the inline manifest"
grep -q "^HEAD /v1/manifests/sha256:" old.log || fail "the monitor did not ask for the store"
grep -q "^PUT /v1/manifests/" old.log && fail "the monitor uploaded to a verifier without the store"
SDIG1=$(json rootfs_digest <m-s1.json)
grep -q "manifest sha256:$SDIG1 stored from the inline rootfs_manifest of $ID-s1" vf.log ||
    fail "the inline manifest was not kept in the store"
drift_revoked s1
ok "an older verifier (405): the manifest inline, judged (drift revoked), kept in the store"
term_mon
echo "t_runtime_manifest: all passed"
