"""Two labs at once, and two commands on one lab at once (issue 6, concurrency)."""

from __future__ import annotations

import subprocess

import pytest

from conftest import KN_LAB

pytestmark = pytest.mark.e2e


def test_two_labs_up_at_once_do_not_clash(lab, kn):
    a = lab("02-pod-to-pod-same-node")
    b = lab("06-service-clusterip")  # same pod CIDR, same node names: separate namespaces
    labs = {line.split()[0]: line.split()[1] for line in kn("status", check=True).stdout.splitlines()[1:]}
    assert labs == {"p2p": "up", "svc": "up"}
    ip_a = {p["metadata"]["name"]: p["status"]["podIP"] for p in a.pods()["items"]}
    assert a.wait_tcp("api", ip_a["web"], 8080)
    body = a.exec("api", "curl", "-s", "--max-time", "3", f"http://{ip_a['web']}:8080/", check=True).stdout
    assert body.startswith("pod: web\n")  # lab p2p's own web, though lab svc uses the same addresses
    assert b.exec("client", "curl", "-s", "--max-time", "3", "http://ghost:2368/", check=True).stdout.startswith("pod: ghost-")
    # Without --lab, a command that needs one lab says which are up.
    r = kn("get", "pods")
    assert r.returncode == 1 and "several labs are up (p2p, svc)" in r.stderr


def test_two_changes_at_once_are_serialised_and_both_take_effect(lab, kn):
    v = lab("03-pod-to-pod-vxlan")
    procs = [subprocess.Popen([str(KN_LAB), "create", "deploy", name, "--image=nginx", "--replicas=2", "--lab", v.name],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("one", "two")]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    deploys = kn("get", "deploy", "--lab", v.name, check=True).stdout
    assert "one " in deploys and "two " in deploys
    names = [p["metadata"]["name"] for p in v.pods()["items"]]
    assert sum(n.startswith("one-") for n in names) == 2 and sum(n.startswith("two-") for n in names) == 2
