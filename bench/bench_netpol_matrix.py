#!/usr/bin/env python3
"""The NetworkPolicy truth tables' probe: all 81 pairs of lab npm (namespaces x, y, z with pods a,
b, c on three nodes) on 80/TCP, 81/TCP, 80/UDP and 81/UDP, 324 probes at once (one prober per
source pod, as tests/e2e/test_netpol_matrix.py does), timed with no policy (every probe answered)
and under a default deny of x's ingress (the 108 probes into x wait for the 1 s timeout). The
yardstick in the same session: the same 324 probes one after another (`ip netns exec` + the same
probe script per pair), as a shell loop would do them, on the open matrix.

usage: sudo bench/bench_netpol_matrix.py [R]     (default 5)
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
import netpol_matrix as nm  # noqa: E402

KN = str(Path(os.environ.get("KNLAB_BUILD_DIR", REPO / "build")) / "kn-lab")
LAB_FILE = REPO / "tests" / "e2e" / "data" / "netpol-matrix" / "netpol-matrix.toml"
DENY_X = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-x, namespace: x}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""


def kn(*args: str) -> str:
    r = subprocess.run([KN, *args], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"kn-lab {' '.join(args)}: {r.stderr}")
    return r.stdout


def one_by_one(prober: nm.Prober) -> float:
    t0 = time.monotonic()
    for src in nm.PODS:
        for pp in nm.ALL:
            for dst in nm.PODS:
                t = prober.pods[dst]
                job = json.dumps({"timeout": prober.timeout, "probes": [{"to": t.podstring, "ip": t.ip, "port": pp.port,
                                  "protocol": pp.protocol, "name": t.name, "namespace": t.namespace, "sport": 0}]})
                subprocess.run(["ip", "netns", "exec", prober.pods[src].netns, prober.python, str(prober.script), job],
                               capture_output=True, check=True)
    return time.monotonic() - t0


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    lab = "npm"
    kn("down", lab)
    kn("up", str(LAB_FILE))
    try:
        pods = nm.pods_from_get(json.loads(kn("get", "pod", "-A", "-o", "json", "--lab", lab))["items"])
        prober = nm.Prober(pods)
        deadline = time.monotonic() + 10
        while not all(ok for ok, _ in prober.probe().results.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        open_ = [prober.probe().seconds for _ in range(rounds)]
        yard = [one_by_one(prober) for _ in range(max(1, rounds // 2))]
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(DENY_X)
            f.flush()
            kn("apply", "-f", f.name, "--lab", lab)
        denied = [prober.probe().seconds for _ in range(rounds)]
    finally:
        kn("down", lab)
    y = statistics.median(yard)
    print(f"yardstick (324 probes one after another, open matrix): {y * 1000:.0f} ms")
    for name, xs in (("81 pairs x 4, open", open_), ("81 pairs x 4, x denies ingress", denied)):
        m = statistics.median(xs)
        print(f"{name:<32} median {m * 1000:.0f} ms (min {min(xs) * 1000:.0f}, max {max(xs) * 1000:.0f}), {m / y:.2f} x yardstick")
    return 0


if __name__ == "__main__":
    sys.exit(main())
