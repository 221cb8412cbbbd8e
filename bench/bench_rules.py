#!/usr/bin/env python3
"""kube-proxy rules: programming S services x 3 endpoints into one node's nat table.

Compares, in the same run and each into a fresh scratch namespace (kn-bench.rules*):
  kn-lab     iptables_apply() through libiptc, one commit (build/knlab-ipt-apply --bench S)
  restore    iptables-legacy-restore of exactly the same rules (the rendering kn-lab applied)
  per-rule   one iptables-legacy process per rule (only for S <= 100: it takes ~30 ms a rule)
and a re-apply of the whole table of S services into the loaded table, which is what a rescale
of one service costs kn-lab (each change replaces the table in one commit, as kube-proxy's
iptables-restore does).

usage: sudo bench/bench_rules.py [S ...]     (default: 100 1000 5000)
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOL = Path(os.environ.get("KNLAB_BUILD_DIR", REPO / "build")) / "knlab-ipt-apply"
NS = "kn-bench.rules"


def sh(*cmd: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, input=input, capture_output=True, text=True, check=True)


def fresh_ns() -> None:
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    sh("ip", "netns", "add", NS)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def best(fn, reps: int = 3) -> float:
    times = []
    for _ in range(reps):
        fresh_ns()
        times.append(timed(fn))
    return min(times)


def main() -> int:
    if os.geteuid() != 0:
        print("run as root", file=sys.stderr)
        return 1
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1000, 5000]
    env = dict(os.environ, XTABLES_LOCKFILE="/tmp/kn-bench-xtables.lock")
    os.environ.update(env)
    rows = []
    try:
        for s in sizes:
            text = sh(str(TOOL), "-", "--bench", str(s), "--no-apply").stdout
            rules = [l for l in text.splitlines() if l.startswith("-A ")]
            kn = best(lambda: sh(str(TOOL), NS, "--bench", str(s)))
            restore = best(lambda: sh("ip", "netns", "exec", NS, "iptables-legacy-restore", input=text))
            # Re-apply into the loaded table (what one rescale costs): kn-lab vs restore.
            fresh_ns()
            sh(str(TOOL), NS, "--bench", str(s))
            re_kn = statistics.median(timed(lambda: sh(str(TOOL), NS, "--bench", str(s))) for _ in range(3))
            re_restore = statistics.median(
                timed(lambda: sh("ip", "netns", "exec", NS, "iptables-legacy-restore", input=text)) for _ in range(3))
            per_rule = None
            if s <= 100:
                fresh_ns()
                chains = [l[1:].split()[0] for l in text.splitlines() if l.startswith(":KUBE-")]
                def one_by_one():
                    for c in chains:
                        sh("ip", "netns", "exec", NS, "iptables-legacy", "-t", "nat", "-N", c)
                    for r in rules:
                        sh("ip", "netns", "exec", NS, "iptables-legacy", "-t", "nat", *split_rule(r))
                per_rule = timed(one_by_one)
            rows.append((s, len(rules), kn, restore, per_rule, re_kn, re_restore))
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        Path("/tmp/kn-bench-xtables.lock").unlink(missing_ok=True)
    print("S services x 3 endpoints into one nat table (seconds; best of 3 into a fresh namespace)")
    print(f"{'S':>6}{'rules':>8}{'kn-lab':>9}{'restore':>9}{'ratio':>7}{'per-rule':>10}{'re-apply kn/restore':>22}")
    for s, n, kn, restore, per_rule, re_kn, re_restore in rows:
        pr = f"{per_rule:.2f}" if per_rule is not None else "-"
        print(f"{s:>6}{n:>8}{kn:>9.3f}{restore:>9.3f}{restore / kn:>6.2f}x{pr:>10}{re_kn:>13.3f} / {re_restore:.3f}")
    print("ratio = restore time / kn-lab time (above 1: kn-lab is faster)")
    return 0


def split_rule(rule: str) -> list[str]:
    """'-A CHAIN ... --comment "a b" ...' -> argv, honouring the double quotes iptables-save uses."""
    out, cur, quoted = [], "", False
    for ch in rule:
        if ch == '"':
            quoted = not quoted
        elif ch == " " and not quoted:
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


if __name__ == "__main__":
    sys.exit(main())
