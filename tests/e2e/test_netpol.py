"""NetworkPolicy as kube-router enforces it (docs/network-policy.md), on real labs.

The course's exercise 5 as written (kubectl's commands, only the binary's name changed), the
three-tier demo of lab 11 (Services and DNS keep working under the policies that allow them),
replies of allowed connections against new connections the other way, and a change of
membership that touches only ipsets. The upstream truth tables are in test_netpol_matrix.py.
"""
import json
import re
import socket
import subprocess
import time

import pytest

from conftest import REPO

EXERCISES = REPO / "manifests" / "exercises"


def pod_ip(kn, ns, name):
    return kn("get", "pod", "-n", ns, name, "-o", "jsonpath={.status.podIP}").stdout.strip()


def wget(kn, ns, pod, url, timeout=3):
    r = kn("exec", "-n", ns, pod, "--", "wget", "-qO-", "-T", str(timeout), url, check=False, timeout=timeout + 10)
    return r.returncode == 0 and "pod: " in r.stdout


def filter_table(lab, node):
    return lab.ns_exec(node, "iptables-legacy-save", "-t", "filter", check=True).stdout


def ipsets(lab, node):
    return lab.ns_exec(node, "ipset", "save", check=True).stdout


def test_course_exercise_5_network_policy(lab, kn):
    """Exercise 5 on the course's cluster: namespace dev, nginx and alpine, default deny, then
    allow in namespace; a pod of another namespace stays blocked."""
    lab("course")
    assert "namespace/dev created" in kn("create", "namespace", "dev").stdout
    kn("run", "nginx", "--image=nginx", "-n", "dev")
    kn("run", "alpine", "--image=alpine", "-n", "dev", "--", "sleep", "infinity")
    ip = pod_ip(kn, "dev", "nginx")
    assert wget(kn, "dev", "alpine", ip)
    r = kn("apply", "-f", str(EXERCISES / "default-deny-ingress.yaml"))
    assert "networkpolicy.networking.k8s.io/default-deny-ingress created" in r.stdout
    assert not wget(kn, "dev", "alpine", ip, timeout=5)
    got = kn("get", "netpol", "-n", "dev").stdout.splitlines()
    assert re.match(r"NAME\s+POD-SELECTOR\s+AGE", got[0]) and got[1].split()[:2] == ["default-deny-ingress", "<none>"]
    kn("apply", "-f", str(EXERCISES / "allow-in-namespace.yaml"))
    assert wget(kn, "dev", "alpine", ip)
    kn("run", "other", "--image=alpine", "--", "sleep", "infinity")
    assert not wget(kn, "default", "other", ip)
    d = kn("describe", "netpol", "-n", "dev", "allow-in-namespace").stdout
    assert "Allowing ingress traffic:" in d and "PodSelector: <none>" in d, d
    assert "allow-in-namespace" in kn("describe", "pod", "-n", "dev", "nginx").stdout


@pytest.fixture
def netpol(lab, kn):
    return lab("11-network-policy")


def test_three_tiers_services_and_dns_under_policies(netpol, kn):
    """Only frontend -> backend -> database, by Service names (DNS allowed by allow-dns)."""
    web = kn("get", "pod", "-n", "frontend", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}").stdout
    api = kn("get", "pod", "-n", "backend", "-l", "app=api", "-o", "jsonpath={.items[0].metadata.name}").stdout
    assert wget(kn, "frontend", web, "api.backend:9898")
    assert wget(kn, "backend", api, "db.database:5432")
    assert not wget(kn, "frontend", web, "db.database:5432")
    assert not wget(kn, "database", "db", "api.backend:9898")
    # The names resolve under the deny-all egress (the DNS query itself is allowed).
    r = kn("exec", "-n", "database", "db", "--", "nslookup", "api.backend.svc.cluster.local", check=False)
    assert "Address" in r.stdout and r.returncode == 0, r.stdout + r.stderr
    # What a learner reads in the kernel: the pod chains, the policy chains, the sets.
    table = filter_table(netpol, "node1")
    assert "-A FORWARD -m comment --comment \"kube-router netpol\" -j KUBE-ROUTER-FORWARD" in table
    assert re.search(r"-A KUBE-POD-FW-\w+ -m comment --comment \"\S+ reject\" -m mark ! --mark 0x10000/0x10000 -j REJECT", table)
    assert re.search(r"-m set --match-set KUBE-SRC-\w+ src -m set --match-set KUBE-DST-\w+ dst -p tcp -m tcp --dport 9898", table) or \
        re.search(r"-p tcp .*-m set --match-set KUBE-SRC-\w+ src -m set --match-set KUBE-DST-\w+ dst -m tcp --dport 9898", table), table
    db_ip = pod_ip(kn, "database", "db")
    assert f" {db_ip}\n" in ipsets(netpol, "node2")  # every node has every policy's sets


