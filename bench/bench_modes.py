#!/usr/bin/env python3
"""Three-node labs in each CNI mode: up/down times and pod-to-pod throughput.

For each of labs 03 (VXLAN), 04 (host-gw) and 05 (BGP) this brings the lab up and down R
times (median reported), then, with the lab up, measures iperf3 TCP throughput between two
pods on different nodes, and once between two pods on the same node (the bridge-only path).
Traffic stays between the lab's own pod namespaces.

usage: sudo bench/bench_modes.py [R] [seconds]      (defaults: 5 repetitions, 3 s of iperf3)
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KN = Path(os.environ.get("KNLAB_BUILD_DIR", REPO / "build")) / "kn-lab"
LABS = [("vxlan", "03-pod-to-pod-vxlan"), ("host-gw", "04-pod-to-pod-host-gw"), ("bgp", "05-pod-to-pod-bgp")]


def run(*cmd: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr or r.stdout}")
    return r


def timed(*cmd: str) -> float:
    t0 = time.perf_counter()
    run(*cmd)
    return (time.perf_counter() - t0) * 1000


def pod_ips(lab: str) -> dict[str, str]:
    items = json.loads(run(str(KN), "get", "pods", "-o", "json", "--lab", lab).stdout)["items"]
    return {p["metadata"]["name"]: p["status"]["podIP"] for p in items}


def iperf(lab: str, server: str, client: str, ip: str, seconds: int) -> float:
    """Gbit/s from client pod to server pod (iperf3 server started in the server pod's netns)."""
    srv = subprocess.Popen(["ip", "netns", "exec", f"kn-{lab}.{server}", "iperf3", "-s", "-1", "-p", "5201"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        out = run("ip", "netns", "exec", f"kn-{lab}.{client}", "iperf3", "-c", ip, "-p", "5201", "-t", str(seconds), "-J",
                  timeout=seconds + 30).stdout
        return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9
    finally:
        srv.kill()
        srv.wait()


def main() -> int:
    if os.geteuid() != 0:
        print("run as root", file=sys.stderr)
        return 1
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    results = []
    same_node = None
    for mode, labfile in LABS:
        lab = mode.replace("-", "")
        ups, downs = [], []
        for _ in range(reps):
            ups.append(timed(str(KN), "up", labfile))
            downs.append(timed(str(KN), "down", lab))
        run(str(KN), "up", labfile)
        try:
            ips = pod_ips(lab)
            cross = iperf(lab, "a2", "a1", ips["a2"], seconds)   # node1 -> node2
            if same_node is None:
                same_node = iperf(lab, "b1", "a1", ips["b1"], seconds)  # both on node1
        finally:
            run(str(KN), "down", lab)
        results.append({"mode": mode, "up_ms": statistics.median(ups), "down_ms": statistics.median(downs),
                        "cross_node_gbit_s": cross})
    print(f"three nodes, six pods; median of {reps} runs; iperf3 TCP {seconds} s, one stream")
    print(f"{'mode':<9}{'up ms':>9}{'down ms':>10}{'pod->pod across nodes':>24}")
    for r in results:
        print(f"{r['mode']:<9}{r['up_ms']:>9.1f}{r['down_ms']:>10.1f}{r['cross_node_gbit_s']:>19.1f} Gbit/s")
    print(f"same-node pair (cni0 bridge only): {same_node:.1f} Gbit/s")
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "modes.json").write_text(json.dumps({"results": results, "same_node_gbit_s": same_node}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
