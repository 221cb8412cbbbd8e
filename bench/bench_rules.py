#!/usr/bin/env python3
"""kube-proxy rules: programming S services x 3 endpoints into one node, in both kube-proxy modes.

iptables mode: S services x 3 endpoints into one node's nat table.
Compares, in the same run and each into a fresh scratch namespace (kn-bench.rules*):
  kn-lab     iptables_apply() through libiptc, one commit (build/knlab-ipt-apply --bench S)
  restore    iptables-legacy-restore of exactly the same rules (the rendering kn-lab applied)
  per-rule   one iptables-legacy process per rule (only for S <= 100: it takes ~30 ms a rule)
and a re-apply of the whole table of S services into the loaded table, which is what a rescale
of one service costs kn-lab (each change replaces the table in one commit, as kube-proxy's
iptables-restore does).

nftables mode: kube-proxy's `table ip kube-proxy` of S services x 3 endpoints (build/knlab-nft-apply,
the tables plan/kube_proxy_nft renders, compiled by net/nft_batch), into a fresh scratch
namespace (kn-bench.nft):
  kn-lab     the whole table in one transaction (knlab-nft-apply NS --bench S: apply=)
  nft -f     `ip netns exec NS nft -f FILE` of exactly the same script (from --no-apply), the
             yardstick; best of 3, each into a fresh namespace
  change     one service's 4th endpoint written as the delta (change=), against the whole table
             written again (rewrite=), both by kn-lab into the loaded table; and `nft -f` of the
             whole script again into the loaded table (re-apply, median of 3)

usage: sudo bench/bench_rules.py [S ...] [--nft S ...] [--no-iptables] [--no-nft] [--json FILE]
       (default: iptables 100 1000 5000, nftables 1000 5000; bench/out/rules.json)
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOL = Path(os.environ.get("KNLAB_BUILD_DIR", REPO / "build")) / "knlab-ipt-apply"
NFT_TOOL = TOOL.parent / "knlab-nft-apply"
NS = "kn-bench.rules"
NFT_NS = "kn-bench.nft"


def sh(*cmd: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, input=input, capture_output=True, text=True, check=True)


def fresh_ns(ns: str = NS) -> None:
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    sh("ip", "netns", "add", ns)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def best(fn, reps: int = 3, ns: str = NS) -> float:
    times = []
    for _ in range(reps):
        fresh_ns(ns)
        times.append(timed(fn))
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description="kube-proxy's rules of S services x 3 endpoints, both modes")
    ap.add_argument("sizes", nargs="*", type=int, default=[100, 1000, 5000], metavar="S",
                    help="iptables part: service counts (default 100 1000 5000)")
    ap.add_argument("--nft", nargs="+", type=int, default=[1000, 5000], metavar="S", dest="nft_sizes",
                    help="nftables part: service counts (default 1000 5000)")
    ap.add_argument("--no-iptables", action="store_true", help="skip the iptables part")
    ap.add_argument("--no-nft", action="store_true", help="skip the nftables part")
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "out" / "rules.json",
                    help="where to write the JSON (default bench/out/rules.json)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("run as root", file=sys.stderr)
        return 1
    sizes = [] if a.no_iptables else a.sizes
    nft_sizes = [] if a.no_nft else a.nft_sizes
    for tool in ([TOOL] if sizes else []) + ([NFT_TOOL] if nft_sizes else []):
        if not tool.exists():
            print(f"missing {tool} (build with KNLAB_TESTS on)", file=sys.stderr)
            return 1
    # SIGTERM and SIGHUP unwind like Ctrl-C, so the finally block below deletes the namespaces.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    env = dict(os.environ, XTABLES_LOCKFILE="/tmp/kn-bench-xtables.lock")
    os.environ.update(env)
    rows = []
    nft_rows = []
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
        for s in nft_sizes:
            nft_rows.append(nft_part(s))
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        subprocess.run(["ip", "netns", "del", NFT_NS], capture_output=True)
        Path("/tmp/kn-bench-xtables.lock").unlink(missing_ok=True)
    if rows:
        print("S services x 3 endpoints into one nat table (seconds; best of 3 into a fresh namespace)")
        print(f"{'S':>6}{'rules':>8}{'kn-lab':>9}{'restore':>9}{'ratio':>7}{'per-rule':>10}{'re-apply kn/restore':>22}")
        for s, n, kn, restore, per_rule, re_kn, re_restore in rows:
            pr = f"{per_rule:.2f}" if per_rule is not None else "-"
            print(f"{s:>6}{n:>8}{kn:>9.3f}{restore:>9.3f}{restore / kn:>6.2f}x{pr:>10}{re_kn:>13.3f} / {re_restore:.3f}")
        print("ratio = restore time / kn-lab time (above 1: kn-lab is faster)")
    if nft_rows:
        if rows:
            print()
        print("S services x 3 endpoints as table ip kube-proxy (seconds; best of 3 into a fresh namespace)")
        print(f"{'S':>6}{'rules':>8}{'kn-lab':>9}{'nft -f':>9}{'ratio':>7}{'change':>9}{'rewrite':>9}"
              f"{'ratio':>8}{'delta':>7}{'re-apply nft -f':>17}")
        for r in nft_rows:
            print(f"{r['services']:>6}{r['rules']:>8}{r['apply_s']:>9.3f}{r['nft_f_s']:>9.3f}"
                  f"{r['nft_f_s'] / r['apply_s']:>6.2f}x{r['change_s']:>9.4f}{r['rewrite_s']:>9.3f}"
                  f"{r['rewrite_s'] / r['change_s']:>7.1f}x{r['delta_lines']:>7}{r['reapply_nft_f_s']:>17.3f}")
        print("rules = rules + set/map elements; ratio = nft -f time / kn-lab time (above 1: kn-lab is faster);")
        print("rewrite / change: how much the delta of one service saves; delta = its lines (nft -f syntax);")
        print(f"nft -f and re-apply include starting `ip netns exec` + nft (an empty script: "
              f"{nft_rows[0]['nft_f_empty_s'] * 1000:.1f} ms)")
    out = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "kernel": os.uname().release, "cpus": os.cpu_count(),
           "iptables": [{"services": s, "rules": n, "kn_lab_s": kn, "restore_s": restore, "per_rule_s": per_rule,
                         "reapply_kn_lab_s": re_kn, "reapply_restore_s": re_restore}
                        for s, n, kn, restore, per_rule, re_kn, re_restore in rows],
           "nftables": nft_rows}
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(out, indent=2) + "\n")
    print(f"JSON: {a.json}")
    return 0


def nft_timings(text: str) -> dict[str, float]:
    """knlab-nft-apply's stderr: 'render=0.01 apply=0.2 ... rules=N delta_lines=M'."""
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", text)}


