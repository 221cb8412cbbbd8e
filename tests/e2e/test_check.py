"""kn-lab check on every lab: the lab file's checks pass right after `up`, and after a deliberate
break the checks that prove the broken thing fail, with their hints; the others keep passing."""
import json
import pathlib

import pytest

LABS = pathlib.Path(__file__).resolve().parents[2] / "labs"


def check(kn, *args):
    r = kn("check", *args, "-o", "json", check=False, timeout=120)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert (r.returncode == 0) == out["passed"]
    return {c["name"]: c for c in out["checks"]}


def failed(results):
    return {n for n, c in results.items() if c["result"] != "PASS"}


def ip(lab, node, *args):
    r = lab.ns_exec(node, "ip", *args)
    assert r.returncode == 0, r.stderr


# lab file -> (how to break it, the checks that must then fail; every other check still passes)
BREAKS = {
    "01-container-to-container": None,
    "02-pod-to-pod-same-node": (lambda lab, kn: ip(lab, "node1", "link", "set", "cni0", "down"),
                                {"ping-through-cni0", "http-between-pods", "bridge-learnt-macs", "pod-subnet-on-cni0"}),
    "03-pod-to-pod-vxlan": (lambda lab, kn: ip(lab, "node1", "route", "del", "10.244.1.0/24"),
                            {"route-via-flannel", "wire-carries-vxlan"}),
    "04-pod-to-pod-host-gw": (lambda lab, kn: ip(lab, "node1", "route", "del", "10.244.1.0/24"),
                              {"route-via-node2", "wire-carries-plain-ip"}),
    "05-pod-to-pod-bgp": None,
    "05b-two-racks": None,
    "06-service-clusterip": (lambda lab, kn: kn("scale", "deploy/ghost", "--replicas=2"),
                             {"balanced-over-three", "three-ghost-pods"}),
    "07-service-nodeport": (lambda lab, kn: kn("scale", "deploy/podinfo", "--replicas=0"),
                            {"nodeport-on-every-node", "cluster-policy-masquerades", "local-policy-keeps-client"}),
    "08-service-loadbalancer": (lambda lab, kn: kn("scale", "deploy/web", "--replicas=1"), {"balanced-over-three"}),
    "09-ingress": (lambda lab, kn: kn("delete", "ingress", "ingress"),
                   {"api-through-ingress", "both-api-pods", "default-backend-404", "any-node-forwards"}),
    "10-gateway-api": (lambda lab, kn: kn("delete", "httproute", "api-route"),
                       {"route-accepted", "api-through-gateway", "both-api-pods", "unrouted-path-404"}),
    "11-network-policy": (lambda lab, kn: kn("apply", "-f", str(LABS.parent / "manifests/exercises/default-deny-ingress.yaml")),
                          {"dev-open-before-policy"}),
    "course": None,
}


def test_every_lab_is_covered():
    assert sorted(BREAKS) == sorted(p.stem for p in LABS.glob("*.toml"))


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_checks_pass_after_up_and_fail_after_a_break(lab, kn, name):
    running = lab(name)
    results = check(kn)
    assert results, "the lab declares no checks"
    assert not failed(results), json.dumps(results, indent=1)
    if BREAKS[name] is None:
        return
    brk, expected = BREAKS[name]
    brk(running, kn)
    after = check(kn)
    assert failed(after) == expected, json.dumps(after, indent=1)
    for n in expected:
        if after[n]["result"] == "FAIL":
            assert after[n]["hint"], n
    text = kn("check", check=False)
    assert text.returncode == 1
    for n in expected:
        if after[n]["result"] == "FAIL":
            assert "hint: " + after[n]["hint"] in text.stdout, text.stdout
