"""The residue harness must be able to fail.

Part 1 (marked unit, no root): diff() of synthetic snapshots reports every kind
of object with the right wording; the parsers normalise what they must.
Part 2 (root, host-guarded): real namespaces and processes are seen, and the
diff is empty again once they are gone.  These tests never touch the root
namespace's links, routes, sysctls or firewall; they only create the
namespace kn-harnesstest.x and (if it was not there) the /run/netns
directory/self-bind mount that `ip netns add` makes, and undo all of it.
"""

from __future__ import annotations

import copy
import os
import re
import signal
import statistics
import subprocess
import time

import pytest

import harness
from harness import diff

NS = "kn-harnesstest.x"


# =========================================================================== synthetic

def base_snapshot() -> dict:
    root = "net:[4026531833]"
    return {
        "version": 1,
        "host_netns": root,
        "links": {
            "lo": {"ifname": "lo", "mtu": 65536, "flags": "LOOPBACK,UP,LOWER_UP"},
            "eth0": {"ifname": "eth0", "mtu": 1500, "flags": "BROADCAST,MULTICAST,UP,LOWER_UP"},
        },
        "addrs": {"eth0 inet 192.0.2.2/24": {"scope": "global", "label": "eth0"}},
        "routes": ["ipv4 dst default gateway 192.0.2.1 dev eth0",
                   "ipv6 dst fd00::/64 dev eth0 protocol kernel metric 256 pref medium"],
        "rules": ["ipv4 src all table local priority 0", "ipv4 src all table main priority 32766"],
        "neigh": {"ipv4 192.0.2.1 dev eth0": "lladdr 02:00:00:00:00:01 state PERMANENT"},
        "sysctls": {"net.ipv4.ip_forward": "0", "net.ipv4.conf.eth0.forwarding": "0"},
        "iptables": ["ipv4 filter: :INPUT ACCEPT", "ipv4 filter: table"],
        "nft": ["table inet host", "table inet host / chain input"],
        "mounts": [["/", "ext4", "/dev/vda"], ["/proc", "proc", "proc"]],
        "paths": {"/run/netns": [""], "/etc/netns": None, "/run/kn-lab": None},
        "netns_ids": {"other": "net:[111]"},
        "processes": [
            {"pid": 50, "comm": "containerd", "cmdline": "containerd", "netns": "net:[111]", "lab_cmd": False},
        ],
        "errors": [],
    }


def changed(**edits) -> dict:
    s = copy.deepcopy(base_snapshot())
    for k, fn in edits.items():
        fn(s[k])
    return s


@pytest.mark.unit
def test_identical_snapshots_have_no_diff():
    assert diff(base_snapshot(), base_snapshot()) == []


@pytest.mark.unit
def test_links():
    def f(links):
        links["veth1234"] = {"ifname": "veth1234", "mtu": 1500, "linkinfo.info_kind": "veth"}
        del links["lo"]
        links["eth0"]["mtu"] = 9000
    d = diff(base_snapshot(), changed(links=f))
    assert "link added: veth1234 (veth, mtu 1500)" in d
    assert any(x.startswith("link removed: lo") for x in d)
    assert "link changed: eth0: mtu 1500 -> 9000" in d
    assert len(d) == 3


@pytest.mark.unit
def test_addresses():
    def f(a):
        a["eth0 inet 10.244.0.1/24"] = {"scope": "global"}
        a["eth0 inet 192.0.2.2/24"]["scope"] = "link"
    d = diff(base_snapshot(), changed(addrs=f))
    assert d == ["address added: eth0 inet 10.244.0.1/24",
                 "address changed: eth0 inet 192.0.2.2/24: scope global -> link"]
    d = diff(changed(addrs=f), base_snapshot())
    assert "address removed: eth0 inet 10.244.0.1/24" in d


