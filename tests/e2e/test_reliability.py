"""Reliability beyond crashes of `up` (issue 6): a lab's desired state survives a reboot, a
stale lock of a dead process is taken over, and a data-plane daemon killed by hand is repaired
without leftovers."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import listdir

pytestmark = pytest.mark.e2e


def lab_pids(labname: str) -> list[int]:
    pids: set[int] = set()
    for ns in listdir("/run/netns"):
        if ns.startswith(f"kn-{labname}."):
            out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
            pids.update(int(p) for p in out.split())
    return sorted(pids)


def simulate_reboot(labname: str) -> None:
    """What a reboot does to a lab: its processes and namespaces are gone, and so is /run."""
    for pid in lab_pids(labname):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for ns in listdir("/run/netns"):
        if ns.startswith(f"kn-{labname}."):
            subprocess.run(["ip", "netns", "del", ns], check=True)
    shutil.rmtree(f"/run/kn-lab/{labname}")
    Path(f"/run/kn-lab/{labname}.lock").unlink(missing_ok=True)
    for d in listdir("/etc/netns"):
        if d.startswith(f"kn-{labname}."):
            shutil.rmtree(f"/etc/netns/{d}")


def test_desired_state_survives_a_reboot(lab, kn):
    s = lab("06-service-clusterip")
    # Live changes: they are part of the desired state to bring back.
    kn("scale", "deploy/ghost", "--replicas=2", "--lab", s.name, check=True)
    kn("create", "deploy", "extra", "--image=nginx", "--lab", s.name, check=True)
    before = {p["metadata"]["name"]: p["status"]["podIP"] for p in s.pods()["items"]}
    assert Path(f"/var/lib/kn-lab/{s.name}/lab.toml").is_file()

    simulate_reboot(s.name)
    st = kn("status", check=True).stdout
    assert re.search(rf"^{s.name}\s+stopped\s", st, re.M), st

    r = kn("up", s.name, check=True)
    assert "restoring lab svc from its kept desired state" in r.stdout, r.stdout
    after = {p["metadata"]["name"]: p["status"]["podIP"] for p in s.pods()["items"]}
    assert after == before  # same pods, same names, same addresses
    ghost = next(n for n in after if n.startswith("ghost-"))
    vip = kn("get", "svc", "ghost", "--lab", s.name, check=True).stdout.splitlines()[1].split()[2]
    assert s.wait_tcp("client", after[ghost], 2368)
    body = s.exec("client", "curl", "-s", "--max-time", "3", f"http://{vip}:2368/", check=True).stdout
    assert body.startswith("pod: ghost-"), body

    # down forgets it: nothing is kept.
    s.down(check=True)
    assert not Path(f"/var/lib/kn-lab/{s.name}").exists()


def test_stale_lock_of_a_dead_process_is_taken_over(lab, kn):
    os.makedirs("/run/kn-lab", mode=0o700, exist_ok=True)
    path = "/run/kn-lab/p2p.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl,sys,time; f=open(sys.argv[1],'w'); fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)",
         path], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        holder.kill()  # dies holding the lock: the kernel releases it, the file stays
        holder.wait()
        assert os.path.exists(path)
        t0 = time.monotonic()
        s = lab("02-pod-to-pod-same-node")
        assert time.monotonic() - t0 < 5
        assert s.up.returncode == 0
    finally:
        if holder.poll() is None:
            holder.kill()


def test_nginx_killed_by_hand_is_seen_and_repaired_without_leftovers(lab, kn):
    s = lab("09-ingress")
    url = "http://192.168.56.11:30080/api"
    deadline = time.monotonic() + 10
    while s.exec("external", "curl", "-sf", "--max-time", "2", url).returncode != 0:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    conf = f"/run/kn-lab/{s.name}/nginx/ingress-nginx.ingress-nginx-controller/nginx.conf"
    master = int(subprocess.run(["pgrep", "-f", f"nginx: master.*{conf}"], capture_output=True, text=True).stdout.split()[0])
    os.kill(master, signal.SIGKILL)  # its worker lives on, orphaned, holding port 80
    time.sleep(0.2)
    pods = kn("get", "pods", "-n", "ingress-nginx", "--lab", s.name, check=True).stdout.splitlines()[1].split()
    assert pods[1] == "0/1" and pods[2] != "Running", pods
    r = kn("up", "09-ingress", check=True)
    assert "container controller is not running (restarted)" in r.stdout, r.stdout
    deadline = time.monotonic() + 10
    while True:
        body = s.exec("external", "curl", "-s", "--max-time", "2", url).stdout
        if body.startswith("pod: api-"):
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.1)
    # One master and its worker: the orphaned worker of the killed master is gone.
    ps = subprocess.run(["pgrep", "-f", "nginx: worker"], capture_output=True, text=True).stdout.split()
    mine = [p for p in ps if any(p == q for q in map(str, lab_pids(s.name)))]
    assert len(mine) == 1, mine
    assert "nothing drifted" in kn("up", "09-ingress", check=True).stdout


def test_up_repairs_missing_links_routes_and_rules_in_place(lab, kn):
    s = lab("06-service-clusterip")
    ghost = next(p for p in s.pods()["items"] if p["metadata"]["name"].startswith("ghost-")
                 and p["spec"]["nodeName"] == "node2")
    vip = kn("get", "svc", "ghost", "--lab", s.name, check=True).stdout.splitlines()[1].split()[2]
    # Break the data path five ways: node1's VXLAN device, node2's Service rules, node3's bridge,
    # a pod's route.
    s.ns_exec("node1", "ip", "link", "del", "flannel.1", check=True)
    s.ns_exec("node2", "iptables-legacy", "-t", "nat", "-F", "KUBE-SERVICES", check=True)
    s.ns_exec("node3", "ip", "link", "set", "cni0", "down", check=True)
    # ... and node1's first DNAT edited in place to another port (same rule count: a compare of
    # counts would miss it).
    dnat = next(l for l in s.ns_exec("node1", "iptables-legacy-save", "-t", "nat", check=True).stdout.splitlines()
                if l.startswith("-A KUBE-SEP-") and "-j DNAT" in l)
    chain, rest = dnat.split()[1], dnat.split()[2:]
    edited = [a.replace(":2368", ":2369").strip("\"") for a in rest]
    s.ns_exec("node1", "iptables-legacy", "-t", "nat", "-R", chain, "2", *edited, check=True)
    subprocess.run(["ip", "netns", "exec", ghost["metadata"]["annotations"]["kn-lab.io/netns"], "ip", "route", "del", "default"], check=True)
    assert s.exec("client", "curl", "-s", "--max-time", "2", f"http://{ghost['status']['podIP']}:2368/").returncode != 0

    r = kn("up", "06-service-clusterip", check=True).stdout
    assert "made again: ip -n kn-svc.node1 link add flannel.1" in r, r
    assert f"made again: ip -n {ghost['metadata']['annotations']['kn-lab.io/netns']} route add default" in r, r
    assert "kn-svc.node2: the iptables nat table differed from kube-proxy's rules (rewritten)" in r, r
    assert "kn-svc.node3: link cni0 was down (set up)" in r, r
    assert "kn-svc.node1: the iptables nat table differed from kube-proxy's rules (rewritten)" in r, r
    assert ":2369" not in s.ns_exec("node1", "iptables-legacy-save", "-t", "nat", check=True).stdout
    # Traffic flows again, across nodes and through the Service.
    assert s.wait_tcp("client", ghost["status"]["podIP"], 2368)
    seen = s.exec("client", "sh", "-c", f"for i in $(seq 30); do curl -s --max-time 2 http://{vip}:2368/ | head -1; done",
                  check=True).stdout.splitlines()
    assert f"pod: {ghost['metadata']['name']}" in seen, seen
    assert "nothing drifted" in kn("up", "06-service-clusterip", check=True).stdout


def _kill_by_cmdline(pattern: str, labname: str) -> int:
    """SIGKILLs the lab's process whose command line matches `pattern`; returns its pid."""
    mine = set(lab_pids(labname))
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    pid = next(int(p) for p in out if int(p) in mine)
    os.kill(pid, signal.SIGKILL)
    return pid


