"""kn-lab trace on real labs: every kind of path named hop by hop from the live kernel, and
--probe agreeing with the backend that really answered (its /hostname).

Each test reads `trace -o json`; a probe's contradictions (a prediction the kernel's counters,
conntrack or the answer disagree with) fail the test, as they are bugs. The break tests change
one object by hand inside a lab namespace and check that trace names it where the packet dies.
"""
import json
import re
import time

import pytest


# kube-proxy's two modes: the Service tests run in each (trace reads table ip kube-proxy in nftables mode).
PROXY_MODES = pytest.mark.parametrize("proxy", ["iptables", "nftables"])


def trace(kn, *args, probe=True):
    r = kn("trace", *args, *(["--probe"] if probe else []), "-o", "json", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def texts(leg):
    return [h["text"] for h in leg["hops"]]


def kinds(leg):
    return [h["kind"] for h in leg["hops"]]


def places(leg):
    out = []
    for h in leg["hops"]:
        if not out or out[-1] != h["place"]:
            out.append(h["place"])
    return out


def has(leg, kind, part):
    return any(h["kind"] == kind and part in h["text"] for h in leg["hops"])


def assert_answered(t, pod_prefix):
    """The probe was answered by a pod whose name starts with pod_prefix, and the trace ends there."""
    assert t["probe"]["answered"], t["probe"]
    assert t["contradictions"] == [], t["contradictions"]
    assert t["forward"]["delivered"] and t["reply"]["delivered"], (t["forward"]["outcome"], t["reply"]["outcome"])
    by = t["probe"]["answered_by"]
    assert by.startswith(pod_prefix), by
    assert t["forward"]["hops"][-1]["place"].startswith(f"pod {by} "), t["forward"]["hops"][-1]
    seen = [h for h in t["forward"]["hops"] + t["reply"]["hops"] if h["seen"] == "seen"]
    assert seen, "no hop was confirmed by a counter"


def test_container_to_container_stays_on_loopback(lab, kn):
    lab("01-container-to-container")
    t = trace(kn, "web", "127.0.0.1:8080")
    assert_answered(t, "web")
    assert places(t["forward"]) == ["pod web (default)"]
    assert "dev lo" in texts(t["forward"])[0]


def test_pod_to_pod_on_one_node_crosses_the_bridge(lab, kn):
    lab("02-pod-to-pod-same-node")
    t = trace(kn, "web", "api:8080")
    assert_answered(t, "api")
    f = t["forward"]
    assert places(f) == ["pod web (default)", "node node1", "pod api (default)"]
    assert has(f, "bridge", "cni0 forwards the frame")
    bridge = next(h for h in f["hops"] if h["kind"] == "bridge")
    assert bridge["seen"] == "seen" and "fdb show br cni0" in bridge["command"]


@pytest.mark.parametrize("labfile,mode", [
    ("03-pod-to-pod-vxlan", "vxlan"),
    ("04-pod-to-pod-host-gw", "host-gw"),
    ("05-pod-to-pod-bgp", "bgp"),
    ("05b-two-racks", "racks"),
])
def test_pod_to_pod_across_nodes_in_each_mode(lab, kn, labfile, mode):
    lab(labfile)
    for proto in ([], ["--icmp"]):
        t = trace(kn, "a1", "a3" if proto else "a3:8080", *proto)
        f = t["forward"]
        if proto:
            assert t["probe"]["answered"] and t["contradictions"] == [], t
        else:
            assert_answered(t, "a3")
        assert places(f)[0] == "pod a1 (default)" and places(f)[-1] == "pod a3 (default)"
        if mode == "vxlan":
            assert has(f, "vxlan", "VNI 1") and has(f, "vxlan", "8472") and has(f, "vxlan", "decapsulates")
            assert has(f, "route", "dev flannel.1 onlink")
            assert "wire" in places(f)
        if mode == "host-gw":
            assert has(f, "route", "10.244.2.0/24 via 192.168.56.13 dev eth0")
            assert not any(h["kind"] == "vxlan" for h in f["hops"])
        if mode == "bgp":
            assert has(f, "route", "proto bird")
        if mode == "racks":
            assert "router" in places(f) and "rack rack1" in places(f) and "rack rack2" in places(f)


def test_a_packet_too_big_for_a_link_dies_there(lab, kn):
    """VXLAN's 50 bytes: the pods' MTU is 1450, so that the outer packet fits the wire's 1500."""
    lab("03-pod-to-pod-vxlan")
    t = trace(kn, "a1", "a2", "--icmp", "--size", "1450")
    assert t["probe"]["answered"] and t["contradictions"] == [], t
    assert t["forward"]["delivered"]
    t = trace(kn, "a1", "a2", "--icmp", "--size", "1451")
    assert not t["forward"]["delivered"] and not t["probe"]["answered"] and t["contradictions"] == [], t
    out = t["forward"]["outcome"]
    assert "dropped in pod a1" in out and "1451 bytes do not fit eth0's MTU of 1450" in out, out


@PROXY_MODES
def test_cluster_ip_every_backend_by_its_branch(lab, kn, proxy):
    lab("06-service-clusterip", "--proxy-mode", proxy)
    answered = set()
    for _ in range(40):
        t = trace(kn, "client", "svc/ghost")
        assert_answered(t, "ghost-")
        answered.add(t["probe"]["answered_by"])
        nat = next(h for h in t["forward"]["hops"] if h["kind"] == "netfilter" and h.get("branches"))
        branches = nat["branches"]
        assert len(branches) == 3 and all(abs(b["probability"] - 1 / 3) < 1e-3 for b in branches)
        chosen = [b for b in branches if b["chosen"]]
        assert len(chosen) == 1 and "DNAT to " + chosen[0]["to"] in nat["text"]
        # iptables: the chosen rule's counter moved; nftables (whose rules have no counters):
        # nftables' own tracing saw the probe's packets meet each rule of the hop.
        assert nat["seen"] == "seen", nat
        if proxy == "nftables":
            assert "nftrace: services rule handle" in nat["observed"], nat["observed"]
            assert "NOT met" not in nat["observed"], nat["observed"]
            assert nat["text"].startswith("nftables: nat-output -> services -> service-") or \
                nat["text"].startswith("nftables: nat-prerouting -> services -> service-"), nat["text"]
        if len(answered) == 3:
            break
    assert len(answered) == 3, answered
    # The probe's trace table is gone from every node: kube-proxy's is the only one.
    for node in ("node1", "node2", "node3"):
        tables = kn("exec", node, "--", "nft", "list", "tables", check=False).stdout
        assert "kn-lab-trace" not in tables, (node, tables)


@PROXY_MODES
def test_service_by_dns_name_and_without_endpoints(lab, kn, proxy):
    lab("06-service-clusterip", "--proxy-mode", proxy)
    t = trace(kn, "client", "ghost.default.svc.cluster.local")
    assert "ghost.default.svc.cluster.local ->" in t["resolved"]
    assert_answered(t, "ghost-")
    t = trace(kn, "client", "svc/nothing")
    assert not t["forward"]["delivered"] and not t["probe"]["answered"]
    assert t["contradictions"] == []
    assert "default/nothing has no endpoints" in t["forward"]["outcome"], t["forward"]["outcome"]


@PROXY_MODES
def test_nodeport_with_each_traffic_policy(lab, kn, proxy):
    lab("07-service-nodeport", "--proxy-mode", proxy)
    pods = json.loads(kn("get", "pods", "-o", "json").stdout)["items"]
    nodes_with = {p["spec"]["nodeName"] for p in pods}
    without = next(n for n in ("node1", "node2", "node3") if n not in nodes_with)
    with_one = sorted(nodes_with)[0]
    # Cluster: any node, masqueraded
    t = trace(kn, "external", f"{without}:30080")
    assert_answered(t, "podinfo-")
    assert has(t["forward"], "netfilter", "MASQUERADE") and has(t["forward"], "netfilter", "DNAT to")
    assert has(t["reply"], "nat", "undoes the masquerade")
    # Local, on a node with an endpoint: no masquerade, the client's address kept
    t = trace(kn, "external", f"{with_one}:30081")
    assert_answered(t, "podinfo-")
    assert not has(t["forward"], "netfilter", "MASQUERADE")
    # Local, on a node without one: dropped, and the probe times out
    t = trace(kn, "external", f"{without}:30081", "--timeout", "1000")
    assert not t["forward"]["delivered"] and not t["probe"]["answered"] and t["contradictions"] == []
    assert "has no local endpoints" in t["forward"]["outcome"]


@PROXY_MODES
def test_loadbalancer_through_the_cloud_lb(lab, kn, proxy):
    lab("08-service-loadbalancer", "--proxy-mode", proxy)
    ip = kn("get", "svc", "web", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}").stdout.strip()
    t = trace(kn, "external", ip)
    assert_answered(t, "web-")
    f = t["forward"]
    assert "cloud-lb" in places(f)
    lb = next(h for h in f["hops"] if h["place"] == "cloud-lb" and h["kind"] == "netfilter" and h.get("branches"))
    assert len(lb["branches"]) == 3 and lb["seen"] == "seen"  # the cloud's own rules: iptables in both modes
    assert has(t["reply"], "nat", "undoes the DNAT: source") and t["reply"]["hops"][-1]["place"] == "external"


def test_network_policy_drop_names_the_policies(lab, kn):
    lab("11-network-policy")
    t = trace(kn, "-n", "database", "db", "api.backend:9898")
    assert not t["forward"]["delivered"] and t["contradictions"] == []
    out = t["forward"]["outcome"]
    assert "egress is isolated by database/default-deny" in out and "REJECT" in out and "netpol drop database/db" in out, out
    drop = next(h for h in t["forward"]["hops"] if h["kind"] == "netfilter" and "REJECT" in h["text"])
    assert "KUBE-POD-FW-" in drop["text"] and drop["seen"] == "seen"
    # allowed across nodes (alpine on node2, nginx on node1): kube-router's marks stay on node2
    t = trace(kn, "-n", "dev", "alpine", "nginx:80")
    assert_answered(t, "nginx")
    assert has(t["forward"], "vxlan", "decapsulates")
    web = kn("get", "pods", "-n", "frontend", "-o", "jsonpath={.items[0].metadata.name}").stdout.strip()
    t = trace(kn, "-n", "frontend", web, "api.backend:9898")
    assert_answered(t, "api-")


def test_a_trace_changes_nothing(lab, kn):
    L = lab("06-service-clusterip")
    before = {n: L.ns_exec(n, "iptables-legacy-save", check=True).stdout for n in ("node1", "node2")}
    trace(kn, "client", "svc/ghost", probe=False)
    kn("trace", "client", "svc/nothing", "--brief")
    after = {n: L.ns_exec(n, "iptables-legacy-save", check=True).stdout for n in ("node1", "node2")}
    # the rules, not the counters: packets of the lab's own (ARP, retransmissions) move those
    strip = lambda s: [re.sub(r" \[\d+:\d+\]$", "", l) for l in s.splitlines() if not l.startswith("#")]
    assert {k: strip(v) for k, v in before.items()} == {k: strip(v) for k, v in after.items()}
    # and no table appeared where there was none (a pod namespace has no iptables)
    assert L.ns_exec("client", "cat", "/proc/self/net/ip_tables_names", check=True).stdout == ""


def test_breakage_is_named_where_the_packet_dies(lab, kn):
    L = lab("03-pod-to-pod-vxlan")
    node2_subnet = "10.244.1.0/24"
    L.ns_exec("node1", "ip", "route", "del", node2_subnet, check=True)
    t = trace(kn, "a1", "a2:8080")
    assert not t["forward"]["delivered"] and t["contradictions"] == [], t
    assert "no route" in t["forward"]["outcome"] and "10.244.1." in t["forward"]["outcome"]
    assert t["forward"]["hops"][-1]["place"] == "node node1"
    kn("down", "vxlan")
    L = lab("03-pod-to-pod-vxlan")
    mac = L.ns_exec("node1", "ip", "neigh", "show", "10.244.1.0", "dev", "flannel.1", check=True).stdout.split()[2]
    L.ns_exec("node1", "bridge", "fdb", "del", mac, "dev", "flannel.1", check=True)
    t = trace(kn, "a1", "a2:8080", "--timeout", "1000")
    assert not t["forward"]["delivered"] and t["contradictions"] == [], t
    assert f"no FDB entry for {mac} on flannel.1" in t["forward"]["outcome"]
    kn("down", "vxlan")
    L = lab("03-pod-to-pod-vxlan")
    L.ns_exec("node2", "ip", "link", "set", "cni0", "down", check=True)
    t = trace(kn, "a1", "a2:8080", "--timeout", "1000")
    assert not t["forward"]["delivered"] and t["contradictions"] == [], t
    assert "cni0" in t["forward"]["outcome"] and t["forward"]["hops"][-1]["place"] == "node node2", t["forward"]["outcome"]


def test_a_broken_kube_proxy_rule_is_named(lab, kn):
    L = lab("06-service-clusterip")
    t = trace(kn, "client", "svc/ghost", probe=False)
    nat = next(h for h in t["forward"]["hops"] if h["kind"] == "netfilter" and h.get("branches"))
    sep = next(b["target"] for b in nat["branches"] if b["chosen"])
    # the DNAT of the endpoint's chain, deleted by hand
    L.ns_exec("node1", "iptables-legacy", "-t", "nat", "-F", sep, check=True)
    t = trace(kn, "client", "svc/ghost", probe=False)
    assert not t["forward"]["delivered"]
    assert any(f"-> {sep} (no rule matches: returns)" in h["text"] for h in t["forward"]["hops"]), texts(t["forward"])


def wait_http(kn, url):
    """nginx in a data plane pod listens a few milliseconds after `up` returns (as a pod is Running
    before it is ready): wait for its first answer, from the outside."""
    for _ in range(50):
        r = kn("exec", "external", "--", "curl", "-s", "-m", "1", "-o", "/dev/null", "-w", "%{http_code}", url, check=False)
        if r.stdout.strip() not in ("", "000"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def test_through_an_ingress_nginx_names_the_location_and_the_endpoint(lab, kn):
    lab("09-ingress")
    wait_http(kn, "http://192.168.56.11:30080/healthz")
    # predicted: the server and location of the controller's nginx.conf, and its upstream
    t = trace(kn, "external", "http://node1:30080/api/users", probe=False)
    l7 = t["l7"]
    assert l7["data_plane"] == "ingress-nginx/ingress-nginx-controller"
    assert l7["location"] == '~* "^/api"' and "ingress default/ingress, path /api (Prefix)" in l7["comment"], l7
    assert l7["action"] == "proxy_pass http://default_api_80" and l7["rewritten_uri"].startswith("/"), l7
    assert len(l7["upstreams"][0]["servers"]) == 2
    assert t["upstream"]["forward"]["delivered"]
    # probed: nginx's access log names the endpoint it used, and that pod answered
    t = trace(kn, "external", "http://node1:30080/api/users")
    assert t["contradictions"] == [], t["contradictions"]
    assert t["l7"]["logged"] and "upstream=" + t["l7"]["endpoint"] in t["l7"]["logged"]
    by = t["probe"]["answered_by"]
    assert by.startswith("api-") and t["upstream"]["forward"]["hops"][-1]["place"].startswith(f"pod {by} ")
    # no rule: the default backend's 404, and no upstream connection
    t = trace(kn, "external", "http://node1:30080/nothing", probe=False)
    assert "404" in t["l7"]["action"] and "upstream" not in t


def test_through_a_gateway_route(lab, kn):
    lab("10-gateway-api")
    ip = kn("get", "gateway", "my-gateway", "-o", "jsonpath={.status.addresses[0].value}").stdout.strip()
    wait_http(kn, f"http://{ip}/api")
    t = trace(kn, "external", f"http://{ip}/api")
    assert t["contradictions"] == [], t["contradictions"]
    assert "cloud-lb" in places(t["forward"])
    assert t["l7"]["location"] == "@default/api-route/rule0", t["l7"]
    assert t["probe"]["answered_by"].startswith("api-")
    t = trace(kn, "external", f"http://{ip}/other", probe=False)
    assert "404" in t["l7"]["action"]
