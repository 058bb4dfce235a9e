#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs the Debian 12 packages that building, testing and the demo need; skips what is present.
set -eu
PKGS="build-essential pkg-config clang libssl-dev openssl libtss2-dev tpm2-tools tpm2-openssl
      libtpms-dev swtpm swtpm-tools libcbor-dev libjansson-dev uuid-dev libcmocka-dev
      libseccomp-dev libcap-ng-dev procps util-linux hyperfine python3
      libcurl4-openssl-dev curl runc busybox-static libmicrohttpd-dev libgnutls28-dev
      libsqlite3-dev libfuse3-dev fuse3
      qemu-system-x86 ovmf sparse dkms kmod linux-source-6.1 fakeroot xz-utils
      libpq-dev postgresql wrk jq help2man groff-base man-db socat strace
      podman crun containerd skopeo golang-github-containers-image-dev docker-registry
      debhelper dh-dkms dpkg-dev lintian systemd libevent-dev libcjson-dev libunistring-dev"
# The kernel tests also need linux-headers-<ver>-amd64, whose name is computed:
# swtpm-ci/kernel-fetch.sh installs it. t_imagesig_cosign.sh needs cosign, which Debian 12
# lacks: swtpm-ci/cosign-fetch.sh unpacks Debian 13's into the build dir when the test runs.
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing (run as root to install them)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
