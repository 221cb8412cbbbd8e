"""NetworkPolicy truth tables: the model and the prober of test_netpol_matrix.py.

Modelled on Kubernetes' NetworkPolicy e2e tests (kubernetes/kubernetes, test/e2e/network/netpol):

  * `TruthTable` is truthtable.go's: an n x n table of booleans, one per ordered (from, to)
    pair, printed with "." for connected and "X" for blocked ("?" for no value).
  * `Reachability` is reachability.go's: the expected and the observed table of one port and
    protocol (a TestCase's ToPort/Protocol), built from "everything connected" (or blocked)
    with Expect, ExpectAllIngress, ExpectAllEgress and ExpectPeer, where a `Peer` matches a
    pod by namespace and/or name (an empty field matches everything).
  * Loopback (a pod to itself) is probed but never decides pass or fail: upstream's
    `ignoreLoopback = true` (kubernetes#95879: CNIs differ; here a pod reaching its own address
    never leaves its network namespace, so no policy can see it). `allow_loopback()` exists as
    upstream's AllowLoopback does.
  * Upstream checks one port and protocol per ValidateOrFail; the prober here measures all four
    that every pod serves (80 and 81, TCP and UDP) in one go, so an `Expectation` holds the four
    Reachabilities and each case states what the spec says on each of them.

The prober runs one short program (data/netpol-matrix/probe.py) per source pod inside the pod's
network namespace (`ip netns exec <netns> python3 probe.py <json>`), all nine at once, each
probing all of its 36 targets (9 pods x 4 ports) concurrently: TCP connect + GET / (the answer
must name the target), UDP "hostname" (the answer must be the target's name), with a per-probe
timeout (1 s) that counts as "no connectivity". Denied traffic is REJECTed, so a full matrix
takes about as long as its slowest connected probe.

Traffic rule of the suite: probes go only between the lab's pods, to their own addresses.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, NamedTuple

NAMESPACES = ("x", "y", "z")
POD_NAMES = ("a", "b", "c")
PODS = tuple(f"{ns}/{p}" for ns in NAMESPACES for p in POD_NAMES)

IGNORE_LOOPBACK = True  # upstream network_policy.go: ignoreLoopback = true

PROBE_SCRIPT = Path(__file__).resolve().parent / "data" / "netpol-matrix" / "probe.py"
PROBE_TIMEOUT = 1.0


class PortProtocol(NamedTuple):
    port: int
    protocol: str

    def __str__(self) -> str:
        return f"{self.protocol}/{self.port}"


TCP80 = PortProtocol(80, "TCP")
UDP80 = PortProtocol(80, "UDP")
TCP81 = PortProtocol(81, "TCP")
UDP81 = PortProtocol(81, "UDP")
ALL = (TCP80, TCP81, UDP80, UDP81)


def others(*pps: PortProtocol) -> tuple[PortProtocol, ...]:
    """The port/protocols of ALL that are not among `pps`."""
    return tuple(pp for pp in ALL if pp not in pps)


def pod(ns: str, name: str) -> str:
    """upstream NewPodString: "x/a"."""
    return f"{ns}/{name}"


# --------------------------------------------------------------------------- truth table

class TruthTable:
    """truthtable.go: a table of booleans for every ordered (from, to) pair."""

    def __init__(self, froms: Iterable[str], tos: Iterable[str], default: bool | None):
        self.froms = list(froms)
        self.tos = list(tos)
        self.values: dict[str, dict[str, bool]] = {
            f: ({t: default for t in self.tos} if default is not None else {}) for f in self.froms}

    def _check(self, frm: str | None = None, to: str | None = None) -> None:
        if frm is not None and frm not in self.values:
            raise KeyError(f"from-key {frm} not found")
        if to is not None and to not in self.tos:
            raise KeyError(f"to-key {to} not allowed")

    def set(self, frm: str, to: str, value: bool) -> None:
        self._check(frm, to)
        self.values[frm][to] = value

    def set_all_from(self, frm: str, value: bool) -> None:
        self._check(frm=frm)
        for to in self.tos:
            self.values[frm][to] = value

    def set_all_to(self, to: str, value: bool) -> None:
        self._check(to=to)
        for frm in self.froms:
            self.values[frm][to] = value

    def get(self, frm: str, to: str) -> bool:
        self._check(frm, to)
        if to not in self.values[frm]:
            raise KeyError(f"to-key {to} not found in {frm}'s row")
        return self.values[frm][to]

    def is_complete(self) -> bool:
        return all(t in self.values[f] for f in self.froms for t in self.tos)

    def compare(self, other: "TruthTable") -> "TruthTable":
        """A table whose value is True where both tables agree."""
        if self.froms != other.froms or self.tos != other.tos:
            raise ValueError("cannot compare tables of different items")
        out = TruthTable(self.froms, self.tos, None)
        for f in self.froms:
            for t in self.tos:
                out.values[f][t] = self.values[f].get(t) == other.values[f].get(t)
        return out

    def pretty(self, highlight: "TruthTable | None" = None, ignore_loopback: bool = IGNORE_LOOPBACK,
               indent: str = "  ") -> str:
        """upstream PrettyPrint: rows are sources, columns destinations; "." connected, "X" blocked.

        With `highlight` (a comparison), a cell that disagrees is shown in brackets, [X] or [.],
        and a disagreeing loopback cell, which does not count, in parentheses."""
        width = max(len(s) for s in self.froms + self.tos + ["-"]) + 2
        lines = [indent + "-".ljust(width) + "".join(t.ljust(width) for t in self.tos)]
        for f in self.froms:
            cells = []
            for t in self.tos:
                v = self.values[f].get(t)
                mark = "?" if v is None else ("." if v else "X")
                if highlight is not None and highlight.values[f].get(t) is False:
                    mark = f"({mark})" if (f == t and ignore_loopback) else f"[{mark}]"
                cells.append(mark.ljust(width))
            lines.append(indent + f.ljust(width) + "".join(cells).rstrip())
        return "\n".join(lines)


# --------------------------------------------------------------------------- reachability

@dataclass(frozen=True)
class Peer:
    """reachability.go Peer: matches pods by namespace and/or name; "" matches everything."""
    namespace: str = ""
    pod: str = ""

    def matches(self, podstring: str) -> bool:
        ns, name = podstring.split("/", 1)
        return (self.namespace in ("", ns)) and (self.pod in ("", name))


class Reachability:
    """reachability.go Reachability: expected and observed connectivity of one port/protocol."""

    def __init__(self, default: bool = True, pods: Iterable[str] = PODS):
        self.pods = list(pods)
        self.expected = TruthTable(self.pods, self.pods, default)
        self.observed = TruthTable(self.pods, self.pods, None)
        self.details: dict[tuple[str, str], str] = {}

    def allow_loopback(self) -> None:
        for p in self.pods:
            self.expected.set(p, p, True)

    def expect(self, frm: str, to: str, connected: bool) -> None:
        self.expected.set(frm, to, connected)

    def expect_all_ingress(self, to: str, connected: bool) -> None:
        self.expected.set_all_to(to, connected)

    def expect_all_egress(self, frm: str, connected: bool) -> None:
        self.expected.set_all_from(frm, connected)

    def expect_peer(self, frm: Peer, to: Peer, connected: bool) -> None:
        for f in self.pods:
            if frm.matches(f):
                for t in self.pods:
                    if to.matches(t):
                        self.expected.set(f, t, connected)

    def observe(self, frm: str, to: str, connected: bool, detail: str = "") -> None:
        self.observed.set(frm, to, connected)
        self.details[(frm, to)] = detail

    def summary(self, ignore_loopback: bool = IGNORE_LOOPBACK) -> tuple[int, int, int, TruthTable]:
        """(right, wrong, ignored, comparison), as upstream's Summary."""
        if not self.observed.is_complete():
            raise AssertionError("observations not complete")
        comparison = self.expected.compare(self.observed)
        right = wrong = ignored = 0
        for f in self.pods:
            for t in self.pods:
                if ignore_loopback and f == t:
                    ignored += 1
                elif comparison.values[f][t]:
                    right += 1
                else:
                    wrong += 1
        return right, wrong, ignored, comparison


