"""End-to-end tests of the foundation: labs 01 and 02 on real namespaces.

Every test here runs under host_guard (conftest.py): after the lab is down, the host's root
namespace, mounts, /run/netns, /etc/netns, /run/kn-lab and processes must be as before.
Traffic goes only between the lab's own namespaces, to the lab's own addresses.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import harness
from harness import listdir

from conftest import KN_LAB, REPO, _skip_or_fail

pytestmark = pytest.mark.e2e


def pod_ips(lab) -> dict[str, str]:
    return {p["metadata"]["name"]: p["status"]["podIP"] for p in lab.pods()["items"]}


def netns_of(labname: str) -> list[str]:
    return sorted(n for n in listdir("/run/netns") if n.startswith(f"kn-{labname}."))


def test_container_to_container_over_localhost(lab):
    c2c = lab("01-container-to-container")
    assert c2c.wait_tcp("web", "127.0.0.1", 8080)
    # The client container reaches its sibling on 127.0.0.1: one network namespace for both.
    r = c2c.exec("web", "curl", "-s", "--max-time", "3", "http://127.0.0.1:8080/")
    assert r.returncode == 0, r.stderr
    assert "pod: web\n" in r.stdout
    assert "client: 127.0.0.1:" in r.stdout
    # The server listens on localhost only: from the node, the pod's address is refused.
    ip = pod_ips(c2c)["web"]
    outside = c2c.ns_exec("node1", "curl", "-s", "--max-time", "3", f"http://{ip}:8080/")
    assert outside.returncode == 7, outside  # curl: connection refused
    # Both containers really are separate processes sharing the pause's namespaces.
    pods = c2c.pods()["items"]
    assert sum(c["ready"] for c in pods[0]["status"]["containerStatuses"]) == 2
    pause = int(pods[0]["metadata"]["annotations"]["kn-lab.io/pause-pid"])
    pids = subprocess.run(["ip", "netns", "pids", c2c.ns("web")], capture_output=True, text=True).stdout.split()
    assert str(pause) in pids and len(pids) == 3  # pause + server + client


def test_pod_to_pod_on_one_node(lab, kn):
    p2p = lab("02-pod-to-pod-same-node")
    ips = pod_ips(p2p)
    assert set(ips) == {"web", "api"}
    assert p2p.wait_tcp("api", ips["web"], 8080)

    ping = p2p.exec("web", "ping", "-c", "2", "-W", "2", ips["api"])
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert "2 received" in ping.stdout

    # api fetches a page from web by pod IP; the body names the pod that answered and shows
    # the client address it saw: api's own (no NAT between pods).
    page = p2p.exec("api", "curl", "-s", "--max-time", "3", f"http://{ips['web']}:8080/")
    assert page.returncode == 0, page.stderr
    assert "pod: web\n" in page.stdout
    assert f"ip: {ips['web']}\n" in page.stdout
    assert f"client: {ips['api']}:" in page.stdout

    # Hostname inside a pod is the pod name (its own UTS namespace, held by pause).
    assert p2p.exec("web", "hostname").stdout.strip() == "web"
    assert p2p.exec("web", "getent", "hosts", "web").stdout.split()[0] == ips["web"]

    # get pods -o wide lists the addresses the kernel really has.
    wide = kn("get", "pods", "-o", "wide", "--lab", p2p.name, check=True).stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"]
    netns = {p["metadata"]["name"]: p["metadata"]["annotations"]["kn-lab.io/netns"] for p in p2p.pods()["items"]}
    for line in wide[1:]:
        name, ready, status, _, _, ip, node, nominated, gates = line.split()
        assert (ready, status, node, nominated, gates) == ("1/1", "Running", "node1", "<none>", "<none>")
        addr = p2p.ns_exec(name, "ip", "-j", "addr", "show", "eth0", check=True).stdout
        assert ip in [a["local"] for a in json.loads(addr)[0]["addr_info"] if a["family"] == "inet"]
        assert netns[name] == p2p.ns(name)

    # The node's view: both veths on cni0, hairpin on, default route of pods via cni0's address.
    links = json.loads(p2p.ns_exec("node1", "bridge", "-d", "-j", "link", "show", check=True).stdout)
    assert len(links) == 2 and all(l["master"] == "cni0" and l["hairpin"] for l in links)
    route = p2p.ns_exec("web", "ip", "route", "show", "default", check=True).stdout
    assert route.startswith("default via 10.244.0.1 dev eth0")
    assert p2p.ns_exec("node1", "sysctl", "-n", "net.ipv4.ip_forward", check=True).stdout.strip() == "1"


def test_up_twice_changes_nothing(lab, kn):
    p2p = lab("02-pod-to-pod-same-node")
    before = netns_of(p2p.name)
    again = kn("up", "02-pod-to-pod-same-node")
    assert again.returncode == 0
    assert "already up and nothing drifted: nothing changed" in again.stdout
    assert netns_of(p2p.name) == before


def test_down_removes_everything(lab):
    p2p = lab("02-pod-to-pod-same-node")
    assert netns_of(p2p.name) == ["kn-p2p.api", "kn-p2p.node1", "kn-p2p.web"]
    r = p2p.down(check=True)
    assert "removed 3 namespaces, stopped 4 processes" in r.stdout
    assert netns_of(p2p.name) == []
    assert not Path("/run/kn-lab/p2p").exists()
    assert not Path("/etc/netns/kn-p2p.web").exists()
    # host_guard then compares the whole host against its snapshot.


def test_verbose_up_prints_equivalent_commands(lab):
    p2p = lab("02-pod-to-pod-same-node", "-v")  # global flag after the lab is accepted by CLI11
    err = p2p.up.stderr
    assert "+ ip netns add kn-p2p.node1" in err
    assert "+ ip -n kn-p2p.node1 link add cni0 mtu 1450 type bridge" in err
    assert "hairpin on" in err


# Fault points name the op (a part of its `ip` rendering, see `kn-lab up --dry-run`), so that they
# stay where they are when ops are added before them. A text that matches no op never fires: the
# tests below then fail on the exit status.
KILL_POINTS = [
    "ip netns add kn-p2p.node1",                       # the very first op
    "net.bridge.bridge-nf-call-iptables=1",            # the node half made
    "/etc/netns/kn-p2p.web/hosts",                     # a pod namespace, no files yet
    "hostname api && exec kn-pause",                   # web complete, api's pause not started
    "ip -n kn-p2p.web link set lo up",                 # web's veth made, not configured
    "ip -n kn-p2p.web route add default",
    "peer name eth0 netns kn-p2p.api",                 # api's pause running, no veth
    "ip -n kn-p2p.api link set eth0 up",
    "ip -n kn-p2p.api route add default",
    "logs/web_server.log",                             # the network done, no container yet
]
FAIL_POINTS = [
    "ip -n kn-p2p.node1 link set lo up",
    "/etc/netns/kn-p2p.web/hosts",
    "peer name eth0 netns kn-p2p.web",
    "/etc/netns/kn-p2p.api/resolv.conf",
    "logs/api_server.log",                             # the last op: everything to undo
]


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_up_killed_halfway_then_down_cleans(kill_at, kn):
    """SIGKILL `up` just before the named operation; `down` must still remove everything."""
    env = dict(os.environ, KNLAB_TEST_KILL_AT=kill_at)
    r = subprocess.run([str(KN_LAB), "up", "02-pod-to-pod-same-node"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == -9, r
    if netns_of("p2p"):
        # A half-made lab is reported and refused, not silently reused.
        again = kn("up", "02-pod-to-pod-same-node")
        assert again.returncode != 0 and "did not finish" in again.stderr
    d = kn("down", "p2p")
    assert d.returncode == 0, d.stderr
    assert netns_of("p2p") == []
    # A fresh up then works, and so does its down.
    kn("up", "02-pod-to-pod-same-node", check=True)
    kn("down", "p2p", check=True)


@pytest.mark.parametrize("fail_at", FAIL_POINTS)
def test_failed_up_rolls_back(fail_at, kn):
    env = dict(os.environ, KNLAB_TEST_FAIL_AT=fail_at)
    r = subprocess.run([str(KN_LAB), "up", "02-pod-to-pod-same-node"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "injected failure" in r.stderr and fail_at in r.stderr  # at the op named, not another
    # Nothing left even before any down: the transaction undid it.
    assert netns_of("p2p") == []
    assert not Path("/run/kn-lab/p2p").exists()


def test_bad_lab_file_is_refused_and_changes_nothing(kn, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[lab]\nname = "bad"\n[[node]]\nname = "node1"\n[[pod]]\nname = "web"\nnode = "node2"\n')
    r = kn("up", str(bad))
    assert r.returncode == 2
    assert f"{bad}:7:8: invalid input: pod 'web' is on node 'node2', which the lab does not define" in r.stderr
    assert "hint: nodes of this lab: node1" in r.stderr
    assert netns_of("bad") == []


def test_missing_program_is_found_before_anything_is_made(kn, tmp_path):
    f = tmp_path / "prog.toml"
    f.write_text('[lab]\nname = "prog"\n[[node]]\nname = "n"\n[[pod]]\nname = "p"\n'
                 '[[pod.container]]\nname = "c"\ncommand = ["no-such-program-kn"]\n')
    r = kn("up", str(f))
    assert r.returncode == 1
    assert "container 'c' of pod 'p': find program no-such-program-kn: not found on PATH" in r.stderr
    assert netns_of("prog") == []


@pytest.mark.parametrize("labfile,program,package", [
    ("09-ingress", "dnsmasq", "dnsmasq-base"),     # cluster DNS comes first in the lab's ops
    ("05-pod-to-pod-bgp", "bird", "bird2"),
])
def test_missing_daemon_is_named_with_its_package(labfile, program, package):
    # A PATH without /usr/sbin: Debian's daemons are not found; kn-lab's own helpers still are.
    r = subprocess.run([str(KN_LAB), "up", labfile], capture_output=True, text=True, timeout=30,
                       env={**os.environ, "PATH": "/usr/bin:/bin"})
    assert r.returncode == 1, r
    assert f"find program {program}" in r.stderr and f"apt-get install {package}" in r.stderr, r.stderr
    name = "ingress" if labfile == "09-ingress" else "bgp"
    assert netns_of(name) == [] and not os.path.exists(f"/run/kn-lab/{name}")


def test_not_root_is_told_what_it_needs():
    # A copy of kn-lab and the lab where any user can reach them: a clone under /root (0700, as
    # on a fresh Debian) is not.
    with tempfile.TemporaryDirectory(prefix="knlab-nonroot-") as d:
        os.chmod(d, 0o755)
        os.mkdir(f"{d}/bin")
        os.mkdir(f"{d}/labs")
        shutil.copy2(KN_LAB, f"{d}/bin/kn-lab")
        shutil.copy2(REPO / "labs" / "02-pod-to-pod-same-node.toml", f"{d}/labs/")
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", f"{d}/bin/kn-lab", "up",
                            "02-pod-to-pod-same-node"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "run as root" in r.stderr and "CAP_NET_ADMIN" in r.stderr
    assert netns_of("p2p") == []


def test_exec_and_logs_errors_name_the_targets(lab, kn):
    p2p = lab("02-pod-to-pod-same-node")
    r = kn("exec", "--lab", p2p.name, "nope", "--", "true")
    assert r.returncode == 2 and "targets: node1 web api" in r.stderr
    assert kn("exec", "--lab", p2p.name, "node1", "--", "ip", "link", "show", "cni0").returncode == 0
    logs = kn("logs", "--lab", p2p.name, "web")
    assert logs.returncode == 0


def test_containers_get_dockers_default_capabilities(lab):
    p2p = lab("02-pod-to-pod-same-node")
    # Reading routes, pinging and capturing work; rewiring the node does not.
    assert p2p.exec("web", "ip", "route").returncode == 0
    assert p2p.exec("web", "ping", "-c", "1", "-W", "2", "10.244.0.3").returncode == 0
    denied = p2p.exec("web", "ip", "link", "add", "dummy0", "type", "dummy")
    assert denied.returncode != 0 and "Operation not permitted" in denied.stderr
    status = p2p.exec("web", "grep", "CapBnd", "/proc/self/status", check=True).stdout
    assert status.split()[1] == "00000000a80425fb"  # Docker's default set, no NET_ADMIN/SYS_ADMIN
    # The container processes themselves run with the same set.
    pods = {p["metadata"]["name"]: p for p in p2p.pods()["items"]}
    pids = subprocess.run(["ip", "netns", "pids", p2p.ns("web")], capture_output=True, text=True).stdout.split()
    pause = pods["web"]["metadata"]["annotations"]["kn-lab.io/pause-pid"]
    server = [p for p in pids if p != pause]
    assert server
    with open(f"/proc/{server[0]}/status") as f:
        assert "CapBnd:\t00000000a80425fb" in f.read()


def test_up_on_a_running_lab_repairs_what_died(lab, kn):
    import os
    import signal
    import time

    p2p = lab("02-pod-to-pod-same-node")
    pods = {p["metadata"]["name"]: p for p in p2p.pods()["items"]}
    # Kill web's container and api's pause process, by pid (from the lab's own view).
    web_pids = subprocess.run(["ip", "netns", "pids", p2p.ns("web")], capture_output=True, text=True).stdout.split()
    web_server = next(pid for pid in web_pids if pid != pods["web"]["metadata"]["annotations"]["kn-lab.io/pause-pid"])
    os.kill(int(web_server), signal.SIGKILL)
    os.kill(int(pods["api"]["metadata"]["annotations"]["kn-lab.io/pause-pid"]), signal.SIGKILL)
    time.sleep(0.2)
    wide = kn("get", "pods", "--lab", p2p.name, check=True).stdout
    assert "Running" not in wide.splitlines()[1] and "Running" not in wide.splitlines()[2]  # the truth
    r = kn("up", "02-pod-to-pod-same-node", check=True)
    assert "repaired: pod web: container server is not running (restarted)" in r.stdout
    assert "repaired: pod api: its pause process is gone (restarted, with its containers)" in r.stdout
    after = kn("get", "pods", "--lab", p2p.name, check=True).stdout.splitlines()[1:]
    assert all(line.split()[2] == "Running" for line in after), after
    assert p2p.wait_tcp("api", pods["web"]["status"]["podIP"], 8080)
    assert p2p.exec("api", "hostname", check=True).stdout.strip() == "api"  # a new UTS namespace, named again
    again = kn("up", "02-pod-to-pod-same-node", check=True)
    assert "nothing drifted" in again.stdout


def _netns_dir_state() -> tuple[bool, bool, list[str]]:
    """(/run/netns exists, is a mount point, its entries)."""
    mounted = any(m[0] == "/run/netns" for m in harness.read_mounts())
    return os.path.isdir("/run/netns"), mounted, listdir("/run/netns")


@pytest.mark.parametrize("start", ["absent", "plain-directory", "iproute2-layout-with-a-namespace"])
def test_host_directories_are_left_as_found(start, kn):
    """Whatever state /run/netns is in (absent on a fresh machine, a plain directory, or the
    layout `ip netns add` leaves, holding somebody else's namespace), a lab's up and down leave it
    exactly so: kn-lab undoes only what it did itself."""
    exists, mounted, entries = _netns_dir_state()
    if entries or mounted or exists:
        _skip_or_fail(f"/run/netns is in use on this machine ({entries or 'a mount'}): "
                      "the test needs it absent at its start, as on a fresh machine")
    with contextlib.ExitStack() as stack:
        if start == "plain-directory":
            os.mkdir("/run/netns")
            stack.callback(os.rmdir, "/run/netns")
        elif start == "iproute2-layout-with-a-namespace":
            stack.enter_context(harness.scratch_netns("kn-hostdirs-other.x"))
        before = _netns_dir_state()
        kn("up", "02-pod-to-pod-same-node", check=True)
        assert _netns_dir_state()[1], "labs need /run/netns to be a (shared) mount"
        kn("down", "p2p", check=True)
        assert _netns_dir_state() == before
        assert not os.path.exists("/run/kn-lab")  # no marker left behind either
