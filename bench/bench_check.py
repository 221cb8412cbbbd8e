#!/usr/bin/env python3
"""kn-lab check on lab 10 (the Gateway API: 5 checks, 24 HTTP requests through the cloud-lb,
a node, the Gateway's nginx and the api pods, and two API objects read by JSONPath).

Measures the wall time of `kn-lab check` (median of R runs, each a new process), with its default
parallelism and with --parallel 1, and the yardstick in the same session: the same evidence
gathered by hand, one command after another as a shell script would: 24 `curl` from the external
namespace (`ip netns exec ... curl`), two `kn-lab get ... -o jsonpath`.
The issue's bar: under 2 s.

usage: sudo bench/bench_check.py [R]     (default 9)
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KN = str(Path(os.environ.get("KNLAB_BUILD_DIR", REPO / "build")) / "kn-lab")
LAB_FILE = str(REPO / "labs" / "10-gateway-api.toml")
LAB = "gateway"


def run(*cmd: str, ok=(0,), timeout: float = 600) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr or r.stdout}")
    return r


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def by_hand() -> None:
    ns = f"kn-{LAB}.external"
    for path in ["/api"] * 22 + ["/nothing"]:
        run("ip", "netns", "exec", ns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2",
            f"http://192.168.56.200{path}")
    run(KN, "get", "gateway", "my-gateway", "-o", 'jsonpath={.status.conditions[?(@.type=="Programmed")].status}')
    run(KN, "get", "httproute", "api-route", "-o", "jsonpath={.status.parents[0].conditions[0].status}")


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    run(KN, "down", LAB)
    run(KN, "up", LAB_FILE)
    try:
        run(KN, "check", "api-through-gateway", timeout=60)  # nginx listening before timing
        default = [timed(lambda: run(KN, "check")) for _ in range(rounds)]
        serial = [timed(lambda: run(KN, "check", "--parallel", "1")) for _ in range(rounds)]
        yard = [timed(by_hand) for _ in range(rounds)]
    finally:
        run(KN, "down", LAB)
    y = statistics.median(yard)
    print(f"yardstick (24 curl + 2 get, one after another): {y:.0f} ms")
    for name, xs in (("kn-lab check", default), ("kn-lab check --parallel 1", serial)):
        m = statistics.median(xs)
        print(f"{name:<28} median {m:.0f} ms (min {min(xs):.0f}, max {max(xs):.0f}), {m / y:.2f} x yardstick"
              f"{'' if m < 2000 else '  ABOVE the 2 s bar'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
