#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Rootfs manifests of large images at the verifier (issue 14): what a runtime check pays for
# the manifest of a 50,000-file image when it decodes it from evidence or from the manifest
# store (a cache miss) and when it finds it in the decoded manifests' cache (a hit), in one run
# (tests/tools/bench_rtmanifest). Prints a markdown section on stdout.
# Alone:  sh tests/bench/bench_rtmanifest.sh [BUILD_DIR] >section.md
# Tunables: BENCH_RTMF_FILES (default 50000), BENCH_RTMF_ROUNDS (default 21).
set -eu
B=$(cd "${1:-build}" && pwd)
FILES=${BENCH_RTMF_FILES:-50000}
ROUNDS=${BENCH_RTMF_ROUNDS:-21}
D=$(mktemp -d /tmp/bench-rtmf.XXXXXX)
trap 'rm -rf "$D"' EXIT
out=$("$B/tests/bench_rtmanifest" "$FILES" "$ROUNDS" "$D" 2>/dev/null)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
echo "\`sh tests/bench/bench_rtmanifest.sh build\` (BENCH_RTMF_FILES=$FILES,"
echo "BENCH_RTMF_ROUNDS=$ROUNDS): a synthetic manifest of $FILES regular files (paths like"
echo "\`usr/lib/python3/dist-packages/pkg0123/module_024601.py\`), medians over the rounds."
echo "Machine: $(nproc) cores ($cpu), load average $(cut -d' ' -f1 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M') UTC."
echo
echo '```'
echo "$out"
echo '```'