class Expectation:
    """What one probe of the whole matrix should show: a Reachability per port/protocol.

    Every method applies to all four port/protocols unless `on=` names some:
        e = Expectation()                                    # everything connected
        e.expect_peer(Peer(), Peer(namespace="x"), False)    # nothing into x, on every port
        e.expect_peer(Peer(namespace="y"), Peer("x", "a"), True, on=[TCP81])
    """

    def __init__(self, default: bool = True):
        self.by: dict[PortProtocol, Reachability] = {pp: Reachability(default) for pp in ALL}

    def _each(self, on: Iterable[PortProtocol] | None) -> list[Reachability]:
        return [self.by[pp] for pp in (ALL if on is None else on)]

    def allow_loopback(self, on=None) -> "Expectation":
        for r in self._each(on):
            r.allow_loopback()
        return self

    def expect(self, frm: str, to: str, connected: bool, on=None) -> "Expectation":
        for r in self._each(on):
            r.expect(frm, to, connected)
        return self

    def expect_all_ingress(self, to: str, connected: bool, on=None) -> "Expectation":
        for r in self._each(on):
            r.expect_all_ingress(to, connected)
        return self

    def expect_all_egress(self, frm: str, connected: bool, on=None) -> "Expectation":
        for r in self._each(on):
            r.expect_all_egress(frm, connected)
        return self

    def expect_peer(self, frm: Peer, to: Peer, connected: bool, on=None) -> "Expectation":
        for r in self._each(on):
            r.expect_peer(frm, to, connected)
        return self


