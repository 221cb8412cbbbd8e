#!/usr/bin/python3
"""bench_up_down.py: how fast kn-lab brings labs up and down, and what a pod costs in memory.

kn-lab is measured against two yardsticks that build the same one-node topology (a node namespace
with a cni0 bridge, N pod namespaces each joined to it by a veth pair, with an address and a default
route), run in the same session because absolute times drift on a shared machine:

  naive    naive_build.sh / naive_teardown.sh: the tutorial way, one `ip` process per operation.
  nlbuild  nlbuild.c: one process speaking rtnetlink directly, the floor for a netlink-native tool
           (it starts no pod processes, whereas kn-lab starts one kn-pause per pod).

Parts (see bench/README.md for targets and how to read the output):
  1. up/down of N pods (default N = 10 100 500, R repetitions, median) for kn-lab and both yardsticks;
     per-pod ms and the ratios kn-lab/nlbuild (target <= 2.0) and naive/kn-lab (target >= 5).
  2. the 2-pod lab 02 (lab "p2p", two kn-netexec containers): up and down, median of 10, target < 100 ms.
  3. kn-pause memory with 100 pods up: mean VmRSS and Pss (target RSS < 1 MB).
  4. approximate kernel memory per pod across `up` of 100 pods: the drop of MemAvailable, and the
     growth of the unreclaimable kernel counters of /proc/meminfo, divided by 100.

Needs root. Creates namespaces only through kn-lab (labs "bench" and "p2p") or with the pb- prefix
(yardsticks), refuses to start if any of those already exist, and removes them in every exit path.
Every timed step starts on a quiet machine and is checked for other users' load (see "Quiescence").
Standard library only; results are also written as JSON (default bench/out/up_down.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
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
import tomllib
from pathlib import Path

import quiescence

# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_KN_LAB = REPO / "build" / "kn-lab"
DEFAULT_REF_DIR = REPO.parent / "shared" / "reference-bench"  # ../shared beside the clone
DEFAULT_OUT_DIR = BENCH_DIR / "out"
P2P_LAB_FILE = REPO / "labs" / "02-pod-to-pod-same-node.toml"

BENCH_LAB = "bench"                 # name of the generated N-pod lab
NETNS_DIR = Path("/run/netns")


def netns_dir_mounts() -> int:
    """How many mounts sit on /run/netns (iproute2 makes it a bind mount of itself)."""
    with open("/proc/self/mountinfo") as f:
        return sum(1 for line in f if line.split()[4] == str(NETNS_DIR))
KN_STATE_DIR = Path("/run/kn-lab")   # kn-lab keeps /run/kn-lab/<lab>/ while a lab is up
YARDSTICK_NS = re.compile(r"^pb-(node|p\d+)$")   # the only pb- names the yardsticks create

TARGET_KN_OVER_NL = 2.0     # kn-lab up per pod / nlbuild up per pod must be <= this
TARGET_NAIVE_OVER_KN = 5.0  # naive per pod / kn-lab per pod must be >= this (up and down)
TARGET_P2P_MS = 100.0       # lab 02 up and down, each, median below this
TARGET_PAUSE_RSS_KB = 1024  # mean kn-pause VmRSS below this

# Quiescence and interference. Absolute times on a shared 2-core machine mean little, so:
# 1. Before every timed step, our own aftermath must be over. Tearing namespaces down goes on after
#    `ip netns del` or `kn-lab down` return: the kernel destroys them in kworker threads
#    (cleanup_net) and PID 1 reaps the orphaned kn-pause processes -- seconds of CPU after 500 pods;
#    bringing pods up leaves kernel work behind too. So we wait until kernel threads, PID 1 and our
#    tools are idle: no tool pays for the previous one's cleanup.
# 2. Other users' work (a compiler, say) slows every tool, and not equally: kn-lab starts one
#    process per pod, and each new process waits for a CPU when both are taken, while nlbuild starts
#    none. So before each step we also wait, up to --wait-idle seconds, for the machine to be idle;
#    during each step we count the CPU that was not ours (machine busy time minus that of our
#    children, kernel threads, PID 1 and our tools); and a cycle in which other users took more than
#    INTERFERENCE_MAX of the machine is measured again, up to --retries times.
INTERFERENCE_MAX = 0.15     # a step is disturbed if others took more than 15 % of all CPUs...
INTERFERENCE_MIN_TICKS = 3  # ...and at least this many clock ticks (short steps are coarse)
WATCHED_COMMS = {"kn-lab", "kn-pause", "kn-netexec", "ip", "nlbuild"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
WAIT_IDLE_S = 30.0          # set from --wait-idle
RETRIES = 2                 # set from --retries


class BenchError(Exception):
    """A failure that stops the benchmark (after cleanup) with a message for the user."""


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------

def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(cmd: list[str], timeout: float = 600, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    """Runs cmd, returns (wall seconds, completed process). Raises BenchError on failure if check."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"timed out after {timeout:.0f} s: {' '.join(cmd)}") from e
    wall = time.perf_counter() - t0
    if check and p.returncode != 0:
        raise BenchError(f"failed (exit {p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    return wall, p


def watched_ticks() -> int:
    return quiescence.watched_ticks(WATCHED_COMMS)


def machine_busy() -> tuple[int, int]:
    return quiescence.machine_busy()


def settle() -> None:
    """Waits for quiescence (bench/quiescence.py): our aftermath over, then the machine idle."""
    quiescence.settle(WAIT_IDLE_S, WATCHED_COMMS, log)


# (other users' clock ticks, all clock ticks, disturbed) of every timed step of the run (see above).
INTERFERENCE: list[tuple[int, int, bool]] = []


def timed(*cmds: list[str], timeout: float = 600) -> tuple[float, list[subprocess.CompletedProcess], float, bool]:
    """Settles, then runs the commands one after the other.

    Returns (wall seconds of all of them, their completed processes, the fraction of all CPUs that
    other users took meanwhile, whether that disturbed the step)."""
    settle()
    c0, w0, m0 = os.times(), watched_ticks(), machine_busy()
    t0 = time.perf_counter()
    procs = [run(cmd, timeout=timeout)[1] for cmd in cmds]
    wall = time.perf_counter() - t0
    m1, c1, w1 = machine_busy(), os.times(), watched_ticks()
    # Ours: this process (waiting, mostly), its children (the tools, reaped) and the watched threads.
    ours = round((c1.user + c1.system + c1.children_user + c1.children_system
                  - c0.user - c0.system - c0.children_user - c0.children_system) * CLK_TCK)
    foreign = max(0, (m1[0] - m0[0]) - ours - max(0, w1 - w0))
    total = max(1, m1[1] - m0[1])
    disturbed = foreign >= INTERFERENCE_MIN_TICKS and foreign / total > INTERFERENCE_MAX
    INTERFERENCE.append((foreign, total, disturbed))
    return wall, procs, foreign / total, disturbed


def interference_summary() -> dict:
    """Other users' share of the machine over all timed steps, and how many steps they disturbed."""
    foreign, total = sum(x[0] for x in INTERFERENCE), sum(x[1] for x in INTERFERENCE)
    return {"steps": len(INTERFERENCE), "share": foreign / total if total else 0.0,
            "disturbed_steps": sum(x[2] for x in INTERFERENCE)}


def netns_names() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def lab_netns(lab: str) -> list[str]:
    """kn-lab names a lab's namespaces kn-<lab>.<node or pod>."""
    return [n for n in netns_names() if n.startswith(f"kn-{lab}.")]


def yardstick_netns() -> list[str]:
    return [n for n in netns_names() if YARDSTICK_NS.match(n)]


def lab_is_up(lab: str) -> bool:
    return bool(lab_netns(lab)) or (KN_STATE_DIR / lab).exists()


def meminfo() -> dict[str, int]:
    """/proc/meminfo in kB."""
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, rest = line.split(":", 1)
            out[key] = int(rest.split()[0])
    return out


def proc_state(pid: int) -> str | None:
    """One-letter process state (R, S, Z, ...), or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def live_pause_pids() -> set[int]:
    """kn-pause processes that are not zombies (zombies wait for their reaper and hold no memory)."""
    p = subprocess.run(["pgrep", "-x", "kn-pause"], capture_output=True, text=True)
    pids = {int(x) for x in p.stdout.split()}
    return {pid for pid in pids if proc_state(pid) not in (None, "Z")}


def mount_of(path: str) -> dict:
    """The mount holding path: mount point, filesystem type and options (from /proc/self/mounts)."""
    best = {"mountpoint": "", "fstype": "?", "options": ""}
    real = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            _, mnt, fstype, opts = line.split()[:4]
            mnt = mnt.replace("\\040", " ")
            inside = real == mnt or real.startswith(mnt.rstrip("/") + "/")
            if inside and len(mnt) >= len(best["mountpoint"]):
                best = {"mountpoint": mnt, "fstype": fstype, "options": opts}
    return best


def median(xs: list[float]) -> float:
    return statistics.median(xs)


# --------------------------------------------------------------------------------------------------
# Cleanup and preflight
# --------------------------------------------------------------------------------------------------

class Bench:
    """Holds the tools' paths and what this run created, so cleanup removes exactly that."""

    def __init__(self, kn_lab: Path, ref_dir: Path, out_dir: Path):
        self.kn_lab_src = kn_lab              # the build to measure...
        self.kn_lab = kn_lab                  # ...and the copy of it that is run (see snapshot)
        self.snapshot_dir: Path | None = None
        self.ref_dir = ref_dir
        self.out_dir = out_dir
        self.naive_build = ref_dir / "naive_build.sh"
        self.naive_teardown = ref_dir / "naive_teardown.sh"
        self.nlbuild = out_dir / "nlbuild"
        self.labs_used: set[str] = set()      # kn-lab labs this run may have brought up
        # /run/netns as it was: `ip netns add` (the naive yardstick) makes it a self bind mount
        self.netns_dir_was = NETNS_DIR.exists()
        self.netns_mounts_before = netns_dir_mounts()
        self.pause_before: set[int] = set()   # kn-pause processes that were not ours
        self.started = False                  # preflight passed: from now on, cleanup is ours to do

    # -- preflight ---------------------------------------------------------------------------------

    def preflight(self, p2p: bool) -> None:
        if os.geteuid() != 0:
            raise BenchError("needs root (it creates network namespaces)")
        for f in (self.kn_lab, self.naive_build, self.naive_teardown, self.ref_dir / "nlbuild.c"):
            if not f.exists():
                raise BenchError(f"missing {f}")
        if p2p and not P2P_LAB_FILE.exists():
            raise BenchError(f"missing {P2P_LAB_FILE}")
        # Refuse rather than touch anything this run did not create.
        labs = self.our_labs(p2p)
        leftovers = yardstick_netns()
        for lab in labs:
            leftovers += lab_netns(lab) + ([f"{KN_STATE_DIR / lab}"] if (KN_STATE_DIR / lab).exists() else [])
        if leftovers:
            raise BenchError(
                "refusing to run: these already exist and this benchmark would create them:\n  "
                + " ".join(leftovers)
                + "\nclean up first: `ip netns del <name>` for pb-* namespaces, "
                  f"`{self.kn_lab} down <lab>` for labs ({', '.join(labs)})")
        self.pause_before = live_pause_pids()
        self.build_nlbuild()
        self.snapshot()
        self.started = True

    def snapshot(self) -> None:
        """Runs a private copy of kn-lab and its helpers (kn-lab looks for kn-pause and kn-netexec
        next to itself first): a rebuild of the tree during the run cannot mix two builds."""
        self.snapshot_dir = Path(tempfile.mkdtemp(prefix="kn-bench-bin-"))
        for name in ("kn-lab", "kn-pause", "kn-netexec"):
            src = self.kn_lab_src.parent / name
            if src.exists():
                shutil.copy2(src, self.snapshot_dir / name)
        self.kn_lab = self.snapshot_dir / "kn-lab"
        if run([str(self.kn_lab), "--version"], check=False)[1].returncode != 0:
            raise BenchError(f"the copy of {self.kn_lab_src} does not run (was it being rebuilt?)")

    def our_labs(self, p2p: bool) -> list[str]:
        return [BENCH_LAB] + ([self.p2p_lab_name()] if p2p else [])

    @staticmethod
    def p2p_lab_name() -> str:
        with open(P2P_LAB_FILE, "rb") as f:
            return tomllib.load(f)["lab"]["name"]

    def build_nlbuild(self) -> None:
        """Compiles the netlink yardstick into out_dir unless an up-to-date binary is there."""
        src = self.ref_dir / "nlbuild.c"
        if self.nlbuild.exists() and self.nlbuild.stat().st_mtime >= src.stat().st_mtime:
            return
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            raise BenchError("no C compiler (cc) to build nlbuild.c")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        run([cc, "-O2", "-o", str(self.nlbuild), str(src)])

    # -- cleanup -----------------------------------------------------------------------------------

    def cleanup(self) -> list[str]:
        """Removes whatever this run may have left; never touches other namespaces. Returns problems."""
        problems = []
        if not self.started:     # preflight refused: whatever exists is not ours
            if self.snapshot_dir:
                shutil.rmtree(self.snapshot_dir, ignore_errors=True)
            return problems
        for lab in sorted(self.labs_used):
            if lab_is_up(lab):
                _, p = run([str(self.kn_lab), "down", lab], timeout=120, check=False)
                if p.returncode != 0:
                    problems.append(f"kn-lab down {lab} failed: {p.stderr.strip()}")
        for ns in yardstick_netns():
            _, p = run(["ip", "netns", "del", ns], timeout=30, check=False)
            if p.returncode != 0:
                problems.append(f"ip netns del {ns} failed: {p.stderr.strip()}")
        # Leave /run/netns as it was found: the self bind mounts `ip netns add` made, and the
        # directory itself if it was not there (only once empty).
        while netns_dir_mounts() > self.netns_mounts_before:
            if run(["umount", str(NETNS_DIR)], timeout=30, check=False)[1].returncode != 0:
                break
        if not self.netns_dir_was:
            try:
                NETNS_DIR.rmdir()
            except OSError:
                pass
        if self.snapshot_dir:
            shutil.rmtree(self.snapshot_dir, ignore_errors=True)
        return problems

    def leftovers(self) -> list[str]:
        """What of ours is still there after cleanup (should be nothing)."""
        if not self.started:
            return []
        left = yardstick_netns()
        for lab in self.labs_used:
            left += lab_netns(lab)
        # A kn-pause of ours that survived `down` holds a namespace no longer named under /run/netns;
        # those of labs other users brought up meanwhile are in named ones.
        named = set()
        for ns in netns_names():
            try:
                named.add(os.stat(NETNS_DIR / ns).st_ino)
            except OSError:
                pass
        stray = set()
        for pid in live_pause_pids() - self.pause_before:
            try:
                if os.stat(f"/proc/{pid}/ns/net").st_ino not in named:
                    stray.add(pid)
            except OSError:
                pass
        if stray:
            left.append(f"kn-pause pids {sorted(stray)}")
        return left

    # -- the three ways to build N pods --------------------------------------------------------------

    def kn_lab_cycle(self, toml: Path, n: int) -> dict:
        """kn-lab up <toml>, then kn-lab down bench."""
        self.labs_used.add(BENCH_LAB)
        up_s, (p,), f_up, d_up = timed([str(self.kn_lab), "up", str(toml)], timeout=60 + n)
        self_up = parse_self_ms(p.stdout, "up")
        pods = len(lab_netns(BENCH_LAB)) - 1
        if pods != n:
            raise BenchError(f"kn-lab up made {pods} pod namespaces, expected {n}")
        down_s, (p,), f_down, d_down = timed([str(self.kn_lab), "down", BENCH_LAB], timeout=60 + n)
        return {"up_s": up_s, "down_s": down_s, "self_up_ms": self_up, "self_down_ms": parse_self_ms(p.stdout, "down"),
                "interference": [f_up, f_down], "disturbed": d_up or d_down}

    def naive_cycle(self, n: int) -> dict:
        """naive_build.sh N, then naive_teardown.sh N + `ip netns del pb-node` (timed together as down)."""
        up_s, _, f_up, d_up = timed(["bash", str(self.naive_build), str(n)], timeout=60 + n)
        down_s, _, f_down, d_down = timed(["bash", str(self.naive_teardown), str(n)],
                                          ["ip", "netns", "del", "pb-node"], timeout=60 + n)
        return {"up_s": up_s, "down_s": down_s, "interference": [f_up, f_down], "disturbed": d_up or d_down}

    def nlbuild_cycle(self, n: int) -> dict:
        """nlbuild up N, then nlbuild down N + `ip netns del pb-node` (timed together as down)."""
        if not NETNS_DIR.exists():          # nlbuild expects it; `ip netns add` would make it
            NETNS_DIR.mkdir(mode=0o755)
        up_s, (p,), f_up, d_up = timed([str(self.nlbuild), "up", str(n)], timeout=60 + n)
        phases = {k: float(v) for k, v in re.findall(r"(\w+)_s=([\d.]+)", p.stdout)}
        down_s, _, f_down, d_down = timed([str(self.nlbuild), "down", str(n)],
                                          ["ip", "netns", "del", "pb-node"], timeout=60 + n)
        return {"up_s": up_s, "down_s": down_s, "phases_s": phases,
                "interference": [f_up, f_down], "disturbed": d_up or d_down}

    def cycle(self, tool: str, toml: Path, n: int) -> dict:
        """One up+down of `tool`, measured again (up to RETRIES times) if other users disturbed it."""
        for attempt in range(RETRIES + 1):
            if tool == "kn-lab":
                sample = self.kn_lab_cycle(toml, n)
            elif tool == "naive":
                sample = self.naive_cycle(n)
            else:
                sample = self.nlbuild_cycle(n)
            sample["attempts"] = attempt + 1
            if not sample["disturbed"]:
                break
            log(f"  other users took {max(sample['interference']) * 100:.0f} % of the machine: "
                + ("measuring again" if attempt < RETRIES else "keeping it (out of retries)"))
        return sample


def parse_self_ms(stdout: str, verb: str) -> float | None:
    """kn-lab's own figure from 'lab X is up in N ms' / 'lab X is down in N ms'."""
    m = re.search(rf"is {verb} in (\d+(?:\.\d+)?) ms", stdout)
    return float(m.group(1)) if m else None


def lab_toml(n: int) -> str:
    """A one-node lab named `bench` with n pods and no containers (each pod gets only kn-pause)."""
    # The smallest node subnet that holds n pods (network, gateway and broadcast addresses taken).
    mask = 30
    while (1 << (32 - mask)) - 3 < n:
        mask -= 1
    if mask < 16:
        raise BenchError(f"{n} pods do not fit in one node of 10.244.0.0/16")
    lines = ["# generated by bench/bench_up_down.py", "[lab]", f'name = "{BENCH_LAB}"', "",
             "[cluster]", 'pod_cidr = "10.244.0.0/16"', f"node_cidr_mask = {mask}", "",
             "[[node]]", 'name = "node1"']
    for i in range(1, n + 1):
        lines += ["", "[[pod]]", f'name = "p{i}"', 'node = "node1"']
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# The benchmark parts
# --------------------------------------------------------------------------------------------------

TOOLS = ("kn-lab", "naive", "nlbuild")


def part_scaling(b: Bench, tmp: Path, n: int, reps: int) -> dict:
    """Part 1, for one N: up/down of N pods with each tool, R repetitions, medians and ratios."""
    toml = tmp / f"bench-{n}.toml"
    toml.write_text(lab_toml(n))
    samples: dict[str, list[dict]] = {t: [] for t in TOOLS}
    for r in range(reps):
        # Rotate the order each repetition so no tool always runs first (or after the same one).
        order = TOOLS[r % 3:] + TOOLS[:r % 3]
        for tool in order:
            log(f"N={n} rep {r + 1}/{reps}: {tool}")
            samples[tool].append(b.cycle(tool, toml, n))
    med = {t: {"up_s": median([s["up_s"] for s in samples[t]]),
               "down_s": median([s["down_s"] for s in samples[t]])} for t in TOOLS}
    for t in TOOLS:
        med[t]["up_ms_per_pod"] = med[t]["up_s"] * 1000 / n
        med[t]["down_ms_per_pod"] = med[t]["down_s"] * 1000 / n
    # Same N for all three, so ratios of totals are ratios of per-pod times.
    kn, nv, nl = med["kn-lab"], med["naive"], med["nlbuild"]
    ratios = {
        "kn_over_nlbuild_up": kn["up_s"] / nl["up_s"],
        "naive_over_kn_up": nv["up_s"] / kn["up_s"],
        "naive_over_kn_down": nv["down_s"] / kn["down_s"],
        "kn_over_nlbuild_down": kn["down_s"] / nl["down_s"],   # information only, no target
    }
    verdicts = {
        "kn_over_nlbuild_up": ratios["kn_over_nlbuild_up"] <= TARGET_KN_OVER_NL,
        "naive_over_kn_up": ratios["naive_over_kn_up"] >= TARGET_NAIVE_OVER_KN,
        "naive_over_kn_down": ratios["naive_over_kn_down"] >= TARGET_NAIVE_OVER_KN,
    }
    return {"n": n, "reps": reps, "samples": samples, "median": med, "ratios": ratios, "pass": verdicts}


def part_p2p(b: Bench, runs: int) -> dict:
    """Part 2: lab 02 (2 pods with kn-netexec) up and down, `runs` times, medians."""
    lab = b.p2p_lab_name()
    b.labs_used.add(lab)
    ups, downs, self_up, self_down, interference = [], [], [], [], []
    for i in range(runs):
        log(f"p2p run {i + 1}/{runs}")
        for attempt in range(RETRIES + 1):
            t_up, (p_up,), f_up, d_up = timed([str(b.kn_lab), "up", str(P2P_LAB_FILE)], timeout=60)
            t_down, (p_down,), f_down, d_down = timed([str(b.kn_lab), "down", lab], timeout=60)
            if not (d_up or d_down):
                break
            log("  disturbed by other users: " + ("measuring again" if attempt < RETRIES else "keeping it"))
        ups.append(t_up)
        downs.append(t_down)
        self_up.append(parse_self_ms(p_up.stdout, "up"))
        self_down.append(parse_self_ms(p_down.stdout, "down"))
        interference.append([f_up, f_down])
    up_ms, down_ms = median(ups) * 1000, median(downs) * 1000
    return {"lab": lab, "runs": runs, "up_s": ups, "down_s": downs,
            "self_up_ms": self_up, "self_down_ms": self_down, "interference": interference,
            "median_up_ms": up_ms, "median_down_ms": down_ms,
            "pass": {"up": up_ms < TARGET_P2P_MS, "down": down_ms < TARGET_P2P_MS}}


def pause_memory(pids: list[int]) -> dict:
    """Mean VmRSS (from /proc/PID/status) and Pss/Private (from /proc/PID/smaps_rollup), kB."""
    rss, pss, private = [], [], []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        field = lambda text, key: int(re.search(rf"^{key}:\s+(\d+) kB", text, re.M).group(1))  # noqa: E731
        rss.append(field(status, "VmRSS"))
        pss.append(field(rollup, "Pss"))
        private.append(field(rollup, "Private_Clean") + field(rollup, "Private_Dirty"))
    if not rss:
        raise BenchError("found no kn-pause process of the lab to measure")
    return {"processes": len(rss), "mean_rss_kb": statistics.mean(rss), "mean_pss_kb": statistics.mean(pss),
            "mean_private_kb": statistics.mean(private), "max_rss_kb": max(rss), "sum_pss_kb": sum(pss)}


def bench_pause_pids() -> list[int]:
    """The live kn-pause processes inside the bench lab's namespaces (other labs' are left out)."""
    inodes = {os.stat(NETNS_DIR / ns).st_ino for ns in lab_netns(BENCH_LAB)}
    pids = []
    for pid in live_pause_pids():
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino in inodes:
                pids.append(pid)
        except FileNotFoundError:
            pass
    return sorted(pids)


KERNEL_FIELDS = ("Slab", "SUnreclaim", "Percpu", "KernelStack", "PageTables", "VmallocUsed")
# Kernel memory that is neither page cache nor reclaimable, summed: less disturbed than MemAvailable
# by whatever else runs on the machine. KernelStack and PageTables belong to the kn-pause processes.
UNRECLAIMABLE_FIELDS = ("SUnreclaim", "Percpu", "KernelStack", "PageTables", "VmallocUsed")


def part_memory(b: Bench, tmp: Path, n: int, reps: int) -> dict:
    """Parts 3 and 4: with an n-pod lab up, kn-pause RSS/PSS and the drop of MemAvailable per pod."""
    toml = tmp / f"bench-mem-{n}.toml"
    toml.write_text(lab_toml(n))
    b.labs_used.add(BENCH_LAB)
    runs = []
    for r in range(reps):
        log(f"memory rep {r + 1}/{reps}: {n} pods")
        settle()
        before = meminfo()
        run([str(b.kn_lab), "up", str(toml)], timeout=60 + n)
        settle()
        after = meminfo()
        pids = bench_pause_pids()
        if len(pids) != n:
            log(f"  warning: found {len(pids)} kn-pause processes in the lab, expected {n}")
        pm = pause_memory(pids)
        run([str(b.kn_lab), "down", BENCH_LAB], timeout=60 + n)
        drop_kb = before["MemAvailable"] - after["MemAvailable"]
        runs.append({
            "pause": pm,
            "memavailable_drop_kb": drop_kb,
            "memavailable_drop_kb_per_pod": drop_kb / n,
            # Take the pause processes' own share out to approach what the kernel holds per pod.
            "kernel_kb_per_pod_approx": (drop_kb - pm["sum_pss_kb"]) / n,
            "meminfo_delta_kb_per_pod": {k: (after.get(k, 0) - before.get(k, 0)) / n for k in KERNEL_FIELDS},
            "unreclaimable_kb_per_pod": sum(after.get(k, 0) - before.get(k, 0) for k in UNRECLAIMABLE_FIELDS) / n,
        })
    pick = lambda f: median([f(x) for x in runs])  # noqa: E731
    mean_rss = pick(lambda x: x["pause"]["mean_rss_kb"])
    return {
        "pods": n, "reps": reps, "runs": runs,
        "pause_mean_rss_kb": mean_rss,
        "pause_mean_pss_kb": pick(lambda x: x["pause"]["mean_pss_kb"]),
        "pause_mean_private_kb": pick(lambda x: x["pause"]["mean_private_kb"]),
        "memavailable_drop_kb_per_pod": pick(lambda x: x["memavailable_drop_kb_per_pod"]),
        "kernel_kb_per_pod_approx": pick(lambda x: x["kernel_kb_per_pod_approx"]),
        "unreclaimable_kb_per_pod": pick(lambda x: x["unreclaimable_kb_per_pod"]),
        "meminfo_delta_kb_per_pod": {k: pick(lambda x, k=k: x["meminfo_delta_kb_per_pod"][k]) for k in KERNEL_FIELDS},
        "pass": {"pause_rss": mean_rss < TARGET_PAUSE_RSS_KB},
    }


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_report(res: dict) -> None:
    out = []
    meta = res["meta"]
    out.append(f"kn-lab up/down benchmark  ({meta['date']}, {meta['kernel']}, {meta['cpus']} CPUs, "
               f"kn-lab {meta['kn_lab_version']} @ {meta['git_commit']})")
    itf = meta.get("interference", {})
    if itf.get("steps"):
        out.append(f"other users' share of the machine during the {itf['steps']} timed steps: "
                   f"{itf['share'] * 100:.1f} %; {itf['disturbed_steps']} steps disturbed (over "
                   f"{INTERFERENCE_MAX * 100:.0f} %), {meta.get('retried_cycles', 0)} cycles measured again")
    kept = meta.get("disturbed_samples_kept", 0)
    if kept:
        out.append(f"WARNING: {kept} samples were disturbed by other users even after retries: their times are "
                   "inflated (kn-lab's, one process per pod, more than nlbuild's) -- rerun on a quiet machine")
    if meta.get("kn_lab_rebuilt"):
        out.append(f"note: {meta['kn_lab']} was rebuilt during the run; the run measured a copy of the build "
                   "found at its start")
    # Files with content (the namespaces' /run/netns entries are empty): freeing their blocks on a
    # filesystem mounted with `discard` waits for the disk.
    fss = meta.get("filesystems", {})
    discarding = [p for p in ("/etc/netns", "/run/kn-lab") if p in fss and "discard" in fss[p]["options"].split(",")
                  and fss[p]["fstype"] not in ("tmpfs", "ramfs")]
    if discarding:
        out.append(f"note: {' and '.join(discarding)} are on {fss[discarding[0]]['fstype']} mounted with discard: "
                   "the files kn-lab deletes there wait for the disk to discard their blocks (shows in kn-lab down)")
    scaling = res.get("scaling", {})
    if scaling:
        out.append("")
        out.append("1. N pods on one node, wall time, median of R; per pod = total / N")
        hdr = f"{'N':>5} {'R':>2}  {'tool':<8} {'up ms':>9} {'down ms':>9} {'up ms/pod':>10} {'down ms/pod':>12}"
        out.append(hdr)
        out.append("-" * len(hdr))
        for key, s in scaling.items():
            for t in TOOLS:
                m = s["median"][t]
                out.append(f"{s['n']:>5} {s['reps']:>2}  {t:<8} {m['up_s'] * 1000:>9.1f} {m['down_s'] * 1000:>9.1f} "
                           f"{m['up_ms_per_pod']:>10.2f} {m['down_ms_per_pod']:>12.3f}")
            out.append("")
        hdr = (f"{'N':>5}  {'kn/nlbuild up':>14}  {'naive/kn up':>12}  {'naive/kn down':>14}  "
               f"{'kn/nlbuild down':>16}")
        out.append("   ratios (targets: kn/nlbuild up <= %.1f, naive/kn >= %.0f)" % (TARGET_KN_OVER_NL,
                                                                                     TARGET_NAIVE_OVER_KN))
        out.append(hdr)
        out.append("-" * len(hdr))
        for key, s in scaling.items():
            r, p = s["ratios"], s["pass"]
            out.append(f"{s['n']:>5}  {r['kn_over_nlbuild_up']:>9.2f} {verdict(p['kn_over_nlbuild_up'])}"
                       f"  {r['naive_over_kn_up']:>7.2f} {verdict(p['naive_over_kn_up'])}"
                       f"  {r['naive_over_kn_down']:>9.2f} {verdict(p['naive_over_kn_down'])}"
                       f"  {r['kn_over_nlbuild_down']:>11.2f} info")
    if "p2p" in res:
        p = res["p2p"]
        out.append("")
        out.append(f"2. lab 02 ({p['lab']}, 2 pods with kn-netexec), median of {p['runs']} "
                   f"(target < {TARGET_P2P_MS:.0f} ms)")
        out.append(f"   up   {p['median_up_ms']:7.1f} ms  {verdict(p['pass']['up'])}   "
                   f"(min {min(p['up_s']) * 1000:.1f}, max {max(p['up_s']) * 1000:.1f})")
        out.append(f"   down {p['median_down_ms']:7.1f} ms  {verdict(p['pass']['down'])}   "
                   f"(min {min(p['down_s']) * 1000:.1f}, max {max(p['down_s']) * 1000:.1f})")
    if "memory" in res:
        m = res["memory"]
        out.append("")
        out.append(f"3. kn-pause memory with {m['pods']} pods up (median of {m['reps']})")
        out.append(f"   mean VmRSS {m['pause_mean_rss_kb']:7.1f} kB  {verdict(m['pass']['pause_rss'])} "
                   f"(target < {TARGET_PAUSE_RSS_KB} kB)")
        out.append(f"   mean Pss   {m['pause_mean_pss_kb']:7.1f} kB   mean private {m['pause_mean_private_kb']:.1f} kB")
        out.append(f"4. kernel memory per pod, APPROXIMATE (/proc/meminfo before and after `up` of {m['pods']} pods, "
                   f"median of {m['reps']})")
        d = m["meminfo_delta_kb_per_pod"]
        out.append(f"   unreclaimable kernel memory  {m['unreclaimable_kb_per_pod']:7.1f} kB   "
                   f"(sum of {' '.join(UNRECLAIMABLE_FIELDS)}; KernelStack + PageTables, "
                   f"{d['KernelStack'] + d['PageTables']:.0f} kB, are kn-pause's)")
        out.append(f"   MemAvailable drop            {m['memavailable_drop_kb_per_pod']:7.1f} kB   "
                   f"(minus kn-pause Pss: {m['kernel_kb_per_pod_approx']:.1f} kB; per run, total: "
                   + ", ".join(f"{x['memavailable_drop_kb']} kB" for x in m["runs"]) + ")")
        out.append("   (MemAvailable also moves with page cache and with other users' memory: "
                   "trust the first line more)")
        out.append("   per pod: " + ", ".join(f"{k} {d[k]:+.1f}" for k in KERNEL_FIELDS) + " kB")
    misses = [name for name, ok in all_verdicts(res) if not ok]
    out.append("")
    if not res.get("complete"):
        out.append("INCOMPLETE run (interrupted or failed): partial results only")
    out.append("targets: all PASS" if not misses else "targets MISSED: " + ", ".join(misses))
    print("\n".join(out), flush=True)


def all_verdicts(res: dict) -> list[tuple[str, bool]]:
    v = []
    for key, s in res.get("scaling", {}).items():
        v += [(f"N={key} {k}", ok) for k, ok in s["pass"].items()]
    if "p2p" in res:
        v += [(f"p2p {k}", ok) for k, ok in res["p2p"]["pass"].items()]
    if "memory" in res:
        v += [(f"memory {k}", ok) for k, ok in res["memory"]["pass"].items()]
    return v


def binary_id(path: Path) -> list:
    """Identifies a build of a binary (to notice it being rebuilt during the run)."""
    st = path.stat()
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def metadata(b: Bench, sizes: list[int], reps: int) -> dict:
    _, v = run([str(b.kn_lab), "--version"], check=False)
    _, g = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], check=False)
    _, d = run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], check=False)
    commit = g.stdout.strip() or "unknown"
    if d.stdout.strip():
        commit += "+dirty"
    return {"date": dt.datetime.now().isoformat(timespec="seconds"), "kernel": platform.release(),
            "cpus": os.cpu_count(), "kn_lab": str(b.kn_lab_src), "kn_lab_version": v.stdout.strip() or "?",
            "kn_lab_id": binary_id(b.kn_lab_src), "git_commit": commit, "python": platform.python_version(),
            "sizes": sizes, "reps": reps,
            "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
            # kn-lab writes files per pod (/etc/netns/<ns>/, /run/kn-lab/<lab>/) where the yardsticks only
            # create the empty /run/netns/<ns>: where those live weighs on kn-lab's times.
            "filesystems": {p: mount_of(p) for p in ("/run/netns", "/run/kn-lab", "/etc/netns")},
            "settle": {"window_s": quiescence.SETTLE_WINDOW_S, "busy_ticks": quiescence.SETTLE_BUSY_TICKS,
                       "quiet_windows": quiescence.SETTLE_QUIET_WINDOWS, "idle_busy_max": quiescence.IDLE_BUSY_MAX,
                       "wait_idle_s": WAIT_IDLE_S, "interference_max": INTERFERENCE_MAX, "retries": RETRIES}}


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------

