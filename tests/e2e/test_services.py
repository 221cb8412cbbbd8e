"""Services, Endpoints and kube-proxy's rules (issue 4), in both of kube-proxy's modes
(issue 14): real traffic through the rules kn-lab wrote, with libiptc (iptables mode) or
libnftnl (nftables mode: net/nft_batch), answered by pods that name themselves."""

from __future__ import annotations

import collections
import json
import re
import time

import pytest

pytestmark = pytest.mark.e2e

MODES = ["iptables", "nftables"]


@pytest.fixture(params=MODES)
def mode(request) -> str:
    return request.param


@pytest.fixture
def svc_lab(lab, mode):
    """lab(...) in the test's kube-proxy mode."""
    return lambda name, *extra, **kw: lab(name, "--proxy-mode", mode, *extra, **kw)


def nft_table(s, node: str) -> str:
    return s.ns_exec(node, "nft", "list", "table", "ip", "kube-proxy", check=True).stdout


def svc_table(kn, labname: str) -> dict[str, dict[str, str]]:
    lines = kn("get", "svc", "--lab", labname, check=True).stdout.splitlines()
    head = lines[0].split()
    return {row.split()[0]: dict(zip(head, row.split())) for row in lines[1:]}


def pods(lab) -> dict[str, dict]:
    return {p["metadata"]["name"]: p for p in lab.pods()["items"]}


def wait_ready(lab, port: int):
    for name, p in pods(lab).items():
        if p["metadata"]["namespace"] == "default" and not name.startswith("client"):
            assert lab.wait_tcp(name, p["status"]["podIP"], port), name


def test_cluster_ip_balances_over_every_endpoint(svc_lab, kn, mode):
    s = svc_lab("06-service-clusterip")
    wait_ready(s, 2368)
    ghosts = {n: p for n, p in pods(s).items() if n.startswith("ghost-")}
    assert len(ghosts) == 3 and {p["spec"]["nodeName"] for p in ghosts.values()} == {"node1", "node2", "node3"}
    vip = svc_table(kn, s.name)["ghost"]["CLUSTER-IP"]

    # kubectl get endpoints ghost: exactly the ready pod IPs:ports.
    ep = kn("get", "endpoints", "ghost", "--lab", s.name, check=True).stdout.splitlines()[1].split()[1]
    assert sorted(ep.split(",")) == sorted(f"{p['status']['podIP']}:2368" for p in ghosts.values())

    # 60 requests from the client pod reach all three endpoints; the bodies name them.
    script = f"for i in $(seq 60); do curl -s --max-time 2 http://{vip}:2368/ | head -1; done"
    out = s.exec("client", "sh", "-c", script, check=True).stdout
    seen = collections.Counter(line.removeprefix("pod: ") for line in out.splitlines())
    assert set(seen) == set(ghosts), seen
    assert sum(seen.values()) == 60 and min(seen.values()) >= 5, seen  # 1/3 each, loosely

    # Between pods there is no SNAT: the endpoint sees the client pod's address.
    client_ip = pods(s)["client"]["status"]["podIP"]
    seen_ip = s.exec("client", "curl", "-s", "--max-time", "2", f"http://{vip}:2368/clientip", check=True).stdout
    assert seen_ip.split(":")[0] == client_ip


def test_service_without_endpoints_is_refused_at_once(svc_lab, kn, mode):
    s = svc_lab("06-service-clusterip")
    vip = svc_table(kn, s.name)["nothing"]["CLUSTER-IP"]
    t0 = time.monotonic()
    r = s.exec("client", "curl", "-s", "--max-time", "5", f"http://{vip}:80/")
    assert r.returncode == 7, r  # connection refused (ICMP port unreachable from the REJECT rule)
    assert time.monotonic() - t0 < 2
    assert kn("get", "endpoints", "nothing", "--lab", s.name, check=True).stdout.splitlines()[1].split()[1] == "<none>"


def test_hairpin_and_same_node_paths(svc_lab, kn, mode):
    s = svc_lab("06-service-clusterip")
    wait_ready(s, 2368)
    vip = svc_table(kn, s.name)["ghost"]["CLUSTER-IP"]
    all_pods = pods(s)
    ghost1 = next(n for n, p in all_pods.items() if n.startswith("ghost-") and p["spec"]["nodeName"] == "node1")
    # Hairpin: a pod reaching itself through its Service (masqueraded to cni0's address).
    script = f"for i in $(seq 30); do curl -s --max-time 2 http://{vip}:2368/ | head -1; done"
    answers = s.exec(ghost1, "sh", "-c", script, check=True).stdout.splitlines()
    assert f"pod: {ghost1}" in answers
    hits = [l for l in answers if l == f"pod: {ghost1}"]
    assert len(answers) == 30 and hits
    # Same node: client (node1) -> Service -> ghost on node1 works (bridge-nf-call-iptables).
    out = s.exec("client", "sh", "-c", script, check=True).stdout.splitlines()
    assert f"pod: {ghost1}" in out