def test_bird_killed_by_hand_is_repaired_and_routes_come_back(lab, kn):
    s = lab("05-pod-to-pod-bgp")
    _kill_by_cmdline(r"bird -f -c /run/kn-lab/bgp/bird/node2/", s.name)
    time.sleep(0.3)
    r = kn("up", "05-pod-to-pod-bgp", check=True).stdout
    assert "node2: bird is not running (restarted)" in r, r
    # BIRD on node2 learns the other nodes' pod subnets again (proto bird routes).
    deadline = time.monotonic() + 15
    while True:
        routes = s.ns_exec("node2", "ip", "route", "show", "proto", "bird", check=True).stdout
        if routes.count("via 192.168.56.") >= 2:
            break
        assert time.monotonic() < deadline, routes
        time.sleep(0.2)
    assert "nothing drifted" in kn("up", "05-pod-to-pod-bgp", check=True).stdout


def test_dnsmasq_killed_by_hand_is_repaired_and_names_resolve(lab, kn):
    s = lab("06-service-clusterip")
    _kill_by_cmdline(r"dnsmasq --keep-in-foreground", s.name)
    time.sleep(0.3)
    pods = kn("get", "pods", "-n", "kube-system", "--lab", s.name, check=True).stdout.splitlines()[1].split()
    assert pods[1] == "0/1", pods
    r = kn("up", "06-service-clusterip", check=True).stdout
    assert "container dnsmasq is not running (restarted)" in r, r
    deadline = time.monotonic() + 10
    while True:
        ans = s.exec("client", "getent", "hosts", "ghost.default.svc.cluster.local")
        if ans.returncode == 0 and ans.stdout.startswith("10."):
            break
        assert time.monotonic() < deadline, ans
        time.sleep(0.2)