# --------------------------------------------------------------------------- the lab's pods

@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    ip: str
    netns: str
    node: str

    @property
    def podstring(self) -> str:
        return f"{self.namespace}/{self.name}"


def pods_from_get(items: list[dict]) -> dict[str, PodInfo]:
    """The model's pods from `kn-lab get pod -A -o json` items (netns from kn-lab.io/netns)."""
    out = {}
    for it in items:
        md = it.get("metadata", {})
        ps = f"{md.get('namespace')}/{md.get('name')}"
        if ps not in PODS:
            continue
        netns = (md.get("annotations") or {}).get("kn-lab.io/netns", "")
        ip = (it.get("status") or {}).get("podIP", "")
        if not netns.startswith("kn-") or not ip:
            raise AssertionError(f"pod {ps}: no kn-lab.io/netns annotation or no podIP in {json.dumps(it)[:400]}")
        out[ps] = PodInfo(md["namespace"], md["name"], ip, netns, (it.get("spec") or {}).get("nodeName", ""))
    missing = [p for p in PODS if p not in out]
    if missing:
        raise AssertionError(f"pods missing from get pod -A: {missing}")
    return out


# --------------------------------------------------------------------------- prober

@dataclass
class Observation:
    """One probe of the matrix: (port/protocol, from, to) -> (connected, detail), and its time."""
    results: dict[tuple[PortProtocol, str, str], tuple[bool, str]] = field(default_factory=dict)
    seconds: float = 0.0

    def connected(self, pp: PortProtocol, frm: str, to: str) -> bool:
        return self.results[(pp, frm, to)][0]

    def count(self) -> int:
        return len(self.results)