def test_rule_dump_has_kube_proxy_chains(svc_lab, kn, mode):
    s = svc_lab("06-service-clusterip")
    if mode == "nftables":
        # kube-proxy's table, and no kube-proxy rule left in the legacy tables.
        assert "KUBE-" not in s.ns_exec("node2", "iptables-legacy-save", "-t", "nat", check=True).stdout
        table = nft_table(s, "node2")
        vip = svc_table(kn, s.name)["ghost"]["CLUSTER-IP"]
        for needle in ("table ip kube-proxy", "comment \"rules for kube-proxy\"", "map service-ips",
                       "type nat hook prerouting priority dstnat", "vmap @service-ips", "masquerade fully-random",
                       f"{vip} . tcp . 2368 : goto service-", "numgen random mod 3 vmap",
                       "comment \"default/nothing\" : goto reject-chain"):
            assert needle in table, (needle, table)
        # ghost's three endpoints and kube-dns' two ports (one endpoint each): five endpoint chains.
        assert len(re.findall(r"chain endpoint-[A-Z2-7]{8}-", table)) == 5
        assert len(re.findall(r"chain service-[A-Z2-7]{8}-", table)) == 3
        assert table.count("dnat to ") == 5
        return
    dump = s.ns_exec("node2", "iptables-legacy-save", "-t", "nat", check=True).stdout
    for needle in ("-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
                   "-A KUBE-MARK-MASQ -j MARK", "-A KUBE-POSTROUTING", "MASQUERADE --random-fully",
                   "-m statistic --mode random --probability 0.33333333349", "--probability 0.50000000000",
                   "-j DNAT --to-destination", "\"default/ghost cluster IP\""):
        assert needle in dump, needle
    # ghost: one KUBE-SVC chain, three KUBE-SEP chains; kube-dns (cluster DNS, ports dns/UDP and
    # dns-tcp/TCP) adds one of each per port.
    assert dump.count(":KUBE-SEP-") == 5 and dump.count(":KUBE-SVC-") == 3
    assert "\"kube-system/kube-dns:dns-tcp cluster IP\"" in dump
    assert dump.count("-m comment --comment \"default/ghost -> ") == 3
    filt = s.ns_exec("node2", "iptables-legacy-save", "-t", "filter", check=True).stdout
    assert "\"default/nothing has no endpoints\"" in filt and "REJECT --reject-with icmp-port-unreachable" in filt


def test_nodeport_on_every_node_and_traffic_policies(svc_lab, kn, mode):
    s = svc_lab("07-service-nodeport")
    wait_ready(s, 9898)
    nodes = {"node1": "192.168.56.11", "node2": "192.168.56.12", "node3": "192.168.56.13"}
    with_pod = {p["spec"]["nodeName"] for p in pods(s).values()}
    assert with_pod == {"node1", "node2"}
    for node, ip in nodes.items():
        # Cluster: every node answers, the client address is replaced by a node address (SNAT).
        r = s.ns_exec("external", "curl", "-s", "--max-time", "3", f"http://{ip}:30080/clientip")
        assert r.returncode == 0, (node, r)
        assert not r.stdout.startswith("192.168.56.2:"), r.stdout
        body = s.ns_exec("external", "curl", "-s", "--max-time", "3", f"http://{ip}:30080/", check=True).stdout
        assert body.startswith("pod: podinfo-")
        # Local: only nodes with an endpoint answer, and they keep the client's address.
        r = s.ns_exec("external", "curl", "-s", "--max-time", "2", f"http://{ip}:30081/clientip")
        if node in with_pod:
            assert r.returncode == 0 and r.stdout.startswith("192.168.56.2:"), (node, r)
        else:
            assert r.returncode == 28, (node, r)  # dropped: no local endpoint, so no answer
    desc = kn("describe", "svc", "podinfo-local", "--lab", s.name, check=True).stdout
    assert "External Traffic Policy:  Local" in desc and "NodePort:                 <unset>  30081/TCP" in desc


def test_loadbalancer_answers_from_outside_through_the_cloud_lb(svc_lab, kn, mode):
    s = svc_lab("08-service-loadbalancer")
    wait_ready(s, 80)
    row = svc_table(kn, s.name)["web"]
    assert row["TYPE"] == "LoadBalancer" and row["EXTERNAL-IP"] == "192.168.56.200"
    # The balancer namespace owns the EXTERNAL-IP.
    addrs = s.ns_exec("cloud-lb", "ip", "-j", "addr", "show", "eth0", check=True).stdout
    assert "192.168.56.200" in addrs
    script = "for i in $(seq 30); do curl -s --max-time 2 http://192.168.56.200/ | head -1; done"
    seen = set(s.ns_exec("external", "sh", "-c", script, check=True).stdout.splitlines())
    assert len(seen) >= 2 and all(l.startswith("pod: web-") for l in seen), seen
    # In-cluster traffic to the EXTERNAL-IP is short-cut by kube-proxy on the node.
    if mode == "nftables":
        assert "192.168.56.200 . tcp . 80 : goto external-" in nft_table(s, "node1")
    else:
        dump = s.ns_exec("node1", "iptables-legacy-save", "-t", "nat", check=True).stdout
        assert "-d 192.168.56.200/32 -p tcp -m comment --comment \"default/web loadbalancer IP\"" in dump
    pod = next(n for n in pods(s) if n.startswith("web-"))
    body = s.exec(pod, "curl", "-s", "--max-time", "3", "http://192.168.56.200/", check=True).stdout
    assert body.startswith("pod: web-")


