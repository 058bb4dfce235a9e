# SPDX-License-Identifier: BSD-3-Clause
"""N container starts at once against the agent service, without a container runtime.

For each of N bundles (BUNDLE_PREFIX0 .. BUNDLE_PREFIX<N-1>, made by the caller) a process
stands in for the container (`sleep`, its pid in the OCI state) and attest-agent-hook is
started with that state on stdin, all N hooks at once. Prints one JSON object: each hook's
time from its start to its exit (ms; each hook is waited for by a thread of its own, so a
slow hook does not delay the time taken of the others), the time until the last one ended
(ms), how many were allowed (exit 0) and the hooks' CPU time (ms).

usage: hookburst.py HOOK N ID_PREFIX BUNDLE_PREFIX -- HOOK_ARGS...
(HOOKBURST_STDERR_DIR=DIR: each hook's stderr kept as DIR/<i>.err)
"""
import json
import os
import resource
import subprocess
import sys
import threading
import time

hook, n, idp, bp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
args = sys.argv[sys.argv.index("--") + 1:]


def wait_one(p, res, i):
    err = p.stderr.read()
    if os.environ.get("HOOKBURST_STDERR_DIR"):  # each hook's diagnostics, for profiling
        with open(os.path.join(os.environ["HOOKBURST_STDERR_DIR"], "%d.err" % i), "wb") as f:
            f.write(err)
    rc = p.wait(timeout=180)
    res[i] = (time.monotonic(), rc, err)


sleepers = [subprocess.Popen(["sleep", "180"]) for _ in range(n)]
procs = []
ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
try:
    t0 = time.monotonic()
    for i in range(n):
        state = json.dumps({"ociVersion": "1.0.2", "id": "%s%d" % (idp, i),
                            "status": "creating", "pid": sleepers[i].pid,
                            "bundle": "%s%d" % (bp, i)}).encode()
        p = subprocess.Popen([hook] + args, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append((p, time.monotonic(), state))
    res = [None] * n
    waiters = [threading.Thread(target=wait_one, args=(p, res, i))
               for i, (p, _, _) in enumerate(procs)]
    for w in waiters:
        w.start()
    for p, _, state in procs:  # every hook is running before any gets its state
        p.stdin.write(state)
        p.stdin.close()
    for w in waiters:
        w.join(timeout=200)
    lat, ok, errs = [], 0, []
    for (p, ts, _), r in zip(procs, res):
        if r is None:
            p.kill()
            errs.append("hook not finished in 200 s")
            continue
        lat.append((r[0] - ts) * 1000)
        if r[1] == 0:
            ok += 1
        elif len(errs) < 3:
            errs.append(r[2].decode(errors="replace")[-400:])
    total = (max(r[0] for r in res if r) - t0) * 1000 if any(res) else 0
finally:
    for s in sleepers:
        s.kill()
        s.wait()
ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) * 1000
print(json.dumps({"n": n, "allowed": ok, "latency_ms": sorted(lat), "total_ms": total,
                  "hooks_cpu_ms": cpu, "errors": errs}))