@pytest.mark.unit
def test_routes_and_rules():
    def r(routes):
        routes.append("ipv4 dst 10.244.1.0/24 gateway 192.0.2.9 dev eth0")
        routes.remove("ipv6 dst fd00::/64 dev eth0 protocol kernel metric 256 pref medium")
    def u(rules):
        rules.append("ipv4 fwmark 0x4000 table 100 priority 100")
    d = diff(base_snapshot(), changed(routes=r, rules=u))
    assert d == ["route added: ipv4 dst 10.244.1.0/24 gateway 192.0.2.9 dev eth0",
                 "route removed: ipv6 dst fd00::/64 dev eth0 protocol kernel metric 256 pref medium",
                 "rule added: ipv4 fwmark 0x4000 table 100 priority 100"]


@pytest.mark.unit
def test_duplicate_route_is_a_difference():
    d = diff(base_snapshot(), changed(routes=lambda r: r.append(r[0])))
    assert d == ["route added: ipv4 dst default gateway 192.0.2.1 dev eth0"]


@pytest.mark.unit
def test_neighbours():
    def f(n):
        n["ipv4 10.0.0.7 dev eth0"] = "lladdr aa:bb:cc:dd:ee:ff state PERMANENT"
        n["ipv4 192.0.2.1 dev eth0"] = "lladdr 02:00:00:00:00:02 state PERMANENT"
    d = diff(base_snapshot(), changed(neigh=f))
    assert d == ["neighbour added: ipv4 10.0.0.7 dev eth0 lladdr aa:bb:cc:dd:ee:ff state PERMANENT",
                 "neighbour changed: ipv4 192.0.2.1 dev eth0 lladdr 02:00:00:00:00:01 state PERMANENT"
                 " -> lladdr 02:00:00:00:00:02 state PERMANENT"]


@pytest.mark.unit
def test_sysctls():
    def f(s):
        s["net.ipv4.ip_forward"] = "1"
        del s["net.ipv4.conf.eth0.forwarding"]
        s["net.bridge.bridge-nf-call-iptables"] = "1"
        for i in range(20):  # a whole per-device directory
            s[f"net.ipv4.conf.veth1234.key{i}"] = "0"
    d = diff(base_snapshot(), changed(sysctls=f))
    assert "sysctl changed: net.ipv4.ip_forward 0 -> 1" in d
    assert "sysctl removed: net.ipv4.conf.eth0.forwarding = 0" in d
    assert "sysctl added: net.bridge.bridge-nf-call-iptables = 1" in d
    assert "sysctl added: net.ipv4.conf.veth1234.* (20 keys)" in d
    assert len(d) == 4


@pytest.mark.unit
def test_firewall():
    def i(x):
        x.append("ipv4 nat: -A POSTROUTING -s 10.244.0.0/16 -j MASQUERADE")
        x.remove("ipv4 filter: :INPUT ACCEPT")
    def n(x):
        x.append("table ip kn / chain post / ip saddr 10.244.0.0/16 masquerade")
    d = diff(base_snapshot(), changed(iptables=i, nft=n))
    assert d == ["iptables-legacy added: ipv4 nat: -A POSTROUTING -s 10.244.0.0/16 -j MASQUERADE",
                 "iptables-legacy removed: ipv4 filter: :INPUT ACCEPT",
                 "nft added: table ip kn / chain post / ip saddr 10.244.0.0/16 masquerade"]


@pytest.mark.unit
def test_mounts():
    def f(m):
        m.append(["/run/netns/kn-demo.web", "nsfs", "nsfs"])
        m.append(["/run/netns", "ext4", "/dev/vda"])
        m.remove(["/proc", "proc", "proc"])
    d = diff(base_snapshot(), changed(mounts=f))
    assert "mount added: /run/netns/kn-demo.web nsfs (source nsfs)" in d
    assert "mount added: /run/netns ext4 (source /dev/vda)" in d  # the self bind mount
    assert "mount removed: /proc proc (source proc)" in d
    assert len(d) == 3


