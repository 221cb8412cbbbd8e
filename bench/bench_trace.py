#!/usr/bin/env python3
"""kn-lab trace at scale: a 20-node VXLAN lab with 300 Services (30 Deployments of 2 pods, ten
Services each) and a client pod.

Measures the wall time of `kn-lab trace` without --probe (median of R runs, each a new process
that reads the lab's record and then only the kernel objects on the packet's path):
  clusterip   client -> svc/sNNN: kube-proxy's nat table of 300 Services walked, VXLAN, reply
  pod         client -> a pod on another node
  nodeport    external -> node7:NODEPORT
and the yardstick, in the same session: what a learner does by hand for the first of those, with
one command per object (`ip route get` in the client and its node, `iptables-legacy-save -t nat`
of the node, `ip neigh`, `bridge fdb` of the node, `ip route get` in the remote node), run one
after another as a shell script would.

usage: sudo bench/bench_trace.py [R]     (default 9)
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
KN = str(Path(os.environ.get("KNLAB_BUILD_DIR", REPO / "build")) / "kn-lab")
LAB = "trb"
NODES, DEPLOYMENTS, SERVICES = 20, 30, 300


def run(*cmd: str, timeout: float = 600) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr or r.stdout}")
    return r


def timed(*cmd: str) -> float:
    t0 = time.perf_counter()
    run(*cmd)
    return (time.perf_counter() - t0) * 1000


def lab_text() -> str:
    t = f'[lab]\nname = "{LAB}"\n[cluster]\ncni = "vxlan"\ndns = false\n'
    for n in range(1, NODES + 1):
        t += f'[[node]]\nname = "node{n}"\n'
    t += '[[pod]]\nname = "client"\nnode = "node1"\nimage = "alpine"\n'
    for d in range(DEPLOYMENTS):
        t += f'[[deployment]]\nname = "d{d}"\nimage = "nginx"\nreplicas = 2\n'
    for s in range(SERVICES):
        t += (f'[[service]]\nname = "s{s}"\nselector = {{ app = "d{s % DEPLOYMENTS}" }}\nport = 80\n'
              f'type = "{"NodePort" if s == SERVICES - 1 else "ClusterIP"}"\n')
    return t


def main() -> int:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / f"{LAB}.toml"
        f.write_text(lab_text())
        t0 = time.perf_counter()
        run(KN, "up", str(f))
        print(f"up: {NODES} nodes, {SERVICES} services, {DEPLOYMENTS * 2 + 1} pods in {(time.perf_counter() - t0):.1f} s")
    try:
        pods = json.loads(run(KN, "get", "pods", "-o", "json", "--lab", LAB).stdout)["items"]
        remote = next(p for p in pods if p["spec"]["nodeName"] != "node1")
        np = json.loads(run(KN, "get", "svc", f"s{SERVICES - 1}", "-o", "json", "--lab", LAB).stdout)["spec"]["ports"][0]["nodePort"]
        cases = {
            "clusterip": ["client", f"svc/s{SERVICES // 2}"],
            "pod": ["client", f"{remote['metadata']['name']}:80"],
            "nodeport": ["external", f"node7:{np}"],
        }
        for name, args in cases.items():
            out = json.loads(run(KN, "trace", *args, "-o", "json", "--lab", LAB).stdout)
            assert out["forward"]["delivered"], out["forward"]["outcome"]
        results = {name: statistics.median(timed(KN, "trace", *args, "--lab", LAB) for _ in range(reps)) for name, args in cases.items()}
        ns = lambda o: f"kn-{LAB}.{o}"
        svc_ip = json.loads(run(KN, "get", "svc", f"s{SERVICES // 2}", "-o", "json", "--lab", LAB).stdout)["spec"]["clusterIP"]
        by_hand = [
            ["ip", "-n", ns("client"), "route", "get", svc_ip],
            ["ip", "netns", "exec", ns("node1"), "iptables-legacy-save", "-t", "nat"],
            ["ip", "-n", ns("node1"), "route", "get", remote["status"]["podIP"], "from", "10.244.0.2", "iif", "cni0"],
            ["ip", "-n", ns("node1"), "neigh", "show", "dev", "flannel.1"],
            ["bridge", "-n", ns("node1"), "fdb", "show", "dev", "flannel.1"],
            ["ip", "-n", ns(remote["spec"]["nodeName"]), "route", "get", remote["status"]["podIP"]],
        ]
        yard = statistics.median(sum(timed(*c) for c in by_hand) for _ in range(reps))
    finally:
        if not os.environ.get("KEEP"): run(KN, "down", LAB)
    for name, ms in results.items():
        print(f"trace {name:<10} {ms:7.1f} ms   ratio to the yardstick {ms / yard:.2f}")
    print(f"yardstick (6 commands by hand) {yard:7.1f} ms")
    return 0 if max(results.values()) < 100 else 1


if __name__ == "__main__":
    sys.exit(main())