def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sizes", nargs="*", type=int, default=[10, 100, 500], metavar="N",
                    help="pod counts to measure (default: 10 100 500)")
    ap.add_argument("-r", "--reps", type=int, default=3, help="repetitions per N, median taken (default 3)")
    ap.add_argument("--large-reps", type=int, metavar="R",
                    help="repetitions for N >= 500 if different (e.g. 1 when short of time)")
    ap.add_argument("--p2p-runs", type=int, default=10, metavar="K", help="runs of lab 02, 0 to skip (default 10)")
    ap.add_argument("--mem-pods", type=int, default=100, metavar="N",
                    help="pods for the memory part, 0 to skip (default 100)")
    ap.add_argument("--kn-lab", type=Path, default=DEFAULT_KN_LAB, metavar="PATH",
                    help=f"kn-lab binary (default {DEFAULT_KN_LAB})")
    ap.add_argument("--ref-dir", type=Path, default=DEFAULT_REF_DIR, metavar="DIR",
                    help=f"yardsticks directory (default {DEFAULT_REF_DIR})")
    ap.add_argument("--json", type=Path, default=DEFAULT_OUT_DIR / "up_down.json",
                    help="where to write the JSON (default bench/out/up_down.json)")
    ap.add_argument("--wait-idle", type=float, default=WAIT_IDLE_S, metavar="S",
                    help="before each timed step, wait up to S seconds for the machine to be idle "
                         f"(default {WAIT_IDLE_S:.0f}; 0 = only wait for our own aftermath)")
    ap.add_argument("--retries", type=int, default=RETRIES, metavar="K",
                    help=f"measure a cycle disturbed by other users again, up to K times (default {RETRIES})")
    ap.add_argument("--strict", action="store_true", help="exit 1 if any target is missed")
    a = ap.parse_args(argv)
    if any(n < 1 for n in a.sizes) or a.reps < 1:
        ap.error("N and R must be positive")
    return a


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    global WAIT_IDLE_S, RETRIES
    WAIT_IDLE_S, RETRIES = a.wait_idle, max(0, a.retries)
    # SIGTERM (and SIGHUP) unwind like Ctrl-C, so the finally block below still cleans up.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)

    b = Bench(a.kn_lab.resolve(), a.ref_dir.resolve(), DEFAULT_OUT_DIR)
    res: dict = {}
    code = 0
    try:
        b.preflight(p2p=a.p2p_runs > 0)
        res["meta"] = metadata(b, a.sizes, a.reps)
        with tempfile.TemporaryDirectory(prefix="kn-bench-") as tmp:
            tmpd = Path(tmp)
            res["scaling"] = {}
            for n in a.sizes:
                reps = a.large_reps if (a.large_reps and n >= 500) else a.reps
                res["scaling"][str(n)] = part_scaling(b, tmpd, n, reps)
            if a.p2p_runs > 0:
                res["p2p"] = part_p2p(b, a.p2p_runs)
            if a.mem_pods > 0:
                res["memory"] = part_memory(b, tmpd, a.mem_pods, min(a.reps, 3))
    except BenchError as e:
        log(f"bench_up_down: {e}")
        code = 2
    except KeyboardInterrupt:
        log("bench_up_down: interrupted")
        code = 130
    finally:
        if b.started:
            log("cleaning up")
        problems = b.cleanup()
        for p in problems:
            log(f"cleanup: {p}")
        left = b.leftovers()
        if left:
            log("LEFT BEHIND (remove by hand): " + " ".join(left))
            code = code or 2

    if res.get("scaling") or "p2p" in res or "memory" in res:
        res["complete"] = code == 0
        res["meta"]["interference"] = interference_summary()
        samples = [x for sc in res.get("scaling", {}).values() for ss in sc["samples"].values() for x in ss]
        res["meta"]["retried_cycles"] = sum(x["attempts"] > 1 for x in samples)
        res["meta"]["disturbed_samples_kept"] = sum(x["disturbed"] for x in samples)
        res["meta"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
        res["meta"]["kn_lab_rebuilt"] = binary_id(b.kn_lab_src) != res["meta"]["kn_lab_id"]
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=2) + "\n")
        print_report(res)
        print(f"JSON: {a.json}")
        if code == 0 and a.strict and any(not ok for _, ok in all_verdicts(res)):
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