class Prober:
    """Probes every (from, to, port/protocol) of the model at once (see the module docstring)."""

    _UDP_PORTS = (20000, 60000)  # source ports of the UDP probes, in turn (never an old tuple)

    def __init__(self, pods: dict[str, PodInfo], timeout: float = PROBE_TIMEOUT,
                 python: str = sys.executable or "/usr/bin/python3", script: Path = PROBE_SCRIPT):
        self.pods = pods
        self.timeout = timeout
        self.python = python
        self.script = script
        self._sport = random.randrange(*self._UDP_PORTS)

    def _next_sports(self, n: int) -> int:
        lo, hi = self._UDP_PORTS
        if self._sport + n >= hi:
            self._sport = lo
        base, self._sport = self._sport, self._sport + n
        return base

    def probe(self, on: Iterable[PortProtocol] = ALL) -> Observation:
        on = list(on)
        targets = [self.pods[p] for p in PODS]
        n_udp = sum(1 for pp in on if pp.protocol == "UDP") * len(targets)
        base = self._next_sports(n_udp)
        t0 = time.monotonic()
        procs = {}
        for src in PODS:
            info = self.pods[src]
            if not info.netns.startswith("kn-"):
                raise ValueError(f"only lab namespaces (kn-*) are entered, not {info.netns!r}")
            probes, k = [], 0
            for pp in on:
                for t in targets:
                    sport = 0
                    if pp.protocol == "UDP":
                        sport, k = base + k, k + 1
                    probes.append({"to": t.podstring, "ip": t.ip, "port": pp.port, "protocol": pp.protocol,
                                   "name": t.name, "namespace": t.namespace, "sport": sport})
            job = json.dumps({"timeout": self.timeout, "probes": probes})
            procs[src] = subprocess.Popen(["ip", "netns", "exec", info.netns, self.python, str(self.script), job],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          stdin=subprocess.DEVNULL)
        obs = Observation()
        errors = []
        for src, p in procs.items():
            try:
                out, err = p.communicate(timeout=self.timeout + 20)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
                errors.append(f"{src}: prober timed out: {err.strip()[:300]}")
                continue
            if p.returncode != 0:
                errors.append(f"{src}: prober exit {p.returncode}: {err.strip()[:300]}")
                continue
            for r in json.loads(out):
                obs.results[(PortProtocol(r["port"], r["protocol"]), src, r["to"])] = (r["connected"], r["detail"])
        obs.seconds = time.monotonic() - t0
        if errors:
            raise AssertionError("the prober failed (not a policy result):\n" + "\n".join(errors))
        return obs


# --------------------------------------------------------------------------- validate

def compare(expectation: Expectation, obs: Observation) -> tuple[int, str]:
    """Fills each Reachability's observed table; (wrong results, report as upstream prints it)."""
    total_wrong = 0
    parts = []
    for pp, r in expectation.by.items():
        for f in PODS:
            for t in PODS:
                ok, detail = obs.results[(pp, f, t)]
                r.observe(f, t, ok, detail)
        right, wrong, ignored, comparison = r.summary()
        total_wrong += wrong
        head = f"{pp}: reachability: correct:{right}, incorrect:{wrong}, result={wrong == 0}"
        if ignored:
            head += f" (loopback: {ignored} pod->pod results ignored)"
        if not wrong:
            parts.append(head)
            continue
        lines = [head, "expected:", r.expected.pretty(), "observed ([ ] = differs from expected):",
                 r.observed.pretty(highlight=comparison), "comparison (. agrees, X differs):",
                 comparison.pretty(), "differences:"]
        for f in PODS:
            for t in PODS:
                if comparison.values[f][t] or (IGNORE_LOOPBACK and f == t):
                    continue
                want = "connected" if r.expected.get(f, t) else "blocked"
                got = "connected" if r.observed.get(f, t) else "blocked"
                lines.append(f"  {f} -> {t} {pp}: expected {want}, observed {got} ({r.details[(f, t)]})")
        parts.append("\n".join(lines))
    return total_wrong, "\n\n".join(parts)


def validate_or_fail(prober: Prober, expectation: Expectation, step: str = "") -> Observation:
    """upstream ValidateOrFail, for all four port/protocols at once. No retry: kn-lab applies
    policies synchronously, so the first probe after `apply` returns must already agree."""
    obs = prober.probe()
    wrong, report = compare(expectation, obs)
    title = f"{step or 'reachability'}: {obs.count()} probes in {obs.seconds:.2f}s"
    if wrong:
        raise AssertionError(f"{title}: had {wrong} wrong results in the reachability matrix\n{report}")
    print(f"--- {title}\n{report}\n")
    return obs