@pytest.mark.unit
def test_paths():
    def f(p):
        p["/run/netns"] = ["", "kn-demo.web"]
        p["/run/kn-lab"] = [""]  # an empty state dir left behind is residue too
        p["/etc/netns"] = ["", "kn-demo.web/", "kn-demo.web/hosts", "kn-demo.web/resolv.conf"]
    d = diff(base_snapshot(), changed(paths=f))
    assert d == ["netns entry added: kn-demo.web",
                 "path added: /etc/netns/ (directory did not exist before)",
                 "path added: /etc/netns/kn-demo.web/ (2 entries below)",
                 "path added: /run/kn-lab/ (directory did not exist before)"]
    # and the reverse direction
    d = diff(changed(paths=f), base_snapshot())
    assert "netns entry removed: kn-demo.web" in d
    assert "path removed: /run/kn-lab/ (directory existed before)" in d
    # a file inside an existing dir
    g = changed(paths=lambda p: p.update({"/run/kn-lab": ["", "demo/", "demo/state.json"]}))
    h = changed(paths=lambda p: p.update({"/run/kn-lab": ["", "demo/", "demo/state.json", "demo/pids"]}))
    assert diff(g, h) == ["path added: /run/kn-lab/demo/pids"]


def proc(pid, comm, cmdline, netns, lab_cmd=False):
    return {"pid": pid, "comm": comm, "cmdline": cmdline, "netns": netns, "lab_cmd": lab_cmd}


@pytest.mark.unit
def test_processes():
    root = "net:[4026531833]"
    before = base_snapshot()
    after = copy.deepcopy(before)
    after["netns_ids"]["kn-demo.web"] = "net:[222]"
    after["processes"] += [
        proc(60, "kn-pause", "/work/main/build/kn-pause", "net:[222]", True),   # new, kn netns
        proc(61, "dnsmasq", "dnsmasq -k", root, True),                         # lab cmd in host netns
        proc(62, "sleep", "sleep 30", "net:[333]", False),                     # unknown new netns
        proc(63, "containerd-shim", "containerd-shim", "net:[111]", False),   # pre-existing other netns
    ]
    d = diff(before, after)
    assert d == ["process added: pid 60 kn-pause '/work/main/build/kn-pause' [netns kn-demo.web]",
                 "process added: pid 61 dnsmasq 'dnsmasq -k' [host netns]",
                 "process added: pid 62 sleep 'sleep 30' [netns net:[333]]"]
    # a process that existed before (same comm+cmdline, even with a new pid) is not new
    after2 = copy.deepcopy(before)
    after2["processes"] = [proc(99, "containerd", "containerd", "net:[111]")]
    assert diff(before, after2) == []
    # a second copy of an existing command is new
    before3 = copy.deepcopy(before)
    before3["processes"].append(proc(70, "nginx", "nginx: worker process", "net:[444]", True))
    after3 = copy.deepcopy(before3)
    after3["processes"].append(proc(71, "nginx", "nginx: worker process", "net:[444]", True))
    assert diff(before3, after3) == ["process added: pid 71 nginx 'nginx: worker process' [netns net:[444]]"]
    # processes that went away are not reported
    assert diff(after3, before3) == []


@pytest.mark.unit
def test_errors_are_reported():
    d = diff(base_snapshot(), changed(errors=lambda e: e.append("nft: exit 1: boom")))
    assert d == ["snapshot error (after only): nft: exit 1: boom"]


@pytest.mark.unit
def test_parse_iptables_save_strips_comments_and_counters():
    text = """# Generated by iptables-save v1.8.9 on Mon Nov 30 02:00:00 2026
*nat
:PREROUTING ACCEPT [12:720]
:KN-SVC - [0:0]
[3:180] -A PREROUTING -j KN-SVC
-A KN-SVC -d 10.96.0.10/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.244.0.5:53
COMMIT
# Completed on Mon Nov 30 02:00:00 2026
"""
    assert harness.parse_iptables_save(text, "ipv4") == [
        "ipv4 nat: table",
        "ipv4 nat: :PREROUTING ACCEPT",
        "ipv4 nat: :KN-SVC -",
        "ipv4 nat: -A PREROUTING -j KN-SVC",
        "ipv4 nat: -A KN-SVC -d 10.96.0.10/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.244.0.5:53",
    ]