def test_cluster_dns_answers_service_names(svc_lab, kn, mode):
    s = svc_lab("06-service-clusterip")
    wait_ready(s, 2368)
    resolv = s.exec("client", "cat", "/etc/resolv.conf", check=True).stdout
    assert "nameserver 10.96.0.10" in resolv and "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv
    vip = svc_table(kn, s.name)["ghost"]["CLUSTER-IP"]
    assert s.exec("client", "getent", "hosts", "ghost.default.svc.cluster.local", check=True).stdout.split()[0] == vip
    # A short name through the search list, then HTTP by name, as the course does with wget.
    body = s.exec("client", "curl", "-s", "--max-time", "3", "http://ghost:2368/", check=True).stdout
    assert body.startswith("pod: ghost-")
    listing = kn("get", "svc", "-n", "kube-system", "--lab", s.name, check=True).stdout
    assert "kube-dns" in listing and "10.96.0.10" in listing and "53/UDP" in listing


def test_live_changes_write_only_what_changed(svc_lab, kn, mode):
    """scale and delete reach the kernel as kube-proxy's partial sync: in nftables mode one
    transaction per node of the new or removed endpoint chain and the rewritten service chain,
    never the table again; traffic follows at once, and nothing stale is left."""
    s = svc_lab("06-service-clusterip")
    wait_ready(s, 2368)
    vip = svc_table(kn, s.name)["ghost"]["CLUSTER-IP"]
    r = kn("scale", "deploy/ghost", "--replicas=4", "--lab", s.name, "-v", check=True)
    if mode == "nftables":
        assert r.stderr.count("nft -f -") == 3, r.stderr  # one transaction per node
        assert "delete table" not in r.stderr and "add map" not in r.stderr
        assert r.stderr.count("add chain ip kube-proxy endpoint-") == 3
        assert r.stderr.count("flush chain ip kube-proxy service-") == 3
        assert "3 nftables tables updated" in r.stdout, r.stdout
        assert "iptables-legacy-restore" not in r.stderr
    else:
        assert "iptables-legacy-restore" in r.stderr
    wait_ready(s, 2368)
    script = f"for i in $(seq 80); do curl -s --max-time 2 http://{vip}:2368/ | head -1; done"
    seen = {l.removeprefix("pod: ") for l in s.exec("client", "sh", "-c", script, check=True).stdout.splitlines()}
    ghosts = {n for n in pods(s) if n.startswith("ghost-")}
    assert len(ghosts) == 4 and seen == ghosts, (seen, ghosts)
    kn("scale", "deploy/ghost", "--replicas=1", "--lab", s.name, check=True)
    seen = {l.removeprefix("pod: ") for l in s.exec("client", "sh", "-c", script, check=True).stdout.splitlines()}
    ghosts = {n for n in pods(s) if n.startswith("ghost-")}
    assert len(ghosts) == 1 and seen == ghosts, (seen, ghosts)
    if mode == "nftables":
        table = nft_table(s, "node1")
        assert len(re.findall(r"chain endpoint-[A-Z2-7]{8}-", table)) == 1 + 2  # ghost's, kube-dns' two
        assert "numgen random mod 1 vmap" in table
    # No endpoint left: the ClusterIP is refused at once (no-endpoint-services / REJECT).
    kn("scale", "deploy/ghost", "--replicas=0", "--lab", s.name, check=True)
    r = s.exec("client", "curl", "-s", "--max-time", "5", f"http://{vip}:2368/")
    assert r.returncode == 7, r


def test_up_repairs_a_drifted_kube_proxy_table(svc_lab, kn, mode):
    """A learner's hand in kube-proxy's rules (a flushed chain) is found and undone by `up`."""
    s = svc_lab("06-service-clusterip")
    wait_ready(s, 2368)
    vip = svc_table(kn, s.name)["ghost"]["CLUSTER-IP"]
    if mode == "nftables":
        s.ns_exec("node1", "nft", "flush", "chain", "ip", "kube-proxy", "services", check=True)
    else:
        s.ns_exec("node1", "iptables-legacy", "-t", "nat", "-F", "KUBE-SERVICES", check=True)
    r = s.exec("client", "curl", "-s", "--max-time", "2", f"http://{vip}:2368/")
    assert r.returncode != 0  # broken: nothing DNATs the ClusterIP any more
    r = kn("up", s.source, "--proxy-mode", mode, check=True)
    assert "repaired" in r.stdout and "node1" in r.stdout, r.stdout
    assert "node2" not in r.stdout  # only the node that drifted
    body = s.exec("client", "curl", "-s", "--max-time", "3", f"http://{vip}:2368/", check=True).stdout
    assert body.startswith("pod: ghost-")
    r = kn("up", s.source, "--proxy-mode", mode, check=True)
    assert "nothing drifted" in r.stdout, r.stdout
