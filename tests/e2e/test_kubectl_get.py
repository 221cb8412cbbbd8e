"""kubectl's `get` on a running lab (issue 15): the argument forms (TYPE NAME, TYPE/NAME,
TYPE1,TYPE2, all, -l, -A), the API objects (-o json of a named object is the object; of a list,
a List), -o yaml that reads back, -o name, and the fields the course's exercises read (a
NodePort, a node's InternalIP, a pod's IP), checked against the kernel."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

pytestmark = pytest.mark.e2e

LAB = "07-service-nodeport"


def get(kn, v, *args) -> str:
    return kn("get", *args, "--lab", v.name, check=True).stdout


def test_objects_and_argument_forms(lab, kn):
    v = lab(LAB)
    svc = json.loads(get(kn, v, "svc", "podinfo", "-o", "json"))
    assert svc["kind"] == "Service" and svc["apiVersion"] == "v1"  # the object, not a List
    meta = svc["metadata"]
    assert meta["name"] == "podinfo" and meta["namespace"] == "default" and len(meta["uid"]) == 36
    assert meta["creationTimestamp"].endswith("Z")
    node_port = svc["spec"]["ports"][0]["nodePort"]
    assert svc["spec"]["type"] == "NodePort" and svc["spec"]["clusterIPs"] == [svc["spec"]["clusterIP"]]
    # The same object through TYPE/NAME and a short name.
    assert json.loads(get(kn, v, "service/podinfo", "-o", "json")) == svc

    listed = json.loads(get(kn, v, "svc", "-o", "json"))
    assert listed["kind"] == "List" and "podinfo" in {i["metadata"]["name"] for i in listed["items"]}

    # A node's InternalIP, as the exercises read it, is the node namespace's eth0 address.
    nodes = json.loads(get(kn, v, "nodes", "-o", "json"))["items"]
    node1 = next(n for n in nodes if n["metadata"]["name"] == "node1")
    ip = next(a["address"] for a in node1["status"]["addresses"] if a["type"] == "InternalIP")
    addr = subprocess.run(["ip", "-n", f"kn-{v.name}.node1", "-j", "addr", "show", "eth0"], capture_output=True, text=True, check=True).stdout
    assert ip in [a["local"] for a in json.loads(addr)[0]["addr_info"] if a["family"] == "inet"]
    # The exercises' own way to read them: kubectl's JSONPath, a filter included.
    assert get(kn, v, "svc", "podinfo", "-o", "jsonpath={.spec.ports[0].nodePort}") == str(node_port)
    assert get(kn, v, "nodes", "node1", "-o", 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}') == ip
    cols = get(kn, v, "pods", "-l", "app=podinfo", "-o", "custom-columns=NAME:.metadata.name,IP:.status.podIP").splitlines()
    assert cols[0].split() == ["NAME", "IP"] and len(cols) >= 2
    for line in cols[1:]:
        name, pod_ip = line.split()
        assert v.wait_tcp(name, pod_ip, 9898), line  # the address the column shows is the pod's
    # ... and the NodePort read from the Service answers there.
    r = v.ns_exec("external", "curl", "-s", "--max-time", "5", f"http://{ip}:{node_port}/", check=True)
    assert r.stdout

    # Pods: their IPs, owners and readiness; -l selects by label.
    pods = json.loads(get(kn, v, "pods", "-l", "app=podinfo", "-o", "json"))["items"]
    assert pods and all(p["metadata"]["labels"]["app"] == "podinfo" for p in pods)
    for p in pods:
        assert p["status"]["phase"] == "Running" and p["status"]["podIP"]
        owner = p["metadata"]["ownerReferences"][0]
        assert owner["kind"] == "ReplicaSet" and p["metadata"]["name"].startswith(owner["name"] + "-")
    assert get(kn, v, "pods", "-l", "app=nothing", "-o", "json").count('"items": []') == 1

    # -o name, several kinds at once, all, --no-headers.
    names = get(kn, v, "deploy,svc", "-o", "name").split()
    assert "deployment.apps/podinfo" in names and "service/podinfo" in names
    every = get(kn, v, "all")
    assert "pod/" in every and "service/podinfo" in every and "deployment.apps/podinfo" in every and "replicaset.apps/podinfo-" in every
    rows = get(kn, v, "nodes", "--no-headers").splitlines()
    assert len(rows) == 3 and not rows[0].startswith("NAME")

    # Namespaces are objects; cluster-scoped kinds ignore -n.
    spaces = get(kn, v, "ns", "--no-headers").split()
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= set(spaces)

    # -o yaml of a list reads back as the same objects.
    assert yaml.safe_load(get(kn, v, "svc", "-o", "yaml")) == json.loads(get(kn, v, "svc", "-o", "json"))


def test_not_found_and_unknown_kinds(lab, kn):
    v = lab(LAB)
    r = kn("get", "svc", "nothing", "--lab", v.name)
    assert r.returncode != 0 and 'services "nothing" not found' in r.stderr
    r = kn("get", "pdos", "--lab", v.name)
    assert r.returncode == 2 and "did you mean 'pods'" in r.stderr


def test_each_object_keeps_its_own_creation_time(lab, kn):
    """AGE is the object's own: an object made later is younger, and a live change of another
    object or a repairing `up` leaves every time as it was."""
    import time
    v = lab("03-pod-to-pod-vxlan")

    def times() -> dict[str, str]:
        out = {}
        for kind in ("nodes", "pods", "deploy"):
            for o in json.loads(get(kn, v, kind, "-o", "json"))["items"]:
                out[f'{o["kind"]}/{o["metadata"]["name"]}'] = o["metadata"]["creationTimestamp"]
        return out

    first = times()
    time.sleep(2)
    kn("create", "deploy", "later", "--image=nginx", "--replicas=1", "--lab", v.name, check=True)
    second = times()
    new = {k: t for k, t in second.items() if k not in first}
    assert "Deployment/later" in new and any(k.startswith("Pod/later-") for k in new)
    assert all(t > first["Node/node1"] for t in new.values()), new
    assert {k: second[k] for k in first} == first
    kn("scale", "deploy/later", "--replicas=2", "--lab", v.name, check=True)
    third = times()
    assert {k: third[k] for k in second} == second  # the first pod and everything else keep theirs
    kn("up", "03-pod-to-pod-vxlan", check=True)
    assert times() == third
    age = get(kn, v, "pods").splitlines()
    assert any(l.startswith("later-") and l.split()[-1] in ("0s", "1s", "2s") for l in age)
    assert any(l.startswith("a1 ") and l.split()[-1] in ("2s", "3s", "4s", "5s") for l in age)