def test_replies_pass_while_new_connections_the_other_way_are_rejected(netpol, kn):
    """backend -> database is allowed: its connection carries data both ways (the replies pass
    through RELATED,ESTABLISHED); database -> backend is not: a new connection is refused."""
    api = kn("get", "pod", "-n", "backend", "-l", "app=api", "-o", "jsonpath={.items[0].metadata.name}").stdout
    api_ip = pod_ip(kn, "backend", api)
    db_ip = pod_ip(kn, "database", "db")
    # Many requests over one connection (HTTP keep-alive is not needed: each reply is a reply).
    for _ in range(3):
        assert wget(kn, "backend", api, f"{db_ip}:5432")
    start = time.monotonic()
    assert not wget(kn, "database", "db", f"{api_ip}:9898", timeout=5)
    assert time.monotonic() - start < 4.5, "a rejected connection fails at once"
    # The database pod's egress is denied (default-deny): its own chain, on its node, rejected it.
    node = kn("get", "pod", "-n", "database", "db", "-o", "jsonpath={.spec.nodeName}").stdout
    rules = netpol.ns_exec(node, "iptables-legacy", "-t", "filter", "-L", "-v", "-n", "-x", check=True).stdout
    rejects = [l for l in rules.splitlines() if "REJECT" in l and "database/db reject" in l]
    assert rejects and int(rejects[0].split()[0]) >= 1, rules


def test_a_change_of_membership_touches_only_ipsets(netpol, kn):
    """Labelling namespace dev tier=frontend makes its pods peers of the api policy's ingress
    rule: the sets change on every node, no iptables table is rewritten."""
    api = kn("get", "pod", "-n", "backend", "-l", "app=api", "-o", "jsonpath={.items[0].metadata.name}").stdout
    api_ip = pod_ip(kn, "backend", api)
    assert not wget(kn, "dev", "alpine", f"{api_ip}:9898")
    before = {n: filter_table(netpol, n) for n in ("node1", "node2", "node3")}
    start = time.monotonic()
    r = kn("label", "ns", "dev", "tier=frontend")
    elapsed = time.monotonic() - start
    print(f"label ns dev tier=frontend: {r.stdout.strip()} ({elapsed * 1000:.0f} ms wall)")
    assert "ipsets updated" in r.stdout and "iptables" not in r.stdout, r.stdout
    after = {n: filter_table(netpol, n) for n in ("node1", "node2", "node3")}
    strip = lambda t: re.sub(r"^#.*\n|\[\d+:\d+\]", "", t, flags=re.M)
    assert {n: strip(t) for n, t in before.items()} == {n: strip(t) for n, t in after.items()}
    assert wget(kn, "dev", "alpine", f"{api_ip}:9898")
    kn("label", "ns", "dev", "tier-")
    assert not wget(kn, "dev", "alpine", f"{api_ip}:9898")


def test_deleting_every_policy_removes_kube_routers_chains_and_sets(netpol, kn):
    for ns, name in [("frontend", "default-deny"), ("backend", "default-deny"), ("database", "default-deny"),
                     ("frontend", "allow-dns"), ("backend", "allow-dns"), ("database", "allow-dns"),
                     ("frontend", "web"), ("backend", "api"), ("database", "db")]:
        kn("delete", "netpol", "-n", ns, name)
    assert "No resources" in kn("get", "netpol", "-A").stderr + kn("get", "netpol", "-A").stdout
    for n in ("node1", "node2", "node3"):
        assert "KUBE-ROUTER" not in filter_table(netpol, n) and "KUBE-POD-FW" not in filter_table(netpol, n)
        assert "KUBE-SRC-" not in ipsets(netpol, n) and "KUBE-DST-" not in ipsets(netpol, n)
    assert wget(kn, "database", "db", "api.backend:9898")


def test_up_repairs_a_flushed_ipset(netpol, kn):
    """The kernel is the truth: a set emptied by hand is refilled by the next up."""
    sets = ipsets(netpol, "node1")
    name = re.search(r"^add (KUBE-\S+) ", sets, re.M).group(1)
    netpol.ns_exec("node1", "ipset", "flush", name, check=True)
    r = kn("up", str(REPO / "labs" / "11-network-policy.toml"))
    assert "ipsets differed" in r.stdout + r.stderr, r.stdout + r.stderr
    assert ipsets(netpol, "node1") == sets
