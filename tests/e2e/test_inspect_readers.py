"""The read-only kernel readers for `trace` (src/net/inspect, src/net/conntrack) against the
tools learners use: `ip -j link/addr/neigh/route get ... fibmatch/netns list-id`, `bridge -j
fdb`, `conntrack -L`, each run with nsenter in the same lab namespace.

The readers have no subcommand yet: tests/tools/inspect_probe.cpp (knlab-inspect-probe, built
with the tests) prints what they return for one namespace as JSON.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

pytestmark = pytest.mark.e2e

# A documentation address (TEST-NET-3, RFC 5737): only ever looked up, never sent to.
NO_ROUTE = "203.0.113.1"


def nsenter(ns: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    assert ns.startswith("kn-"), ns
    r = subprocess.run(["nsenter", f"--net=/run/netns/{ns}", *cmd], capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    if check:
        assert r.returncode == 0, f"{cmd}: {r.stderr}"
    return r


def ip_json(ns: str, *args: str) -> list:
    return json.loads(nsenter(ns, "ip", "-j", *args).stdout or "[]")


def probe(build_bin, ns: str, *args: str) -> dict:
    exe = build_bin("knlab-inspect-probe")
    r = subprocess.run([str(exe), ns, *args], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def pod_ips(lab) -> dict[str, str]:
    return {p["metadata"]["name"]: p["status"]["podIP"] for p in lab.pods()["items"]}


def by_index(links: list[dict]) -> dict[int, dict]:
    return {l["ifindex"]: l for l in links}


# --------------------------------------------------------------------------- links and friends

def check_links(ns: str, links: list[dict]):
    """Every link as `ip -d -s -j link show` describes it (read after the probe: counters only grow)."""
    theirs = {l["ifindex"]: l for l in ip_json(ns, "-d", "-s", "link", "show")}
    index = {l["ifname"]: i for i, l in theirs.items()}
    assert sorted(theirs) == sorted(l["ifindex"] for l in links)
    for mine in links:
        ip = theirs[mine["ifindex"]]
        info = ip.get("linkinfo", {})
        assert mine["name"] == ip["ifname"]
        assert mine["kind"] == info.get("info_kind", ""), mine
        assert mine["master"] == (index[ip["master"]] if "master" in ip else 0), mine
        assert (mine["mtu"], mine["mac"]) == (ip["mtu"], ip["address"])
        assert (mine["up"], mine["lower_up"]) == ("UP" in ip["flags"], "LOWER_UP" in ip["flags"])
        # The peer: by index and nsid when it is in another namespace, by name when it is here.
        peer = ip.get("link_index", index.get(ip.get("link"), 0))
        assert (mine["peer_ifindex"], mine["peer_nsid"]) == (peer, ip.get("link_netnsid")), mine
        if mine["kind"] == "vxlan":
            data = info["info_data"]
            assert (mine["vni"], mine["vxlan_local"], mine["vxlan_port"]) == (data["id"], data["local"], data["port"])
            assert mine["vxlan_dev"] == index[data["link"]]
        stats = ip["stats64"]
        assert mine["rx_packets"] <= stats["rx"]["packets"] and mine["tx_packets"] <= stats["tx"]["packets"]
        assert mine["rx_dropped"] <= stats["rx"]["dropped"] and mine["tx_dropped"] <= stats["tx"]["dropped"]


def check_addresses(ns: str, addresses: list[dict]):
    theirs = {(l["ifindex"], f"{a['local']}/{a['prefixlen']}")
              for l in ip_json(ns, "-4", "addr", "show") for a in l["addr_info"] if a["family"] == "inet"}
    assert {(a["ifindex"], a["cidr"]) for a in addresses} == theirs


def check_neighbours(ns: str, neighbours: list[dict], index: dict[str, int]):
    theirs = ip_json(ns, "-4", "neigh", "show", "nud", "all")
    # States age (REACHABLE -> STALE) between two reads: entries and addresses must agree,
    # states exactly only for the entries that do not age.
    assert {(n["ifindex"], n["ip"], n["mac"]) for n in neighbours} == \
        {(index[n["dev"]], n["dst"], n.get("lladdr", "")) for n in theirs}
    fixed = {"PERMANENT", "NOARP"}
    assert {(n["ifindex"], n["ip"], n["state"]) for n in neighbours if n["state"] in fixed} == \
        {(index[n["dev"]], n["dst"], " ".join(n["state"])) for n in theirs if set(n["state"]) & fixed}


def check_fdb(ns: str, fdb: list[dict], index: dict[str, int]):
    theirs = json.loads(nsenter(ns, "bridge", "-j", "fdb", "show").stdout)

    def key(ifindex, master, mac, dst, self):
        return (ifindex, master, mac, dst, self)

    mine = {key(f["ifindex"], f["master"], f["mac"], f["dst"], f["self"]) for f in fdb if f["permanent"]}
    ours = {key(index[f["ifname"]], index[f["master"]] if "master" in f else 0, f["mac"], f.get("dst"),
                "self" in f["flags"]) for f in theirs if f["state"] == "permanent"}
    assert mine == ours
    return {(f["ifindex"], f["mac"]) for f in fdb if not f["permanent"]}, \
        {(index[f["ifname"]], f["mac"]) for f in theirs if f["state"] != "permanent"}


def test_node_links_addresses_neighbours_fdb_nsids_sysctls(lab, build_bin):
    v = lab("03-pod-to-pod-vxlan")
    ips = pod_ips(v)
    node1, a1 = v.ns("node1"), v.ns("a1")
    assert nsenter(a1, "ping", "-c", "1", "-W", "2", ips["a2"]).returncode == 0

    sysctls = ["net/ipv4/ip_forward", "net/ipv4/conf/flannel.1/forwarding", "net/ipv4/conf/nosuchdev/forwarding"]
    mine = probe(build_bin, node1, "--nsids", f"kn-{v.name}.", *[x for p in sysctls for x in ("--sysctl", p)])
    index = {l["name"]: l["ifindex"] for l in mine["links"]}
    check_links(node1, mine["links"])
    check_addresses(node1, mine["addresses"])
    check_neighbours(node1, mine["neighbours"], index)
    mine_learnt, their_learnt = check_fdb(node1, mine["fdb"], index)

    # The VTEP as Flannel's vxlan backend makes it, and its fdb entries to the other nodes.
    flannel = next(l for l in mine["links"] if l["name"] == "flannel.1")
    assert (flannel["kind"], flannel["vni"], flannel["vxlan_port"], flannel["vxlan_local"]) == \
        ("vxlan", 1, 8472, "192.168.56.11")
    remote = {(f["mac"], f["dst"]) for f in mine["fdb"] if f["ifindex"] == flannel["ifindex"]}
    assert remote == {("0a:58:0a:f4:01:00", "192.168.56.12"), ("0a:58:0a:f4:02:00", "192.168.56.13")}

    # nsids as `ip netns list-id` names them.
    theirs = {str(n["nsid"]): n["name"] for n in ip_json(node1, "netns", "list-id") if "name" in n}
    assert mine["nsids"] == theirs

    # Each pod veth leads, through its peer's nsid and ifindex, to that pod's eth0, whose own
    # peer is this veth in node1; a1's MAC was learnt on its port by the ping.
    pods = [l for l in mine["links"] if l["kind"] == "veth" and l["master"] == index["cni0"]]
    assert len(pods) == 2
    for veth in pods:
        pod_ns = mine["nsids"][str(veth["peer_nsid"])]
        inside = probe(build_bin, pod_ns, "--nsids", f"kn-{v.name}.")
        eth0 = by_index(inside["links"])[veth["peer_ifindex"]]
        assert eth0["name"] == "eth0" and eth0["peer_ifindex"] == veth["ifindex"]
        assert inside["nsids"][str(eth0["peer_nsid"])] == node1
        if pod_ns == a1:
            assert (veth["ifindex"], eth0["mac"]) in mine_learnt & their_learnt

    # sysctls are read inside the namespace: flannel.1 exists only there.
    assert mine["sysctls"] == {"net/ipv4/ip_forward": "1", "net/ipv4/conf/flannel.1/forwarding": "1",
                               "net/ipv4/conf/nosuchdev/forwarding": None}
    for path in sysctls[:2]:
        assert nsenter(node1, "cat", f"/proc/sys/{path}").stdout.strip() == mine["sysctls"][path]


# --------------------------------------------------------------------------- route get

def ip_route_get(ns: str, query: str) -> dict:
    """`ip -d -j route get QUERY fibmatch` as a probe-shaped dict (error: the errno)."""
    r = nsenter(ns, "ip", "-d", "-j", "route", "get", *query.split(), "fibmatch", check=False)
    if r.returncode != 0:
        errnos = [e for e in range(1, 134) if os.strerror(e) in r.stderr]
        assert len(errnos) == 1, r.stderr
        return {"error": errnos[0]}
    route = json.loads(r.stdout)[0]
    dst = route["dst"]
    dst = "0.0.0.0/0" if dst == "default" else dst if "/" in dst else f"{dst}/32"
    return {"error": 0, "type": route["type"], "dst": dst, "gateway": route.get("gateway"),
            "dev": route["dev"], "prefsrc": route.get("prefsrc"), "protocol": route["protocol"],
            "onlink": "onlink" in route["flags"], "table": {"main": 254, "local": 255}[route["table"]]}


def check_routes(build_bin, ns: str, queries: list[str]) -> dict[str, dict]:
    mine = probe(build_bin, ns, *[x for q in queries for x in ("--route", q)])
    names = {l["ifindex"]: l["name"] for l in mine["links"]}
    out = {}
    for r in mine["routes"]:
        theirs = ip_route_get(ns, r["query"])
        if theirs["error"]:
            assert (r["error"], r["type"], r["dst"]) == (theirs["error"], "", None), r
        else:
            got = {"error": r["error"], "type": r["type"], "dst": r["dst"], "gateway": r["gateway"],
                   "dev": names[r["oif"]], "protocol": r["protocol"], "onlink": r["onlink"], "table": r["table"]}
            assert got == {k: v for k, v in theirs.items() if k != "prefsrc"}, r["query"]
            # The FIB entry's configured source, else the one `ip route get` (plain) picks.
            if theirs["prefsrc"] is None and " iif " not in f" {r['query']} ":
                plain = json.loads(nsenter(ns, "ip", "-j", "route", "get", *r["query"].split()).stdout)[0]
                theirs["prefsrc"] = plain.get("prefsrc")
            assert r["prefsrc"] == theirs["prefsrc"], r
        out[r["query"]] = dict(r, dev=names.get(r["oif"]))
    return out


def test_route_get_agrees_with_ip_route_get_fibmatch(lab, build_bin):
    v = lab("03-pod-to-pod-vxlan")
    ips = pod_ips(v)
    a1, a2 = ips["a1"], ips["a2"]
    remote_net = re.sub(r"\.\d+$", ".0", a2)
    queries = [a2, a1, "10.244.0.1", "192.168.56.12", "192.168.56.255", NO_ROUTE,
               f"{a2} from {a1} iif cni0", f"{a2} from 127.0.0.1 iif cni0", f"{a2} iif cni0",
               f"{a2} from {a1} iif eth0", f"{a2} mark 0x4000"]
    got = check_routes(build_bin, v.ns("node1"), queries)

    # Another node's pods: its /24 through the VTEP, the gateway its .0 on flannel.1, onlink.
    r = got[a2]
    assert (r["type"], r["dst"], r["gateway"], r["dev"], r["onlink"], r["protocol"]) == \
        ("unicast", f"{remote_net}/24", remote_net, "flannel.1", True, "boot")
    assert r["prefsrc"] == "10.244.0.0"  # the plain lookup's choice: flannel.1's address
    assert got[f"{a2} mark 0x4000"]["dst"] == r["dst"]
    fwd = got[f"{a2} from {a1} iif cni0"]
    assert (fwd["dst"], fwd["dev"], fwd["onlink"], fwd["prefsrc"]) == (r["dst"], "flannel.1", True, None)
    # This node's pods: the bridge's connected route, with its configured source.
    assert (got[a1]["dst"], got[a1]["dev"], got[a1]["protocol"], got[a1]["prefsrc"]) == \
        ("10.244.0.0/24", "cni0", "kernel", "10.244.0.1")
    # The node's own address: a local entry (local and main are one table without rules).
    loc = got["10.244.0.1"]
    assert (loc["type"], loc["dst"], loc["prefsrc"]) == ("local", "10.244.0.1/32", "10.244.0.1")
    assert got["192.168.56.255"]["type"] == "broadcast"
    # No default route on a node: no route is an answer, not an error.
    assert got[NO_ROUTE]["error"] == 101  # ENETUNREACH
    # Input lookups need a source address: none, or a martian one, is EINVAL.
    assert got[f"{a2} iif cni0"]["error"] == 22 and got[f"{a2} from 127.0.0.1 iif cni0"]["error"] == 22

    # The wire has no route at all; a pod has only its default route via cni0.
    assert check_routes(build_bin, v.ns("wire"), [a2])[a2]["error"] == 101
    pod = check_routes(build_bin, v.ns("a1"), [a2])[a2]
    assert (pod["dst"], pod["gateway"], pod["dev"], pod["prefsrc"]) == ("0.0.0.0/0", "10.244.0.1", "eth0", a1)


# --------------------------------------------------------------------------- conntrack

_TUPLE_KEYS = {"src", "dst", "sport", "dport", "type", "code", "id"}


def parse_conntrack(text: str) -> dict[int, dict]:
    """`conntrack -L -o extended,id` lines by conntrack id."""
    out = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) < 6 or not words[1].isdigit():
            continue
        proto, timeout = int(words[3]), int(words[4])
        state = words[5] if "=" not in words[5] else ""
        tuples, rest = [], []
        for w in words[5:]:
            k, _, val = w.partition("=")
            if k == "src" and len(tuples) < 2:
                tuples.append({})
            if tuples and k in _TUPLE_KEYS and k not in tuples[-1] and not rest:
                tuples[-1][k] = val
            elif tuples and len(tuples) == 2:
                rest.append(w)
        extra = dict(w.partition("=")[::2] for w in rest if "=" in w)

        def tup(t):
            sport = int(t.get("sport", t.get("id", 0))) if proto != 1 else int(t["id"])
            return {"src": t["src"], "dst": t["dst"], "proto": proto, "sport": sport,
                    "dport": int(t.get("dport", 0))}

        out[int(extra["id"])] = {"orig": tup(tuples[0]), "reply": tup(tuples[1]), "tcp_state": state,
                                 "timeout": timeout, "assured": "[ASSURED]" in rest,
                                 "mark": int(extra.get("mark", "0"))}
    return out


def test_conntrack_shows_the_service_dnat(lab, kn, build_bin):
    s = lab("06-service-clusterip")
    ips = pod_ips(s)
    ghosts = {n: ip for n, ip in ips.items() if n.startswith("ghost-")}
    for name, ip in ghosts.items():
        assert s.wait_tcp(name, ip, 2368), name
    vip = kn("get", "svc", "ghost", "--lab", s.name, "-o", "jsonpath={.spec.clusterIP}", check=True).stdout.strip()
    client, node1 = s.ns("client"), s.ns("node1")
    answered = nsenter(client, "curl", "-s", "--max-time", "3", f"http://{vip}:2368/hostname").stdout.strip()
    assert answered in ghosts, answered
    far = next(ip for n, ip in ghosts.items() if ip.rsplit(".", 2)[1] != ips["client"].rsplit(".", 2)[1])
    assert nsenter(client, "ping", "-c", "1", "-W", "2", far).returncode == 0

    # The client's node did the DNAT: one flow to the ClusterIP, answered by the pod that
    # named itself, no SNAT between pods.
    mine = probe(build_bin, node1, "--conntrack")["conntrack"]
    theirs = parse_conntrack(nsenter(node1, "conntrack", "-L", "-o", "extended,id").stdout)
    flows = [e for e in mine if (e["orig"]["dst"], e["orig"]["dport"], e["orig"]["proto"]) == (vip, 2368, 6)]
    assert len(flows) == 1, mine
    flow = flows[0]
    assert flow["orig"]["src"] == ips["client"]
    assert (flow["reply"]["src"], flow["reply"]["sport"]) == (ghosts[answered], 2368)
    assert flow["dnat"] and not flow["snat"] and flow["assured"]
    assert flow["tcp_state"] in ("TIME_WAIT", "CLOSE", "FIN_WAIT", "LAST_ACK", "CLOSE_WAIT", "ESTABLISHED")
    pings = [e for e in mine if e["orig"]["proto"] == 1 and (e["orig"]["src"], e["orig"]["dst"]) == (ips["client"], far)]
    assert len(pings) == 1 and pings[0]["reply"]["src"] == far and not pings[0]["dnat"]

    # conntrack(8) agrees on every entry both saw (the probe read first: timeouts only fell).
    for entry in (flow, pings[0]):
        other = theirs[entry["id"]]
        assert (entry["orig"], entry["reply"], entry["tcp_state"], entry["assured"], entry["mark"]) == \
            (other["orig"], other["reply"], other["tcp_state"], other["assured"], other["mark"])
        assert 0 <= entry["timeout"] - other["timeout"] <= 5
    assert {e["id"] for e in mine} & set(theirs)