@pytest.mark.unit
def test_parse_nft():
    text = """table inet kn {
\tset pods {
\t\ttype ipv4_addr
\t\telements = { 10.244.0.2 expires 9s, 10.244.0.3 }
\t}
\tchain fwd {
\t\ttype filter hook forward priority filter; policy accept;
\t\tip saddr @pods counter packets 5 bytes 300 accept
\t}
}
"""
    assert harness.parse_nft(text) == [
        "table inet kn",
        "table inet kn / set pods",
        "table inet kn / set pods / type ipv4_addr",
        "table inet kn / set pods / elements = { 10.244.0.2, 10.244.0.3 }",
        "table inet kn / chain fwd",
        "table inet kn / chain fwd / type filter hook forward priority filter; policy accept;",
        "table inet kn / chain fwd / ip saddr @pods accept",
    ]


@pytest.mark.unit
def test_read_sysctls_names_exclusions_and_unreadable(tmp_path):
    net = tmp_path / "net"
    (net / "ipv4" / "conf" / "eth0.100").mkdir(parents=True)
    (net / "netfilter").mkdir()
    (net / "ipv4" / "ip_forward").write_text("1\n")
    (net / "ipv4" / "tcp_rmem").write_text("4096\t131072\t6291456\n")
    (net / "ipv4" / "conf" / "eth0.100" / "forwarding").write_text("0\n")
    (net / "netfilter" / "nf_conntrack_count").write_text("17\n")
    (net / "ipv4" / "fastopen_broken").symlink_to(tmp_path / "nowhere")  # read fails -> skipped
    got = harness.read_sysctls(str(net))
    assert got == {"net.ipv4.ip_forward": "1",
                   "net.ipv4.tcp_rmem": "4096 131072 6291456",
                   "net.ipv4.conf.eth0/100.forwarding": "0"}


@pytest.mark.unit
def test_read_tree_and_mounts(tmp_path):
    assert harness.read_tree(str(tmp_path / "absent")) is None
    (tmp_path / "kn-demo.web").mkdir()
    (tmp_path / "kn-demo.web" / "hosts").write_text("")
    assert harness.read_tree(str(tmp_path)) == ["", "kn-demo.web/", "kn-demo.web/hosts"]
    mi = tmp_path / "mountinfo"
    mi.write_text("42 27 254:0 /run/netns /run/netns rw,relatime shared:1 - ext4 /dev/vda rw\n"
                  "43 42 0:4 net:[4026532177] /run/netns/kn-a.b rw shared:2 - nsfs nsfs rw\n"
                  "44 27 0:9 / /mnt/with\\040space rw - tmpfs tmpfs rw\n")
    assert harness.read_mounts(str(mi)) == [["/mnt/with space", "tmpfs", "tmpfs"],
                                            ["/run/netns", "ext4", "/dev/vda"],
                                            ["/run/netns/kn-a.b", "nsfs", "nsfs"]]


# =========================================================================== real host

def _run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True,
                          stdin=subprocess.DEVNULL)


_run_netns_mounts = harness._run_netns_mounts
temp_netns = harness.scratch_netns


def _unrelated(lines):
    """Lines about neither our namespace nor /run/netns (on a fresh host `ip netns add`
    also creates the /run/netns directory and its self bind mount)."""
    return [x for x in lines if "/run/netns" not in x and NS not in x]


