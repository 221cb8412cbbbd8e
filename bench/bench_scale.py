#!/usr/bin/python3
"""bench_scale.py: kube-proxy's two modes (iptables, nftables) on a large lab.

One generated lab ("bench-scale": by default 20 nodes, 200 pods as 20 Deployments of 10 nginx
replicas, 300 ClusterIP Services, several per Deployment, no cluster DNS) is brought up once per
kube-proxy mode, in the same session, and measured the same way in each:

  up          wall time of `kn-lab up FILE`, and the peak RSS of that kn-lab process
              (`/usr/bin/time -v`, "Maximum resident set size")
  rules       kube-proxy's rules in node1: iptables: `iptables-legacy-save -t nat` lines `-A`;
              nftables: rules and set/map elements of `table ip kube-proxy` (`nft -j list`)
  changes     live changes, each followed by its inverse so that the lab keeps its size,
              median of --reps: `scale deploy/d0` 10 -> 25 and back, `expose` of one more Service
              and its `delete svc`, `run` of one client pod and its `delete pod`, `delete pod` of
              a Deployment's pod (replaced by a new one)
  down        wall time of `kn-lab down`

The yardstick of each mode is the other mode, measured on the same lab in the same session
(ratios nftables / iptables); each change is also given as a fraction of its mode's `up`.

Needs root, Python 3.11+ (standard library only), a built tree (build/kn-lab, kn-pause,
kn-netexec), /usr/bin/time (Debian package `time`), nft and iptables-legacy-save. Creates
namespaces only through kn-lab, as lab "bench-scale"; refuses to start if any
kn-bench-scale.* namespace or /run/kn-lab/bench-scale exists, and takes the lab down in every
exit path (error, Ctrl-C, SIGTERM, SIGHUP). Table on stdout, progress on stderr, every sample in
bench/out/scale.json (--json).

usage: sudo bench/bench_scale.py [--nodes 20] [--pods 200] [--services 300]
                                 [--modes iptables,nftables] [--reps 3]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import quiescence

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_BUILD = Path(os.environ.get("KNLAB_BUILD_DIR", REPO / "build"))
DEFAULT_JSON = BENCH_DIR / "out" / "scale.json"
TIME = "/usr/bin/time"

LAB = "bench-scale"
NETNS_DIR = Path("/run/netns")
NETNS_PREFIX = f"kn-{LAB}."
STATE_DIR = Path("/run/kn-lab") / LAB
MODES = ("iptables", "nftables")
REPLICAS = 10                  # per Deployment; the last one takes the remainder
EXTRA_SVC = "bench-extra"      # the Service `expose` adds
CLIENT = "bench-client"        # the pod `run` adds

# The live changes, in the order they run within one repetition: (key, label).
CHANGES = (
    ("scale", "scale deploy/d0 {r} -> {to}"),
    ("scale_back", "scale deploy/d0 {to} -> {r}"),
    ("expose", "expose deploy/d1: +1 Service"),
    ("expose_undo", "delete svc (that Service)"),
    ("run", "run 1 client pod"),
    ("run_undo", "delete pod (that pod)"),
    ("delete_pod", "delete pod of d2 (replaced)"),
)

# Quiescence (a lighter form of bench_up_down.py's): before each timed step, wait until kernel
# threads and PID 1 are quiet (namespaces are destroyed in kworkers well after `down` returns,
# and PID 1 reaps the pods' processes), then up to --wait-idle seconds for the machine to be idle.
INTERFERENCE_MAX = 0.15
WATCHED_COMMS = {"kn-lab", "kn-pause", "kn-netexec", "ip", "nft", "time"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A failure that stops the benchmark (after cleanup) with a message for the user."""


