"""NetworkPolicy enforcement, proven by truth tables: Kubernetes' own NetworkPolicy e2e cases
(kubernetes/kubernetes test/e2e/network/netpol/network_policy.go) on one kn-lab cluster.

The lab (data/netpol-matrix/netpol-matrix.toml, lab "npm") is upstream's model: namespaces x, y, z
(labels ns=<name>, and kubernetes.io/metadata.name that kn-lab adds), pods a, b, c in each
(label pod=<name>), every pod an agnhost declaring serve-80-tcp, serve-80-udp, serve-81-tcp and
serve-81-udp, spread over three nodes. It is brought up once for the module.

Each test is one upstream case, named in the comment above it (`upstream: "<It(...) text>"`;
the `[Feature:NetworkPolicy]` tags are left out), with upstream's policy names and
expectations, taken over to the whole 9 x 9 matrix and all four port/protocols: upstream
validates one port and protocol per step (and lately only a few pods per case); here every step
probes all 81 pairs on 80/TCP, 81/TCP, 80/UDP and 81/UDP, and what the spec says for the port
and protocols upstream does not look at is stated too. Cases marked `kn-lab:` are not upstream
cases; they cover what the spec says and upstream's e2e does not probe (port ranges, Exists /
DoesNotExist, policyTypes defaulting, the same selectors as one peer and as two).
Expectations come from the NetworkPolicy API and upstream's tests, never from kn-lab's code.

Conventions, as upstream: a pod to itself (loopback) is probed but ignored (ignoreLoopback);
a probe that times out (1 s) is "no connectivity". Upstream's egress policies also allow UDP 53
for DNS; the probes here use pod IPs, so that rule is left out. Unlike upstream there is no
second try: kn-lab applies a policy before `apply` returns, so the first probe must agree.

Each case applies its policies (and label changes), probes, compares, and then deletes its
policies and restores the labels; its teardown checks that no policy is left and that the whole
matrix is reachable again, so that cases are independent.

Run (root, under the shared lock):
  cd tests/e2e && flock /tmp/knlab-e2e.lock env KNLAB_E2E_REQUIRE=1 /usr/bin/python3 -m pytest -q test_netpol_matrix.py
"""

from __future__ import annotations

import ipaddress
import json
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import harness
from conftest import SETTLE, KnRunner, _SESSION_LABS, require_kn_lab, resolve_lab
from netpol_matrix import (ALL, TCP80, TCP81, UDP80, UDP81, PODS, Expectation, Peer, PodInfo, Prober,
                           others, pod, pods_from_get, validate_or_fail)

pytestmark = pytest.mark.e2e

LAB_FILE = Path(__file__).resolve().parent / "data" / "netpol-matrix" / "netpol-matrix.toml"
NS_LABEL = "kubernetes.io/metadata.name"  # upstream namespaceLabelKey
X, Y, Z = "x", "y", "z"                   # upstream nsX, nsY, nsZ


# --------------------------------------------------------------------------- YAML

_PLAIN_KEY = re.compile(r"[A-Za-z][A-Za-z0-9._/-]*")
_YAML11_BOOLS = {"y", "n", "yes", "no", "on", "off", "true", "false"}


def _yaml(obj, indent: int = 0) -> list[str]:
    """Block-style YAML of dicts, lists and scalars (strings double-quoted, as JSON writes them)."""
    pad = " " * indent
    out: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = k if _PLAIN_KEY.fullmatch(k) and k.lower() not in _YAML11_BOOLS else json.dumps(k)
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{key}:")
                out += _yaml(v, indent + 2)
            else:
                out.append(f"{pad}{key}: {_scalar(v)}")
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, (dict, list)) and v:
                sub = _yaml(v, indent + 2)
                out.append(f"{pad}- {sub[0].lstrip()}")
                out += sub[1:]
            else:
                out.append(f"{pad}- {_scalar(v)}")
    else:
        out.append(f"{pad}{_scalar(obj)}")
    return out


def _scalar(v) -> str:
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(v)


@dataclass(frozen=True)
class Policy:
    name: str
    namespace: str
    yaml: str


def netpol(name: str, namespace: str, pod_selector: dict, *, ingress: list | None = None,
           egress: list | None = None, policy_types: list | None = None) -> Policy:
    """A networking.k8s.io/v1 NetworkPolicy as YAML. policyTypes as upstream's SetSpecIngressRules /
    SetSpecEgressRules set them (a given `ingress` list adds Ingress, `egress` adds Egress), unless
    `policy_types` is given ([] leaves the field out, for the API's defaulting)."""
    spec: dict = {"podSelector": pod_selector}
    if policy_types is None:
        policy_types = (["Ingress"] if ingress is not None else []) + (["Egress"] if egress is not None else [])
    if policy_types:
        spec["policyTypes"] = policy_types
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    doc = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": name, "namespace": namespace}, "spec": spec}
    return Policy(name, namespace, "\n".join(_yaml(doc)) + "\n")


def labels(**kv) -> dict:
    return {"matchLabels": dict(kv)}


def ns_is(ns: str) -> dict:
    """namespaceSelector on the namespace-name label kn-lab adds (upstream namespaceLabelKey)."""
    return {"matchLabels": {NS_LABEL: ns}}


def expr(key: str, op: str, *values: str) -> dict:
    req = {"key": key, "operator": op}
    if values:
        req["values"] = list(values)
    return {"matchExpressions": [req]}


def host_cidr(ip: str) -> str:
    return f"{ip}/32"


def large_cidr(ip: str) -> str:
    """upstream makeLargeCIDRForIP: the /4 that holds the address."""
    return str(ipaddress.ip_network(f"{ip}/4", strict=False))


# --------------------------------------------------------------------------- the lab