def test_snapshot_is_complete_stable_and_fast():
    times = []
    snaps = []
    for _ in range(7):
        t0 = time.perf_counter()
        snaps.append(harness.snapshot())
        times.append(time.perf_counter() - t0)
    s = snaps[-1]
    assert s["errors"] == []
    assert "lo" in s["links"]
    assert any(k.startswith("lo inet 127.0.0.1/8") for k in s["addrs"])
    assert any(r.startswith("ipv4 ") for r in s["routes"])
    assert any(r.startswith("ipv4 ") for r in s["rules"]) and any(r.startswith("ipv6 ") for r in s["rules"])
    assert "net.ipv4.ip_forward" in s["sysctls"]
    assert not any(k.endswith("nf_conntrack_count") for k in s["sysctls"])
    assert any(m[0] == "/proc" for m in s["mounts"])
    assert s["host_netns"].startswith("net:[")
    # nothing moves by itself between snapshots
    for other in snaps[:-1]:
        assert diff(other, s) == []
    med = statistics.median(times)
    print(f"snapshot median {med * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")
    assert med < 1.0, f"snapshot too slow: median {med:.3f}s (target < 0.3s)"


def test_real_netns_is_reported_then_clean():
    before = harness.snapshot()
    with temp_netns(NS):
        d = diff(before, harness.snapshot())
        assert f"netns entry added: {NS}" in d
        assert f"mount added: /run/netns/{NS} nsfs (source nsfs)" in d
        assert _unrelated(d) == [], d
        # something inside the namespace is not the host's business
        _run("ip", "-n", NS, "link", "set", "lo", "up")
        _run("ip", "-n", NS, "link", "add", "hx0", "type", "veth", "peer", "name", "hx1")
        d2 = diff(before, harness.snapshot())
        assert sorted(d2) == sorted(d)
    d, _ = harness.settle_diff(before, timeout=5)
    assert _ours(d) == []


def test_process_in_netns_is_reported_and_zombies_are_not(tmp_path):
    with temp_netns(NS):
        # a process that already runs in the namespace before the snapshot is not "new"
        old = subprocess.Popen(["ip", "netns", "exec", NS, "sleep", "31"], stdin=subprocess.DEVNULL)
        new = zombie = None
        try:
            time.sleep(0.2)
            before = harness.snapshot()
            new = subprocess.Popen(["ip", "netns", "exec", NS, "sleep", "30"], stdin=subprocess.DEVNULL)
            zombie = subprocess.Popen(["ip", "netns", "exec", NS, "true"], stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + 5
            while _state(zombie.pid) != "Z" and time.monotonic() < deadline:
                time.sleep(0.02)  # not waited for: it stays a zombie
            assert _state(zombie.pid) == "Z"
            time.sleep(0.2)
            d = _ours(diff(before, harness.snapshot()), {old.pid, new.pid, zombie.pid})
            assert d == [f"process added: pid {new.pid} sleep 'sleep 30' [netns {NS}] (parent {_me()})"]
        finally:
            for p in (old, new, zombie):
                if p is not None:
                    if p.poll() is None:
                        p.send_signal(signal.SIGKILL)
                    p.wait(timeout=10)
        assert _ours(diff(before, harness.snapshot()), {old.pid, new.pid, zombie.pid}) == []


def test_lab_command_in_host_netns_is_reported(tmp_path):
    fake = tmp_path / "kn-pause"
    fake.symlink_to("/bin/sleep")  # comm becomes "kn-pause"; it does nothing but sleep
    before = harness.snapshot()
    p = subprocess.Popen([str(fake), "30"], stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.2)
        d = _ours(diff(before, harness.snapshot()), {p.pid})
        assert d == [f"process added: pid {p.pid} kn-pause '{fake} 30' [host netns] (parent {_me()})"]
    finally:
        p.kill()
        p.wait(timeout=10)
    assert _ours(diff(before, harness.snapshot()), {p.pid}) == []


def _ours(lines, pids=()):
    """Drop "process added" lines for processes this test did not start.

    The machine may be shared with developers running kn-lab binaries; the
    harness itself reports those (it must), but these assertions are about
    the objects this test creates.
    """
    out = []
    for x in lines:
        m = re.match(r"process added: pid (\d+) ", x)
        if m and int(m.group(1)) not in pids:
            continue
        out.append(x)
    return out


def _me() -> str:
    with open("/proc/self/comm") as fh:
        return f"{os.getpid()} {fh.read().strip()}"


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            s = fh.read()
        return s[s.rindex(")") + 2]
    except OSError:
        return "?"