class CommandFailed(BenchError):
    """A timed kn-lab command exited non-zero. A failing live change is recorded and ends that
    mode's changes (the lab is still measured going down); any other stops the run."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------------

def wait_child(p: subprocess.Popen, timeout: float, what: str) -> tuple[str, str]:
    """Waits for p. On Ctrl-C or SIGTERM, lets the running kn-lab command finish (up to 120 s, a
    second interrupt or the deadline kills its process group) so that cleanup's `down` never runs
    beside it, then re-raises."""
    try:
        return p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(p)
        raise BenchError(f"timed out after {timeout:.0f} s: {what}")
    except KeyboardInterrupt:
        log(f"interrupted: waiting for `{what}` to finish before cleaning up (interrupt again to kill it)")
        try:
            p.communicate(timeout=120)
        except (KeyboardInterrupt, subprocess.TimeoutExpired):
            kill_group(p)
        raise


def kill_group(p: subprocess.Popen) -> None:
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def run(cmd: list[str], env: dict | None = None, timeout: float = 300, check: bool = True,
        input: str | None = None) -> subprocess.CompletedProcess:
    """Runs cmd in its own process group (a terminal's Ctrl-C reaches only us, see wait_child)."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, process_group=0)
    if input is not None:
        p.stdin.write(input)
        p.stdin.close()
    out, err = wait_child(p, timeout, " ".join(cmd))
    cp = subprocess.CompletedProcess(cmd, p.returncode, out, err)
    if check and cp.returncode != 0:
        raise BenchError(f"failed (exit {cp.returncode}): {' '.join(cmd)}\n{out}{err}")
    return cp


# --------------------------------------------------------------------------------------------------
# Quiescence and interference
# --------------------------------------------------------------------------------------------------

def watched_ticks() -> int:
    return quiescence.watched_ticks(WATCHED_COMMS)


def machine_busy() -> tuple[int, int]:
    return quiescence.machine_busy()


def settle(wait_idle: float) -> None:
    """Waits for quiescence (bench/quiescence.py): our aftermath over, then the machine idle."""
    quiescence.settle(wait_idle, WATCHED_COMMS, log)


# --------------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------------

def lab_text(nodes: int, pods: int, services: int, mode: str | None) -> str:
    """The generated lab: `nodes` nodes, Deployments d0.. of REPLICAS nginx pods (pods in all),
    `services` ClusterIP Services svc-NNN on port 80, spread over the Deployments."""
    deployments = max(1, math.ceil(pods / REPLICAS))
    t = ["# generated by bench/bench_scale.py", "[lab]", f'name = "{LAB}"',
         f'description = "bench_scale: {nodes} nodes, {pods} pods, {services} Services"', "",
         "[cluster]", "dns = false"]
    if mode:
        t.append(f'proxy_mode = "{mode}"')
    for n in range(1, nodes + 1):
        t += ["", "[[node]]", f'name = "node{n}"']
    for d in range(deployments):
        replicas = min(REPLICAS, pods - d * REPLICAS)
        t += ["", "[[deployment]]", f'name = "d{d}"', 'image = "nginx"', f"replicas = {replicas}"]
    for s in range(services):
        t += ["", "[[service]]", f'name = "svc-{s:03d}"', f'selector = {{ app = "d{s % deployments}" }}', "port = 80"]
    return "\n".join(t) + "\n"


def lab_netns() -> list[str]:
    try:
        return sorted(n for n in os.listdir(NETNS_DIR) if n.startswith(NETNS_PREFIX))
    except FileNotFoundError:
        return []


def lab_exists() -> bool:
    return bool(lab_netns()) or STATE_DIR.exists()


def parse_self_ms(text: str, verb: str) -> float | None:
    m = re.search(rf"is {verb} in (\d+(?:\.\d+)?) (ms|s)\b", text)
    if not m:
        return None
    return float(m.group(1)) * (1000 if m.group(2) == "s" else 1)


class Bench:
    def __init__(self, a: argparse.Namespace):
        self.a = a
        self.build = a.build_dir.resolve()
        self.bin_dir: Path | None = None   # private copy of the build (see snapshot)
        self.kn = ""
        self.env = dict(os.environ, KNLAB_DATA=str(REPO / "data"))
        self.started = False               # preflight passed: from now on, the lab is ours
        self.interference: list[dict] = []

    # -- preflight, snapshot, cleanup ----------------------------------------------------------------

    def preflight(self) -> None:
        if os.geteuid() != 0:
            raise BenchError("needs root (kn-lab up creates network namespaces)")
        for f in (self.build / "kn-lab", self.build / "kn-pause", self.build / "kn-netexec"):
            if not f.exists():
                raise BenchError(f"missing {f} (build the tree first)")
        if not os.access(TIME, os.X_OK):
            raise BenchError(f"missing {TIME} (apt-get install time): it measures kn-lab's peak RSS")
        for tool in ("nft", "iptables-legacy-save"):
            if not shutil.which(tool):
                raise BenchError(f"missing {tool} (scripts/install-deps.sh installs it)")
        left = lab_netns() + ([str(STATE_DIR)] if STATE_DIR.exists() else [])
        if left:
            raise BenchError("refusing to run: lab " + LAB + " already exists (" + " ".join(left[:5])
                             + (" ..." if len(left) > 5 else "") + f")\nclean up first: {self.build / 'kn-lab'} down {LAB}")
        self.snapshot()
        if "nftables" in self.a.modes:
            h = run([self.kn, "up", "--help"], env=self.env, check=False)
            if "--proxy-mode" not in h.stdout + h.stderr:
                raise BenchError("this kn-lab has no kube-proxy nftables mode (`kn-lab up --help` lists no --proxy-mode)")
        self.started = True

    def snapshot(self) -> None:
        """Runs a private copy of kn-lab and its helpers (kn-lab looks for kn-pause and kn-netexec
        next to itself first, for images.toml in $KNLAB_DATA): a rebuild of the tree during the
        run cannot mix two builds."""
        self.bin_dir = Path(tempfile.mkdtemp(prefix="kn-bench-scale-bin-"))
        for name in ("kn-lab", "kn-pause", "kn-netexec"):
            shutil.copy2(self.build / name, self.bin_dir / name)
        self.kn = str(self.bin_dir / "kn-lab")
        if run([self.kn, "--version"], env=self.env, check=False).returncode != 0:
            raise BenchError(f"the copy of {self.build / 'kn-lab'} does not run (was it being rebuilt?)")

    def cleanup(self) -> list[str]:
        """Takes the lab down if anything of it is there; returns problems (and what is left)."""
        problems = []
        if self.started and lab_exists():
            log(f"cleaning up: kn-lab down {LAB}")
            p = run([self.kn, "down", LAB], env=self.env, timeout=600, check=False)
            if p.returncode != 0:
                problems.append(f"kn-lab down {LAB} failed (exit {p.returncode}): {(p.stderr or p.stdout).strip()}")
            if lab_exists():
                problems.append("LEFT BEHIND (remove with kn-lab down " + LAB + "): "
                                + " ".join(lab_netns()[:10]) + (f" {STATE_DIR}" if STATE_DIR.exists() else ""))
        if self.bin_dir:
            shutil.rmtree(self.bin_dir, ignore_errors=True)
        return problems

    # -- measuring -----------------------------------------------------------------------------------

    def kn_timed(self, *args: str, timeout: float = 600) -> dict:
        """Settles, then runs kn-lab under /usr/bin/time -v: wall seconds, peak RSS (kB), the
        share of the machine that other users took meanwhile."""
        settle(self.a.wait_idle)
        with tempfile.NamedTemporaryFile(prefix="kn-bench-scale-time-", mode="r") as tf:
            cmd = [TIME, "-v", "-o", tf.name, self.kn, *args]
            c0, w0, m0 = os.times(), watched_ticks(), machine_busy()
            t0 = time.perf_counter()
            p = run(cmd, env=self.env, timeout=timeout, check=False)
            wall = time.perf_counter() - t0
            m1, c1, w1 = machine_busy(), os.times(), watched_ticks()
            usage = tf.read()
        if p.returncode != 0:
            # /usr/bin/time writes "Command terminated by signal N" to its file, not to stderr.
            how = next((l.strip() for l in usage.splitlines() if l.startswith("Command ")), "")
            raise CommandFailed(f"failed (exit {p.returncode}{'; ' + how if how else ''}): "
                                f"kn-lab {' '.join(args)}\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", usage)
        ours = round((c1.user + c1.system + c1.children_user + c1.children_system
                      - c0.user - c0.system - c0.children_user - c0.children_system) * CLK_TCK)
        foreign = max(0, (m1[0] - m0[0]) - ours - max(0, w1 - w0))
        share = foreign / max(1, m1[1] - m0[1])
        disturbed = foreign >= 3 and share > INTERFERENCE_MAX
        self.interference.append({"cmd": " ".join(args[:3]), "share": share, "disturbed": disturbed})
        return {"s": wall, "rss_kb": int(m.group(1)) if m else None, "others_share": share,
                "disturbed": disturbed, "stdout": p.stdout[:300]}

    def kn_quiet(self, *args: str, timeout: float = 300) -> str:
        return run([self.kn, *args], env=self.env, timeout=timeout).stdout

    def rule_counts(self, node: str = "node1") -> dict:
        """kube-proxy's rules in one node: the legacy nat (and filter) table's `-A` lines, and
        table ip kube-proxy's rules and set/map elements (what exists in this mode)."""
        ns = f"{NETNS_PREFIX}{node}"
        out: dict = {}
        for table in ("nat", "filter"):
            p = run(["ip", "netns", "exec", ns, "iptables-legacy-save", "-t", table], check=False)
            out[f"iptables_{table}_rules"] = sum(1 for l in p.stdout.splitlines() if l.startswith("-A"))
            out[f"iptables_{table}_kube_rules"] = sum(1 for l in p.stdout.splitlines() if l.startswith("-A KUBE-"))
        p = run(["ip", "netns", "exec", ns, "nft", "-j", "list", "table", "ip", "kube-proxy"], check=False)
        out["nft_table"] = p.returncode == 0
        rules = elements = chains = sets = 0
        if p.returncode == 0:
            for obj in json.loads(p.stdout).get("nftables", []):
                if "rule" in obj:
                    rules += 1
                elif "chain" in obj:
                    chains += 1
                for kind in ("set", "map"):
                    if kind in obj:
                        sets += 1
                        elements += len(obj[kind].get("elem", []))
            a = run(["ip", "netns", "exec", ns, "nft", "-a", "list", "table", "ip", "kube-proxy"], check=False)
            out["nft_handles"] = a.stdout.count("# handle ")
        out.update(nft_rules=rules, nft_elements=elements, nft_chains=chains, nft_sets_maps=sets)
        return out

    def deployment_pod(self, deploy: str) -> str:
        names = [l.split("/", 1)[-1] for l in
                 self.kn_quiet("get", "pods", "-l", f"app={deploy}", "-o", "name", "--lab", LAB).split()]
        if not names:
            raise BenchError(f"no pod of deploy/{deploy} found")
        return names[0]

    def dry_run_lines(self, *args: str) -> int | None:
        """How many lines `--dry-run` prints for a change (the operations it would make): the
        size of what the change writes, not timed. None if this change has no dry run."""
        p = run([self.kn, "--dry-run", *args], env=self.env, check=False)
        return len(p.stdout.splitlines()) if p.returncode == 0 else None

    def changes(self, mode: str, m: dict, counts: dict, d0: str, d1: str, d2: str, r0: int) -> None:
        """The live changes, --reps times, each followed by its inverse (CommandFailed on the
        first that fails). A change whose pair was disturbed by other users (over
        INTERFERENCE_MAX of the machine) is measured again with its inverse, up to --retries times;
        the disturbed samples are kept in the JSON under "discarded"."""
        a = self.a
        pairs = [
            lambda: [("scale", ("scale", f"deploy/{d0}", f"--replicas={a.scale_to}")),
                     ("scale_back", ("scale", f"deploy/{d0}", f"--replicas={r0}"))],
            lambda: [("expose", ("expose", f"deploy/{d1}", "--port=80", f"--name={EXTRA_SVC}")),
                     ("expose_undo", ("delete", "svc", EXTRA_SVC))],
            lambda: [("run", ("run", CLIENT, "--image=alpine", "--lab", LAB, "--", "sleep", "3600")),
                     ("run_undo", ("delete", "pod", CLIENT))],
            lambda: [("delete_pod", ("delete", "pod", self.deployment_pod(d2)))],
        ]
        ch = m["changes"]
        for r in range(a.reps):
            log(f"[{mode}] live changes, repetition {r + 1}/{a.reps}")
            for pair in pairs:
                for attempt in range(a.retries + 1):
                    got = []
                    for key, args in pair():
                        if "--lab" not in args:
                            args = (*args, "--lab", LAB)
                        got.append((key, self.kn_timed(*args)))
                    if not any(x["disturbed"] for _, x in got) or attempt == a.retries:
                        for key, x in got:
                            x["attempts"] = attempt + 1
                            ch[key].append(x)
                        break
                    log(f"[{mode}]   {'/'.join(k for k, _ in got)} disturbed by other users "
                        f"({max(x['others_share'] for _, x in got) * 100:.0f} % of the machine): measuring again")
                    m.setdefault("discarded", []).extend({"change": k, **x} for k, x in got)
            after = self.rule_counts()
            m["rules_after_rep"].append(after)
            if after != counts:
                diff = {k: (counts[k], after[k]) for k in counts if counts[k] != after[k]}
                log(f"[{mode}]   warning: node1's rules differ from after up once the changes are undone: {diff}")
            log(f"[{mode}]   " + ", ".join(f"{k} {ch[k][-1]['s'] * 1000:.0f}" for k, _ in CHANGES) + " ms")

    def one_mode(self, mode: str, tmp: Path, res: dict) -> None:
        a = self.a
        deployments = max(1, math.ceil(a.pods / REPLICAS))
        d0, d1, d2 = (f"d{i % deployments}" for i in range(3))
        r0 = min(REPLICAS, a.pods)
        f = tmp / f"{LAB}-{mode}.toml"
        f.write_text(lab_text(a.nodes, a.pods, a.services, None if a.via_flag else mode))
        m = res.setdefault(mode, {"up": [], "down": [], "rules": None, "rules_after_rep": [],
                                  "changes": {k: [] for k, _ in CHANGES}, "dry_run_lines": {}})
        up_args = ["up", str(f)] + (["--proxy-mode", mode] if a.via_flag else [])
        log(f"[{mode}] up: {a.nodes} nodes, {a.pods} pods, {a.services} Services")
        up = self.kn_timed(*up_args, timeout=900)
        up["self_ms"] = parse_self_ms(up["stdout"], "up")
        m["up"].append(up)
        log(f"[{mode}]   {up['s'] * 1000:.0f} ms, peak RSS {up['rss_kb']} kB")
        # Is the lab what was asked for, in this mode?
        pods = json.loads(self.kn_quiet("get", "pods", "-o", "json", "--lab", LAB))["items"]
        if len(pods) != a.pods:
            raise BenchError(f"[{mode}] the lab has {len(pods)} pods, expected {a.pods}")
        counts = self.rule_counts()
        if (mode == "nftables") != counts["nft_table"]:
            raise BenchError(f"[{mode}] node1 {'has no' if mode == 'nftables' else 'has a'} table ip kube-proxy")
        if m["rules"] is None:
            m["rules"] = counts
            m["pods_per_node"] = {}
            for p in pods:
                n = p["spec"].get("nodeName", "?")
                m["pods_per_node"][n] = m["pods_per_node"].get(n, 0) + 1
            scale_args = ("scale", f"deploy/{d0}", f"--replicas={a.scale_to}", "--lab", LAB)
            m["dry_run_lines"]["scale"] = self.dry_run_lines(*scale_args)
        log(f"[{mode}]   node1: {describe_rules(mode, counts)}")
        try:
            self.changes(mode, m, counts, d0, d1, d2, r0)
        except CommandFailed as e:
            m.setdefault("failures", []).append(str(e))
            log(f"[{mode}]   live change {str(e).strip()}")
            log(f"[{mode}]   skipping this mode's remaining live changes")
        log(f"[{mode}] down")
        down = self.kn_timed("down", LAB, timeout=900)
        down["self_ms"] = parse_self_ms(down["stdout"], "down")
        m["down"].append(down)
        log(f"[{mode}]   {down['s'] * 1000:.0f} ms")
        if lab_exists():
            raise BenchError(f"[{mode}] kn-lab down left {lab_netns()[:5]}")


def describe_rules(mode: str, c: dict) -> str:
    if mode == "nftables":
        return (f"table ip kube-proxy: {c['nft_rules']} rules + {c['nft_elements']} elements "
                f"({c['nft_chains']} chains, {c['nft_sets_maps']} sets/maps); legacy nat -A lines: {c['iptables_nat_rules']}")
    return f"legacy nat: {c['iptables_nat_rules']} -A lines ({c['iptables_nat_kube_rules']} in KUBE-*), filter {c['iptables_filter_rules']}"


# --------------------------------------------------------------------------------------------------
# Summary and report
# --------------------------------------------------------------------------------------------------

def med(samples: list[dict], key: str = "s") -> float | None:
    xs = [x[key] for x in samples if x.get(key) is not None]
    return statistics.median(xs) if xs else None


def rule_figure(mode: str, c: dict | None) -> int | None:
    """The rule count of the table: legacy nat `-A` lines, or nft rules + elements (the same sum
    knlab-nft-apply prints as rules=)."""
    if not c:
        return None
    return c["nft_rules"] + c["nft_elements"] if mode == "nftables" else c["iptables_nat_rules"]


def summarise(res: dict, modes: list[str]) -> dict:
    summary: dict = {}
    for mode in modes:
        m = res.get(mode)
        if not m or not m["up"]:
            continue
        s = {"up_s": med(m["up"]), "up_rss_kb": med(m["up"], "rss_kb"), "down_s": med(m["down"]),
             "down_rss_kb": med(m["down"], "rss_kb"), "rules": rule_figure(mode, m["rules"]), "changes": {}}
        for k, _ in CHANGES:
            if m["changes"][k]:
                c = med(m["changes"][k])
                s["changes"][k] = {"s": c, "min_s": min(x["s"] for x in m["changes"][k]),
                                   "max_s": max(x["s"] for x in m["changes"][k]),
                                   "rss_kb": med(m["changes"][k], "rss_kb"),
                                   "over_up": c / s["up_s"] if s["up_s"] else None}
        summary[mode] = s
    if "iptables" in summary and "nftables" in summary:
        i, n = summary["iptables"], summary["nftables"]
        ratio = lambda x, y: (x / y) if (x is not None and y) else None  # noqa: E731
        r = {"up": ratio(n["up_s"], i["up_s"]), "up_rss": ratio(n["up_rss_kb"], i["up_rss_kb"]),
             "down": ratio(n["down_s"], i["down_s"]), "rules": ratio(n["rules"], i["rules"])}
        for k, _ in CHANGES:
            if k in i["changes"] and k in n["changes"]:
                r[k] = ratio(n["changes"][k]["s"], i["changes"][k]["s"])
        summary["nft_over_ipt"] = r
    return summary


def print_report(res: dict) -> None:
    meta, cfg, summ = res["meta"], res["config"], res.get("summary", {})
    modes = [m for m in cfg["modes"] if m in summ]
    both = "nft_over_ipt" in summ
    out = [f"kn-lab at scale, kube-proxy modes  ({meta['date']}, {meta['kernel']}, {meta['cpus']} CPUs, "
           f"kn-lab {meta['kn_lab_version']} @ {meta['git_commit']})",
           f"lab {LAB}: {cfg['nodes']} nodes, {cfg['pods']} pods ({cfg['deployments']} Deployments), "
           f"{cfg['services']} Services, dns off; changes: median of {cfg['reps']} "
           f"(mode set {'with up --proxy-mode' if cfg['via_flag'] else 'by [cluster] proxy_mode'})", ""]
    w = 36
    hdr = f"{'':<{w}}" + "".join(f"{m:>12}" for m in modes) + (f"{'nft/ipt':>9}" if both else "") \
        + "".join(f"{m[:3] + ' /up':>10}" for m in modes)
    out += [hdr, "-" * len(hdr)]

    def row(label: str, vals: list, ratio_key: str | None, fmt: str, over_up: list | None = None) -> None:
        line = f"{label:<{w}}" + "".join(f"{fmt.format(v) if v is not None else '-':>12}" for v in vals)
        if both:
            r = summ["nft_over_ipt"].get(ratio_key) if ratio_key else None
            line += f"{r:>9.2f}" if r is not None else f"{'':>9}"
        if over_up:
            line += "".join(f"{v:>10.3f}" if v is not None else f"{'-':>10}" for v in over_up)
        out.append(line)

    row("up (ms)", [summ[m]["up_s"] * 1000 for m in modes], "up", "{:.0f}")
    row("up peak RSS (MB)", [summ[m]["up_rss_kb"] / 1024 if summ[m]["up_rss_kb"] else None for m in modes],
        "up_rss", "{:.1f}")
    row("kube-proxy rules, node1 (*)", [summ[m]["rules"] for m in modes], "rules", "{}")
    for k, label in CHANGES:
        got = [summ[m]["changes"].get(k) for m in modes]
        row(label.format(r=cfg["replicas"], to=cfg["scale_to"]) + " (ms)",
            [g["s"] * 1000 if g else None for g in got], k, "{:.0f}", [g["over_up"] if g else None for g in got])
    row("down (ms)", [summ[m]["down_s"] * 1000 if summ[m]["down_s"] else None for m in modes], "down", "{:.0f}")
    out.append("")
    out.append("(*) iptables: `iptables-legacy-save -t nat` lines -A; nftables: rules + set/map elements of "
               "table ip kube-proxy")
    for m in modes:
        if res["runs"][m].get("rules"):
            out.append(f"    {m}: {describe_rules(m, res['runs'][m]['rules'])}")
            dr = res["runs"][m].get("dry_run_lines", {}).get("scale")
            if dr is not None:
                out.append(f"    {m}: `--dry-run scale deploy/d0 --replicas={cfg['scale_to']}` prints {dr} lines")
    out.append("nft/ipt: nftables time / iptables time on the same lab (below 1: nftables is faster); "
               "<mode> /up: the change's time / that mode's up")
    for m in cfg["modes"]:
        for f in res["runs"].get(m, {}).get("failures", []):
            out.append(f"FAILED in {m}: " + f.strip().replace("\n", "\n    "))
    for m in modes:
        run_ = res["runs"][m]
        redone = len(run_.get("discarded", []))
        kept = [k for k, xs in run_["changes"].items() for x in xs if x["disturbed"]]
        big = [f"{k} {x['others_share'] * 100:.0f} %" for k in ("up", "down") for x in run_[k] if x["disturbed"]]
        if redone or kept or big:
            out.append(f"{m}: {redone} change samples disturbed by other users and measured again"
                       + (f"; still disturbed, kept: {', '.join(kept)}" if kept else "")
                       + (f"; disturbed {', '.join(big)} (not repeated: rerun on a quiet machine)" if big else ""))
    itf = meta.get("interference")
    if itf:
        out.append(f"other users' share of the machine during the {itf['steps']} timed steps: {itf['share'] * 100:.1f} %, "
                   f"{itf['disturbed']} steps over {INTERFERENCE_MAX * 100:.0f} %")
    if not res.get("complete"):
        out.append("INCOMPLETE run (interrupted or failed): partial results only")
    print("\n".join(out), flush=True)


def metadata(b: Bench) -> dict:
    v = run([b.kn, "--version"], env=b.env, check=False)
    g = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], check=False)
    d = run(["git", "--no-optional-locks", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], check=False)
    commit = (g.stdout.strip() or "unknown") + ("+dirty" if d.stdout.strip() else "")
    return {"date": dt.datetime.now().isoformat(timespec="seconds"), "kernel": platform.release(),
            "cpus": os.cpu_count(), "kn_lab": str(b.build / "kn-lab"), "kn_lab_version": v.stdout.strip() or "?",
            "git_commit": commit, "python": platform.python_version(),
            "nft_version": run(["nft", "--version"], check=False).stdout.strip(),
            "loadavg_start": Path("/proc/loadavg").read_text().split()[:3]}


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------