@dataclass
class MatrixLab:
    name: str
    kn: KnRunner
    pods: dict[str, PodInfo]
    prober: Prober

    def k(self, *args, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        return self.kn(*args, "--lab", self.name, check=check, input=input)

    def policies(self) -> list[str]:
        items = json.loads(self.k("get", "networkpolicy", "-A", "-o", "json").stdout or '{"items": []}')["items"]
        return sorted(f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in items)

    def labels_of(self, kind: str, name: str, ns: str | None = None) -> dict:
        args = ["get", kind, name, "-o", "json"] + (["-n", ns] if ns else [])
        return json.loads(self.k(*args).stdout)["metadata"].get("labels", {})


def _all_connected() -> Expectation:
    return Expectation(True)


@pytest.fixture(scope="module")
def matrix():
    """Lab npm, up once for the module; the host is compared before its up and after its down
    (host_guard's convention, at module scope: every test still gets its own host_guard, which
    then sees the lab up before and after)."""
    require_kn_lab()
    before = harness.snapshot()
    kn = KnRunner()
    source, name = resolve_lab(str(LAB_FILE))
    _SESSION_LABS.add(name)
    try:
        kn("up", source, check=True)
        items = json.loads(kn("get", "pod", "-A", "-o", "json", "--lab", name, check=True).stdout)["items"]
        pods = pods_from_get(items)
        lab = MatrixLab(name, kn, pods, Prober(pods))
        # upstream waitForHTTPServers: every server answers before the first case.
        deadline = time.monotonic() + 10.0
        while True:
            last = lab.prober.probe()
            if all(ok for ok, _ in last.results.values()):
                break
            if time.monotonic() > deadline:
                bad = sorted((("answer is not" not in d), f"{f} -> {t} {pp}: {d}")
                             for (pp, f, t), (ok, d) in last.results.items() if not ok)
                table = kn.run("get", "pod", "-A", "-o", "wide", "--lab", name).stdout
                raise AssertionError(f"the servers never all answered ({len(bad)} probes failing; answers from the "
                                     f"wrong pod first):\n" + "\n".join(line for _, line in bad[:40])
                                     + f"\n\nget pod -A:\n{table}")
            time.sleep(0.25)
        yield lab
    finally:
        kn.run("down", name)
        diff, _ = harness.settle_diff(before, timeout=SETTLE)
        if diff:
            pytest.fail(f"host not restored after lab {name} went down ({len(diff)} difference(s)):\n"
                        + "\n".join(f"  - {d}" for d in diff), pytrace=False)


@dataclass
class Case:
    """One test case: what it applied and labelled, undone at its end."""
    lab: MatrixLab
    applied: list[tuple[str, str]] = field(default_factory=list)      # (namespace, name)
    pod_labels: list[tuple[str, str, str]] = field(default_factory=list)  # (namespace, pod, key)
    ns_labels: list[tuple[str, str]] = field(default_factory=list)     # (namespace, key)

    def apply(self, *policies: Policy, check: bool = True) -> subprocess.CompletedProcess:
        """`kn-lab apply -f -` of the policies (one YAML document each) on stdin."""
        self.applied += [(p.namespace, p.name) for p in policies]
        return self.lab.k("apply", "-f", "-", input="---\n".join(p.yaml for p in policies), check=check)

    def delete(self, name: str, ns: str) -> subprocess.CompletedProcess:
        return self.lab.k("delete", "networkpolicy", name, "-n", ns)

    def label_pod(self, ns: str, name: str, key: str, value: str | None) -> None:
        """value None removes the label (`key-`)."""
        if value is None:
            self.lab.k("label", "pod", name, "-n", ns, f"{key}-")
        else:
            self.pod_labels.append((ns, name, key))
            self.lab.k("label", "pod", name, "-n", ns, f"{key}={value}", "--overwrite")

    def label_ns(self, ns: str, key: str, value: str | None) -> None:
        if value is None:
            self.lab.k("label", "ns", ns, f"{key}-")
        else:
            self.ns_labels.append((ns, key))
            self.lab.k("label", "ns", ns, f"{key}={value}", "--overwrite")

    def validate(self, expectation: Expectation, step: str) -> None:
        validate_or_fail(self.lab.prober, expectation, step)

    def cleanup(self) -> list[str]:
        problems = []
        for ns, name in dict.fromkeys(self.applied):
            r = self.lab.k("delete", "networkpolicy", name, "-n", ns, check=False)
            if r.returncode != 0 and "not found" not in r.stderr:
                problems.append(f"delete networkpolicy {ns}/{name}: {r.stderr.strip()}")
        for ns, name, key in dict.fromkeys(self.pod_labels):
            if key in self.lab.labels_of("pod", name, ns):
                self.lab.k("label", "pod", name, "-n", ns, f"{key}-", check=False)
        for ns, key in dict.fromkeys(self.ns_labels):
            if key in self.lab.labels_of("ns", ns):
                self.lab.k("label", "ns", ns, f"{key}-", check=False)
        left = self.lab.policies()
        if left:
            problems.append(f"policies left after the case: {left}")
        for ns in (X, Y, Z):
            got = self.lab.labels_of("ns", ns)
            if got != {"ns": ns, NS_LABEL: ns}:
                problems.append(f"namespace {ns} labels not restored: {got}")
            for p in ("a", "b", "c"):
                got = self.lab.labels_of("pod", p, ns)
                if got != {"pod": p}:
                    problems.append(f"pod {ns}/{p} labels not restored: {got}")
        return problems


@pytest.fixture
def case(matrix):
    c = Case(matrix)
    yield c
    problems = c.cleanup()
    if problems:
        pytest.fail("case cleanup:\n" + "\n".join(f"  - {p}" for p in problems), pytrace=False)
    # Deleting every policy gives the whole matrix back: nothing of the case stays in the kernel.
    validate_or_fail(matrix.prober, _all_connected(), "after cleanup: no policy, everything reachable")


# =========================================================================== baseline

# upstream: initializeResources / waitForHTTPServers (every pod reaches every pod before a case)
def test_baseline_no_policy_everything_is_reachable(case):
    assert case.lab.policies() == []
    case.validate(Expectation(True).allow_loopback(), "no policy")


# kn-lab: the model's placement (upstream leaves it to the scheduler): same-node and cross-node
# pairs exist within and across namespaces.
def test_pods_are_spread_over_the_three_nodes(matrix):
    nodes = {p: i.node for p, i in matrix.pods.items()}
    assert sorted(set(nodes.values())) == ["node1", "node2", "node3"], nodes
    for ns in (X, Y, Z):
        assert len({nodes[pod(ns, p)] for p in "abc"}) == 3, nodes
    assert len({i.ip for i in matrix.pods.values()}) == 9


# =========================================================================== default deny

# upstream: "should support a 'default-deny-ingress' policy"
# (and its UDP twin in "NetworkPolicy between server and client using UDP": every step here probes UDP too)
def test_default_deny_ingress(case):
    case.apply(netpol("deny-ingress", X, {}, ingress=[]))
    e = Expectation(True)
    e.expect_peer(Peer(), Peer(namespace=X), False)
    case.validate(e, "deny-ingress in x")


# upstream: "should deny egress from all pods in a namespace" (the default-deny-egress policy)
def test_default_deny_egress(case):
    case.apply(netpol("deny-egress-ns-x", X, {}, egress=[]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=X), Peer(), False)
    case.validate(e, "deny-egress-ns-x")


# upstream: "should support a 'default-deny-all' policy"
def test_default_deny_all(case):
    case.apply(netpol("deny-all", X, {}, ingress=[], egress=[]))
    e = Expectation(True)
    e.expect_peer(Peer(), Peer(namespace=X), False)
    e.expect_peer(Peer(namespace=X), Peer(), False)
    case.validate(e, "deny-all in x")


# upstream: "should deny egress from pods based on PodSelector"
def test_deny_egress_from_pods_based_on_pod_selector(case):
    case.apply(netpol("deny-egress-pod-a", X, labels(pod="a"), egress=[]))
    e = Expectation(True)
    e.expect_all_egress(pod(X, "a"), False)
    case.validate(e, "deny-egress-pod-a")


# upstream: "should deny ingress from pods on other namespaces"
def test_deny_ingress_from_pods_on_other_namespaces(case):
    case.apply(netpol("deny-empty-policy", X, {}, ingress=[{"from": [{"podSelector": {}}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=Y), Peer(namespace=X), False)
    e.expect_peer(Peer(namespace=Z), Peer(namespace=X), False)
    case.validate(e, "deny-empty-policy")


# =========================================================================== pod and namespace selectors

# upstream: "should enforce policy to allow traffic from pods within server namespace based on PodSelector"
def test_allow_from_pods_within_server_namespace_by_pod_selector(case):
    case.apply(netpol("x-a-allows-x-b", X, labels(pod="a"), ingress=[{"from": [{"podSelector": labels(pod="b")}]}]))
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    e.expect(pod(X, "b"), pod(X, "a"), True)
    case.validate(e, "x-a-allows-x-b")


# upstream: "should enforce policy to allow ingress traffic for a target"
def test_allow_ingress_traffic_for_a_target(case):
    case.apply(netpol("deny-all", X, {}, ingress=[]))
    case.apply(netpol("allow-all-to-a", X, labels(pod="a"),
                      ingress=[{"from": [{"podSelector": {}, "namespaceSelector": {}}]}]))
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), True)
    e.expect_all_ingress(pod(X, "b"), False)
    e.expect_all_ingress(pod(X, "c"), False)
    case.validate(e, "deny-all + allow-all-to-a")


# upstream: "should enforce policy to allow ingress traffic from pods in all namespaces"
def test_allow_ingress_from_pods_in_all_namespaces(case):
    case.apply(netpol("allow-from-another-ns", X, labels(pod="a"),
                      ingress=[{"from": [{"namespaceSelector": {"matchLabels": {}}}]}]))
    case.validate(Expectation(True), "allow-from-another-ns (every namespace)")


# upstream: "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector"
# (upstream's older form: matchLabels on the namespaces' own label, ns=y)
def test_allow_only_from_a_different_namespace_by_namespace_selector(case):
    case.apply(netpol("allow-client-a-via-ns-selector", X, labels(pod="a"),
                      ingress=[{"from": [{"namespaceSelector": labels(ns=Y)}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=X), Peer(X, "a"), False)
    e.expect_peer(Peer(namespace=Z), Peer(X, "a"), False)
    case.validate(e, "allow-client-a-via-ns-selector (ns=y)")


# upstream: "should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label"
def test_namespace_selector_match_labels_default_ns_label(case):
    case.apply(netpol("allow-client-a-via-ns-selector-for-immutable-ns-label", X, labels(pod="a"),
                      ingress=[{"from": [{"namespaceSelector": ns_is(Y)}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=X), Peer(X, "a"), False)
    e.expect_peer(Peer(namespace=Z), Peer(X, "a"), False)
    case.validate(e, "namespaceSelector kubernetes.io/metadata.name=y")


# upstream: "should enforce policy based on PodSelector with MatchExpressions"
def test_pod_selector_with_match_expressions(case):
    case.apply(netpol("x-a-allows-x-b", X, labels(pod="a"), ingress=[{"from": [{"podSelector": expr("pod", "In", "b")}]}]))
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    e.expect(pod(X, "b"), pod(X, "a"), True)
    case.validate(e, "podSelector pod In [b]")


# upstream: "should enforce policy based on NamespaceSelector with MatchExpressions"
def test_namespace_selector_with_match_expressions_in(case):
    case.apply(netpol("allow-ns-y-match-selector", X, labels(pod="a"),
                      ingress=[{"from": [{"namespaceSelector": expr(NS_LABEL, "In", Y)}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=X), Peer(X, "a"), False)
    e.expect_peer(Peer(namespace=Z), Peer(X, "a"), False)
    case.validate(e, "namespaceSelector name In [y]")


# upstream: "should enforce policy based on NamespaceSelector with MatchExpressions using default ns label"
# (an egress policy: NotIn [y])
def test_namespace_selector_match_expressions_not_in_default_ns_label(case):
    case.apply(netpol("allow-ns-y-match-selector-for-immutable-ns-label", X, labels(pod="a"),
                      egress=[{"to": [{"namespaceSelector": expr(NS_LABEL, "NotIn", Y)}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(X, "a"), Peer(namespace=Y), False)
    case.validate(e, "egress to namespaceSelector name NotIn [y]")


# kn-lab: namespaceSelector with Exists and DoesNotExist (the spec's other two operators; upstream's
# e2e has none): z gets a label ns2, then x/a admits namespaces that have it / that do not.
def test_namespace_selector_exists_and_does_not_exist(case):
    case.label_ns(Z, "ns2", "whatever")
    case.apply(netpol("allow-ns-with-ns2", X, labels(pod="a"),
                      ingress=[{"from": [{"namespaceSelector": expr("ns2", "Exists")}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=X), Peer(X, "a"), False)
    e.expect_peer(Peer(namespace=Y), Peer(X, "a"), False)
    case.validate(e, "namespaceSelector ns2 Exists (z has it)")
    case.apply(netpol("allow-ns-with-ns2", X, labels(pod="a"),
                      ingress=[{"from": [{"namespaceSelector": expr("ns2", "DoesNotExist")}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=Z), Peer(X, "a"), False)
    case.validate(e, "namespaceSelector ns2 DoesNotExist (x and y lack it)")


# upstream: "should enforce policy based on PodSelector or NamespaceSelector"
def test_pod_selector_or_namespace_selector(case):
    case.apply(netpol("allow-ns-y-match-selector", X, labels(pod="a"), ingress=[{"from": [
        {"namespaceSelector": expr(NS_LABEL, "NotIn", X)},
        {"podSelector": labels(pod="b")},
    ]}]))
    e = Expectation(True)
    e.expect(pod(X, "a"), pod(X, "a"), False)  # loopback: ignored, as upstream
    e.expect(pod(X, "c"), pod(X, "a"), False)
    case.validate(e, "from: [namespaceSelector NotIn [x]], [podSelector pod=b]")


# upstream: "should enforce policy based on PodSelector and NamespaceSelector"
def test_pod_selector_and_namespace_selector(case):
    case.apply(netpol("allow-ns-y-podselector-and-nsselector", X, labels(pod="a"), ingress=[{"from": [
        {"namespaceSelector": expr(NS_LABEL, "NotIn", X), "podSelector": labels(pod="b")},
    ]}]))
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    e.expect(pod(Y, "b"), pod(X, "a"), True)
    e.expect(pod(Z, "b"), pod(X, "a"), True)
    case.validate(e, "from: [namespaceSelector NotIn [x] AND podSelector pod=b]")


# upstream: "should enforce policy based on Multiple PodSelectors and NamespaceSelectors"
def test_multiple_pod_selectors_and_namespace_selectors(case):
    case.apply(netpol("allow-ns-y-z-pod-b-c", X, labels(pod="a"), ingress=[{"from": [
        {"namespaceSelector": expr(NS_LABEL, "NotIn", X), "podSelector": expr("pod", "In", "b", "c")},
    ]}]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=X), Peer(X, "a"), False)
    e.expect(pod(Y, "a"), pod(X, "a"), False)
    e.expect(pod(Z, "a"), pod(X, "a"), False)
    case.validate(e, "from: [namespaceSelector NotIn [x] AND podSelector pod In [b, c]]")


# upstream: "should enforce policy based on any PodSelectors"
def test_any_pod_selectors(case):
    case.apply(netpol("allow-ns-x-pod-b-c", X, labels(pod="a"), ingress=[{"from": [
        {"podSelector": labels(pod="b")}, {"podSelector": labels(pod="c")},
    ]}]))
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    e.expect(pod(X, "b"), pod(X, "a"), True)
    e.expect(pod(X, "c"), pod(X, "a"), True)
    case.validate(e, "from: [pod=b], [pod=c]")


# upstream: "should enforce policy to allow traffic only from a pod in a different namespace based on
# PodSelector and NamespaceSelector" (and its UDP twin)
def test_allow_only_from_a_pod_in_a_different_namespace_pod_and_namespace_selector(case):
    case.apply(netpol("allow-ns-y-pod-a-via-namespace-pod-selector", X, labels(pod="a"), ingress=[{"from": [
        {"namespaceSelector": ns_is(Y), "podSelector": labels(pod="a")},
    ]}]))
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    e.expect(pod(Y, "a"), pod(X, "a"), True)
    case.validate(e, "from: [namespace y AND pod a] (one peer)")


# kn-lab: the same two selectors as two peers are an OR (the spec's "podSelector and
# namespaceSelector in one peer" versus "in two peers"): every pod of y, and every pod a of x's
# own namespace (a podSelector alone selects in the policy's namespace).
def test_same_selectors_as_two_peers_are_an_or(case):
    case.apply(netpol("allow-ns-y-or-pod-a", X, labels(pod="a"), ingress=[{"from": [
        {"namespaceSelector": ns_is(Y)}, {"podSelector": labels(pod="a")},
    ]}]))
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    e.expect_peer(Peer(namespace=Y), Peer(X, "a"), True)
    e.expect(pod(X, "a"), pod(X, "a"), True)
    case.validate(e, "from: [namespace y], [pod a] (two peers)")


# =========================================================================== ports

def only_from_y_to_xa(pp):
    """x/a admits namespace y on port pp only (every other port and peer denied)."""
    e = Expectation(True)
    e.expect_peer(Peer(namespace=X), Peer(X, "a"), False, on=[pp])
    e.expect_peer(Peer(namespace=Y), Peer(X, "a"), True, on=[pp])
    e.expect_peer(Peer(namespace=Z), Peer(X, "a"), False, on=[pp])
    e.expect_all_ingress(pod(X, "a"), False, on=others(pp))
    return e


# upstream: "should enforce policy based on Ports"
def test_enforce_policy_based_on_ports(case):
    case.apply(netpol("allow-client-a-via-ns-selector", X, labels(pod="a"), ingress=[{
        "from": [{"namespaceSelector": ns_is(Y)}], "ports": [{"port": 81, "protocol": "TCP"}]}]))
    e = only_from_y_to_xa(TCP81)
    case.validate(e, "from namespace y on 81/TCP only")


# upstream (UDP): "NetworkPolicy between server and client using UDP should enforce policy based on Ports"
def test_udp_enforce_policy_based_on_ports(case):
    case.apply(netpol("allow-ingress-on-port-81-ns-x", X, labels(pod="a"), ingress=[{
        "from": [{"namespaceSelector": ns_is(Y)}], "ports": [{"port": 81, "protocol": "UDP"}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=X), Peer(X, "a"), False, on=[UDP81])
    e.expect_peer(Peer(namespace=Z), Peer(X, "a"), False, on=[UDP81])
    e.expect_all_ingress(pod(X, "a"), False, on=others(UDP81))
    case.validate(e, "from namespace y on 81/UDP only")


# upstream: "should enforce multiple, stacked policies with overlapping podSelectors"
def test_multiple_stacked_policies_with_overlapping_pod_selectors(case):
    case.apply(netpol("allow-client-a-via-ns-selector", X, labels(pod="a"), ingress=[{
        "from": [{"namespaceSelector": ns_is(Y)}], "ports": [{"port": 81, "protocol": "TCP"}]}]))
    e = only_from_y_to_xa(TCP81)  # upstream's reachabilityDENY on 80
    case.validate(e, "port 81 policy: 81/TCP from y, 80 denied")
    case.apply(netpol("allow-client-a-via-ns-selector-80", X, labels(pod="a"), ingress=[{
        "from": [{"namespaceSelector": ns_is(Y)}], "ports": [{"port": 80, "protocol": "TCP"}]}]))
    e = Expectation(True)
    for pp in (TCP80, TCP81):
        e.expect_peer(Peer(namespace=X), Peer(X, "a"), False, on=[pp])
        e.expect_peer(Peer(namespace=Y), Peer(X, "a"), True, on=[pp])
        e.expect_peer(Peer(namespace=Z), Peer(X, "a"), False, on=[pp])
    e.expect_all_ingress(pod(X, "a"), False, on=[UDP80, UDP81])
    case.validate(e, "a second policy unblocks port 80 (the union of both)")


# upstream: "should allow ingress access on one named port"
def test_allow_ingress_access_on_one_named_port(case):
    case.apply(netpol("allow-all", X, {}, ingress=[{"ports": [{"port": "serve-81-tcp"}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(), Peer(namespace=X), False, on=others(TCP81))
    case.validate(e, "namespace x admits serve-81-tcp only")


# upstream: "should allow ingress access from namespace on one named port"
def test_allow_ingress_access_from_namespace_on_one_named_port(case):
    case.apply(netpol("allow-client-a-via-ns-selector-80", X, labels(pod="a"), ingress=[{
        "from": [{"namespaceSelector": ns_is(Y)}], "ports": [{"port": "serve-80-tcp", "protocol": "TCP"}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=X), Peer(X, "a"), False, on=[TCP80])
    e.expect_peer(Peer(namespace=Z), Peer(X, "a"), False, on=[TCP80])
    e.expect_all_ingress(pod(X, "a"), False, on=others(TCP80))  # upstream's reachabilityFAIL on 81
    case.validate(e, "x/a admits y on serve-80-tcp only")


# upstream: "should allow egress access on one named port"
def test_allow_egress_access_on_one_named_port(case):
    case.apply(netpol("allow-egress", X, {}, egress=[{"ports": [{"port": "serve-80-tcp"}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=X), Peer(), False, on=others(TCP80))
    case.validate(e, "namespace x sends to serve-80-tcp only")


# kn-lab: port ranges (endPort, KEP-2079; upstream's e2e has no case): ingress to x/a from y on
# 80-81/TCP, then egress from x on 81-65535/UDP.
def test_port_range_with_end_port(case):
    case.apply(netpol("allow-y-on-80-81", X, labels(pod="a"), ingress=[{
        "from": [{"namespaceSelector": ns_is(Y)}], "ports": [{"protocol": "TCP", "port": 80, "endPort": 81}]}]))
    e = Expectation(True)
    for pp in (TCP80, TCP81):
        e.expect_peer(Peer(namespace=X), Peer(X, "a"), False, on=[pp])
        e.expect_peer(Peer(namespace=Z), Peer(X, "a"), False, on=[pp])
    e.expect_all_ingress(pod(X, "a"), False, on=[UDP80, UDP81])
    case.validate(e, "ingress 80-81/TCP from y")
    case.delete("allow-y-on-80-81", X)
    case.apply(netpol("egress-81-up-udp", X, {}, egress=[{"ports": [{"protocol": "UDP", "port": 81, "endPort": 65535}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=X), Peer(), False, on=others(UDP81))
    case.validate(e, "egress 81-65535/UDP from x")


# upstream: "should enforce ingress policy allowing any port traffic to a server on a specific protocol"
def test_allow_any_port_on_a_specific_protocol(case):
    case.apply(netpol("allow-ingress-by-proto", X, labels(pod="a"), ingress=[{"ports": [{"protocol": "TCP"}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(), Peer(X, "a"), False, on=[UDP80, UDP81])
    case.validate(e, "x/a admits TCP on any port")


# upstream: "should not allow access by TCP when a policy specifies only UDP"
def test_no_tcp_when_a_policy_specifies_only_udp(case):
    case.apply(netpol("allow-only-udp-ingress-on-port-81", X, labels(pod="a"),
                      ingress=[{"ports": [{"port": 81, "protocol": "UDP"}]}]))
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False, on=others(UDP81))
    case.validate(e, "x/a admits 81/UDP only")


def _sctp_refused(r: subprocess.CompletedProcess) -> bool:
    """kn-lab may enforce SCTP rules or refuse a policy that names SCTP at apply; a refusal
    must name SCTP."""
    if r.returncode == 0:
        return False
    assert "SCTP" in (r.stderr + r.stdout), f"apply refused, but not because of SCTP:\n{r.stderr}"
    return True


# upstream: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't
# support SCTP" (earlier: "should not allow access by TCP when a policy specifies only SCTP")
def test_sctp_is_not_tcp(case):
    case.apply(netpol("deny-ingress", X, {}, ingress=[]))
    r = case.apply(netpol("allow-only-sctp-ingress-on-port-81", X, labels(pod="a"),
                          ingress=[{"ports": [{"port": 81, "protocol": "SCTP"}]}]), check=False)
    if _sctp_refused(r):
        assert case.lab.policies() == ["x/deny-ingress"], "a refused apply changed the policies"
    e = Expectation(True)
    e.expect_peer(Peer(), Peer(namespace=X), False)  # TCP (and UDP) stay blocked either way
    case.validate(e, "deny-ingress + an SCTP-only policy (" + ("refused" if r.returncode else "applied") + ")")


# upstream: "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin
# doesn't support SCTP"
def test_sctp_policy_still_isolates(case):
    r = case.apply(netpol("allow-only-sctp-ingress-on-port-80", X, labels(pod="a"),
                          ingress=[{"ports": [{"port": 80, "protocol": "SCTP"}]}]), check=False)
    e = Expectation(True)
    if _sctp_refused(r):
        assert case.lab.policies() == [], "a refused apply changed the policies"
    else:
        e.expect_all_ingress(pod(X, "a"), False)
    case.validate(e, "an SCTP-only policy on x/a (" + ("refused: nothing changed" if r.returncode else "applied") + ")")


# =========================================================================== allow-all and precedence

# upstream: "should support allow-all policy"
def test_allow_all_policy(case):
    case.apply(netpol("allow-all", X, {}, ingress=[{}]))
    case.validate(Expectation(True), "allow-all in x")


# upstream: "should enforce multiple ingress policies with ingress allow-all policy taking precedence"
def test_ingress_allow_all_takes_precedence(case):
    case.apply(netpol("allow-ingress-port-80", X, {}, ingress=[{"ports": [{"port": 80}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(), Peer(namespace=X), False, on=others(TCP80))
    case.validate(e, "namespace x admits 80/TCP only")
    case.apply(netpol("allow-ingress", X, {}, ingress=[{}]))
    case.validate(Expectation(True), "plus allow-ingress: everything")


# upstream: "should enforce multiple egress policies with egress allow-all policy taking precedence"
def test_egress_allow_all_takes_precedence(case):
    case.apply(netpol("allow-egress-port-80", X, {}, egress=[{"ports": [{"port": 80}]}]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=X), Peer(), False, on=others(TCP80))
    case.validate(e, "namespace x sends 80/TCP only")
    case.apply(netpol("allow-egress", X, {}, egress=[{}]))
    case.validate(Expectation(True), "plus allow-egress: everything")


# =========================================================================== ingress and egress

# upstream: "should work with Ingress, Egress specified together"
def test_ingress_and_egress_specified_together(case):
    case.apply(netpol("allow-client-a-via-pod-selector", X, labels(pod="a"),
                      ingress=[{"from": [{"podSelector": labels(pod="b")}]}],
                      egress=[{"ports": [{"port": 80}]}], policy_types=["Egress", "Ingress"]))
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    e.expect_all_egress(pod(X, "a"), False, on=others(TCP80))
    e.expect(pod(X, "b"), pod(X, "a"), True)
    case.validate(e, "x/a: ingress from x/b, egress to 80/TCP")


# upstream: "should support denying of egress traffic on the client side (even if the server explicitly
# allows this traffic)"
def test_egress_denied_on_the_client_side_even_if_the_server_allows_it(case):
    case.apply(netpol("allow-to-ns-y-pod-a", X, labels(pod="a"),
                      egress=[{"to": [{"namespaceSelector": ns_is(Y), "podSelector": labels(pod="a")}]}]))
    from_xa = [{"from": [{"namespaceSelector": ns_is(X), "podSelector": labels(pod="a")}]}]
    case.apply(netpol("allow-from-xa-on-ya-match-selector", Y, labels(pod="a"), ingress=from_xa),
               netpol("allow-from-xa-on-yb-match-selector", Y, labels(pod="b"), ingress=from_xa))
    e = Expectation(True)
    e.expect_peer(Peer(X, "a"), Peer(), False)
    e.expect_peer(Peer(), Peer(Y, "a"), False)
    e.expect_peer(Peer(X, "a"), Peer(Y, "a"), True)
    e.expect_peer(Peer(), Peer(Y, "b"), False)
    case.validate(e, "x/a may send to y/a only; y/a and y/b admit x/a")


# upstream: "should enforce egress policy allowing traffic to a server in a different namespace based on
# PodSelector and NamespaceSelector"
def test_egress_to_a_server_in_a_different_namespace(case):
    case.apply(netpol("allow-to-ns-y-pod-a", X, labels(pod="a"),
                      egress=[{"to": [{"namespaceSelector": ns_is(Y), "podSelector": labels(pod="a")}]}]))
    e = Expectation(True)
    e.expect_all_egress(pod(X, "a"), False)
    e.expect(pod(X, "a"), pod(Y, "a"), True)
    case.validate(e, "x/a may send to y/a only")


# upstream: "should enforce policies to check ingress and egress policies can be controlled independently
# based on PodSelector"
def test_ingress_and_egress_controlled_independently(case):
    case.apply(netpol("allow-egress-for-target", X, labels(pod="a"), egress=[{}]))
    case.validate(Expectation(True), "allow-egress-for-target: nothing blocked")
    case.apply(netpol("deny-ingress-via-label-selector", X, labels(pod="a"), ingress=[]))
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    case.validate(e, "plus deny-ingress-via-label-selector: x/a sends, admits nothing")


# kn-lab: policyTypes left out (the API's defaulting: every policy affects ingress, one with an
# egress section egress too): an egress-only policy without policyTypes also isolates x/a's ingress.
def test_policy_types_default_from_the_sections(case):
    case.apply(netpol("egress-to-x-no-policy-types", X, labels(pod="a"),
                      egress=[{"to": [{"podSelector": {}}]}], policy_types=[]))
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    e.expect_peer(Peer(X, "a"), Peer(namespace=Y), False)
    e.expect_peer(Peer(X, "a"), Peer(namespace=Z), False)
    case.validate(e, "no policyTypes + egress section: Ingress and Egress")


# =========================================================================== ipBlock

# upstream: "should allow egress access to server in CIDR block"
def test_allow_egress_to_server_in_cidr_block(case):
    ip = case.lab.pods[pod(Y, "b")].ip
    case.apply(netpol("allow-client-a-via-cidr-egress-rule", X, labels(pod="a"),
                      egress=[{"to": [{"ipBlock": {"cidr": host_cidr(ip)}}]}]))
    e = Expectation(True)
    e.expect_all_egress(pod(X, "a"), False)
    e.expect(pod(X, "a"), pod(Y, "b"), True)
    case.validate(e, f"x/a may send to {ip}/32 (y/b) only")


# upstream: "should enforce except clause while egress access to server in CIDR block"
def test_except_clause_in_cidr_block(case):
    ip = case.lab.pods[pod(X, "b")].ip
    case.apply(netpol("allow-client-a-via-cidr-egress-rule", X, labels(pod="a"),
                      egress=[{"to": [{"ipBlock": {"cidr": large_cidr(ip), "except": [host_cidr(ip)]}}]}]))
    e = Expectation(True)
    e.expect(pod(X, "a"), pod(X, "b"), False)
    case.validate(e, f"x/a may send to {large_cidr(ip)} except {ip}/32 (x/b)")


# upstream: "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed"
# As upstream runs it, the second step updates the same policy (same name) to x/b's /32.
def test_ip_overlapping_cidr_and_except_is_allowed(case):
    ip = case.lab.pods[pod(X, "b")].ip
    case.apply(netpol("allow-client-a-via-cidr-egress-rule", X, labels(pod="a"),
                      egress=[{"to": [{"ipBlock": {"cidr": large_cidr(ip), "except": [host_cidr(ip)]}}]}]))
    e = Expectation(True)
    e.expect(pod(X, "a"), pod(X, "b"), False)
    case.validate(e, "cidr /4 except x/b")
    case.apply(netpol("allow-client-a-via-cidr-egress-rule", X, labels(pod="a"),
                      egress=[{"to": [{"ipBlock": {"cidr": host_cidr(ip)}}]}]))
    e = Expectation(True)
    e.expect_all_egress(pod(X, "a"), False)
    e.expect(pod(X, "a"), pod(X, "b"), True)
    case.validate(e, "the same policy updated to x/b's /32")


# kn-lab: what upstream's name says, with two policies: x/b's address is in one policy's except
# and in the other's cidr; policies add up, so it is allowed, and the rest of the /4 still is.
def test_ip_in_one_policys_except_and_another_policys_cidr_is_allowed(case):
    ip = case.lab.pods[pod(X, "b")].ip
    case.apply(netpol("allow-client-a-via-cidr-egress-rule", X, labels(pod="a"),
                      egress=[{"to": [{"ipBlock": {"cidr": large_cidr(ip), "except": [host_cidr(ip)]}}]}]),
               netpol("allow-client-a-to-x-b", X, labels(pod="a"),
                      egress=[{"to": [{"ipBlock": {"cidr": host_cidr(ip)}}]}]))
    case.validate(Expectation(True), "cidr /4 except x/b, plus x/b's /32 in a second policy")


# =========================================================================== updates

# upstream: "should enforce updated policy"
def test_enforce_updated_policy(case):
    r = case.apply(netpol("allow-all-mutate-to-deny-all", X, {}, ingress=[{}]))
    assert "created" in r.stdout, r.stdout
    case.validate(Expectation(True), "allow-all")
    r = case.apply(netpol("allow-all-mutate-to-deny-all", X, {}, ingress=[]))
    assert "configured" in r.stdout, r.stdout
    assert case.lab.policies() == ["x/allow-all-mutate-to-deny-all"]
    e = Expectation(True)
    e.expect_peer(Peer(), Peer(namespace=X), False)
    case.validate(e, "the same policy updated to deny all ingress")


# upstream: "should allow ingress access from updated namespace" (and back: the label removed)
def test_allow_ingress_from_updated_namespace(case):
    case.apply(netpol("allow-client-a-via-ns-selector", X, labels(pod="a"),
                      ingress=[{"from": [{"namespaceSelector": labels(ns2="updated")}]}]))
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    case.validate(e, "no namespace has ns2=updated")
    case.label_ns(Y, "ns2", "updated")
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    e.expect_peer(Peer(namespace=Y), Peer(), True)
    case.validate(e, "namespace y labelled ns2=updated")
    case.label_ns(Y, "ns2", None)
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    case.validate(e, "the label removed again")


# upstream: "should allow ingress access from updated pod" (and back: the label removed)
def test_allow_ingress_from_updated_pod(case):
    case.apply(netpol("allow-client-a-via-pod-selector", X, labels(pod="a"),
                      ingress=[{"from": [{"podSelector": labels(pod="b", pod2="updated")}]}]))
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    case.validate(e, "no pod has pod2=updated")
    case.label_pod(X, "b", "pod2", "updated")
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    e.expect(pod(X, "b"), pod(X, "a"), True)
    case.validate(e, "x/b labelled pod2=updated")
    case.label_pod(X, "b", "pod2", None)
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    case.validate(e, "the label removed again")


# upstream: "should deny ingress access to updated pod" (and back: the label removed)
def test_deny_ingress_access_to_updated_pod(case):
    case.apply(netpol("deny-ingress-via-label-selector", X, labels(target="isolated"), ingress=[]))
    case.validate(Expectation(True), "no pod has target=isolated")
    case.label_pod(X, "a", "target", "isolated")
    e = Expectation(True)
    e.expect_all_ingress(pod(X, "a"), False)
    case.validate(e, "x/a labelled target=isolated")
    case.label_pod(X, "a", "target", None)
    case.validate(Expectation(True), "the label removed again")


# upstream: "should stop enforcing policies after they are deleted"
def test_stop_enforcing_policies_after_they_are_deleted(case):
    case.apply(netpol("deny-all", X, {}, ingress=[], egress=[]))
    e = Expectation(True)
    e.expect_peer(Peer(namespace=X), Peer(), False)
    e.expect_peer(Peer(), Peer(namespace=X), False)
    case.validate(e, "deny-all in x")
    r = case.delete("deny-all", X)
    assert 'networkpolicy.networking.k8s.io "deny-all" deleted' in r.stdout, r.stdout
    assert case.lab.policies() == []
    case.validate(Expectation(True), "deleted: everything reachable again")


# kn-lab: a refused policy changes nothing (the API server's validation: endPort below port);
# the policy in place stays in force and the refused one is not there.
def test_a_refused_policy_changes_nothing(case):
    case.apply(netpol("deny-ingress", X, {}, ingress=[]))
    r = case.apply(netpol("bad-range", Y, {}, ingress=[{"ports": [{"port": 81, "endPort": 80}]}]), check=False)
    assert r.returncode != 0, r.stdout
    assert case.lab.policies() == ["x/deny-ingress"]
    e = Expectation(True)
    e.expect_peer(Peer(), Peer(namespace=X), False)
    case.validate(e, "deny-ingress in x, the bad policy in y refused")


# =========================================================================== probe time

def test_matrix_probe_time(matrix, capsys):
    """Wall time of one full probe (81 pairs x 4 port/protocols), printed; no assertion on it
    (benchmarks live in bench/)."""
    times = []
    for _ in range(5):
        obs = matrix.prober.probe()
        assert obs.count() == len(PODS) * len(PODS) * len(ALL)
        assert all(ok for ok, _ in obs.results.values()), "the baseline is not all reachable"
        times.append(obs.seconds)
    with capsys.disabled():
        print(f"\nnetpol matrix probe: {obs.count()} probes (81 pairs x 4 port/protocols) in "
              f"{times[0]:.3f}s (5 runs: min {min(times):.3f}s, median {statistics.median(times):.3f}s, "
              f"max {max(times):.3f}s)")


# =========================================================================== the model itself (no lab)

@pytest.mark.unit
def test_model_helpers_follow_upstreams_reachability():
    e = Expectation(True)
    e.expect_peer(Peer(), Peer(namespace=X), False, on=[TCP80])
    e.expect(pod(Y, "a"), pod(X, "a"), True, on=[TCP80])
    e.expect_all_egress(pod(Z, "c"), False, on=[UDP81])
    r = e.by[TCP80]
    assert [r.expected.get(f, pod(X, "b")) for f in PODS] == [False] * 9
    assert r.expected.get(pod(Y, "a"), pod(X, "a")) and not r.expected.get(pod(Y, "b"), pod(X, "a"))
    assert all(r.expected.get(f, pod(Y, "a")) for f in PODS)
    assert all(e.by[TCP81].expected.get(f, t) for f in PODS for t in PODS)
    assert not any(e.by[UDP81].expected.get(pod(Z, "c"), t) for t in PODS)
    assert others(TCP80) == (TCP81, UDP80, UDP81)
    assert Peer(X, "").matches("x/c") and not Peer("", "b").matches("x/c")


@pytest.mark.unit
def test_a_mismatch_is_reported_as_a_table_and_loopback_is_ignored():
    from netpol_matrix import Observation, compare
    obs = Observation({(pp, f, t): (True, "ok") for pp in ALL for f in PODS for t in PODS})
    obs.results[(UDP80, pod(X, "a"), pod(X, "a"))] = (False, "timeout")    # loopback: ignored
    obs.results[(TCP81, pod(Y, "b"), pod(X, "c"))] = (False, "connect: ECONNREFUSED")
    wrong, report = compare(Expectation(True), obs)
    assert wrong == 1
    assert "TCP/81: reachability: correct:71, incorrect:1, result=False" in report
    assert "y/b -> x/c TCP/81: expected connected, observed blocked (connect: ECONNREFUSED)" in report
    row = next(l for l in report.splitlines() if l.strip().startswith("y/b") and "[X]" in l)
    assert row.split()[3] == "[X]"  # the x/c column
    assert "UDP/80: reachability: correct:72, incorrect:0, result=True" in report


@pytest.mark.unit
def test_policies_are_written_as_the_api_reads_them():
    yaml = pytest.importorskip("yaml")
    p = netpol("allow", Y, labels(pod="a"), ingress=[{"from": [{"namespaceSelector": ns_is(Y), "podSelector": {}}],
                                                    "ports": [{"port": "serve-80-tcp"}, {"port": 80, "endPort": 81}]}],
               egress=[])
    doc = yaml.safe_load(p.yaml)  # YAML 1.1, as kubectl reads it: "y" must stay a string
    assert doc == {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"name": "allow", "namespace": "y"},
                   "spec": {"podSelector": {"matchLabels": {"pod": "a"}}, "policyTypes": ["Ingress", "Egress"],
                            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {NS_LABEL: "y"}},
                                                   "podSelector": {}}],
                                         "ports": [{"port": "serve-80-tcp"}, {"port": 80, "endPort": 81}]}],
                            "egress": []}}
    assert "policyTypes" not in yaml.safe_load(netpol("d", X, {}, ingress=[], policy_types=[]).yaml)["spec"]
    manifest = list(yaml.safe_load_all((LAB_FILE.parent / "netpol-matrix.yaml").read_text()))
    pods = {f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in manifest if d["kind"] == "Pod"}
    assert pods == set(PODS)
    assert {d["metadata"]["name"]: d["metadata"]["labels"] for d in manifest if d["kind"] == "Namespace"} == \
        {ns: {"ns": ns} for ns in (X, Y, Z)}
