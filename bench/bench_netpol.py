#!/usr/bin/env python3
"""NetworkPolicy at scale: a 20-node lab with 200 pods in 10 namespaces and 50 policies.

Measures, with kn-lab's own live changes (wall time of the command, median of R):
  up          the whole lab with its 50 policies
  apply       one more policy (every node's filter table and sets)
  add pod     `run` of one pod selected by policies (its node's table, every node's sets)
  relabel     `label ns` that changes which namespaces a policy admits (sets only)
and the yardstick, in the same session: what the same "apply" costs with the command-line tools,
one `ipset restore` and one `iptables-legacy-restore --noflush` per node of exactly the rules and
sets kn-lab wrote (taken from the nodes), run node after node as a shell script would.

usage: sudo bench/bench_netpol.py [R]     (default 3)
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KN = str(Path(os.environ.get("KNLAB_BUILD_DIR", REPO / "build")) / "kn-lab")
LAB = "npb"
NODES, NAMESPACES, PODS, POLICIES = 20, 10, 200, 50


def run(*cmd: str, input: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr or r.stdout}")
    return r


def timed(*cmd: str, input: str | None = None) -> float:
    t0 = time.perf_counter()
    run(*cmd, input=input)
    return (time.perf_counter() - t0) * 1000


def policy(i: int, ns: int) -> str:
    return f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: p{i}, namespace: ns{ns}}}
spec:
  podSelector: {{matchLabels: {{app: a{i % 5}}}}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector: {{matchLabels: {{team: t{(ns + 1) % NAMESPACES}}}}}
      podSelector: {{matchExpressions: [{{key: app, operator: In, values: [a0, a1]}}]}}
    ports: [{{port: 80}}]
  egress:
  - to: [{{podSelector: {{}}}}]
  - ports: [{{protocol: UDP, port: 53}}]
"""


def write_lab(d: Path) -> Path:
    docs = [f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{n}, labels: {{team: t{n}}}}}\n" for n in range(NAMESPACES)]
    for p in range(PODS):
        docs.append(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{p}, namespace: ns{p % NAMESPACES}, labels: {{app: a{p % 5}}}}}\n"
                    f"spec:\n  nodeName: node{p % NODES + 1}\n  containers: [{{name: c, image: nginx}}]\n")
    docs += [policy(i, i % NAMESPACES) for i in range(POLICIES)]
    (d / "objects.yaml").write_text("---\n".join(docs))
    nodes = "".join(f"[[node]]\nname = \"node{n + 1}\"\n" for n in range(NODES))
    lab = d / "npb.toml"
    lab.write_text(f"[lab]\nname = \"{LAB}\"\nmanifests = [\"objects.yaml\"]\n[cluster]\nnode_network = \"192.168.56.0/24\"\n{nodes}")
    return lab


def yardstick() -> float:
    """The same state written with ipset restore + iptables-legacy-restore, node after node."""
    total = 0.0
    for n in range(NODES):
        ns = f"kn-{LAB}.node{n + 1}"
        sets = run("ip", "netns", "exec", ns, "ipset", "save").stdout
        table = run("ip", "netns", "exec", ns, "iptables-legacy-save", "-t", "filter").stdout
        total += timed("ip", "netns", "exec", ns, "ipset", "restore", "-exist", input=sets)
        total += timed("ip", "netns", "exec", ns, "iptables-legacy-restore", "--noflush", input=table)
    return total


def main() -> int:
    if os.geteuid() != 0:
        print("run as root", file=sys.stderr)
        return 1
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    results: dict[str, list[float]] = {k: [] for k in ("up", "apply", "add pod", "relabel", "yardstick")}
    with tempfile.TemporaryDirectory() as tmp:
        lab = write_lab(Path(tmp))
        for _ in range(reps):
            subprocess.run([KN, "down", LAB], capture_output=True)
            results["up"].append(timed(KN, "up", str(lab)))
            results["apply"].append(timed(KN, "apply", "-f", "-", "--lab", LAB, input=policy(POLICIES, 3)))
            results["add pod"].append(timed(KN, "run", "extra", "--image=nginx", "-n", "ns4", "--labels=app=a0", "--lab", LAB))
            results["relabel"].append(timed(KN, "label", "ns", "ns5", "team=t9", "--overwrite", "--lab", LAB))
            results["yardstick"].append(yardstick())
            run(KN, "down", LAB)
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"NetworkPolicy, {NODES} nodes, {PODS} pods, {POLICIES} policies (median of {reps}):")
    for k in ("up", "apply", "add pod", "relabel"):
        print(f"  {k:9} {med[k]:8.0f} ms")
    print(f"  yardstick (ipset restore + iptables-legacy-restore per node, same state): {med['yardstick']:.0f} ms")
    print(f"  apply / yardstick = {med['apply'] / med['yardstick']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
