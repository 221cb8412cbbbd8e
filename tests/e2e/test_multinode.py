"""Pod to pod across nodes: the underlay, VXLAN and host-gw (issue 3, first part).

Each test brings up a three-node lab, checks that every pod reaches every pod on the other
nodes (ping and HTTP, the body naming the pod that answered), that the kernel objects are the
ones the mode promises, and what crosses the wire, captured on a node's eth0.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

pytestmark = pytest.mark.e2e


def pods_by_name(lab) -> dict[str, dict]:
    return {p["metadata"]["name"]: p for p in lab.pods()["items"]}


def check_all_pairs(lab):
    pods = pods_by_name(lab)
    for name, p in pods.items():
        assert lab.wait_tcp(name, p["status"]["podIP"], 8080), name
    for src, sp in pods.items():
        for dst, dp in pods.items():
            if sp["spec"]["nodeName"] == dp["spec"]["nodeName"]:
                continue
            ip = dp["status"]["podIP"]
            ping = lab.ns_exec(src, "ping", "-c", "1", "-W", "2", ip)
            assert ping.returncode == 0, f"{src} -> {dst} ({ip}): {ping.stdout}"
            page = lab.ns_exec(src, "curl", "-s", "--max-time", "3", f"http://{ip}:8080/")
            assert f"pod: {dst}\n" in page.stdout, f"{src} -> {dst}: {page.stdout!r}"
            # No NAT between pods: the server saw the client pod's own address.
            assert f"client: {sp['status']['podIP']}:" in page.stdout


def capture(lab, node: str, bpf: str, action) -> str:
    """tcpdump on <node>'s eth0 while `action()` runs; returns what it printed."""
    cap = subprocess.Popen(["ip", "netns", "exec", lab.ns(node), "tcpdump", "-nli", "eth0", "-c", "4", bpf],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # tcpdump attaches
        action()
        out, _ = cap.communicate(timeout=10)
    finally:
        if cap.poll() is None:
            cap.kill()
            cap.wait()
    return out


def test_vxlan_connects_every_pod_pair_through_flannel_1(lab, kn):
    v = lab("03-pod-to-pod-vxlan")
    nodes = json.loads(kn("get", "nodes", "-o", "json", "--lab", v.name, check=True).stdout)["items"]
    ips = {n["metadata"]["name"]: next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP") for n in nodes}
    cidrs = {n["metadata"]["name"]: n["spec"]["podCIDR"] for n in nodes}
    assert ips == {"node1": "192.168.56.11", "node2": "192.168.56.12", "node3": "192.168.56.13"}
    check_all_pairs(v)

    # The kernel objects of Flannel's vxlan backend on node1.
    link = json.loads(v.ns_exec("node1", "ip", "-d", "-j", "link", "show", "flannel.1", check=True).stdout)[0]
    info = link["linkinfo"]["info_data"]
    assert (info["id"], info["port"], info["learning"]) == (1, 8472, False)
    assert info["local"] == "192.168.56.11"
    assert link["mtu"] == 1450
    fdb = v.ns_exec("node1", "bridge", "fdb", "show", "dev", "flannel.1", check=True).stdout
    assert "0a:58:0a:f4:01:00 dst 192.168.56.12 self permanent" in fdb
    assert "0a:58:0a:f4:02:00 dst 192.168.56.13 self permanent" in fdb
    neigh = v.ns_exec("node1", "ip", "neigh", "show", "dev", "flannel.1", check=True).stdout
    assert "10.244.1.0 lladdr 0a:58:0a:f4:01:00 PERMANENT" in neigh
    routes = v.ns_exec("node1", "ip", "route", check=True).stdout
    assert f"{cidrs['node2']} via 10.244.1.0 dev flannel.1 onlink" in routes
    assert f"{cidrs['node3']} via 10.244.2.0 dev flannel.1 onlink" in routes

    # On the wire: UDP 8472 between node IPs, not the pods' addresses.
    pods = pods_by_name(v)
    target = pods["a2"]["status"]["podIP"]
    seen = capture(v, "node1", "udp port 8472", lambda: v.ns_exec("a1", "ping", "-c", "2", "-W", "2", target))
    assert "192.168.56.11" in seen and "192.168.56.12.8472" in seen, seen

    # 1 MB across nodes: the pod MTU leaves room for the 50 bytes of encapsulation.
    big = v.ns_exec("a1", "sh", "-c",
                    f"head -c 1048576 /dev/zero | curl -s --max-time 10 --data-binary @- http://{target}:8080/echo | wc -c")
    assert big.stdout.strip() == "1048576", big


def test_host_gw_routes_via_node_ips_without_a_tunnel(lab):
    h = lab("04-pod-to-pod-host-gw")
    check_all_pairs(h)
    routes = h.ns_exec("node1", "ip", "route", check=True).stdout
    assert "10.244.1.0/24 via 192.168.56.12 dev eth0" in routes
    assert "10.244.2.0/24 via 192.168.56.13 dev eth0" in routes
    assert h.ns_exec("node1", "ip", "link", "show", "flannel.1").returncode != 0  # no VXLAN device
    pods = pods_by_name(h)
    a1, a2 = pods["a1"]["status"]["podIP"], pods["a2"]["status"]["podIP"]
    # On the wire: plain ICMP between the pod addresses, nothing encapsulated.
    seen = capture(h, "node1", "icmp", lambda: h.ns_exec("a1", "ping", "-c", "2", "-W", "2", a2))
    assert f"{a1} > {a2}: ICMP echo request" in seen, seen


def test_external_and_wire_are_lab_namespaces(lab, kn):
    v = lab("03-pod-to-pod-vxlan")
    r = kn("exec", "--lab", v.name, "external", "--", "ping", "-c", "1", "-W", "2", "192.168.56.12")
    assert r.returncode == 0, r.stdout + r.stderr
    ports = kn("exec", "--lab", v.name, "wire", "--", "bridge", "link", check=True).stdout
    for port in ("node1", "node2", "node3", "external"):
        assert f" {port}@" in ports


def bird_processes(labname: str) -> list[str]:
    out = subprocess.run(["pgrep", "-a", "-x", "bird"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if f"/run/kn-lab/{labname}/" in l]


def test_bgp_full_mesh_learns_every_pod_subnet(lab, kn):
    b = lab("05-pod-to-pod-bgp")
    # up returned only once every session was Established and the routes were in place.
    for node in ("node1", "node2", "node3"):
        protocols = kn("exec", "--lab", b.name, node, "--", "birdc", "show", "protocols", check=True).stdout
        sessions = [l for l in protocols.splitlines() if " BGP " in l]
        assert len(sessions) == 2 and all("Established" in l for l in sessions), protocols
        routes = b.ns_exec(node, "ip", "route", check=True).stdout
        assert sum(1 for l in routes.splitlines() if "proto bird" in l and " via 192.168.56." in l) == 2, routes
        # Calico's blackhole for the node's own block.
        assert any(l.startswith("blackhole 10.244.") and "proto bird" in l for l in routes.splitlines()), routes
    assert "10.244.1.0/24 via 192.168.56.12 dev eth0 proto bird" in b.ns_exec("node1", "ip", "route").stdout
    check_all_pairs(b)
    pods = pods_by_name(b)
    a1, a3 = pods["a1"]["status"]["podIP"], pods["a3"]["status"]["podIP"]
    seen = capture(b, "node1", "icmp", lambda: b.ns_exec("a1", "ping", "-c", "2", "-W", "2", a3))
    assert f"{a1} > {a3}: ICMP echo request" in seen, seen  # unencapsulated
    assert len(bird_processes(b.name)) == 3
    b.down(check=True)
    assert bird_processes(b.name) == []


def test_two_racks_refuse_host_gw_with_an_explanation(kn):
    r = kn("up", "05b-two-racks", "--cni", "host-gw")
    assert r.returncode == 2
    assert 'cni = "host-gw" cannot connect nodes in different racks' in r.stderr
    assert "host-gw needs every node on one L2 segment" in r.stderr
    assert not [n for n in subprocess.run(["ip", "netns"], capture_output=True, text=True).stdout.split() if n.startswith("kn-racks.")]


@pytest.mark.parametrize("cni", ["vxlan", "bgp"])
def test_two_racks_connect_every_pod_pair(lab, kn, cni):
    r = lab("05b-two-racks", "--cni", cni)
    check_all_pairs(r)
    routes = r.ns_exec("router", "ip", "route", check=True).stdout
    assert "192.168.56.0/24 dev eth0" in routes and "192.168.57.0/24 dev eth1" in routes
    if cni == "bgp":
        # The router, a route reflector, learned every pod subnet and routes it to its node.
        assert "10.244.2.0/24 via 192.168.57.11 dev eth1 proto bird" in routes
        nodes = kn("get", "nodes", "-o", "wide", "--lab", r.name, check=True).stdout
        assert "192.168.57.11" in nodes
    else:
        # VXLAN: the tunnel's outer packets are simply routed by the router.
        fdb = r.ns_exec("node1", "bridge", "fdb", "show", "dev", "flannel.1", check=True).stdout
        assert "dst 192.168.57.11 self permanent" in fdb