def nft_part(s: int) -> dict:
    """kn-lab's nftables table of s services: whole program vs `nft -f`, one-service delta vs rewrite."""
    script = sh(str(NFT_TOOL), "-", "--bench", str(s), "--no-apply")
    with tempfile.TemporaryDirectory(prefix="kn-bench-nft-") as d:
        f = Path(d) / "kube-proxy.nft"
        f.write_text(script.stdout)
        empty = Path(d) / "empty.nft"
        empty.write_text("")
        runs = []
        for _ in range(3):
            fresh_ns(NFT_NS)
            t0 = time.perf_counter()
            p = sh(str(NFT_TOOL), NFT_NS, "--bench", str(s))
            wall = time.perf_counter() - t0
            runs.append(dict(nft_timings(p.stderr), wall=wall))
        nft_f = best(lambda: sh("ip", "netns", "exec", NFT_NS, "nft", "-f", str(f)), ns=NFT_NS)
        # Same table again into the loaded one (its script replaces the table whatever is there).
        fresh_ns(NFT_NS)
        sh("ip", "netns", "exec", NFT_NS, "nft", "-f", str(f))
        reapply = statistics.median(timed(lambda: sh("ip", "netns", "exec", NFT_NS, "nft", "-f", str(f)))
                                    for _ in range(3))
        listed = sh("ip", "netns", "exec", NFT_NS, "nft", "list", "table", "ip", "kube-proxy").stdout
        nft_empty = best(lambda: sh("ip", "netns", "exec", NFT_NS, "nft", "-f", str(empty)), ns=NFT_NS)
    rules = int(runs[0]["rules"])
    return {"services": s, "endpoints": 3 * s, "rules": rules, "script_lines": script.stdout.count("\n"),
            "listed_lines": listed.count("\n"), "render_s": min(r["render"] for r in runs),
            "apply_s": min(r["apply"] for r in runs), "nft_f_s": nft_f, "nft_f_empty_s": nft_empty,
            "change_s": min(r["change"] for r in runs), "rewrite_s": min(r["rewrite"] for r in runs),
            "delta_lines": int(runs[0]["delta_lines"]), "reapply_nft_f_s": reapply,
            "tool_wall_s": min(r["wall"] for r in runs), "runs": runs}


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