def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=20, help="nodes (default 20)")
    ap.add_argument("--pods", type=int, default=200,
                    help=f"pods, as Deployments d0.. of {REPLICAS} replicas (default 200)")
    ap.add_argument("--services", type=int, default=300, help="ClusterIP Services (default 300)")
    ap.add_argument("--modes", nargs="+", default=["iptables,nftables"], metavar="MODE",
                    help="kube-proxy modes, in this order (default iptables,nftables)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of the live changes, median (default 3)")
    ap.add_argument("--up-reps", type=int, default=1,
                    help="ups per mode, median; the modes alternate in order (default 1)")
    ap.add_argument("--scale-to", type=int, default=25, help="replicas of the scale change (default 25)")
    ap.add_argument("--via-flag", action="store_true",
                    help="set the mode with `up --proxy-mode` instead of [cluster] proxy_mode in the file")
    ap.add_argument("--wait-idle", type=float, default=5.0, metavar="S",
                    help="before each timed step, wait up to S s for the machine to be idle (default 5)")
    ap.add_argument("--retries", type=int, default=2, metavar="K",
                    help="measure a change (with its inverse) again if other users disturbed it, up to K times (default 2)")
    ap.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD, help=f"built tree (default {DEFAULT_BUILD})")
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the JSON (default bench/out/scale.json)")
    a = ap.parse_args(argv)
    a.modes = [m for x in a.modes for m in x.split(",") if m]
    bad = [m for m in a.modes if m not in MODES]
    if bad or not a.modes or len(set(a.modes)) != len(a.modes):
        ap.error(f"--modes: each of {', '.join(MODES)} at most once")
    if a.nodes < 1 or a.pods < 1 or a.services < 1 or a.reps < 1 or a.up_reps < 1 or a.retries < 0:
        ap.error("counts must be positive")
    if a.scale_to <= min(REPLICAS, a.pods):
        ap.error(f"--scale-to must be above d0's {min(REPLICAS, a.pods)} replicas")
    return a


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    # SIGTERM and SIGHUP unwind like Ctrl-C, so the finally block below takes the lab down.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    b = Bench(a)
    res: dict = {"config": {"nodes": a.nodes, "pods": a.pods, "services": a.services,
                            "deployments": max(1, math.ceil(a.pods / REPLICAS)), "replicas": min(REPLICAS, a.pods),
                            "scale_to": a.scale_to, "modes": a.modes, "reps": a.reps, "up_reps": a.up_reps,
                            "via_flag": a.via_flag, "wait_idle_s": a.wait_idle, "retries": a.retries,
                            "lab": LAB},
                 "runs": {}}
    code = 0
    try:
        b.preflight()
        res["meta"] = metadata(b)
        with tempfile.TemporaryDirectory(prefix="kn-bench-scale-") as tmp:
            for r in range(a.up_reps):
                k = r % len(a.modes)            # alternate which mode goes first
                for mode in a.modes[k:] + a.modes[:k]:
                    b.one_mode(mode, Path(tmp), res["runs"])
    except BenchError as e:
        log(f"bench_scale: {e}")
        code = 2
    except KeyboardInterrupt:
        log("bench_scale: interrupted")
        code = 130
    finally:
        # Cleanup runs to its end: further signals are ignored meanwhile (kn-lab runs in its own
        # process group, so a terminal's Ctrl-C does not reach it either).
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        for p in b.cleanup():
            log(f"bench_scale: {p}")
            code = code or 2
    if "meta" in res:
        res["complete"] = code == 0
        res["summary"] = summarise(res["runs"], a.modes)
        itf = b.interference
        res["meta"]["interference"] = {"steps": len(itf),
                                       "share": statistics.mean(x["share"] for x in itf) if itf else 0.0,
                                       "disturbed": sum(x["disturbed"] for x in itf)}
        res["meta"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=2) + "\n")
        if res["summary"]:
            print_report(res)
        print(f"JSON: {a.json}")
        if code == 0 and any(r.get("failures") for r in res["runs"].values()):
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
