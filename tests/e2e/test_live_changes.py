"""Changing a running lab as the course does with kubectl: create deploy, expose, scale,
delete pod (replaced with a new name and address), run, delete svc/deploy. Endpoints and
kube-proxy's rules follow, and traffic follows them."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def endpoints(kn, lab, svc) -> list[str]:
    field = kn("get", "endpoints", svc, "--lab", lab, check=True).stdout.splitlines()[1].split()[1]
    return [] if field == "<none>" else field.split(",")


def ghost_pods(lab) -> dict[str, dict]:
    return {p["metadata"]["name"]: p for p in lab.pods()["items"] if p["metadata"]["name"].startswith("ghost-")}


def answering(lab, n: int = 40) -> set[str]:
    script = f"for i in $(seq {n}); do curl -s --max-time 2 http://ghost:2368/ | head -1; done"
    return {l.removeprefix("pod: ") for l in lab.exec("a1", "sh", "-c", script, check=True).stdout.splitlines()}


def wait_ghosts(lab):
    for name, p in ghost_pods(lab).items():
        assert lab.wait_tcp(name, p["status"]["podIP"], 2368), name


def test_create_expose_scale_delete_follow_through_to_traffic(lab, kn):
    v = lab("03-pod-to-pod-vxlan")
    r = kn("create", "deploy", "ghost", "--replicas=3", "--image=ghost:4", "--lab", v.name, check=True)
    assert "deployment.apps/ghost created (3 pods started" in r.stdout
    kn("expose", "deploy/ghost", "--port=2368", "--lab", v.name, check=True)
    wait_ghosts(v)
    pods = ghost_pods(v)
    assert len(pods) == 3
    assert sorted(endpoints(kn, v.name, "ghost")) == sorted(f"{p['status']['podIP']}:2368" for p in pods.values())
    assert answering(v) == set(pods)  # by DNS name, through the ClusterIP, to every replica

    kn("scale", "deploy/ghost", "--replicas=5", "--lab", v.name, check=True)
    wait_ghosts(v)
    pods5 = ghost_pods(v)
    assert len(pods5) == 5 and set(pods) <= set(pods5)  # the first three keep their names
    for name in pods:
        assert pods5[name]["status"]["podIP"] == pods[name]["status"]["podIP"]  # and addresses
    assert len(endpoints(kn, v.name, "ghost")) == 3  # kubectl shows three, then "+ 2 more..."
    assert answering(v, 60) == set(pods5)

    kn("scale", "deploy/ghost", "--replicas=1", "--lab", v.name, check=True)
    pods1 = ghost_pods(v)
    assert len(pods1) == 1
    (only, p1), = pods1.items()
    assert endpoints(kn, v.name, "ghost") == [f"{p1['status']['podIP']}:2368"]
    assert answering(v, 10) == {only}

    # A deleted pod of a Deployment is replaced: new name, new address, and traffic follows.
    kn("delete", "pod", only, "--lab", v.name, check=True)
    wait_ghosts(v)
    (new, pnew), = ghost_pods(v).items()
    assert new != only and pnew["status"]["podIP"] != p1["status"]["podIP"]
    assert endpoints(kn, v.name, "ghost") == [f"{pnew['status']['podIP']}:2368"]
    assert answering(v, 10) == {new}

    # Deleting the Service removes its rules: the name no longer resolves, the VIP is gone.
    kn("delete", "svc", "ghost", "--lab", v.name, check=True)
    dump = v.ns_exec("node1", "iptables-legacy-save", "-t", "nat", check=True).stdout
    assert "default/ghost" not in dump
    kn("delete", "deploy", "ghost", "--lab", v.name, check=True)
    assert ghost_pods(v) == {}


def test_run_places_a_pod_and_exposes_it(lab, kn):
    v = lab("03-pod-to-pod-vxlan")
    r = kn("run", "web", "--image=nginx", "--port=80", "--expose", "--lab", v.name, check=True)
    assert "service/web created\npod/web created" in r.stdout
    web = next(p for p in v.pods()["items"] if p["metadata"]["name"] == "web")
    assert v.wait_tcp("web", web["status"]["podIP"], 80)
    body = v.exec("a1", "curl", "-s", "--max-time", "3", "http://web/", check=True).stdout
    assert body.startswith("pod: web\n")


def test_bad_live_changes_are_refused_and_change_nothing(lab, kn):
    v = lab("03-pod-to-pod-vxlan")
    before = sorted(p["metadata"]["name"] for p in v.pods()["items"])
    r = kn("create", "deploy", "Bad_Name", "--image=ghost:4", "--lab", v.name)
    assert r.returncode == 2 and "must be lowercase" in r.stderr
    r = kn("create", "deploy", "x", "--image=redis:7", "--lab", v.name)
    assert r.returncode == 2 and "not in kn-lab's image catalogue" in r.stderr
    r = kn("scale", "deploy/nope", "--replicas=2", "--lab", v.name)
    assert r.returncode == 1 and 'deployments.apps "nope" not found' in r.stderr
    r = kn("scale", "deploy/x", "--replicas=-1", "--lab", v.name)
    assert r.returncode != 0
    r = kn("expose", "pod/a1", "--port=80", "--lab", v.name)
    assert r.returncode == 0  # a1 has labels (app=demo): fine
    r = kn("expose", "pod/a1", "--port=80", "--lab", v.name)
    assert r.returncode == 1 and 'services "a1" already exists' in r.stderr
    assert sorted(p["metadata"]["name"] for p in v.pods()["items"] if not p["metadata"]["name"].startswith("kube-dns")) == before


def test_patch_service_type_and_traffic_policy_in_place(lab, kn):
    v = lab("03-pod-to-pod-vxlan")
    kn("run", "solo", "--image=nginx", "--lab", v.name, check=True)
    kn("expose", "pod/solo", "--port=80", "--name=demo", "--lab", v.name, check=True)
    kn("patch", "svc", "demo", "-p", '{"spec":{"type":"NodePort"}}', "--lab", v.name, check=True)
    row = kn("get", "svc", "demo", "--lab", v.name, check=True).stdout.splitlines()[1].split()
    node_port = int(row[4].split(":")[1].split("/")[0])
    solo = next(p for p in v.pods()["items"] if p["metadata"]["name"] == "solo")
    assert v.wait_tcp("solo", solo["status"]["podIP"], 80)
    ips = {"node1": "192.168.56.11", "node2": "192.168.56.12", "node3": "192.168.56.13"}
    home = ips[solo["spec"]["nodeName"]]
    other = next(ip for n, ip in ips.items() if n != solo["spec"]["nodeName"])
    # Cluster policy: a node without the endpoint forwards, with SNAT.
    r = v.ns_exec("external", "curl", "-s", "--max-time", "3", f"http://{other}:{node_port}/clientip", check=True)
    assert not r.stdout.startswith("192.168.56.2:")
    kn("patch", "svc", "demo", "-p", '{"spec":{"externalTrafficPolicy":"Local"}}', "--lab", v.name, check=True)
    local = v.ns_exec("external", "curl", "-s", "--max-time", "3", f"http://{home}:{node_port}/clientip", check=True)
    assert local.stdout.startswith("192.168.56.2:")  # the client address is kept
    dropped = v.ns_exec("external", "curl", "-s", "--max-time", "2", f"http://{other}:{node_port}/")
    assert dropped.returncode == 28
    desc = kn("describe", "svc", "demo", "--lab", v.name, check=True).stdout
    assert "External Traffic Policy:  Local" in desc


def test_client_ip_session_affinity_pins_a_client_to_one_pod(lab, kn):
    v = lab("03-pod-to-pod-vxlan")
    kn("create", "deploy", "ghost", "--replicas=3", "--image=ghost:4", "--lab", v.name, check=True)
    kn("expose", "deploy/ghost", "--port=2368", "--lab", v.name, check=True)
    wait_ghosts(v)
    assert len(answering(v, 30)) == 3  # balanced without affinity
    kn("patch", "svc", "ghost", "-p", '{"spec":{"sessionAffinity":"ClientIP"}}', "--lab", v.name, check=True)
    assert len(answering(v, 20)) == 1  # the recent match sends a1 back to the same pod
    dump = v.ns_exec("node1", "iptables-legacy-save", "-t", "nat", check=True).stdout
    assert "-m recent --rcheck --seconds 10800 --reap" in dump


def test_scale_down_then_up_at_once_reuses_pod_names(lab, kn):
    # Replica 2 goes and comes back under the same name, its veth name with it: the node's end of
    # the old veth must be gone by then, not left to the kernel's asynchronous namespace cleanup.
    s = lab("06-service-clusterip")
    for _ in range(3):
        kn("scale", "deploy/ghost", "--replicas=1", "--lab", s.name, check=True)
        kn("scale", "deploy/ghost", "--replicas=3", "--lab", s.name, check=True)
    ghosts = [p for p in s.pods()["items"] if p["metadata"]["name"].startswith("ghost-")]
    assert len(ghosts) == 3 and all(p["status"]["phase"] == "Running" for p in ghosts), ghosts
    for p in ghosts:
        assert s.wait_tcp("client", p["status"]["podIP"], 2368), p["metadata"]["name"]
