"""`kn-lab describe`: kubectl's argument forms (TYPE, TYPE NAME..., TYPE/NAME..., a name prefix,
-n, -A, -l) and its text for a few kinds on a real lab, printed from the objects `get -o json`
shows (tests/unit/test_describe.cpp checks each kind's layout line by line)."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.e2e

LAB = "06-service-clusterip"  # ghost x3 behind Service ghost, pod client, Service nothing; kube-dns


def names(text: str) -> list[str]:
    """The objects a describe printed, in order (each starts with a Name: line)."""
    return re.findall(r"^Name:\s+(\S+)$", text, re.M)


def test_describe_argument_forms(lab, kn):
    s = lab(LAB)
    d = lambda *a, **kw: kn("describe", *a, "--lab", s.name, **kw)
    # TYPE: every object of the kind in the namespace, separated by blank lines as kubectl does.
    svc = d("svc", check=True).stdout
    assert names(svc) == ["ghost", "nothing"], svc
    assert "Events:                   <none>\n\n\nName:                     nothing\n" in svc, svc
    # TYPE NAME..., TYPE/NAME..., in the order asked.
    assert names(d("svc", "nothing", "ghost", check=True).stdout) == ["nothing", "ghost"]
    both = d("svc/ghost", "deploy/ghost", check=True).stdout
    assert names(both) == ["ghost", "ghost"] and "Replicas:" in both and "Selector:                 app=ghost" in both, both
    # A name that is no object's is a prefix, as kubectl describe takes it.
    pods = json.loads(kn("get", "pods", "-l", "app=ghost", "-o", "json", "--lab", s.name, check=True).stdout)["items"]
    ghost_pods = sorted(p["metadata"]["name"] for p in pods)
    assert sorted(names(d("pod", "ghost", check=True).stdout)) == ghost_pods
    # -l, -n, -A.
    assert sorted(names(d("pods", "-l", "app=ghost", check=True).stdout)) == ghost_pods
    assert names(d("svc", "-n", "kube-system", check=True).stdout) == ["kube-dns"]
    assert sorted(names(d("svc", "-A", check=True).stdout)) == ["ghost", "kube-dns", "nothing"]
    r = d("svc", "ghost", "-l", "app=ghost")
    assert r.returncode != 0 and "name cannot be provided when a selector is specified" in r.stderr, r
    # Unknown names and kinds: kubectl's messages.
    r = d("svc", "missing")
    assert r.returncode == 1 and 'Error from server (NotFound): services "missing" not found' in r.stderr, r
    r = d("deploy/missing")
    assert r.returncode == 1 and 'deployments.apps "missing" not found' in r.stderr, r
    r = d("frobs")
    assert r.returncode == 2 and 'the server doesn\'t have a resource type "frobs"' in r.stderr, r
    r = d("pods", "-l", "app=none", check=True)
    assert r.stdout == "" and "No resources found in default namespace." in r.stderr, r


def test_describe_service_pod_node_deployment(lab, kn):
    s = lab(LAB)
    d = lambda *a: kn("describe", *a, "--lab", s.name, check=True).stdout
    svc = json.loads(kn("get", "svc", "ghost", "-o", "json", "--lab", s.name, check=True).stdout)
    ep = json.loads(kn("get", "ep", "ghost", "-o", "json", "--lab", s.name, check=True).stdout)
    ips = ",".join(f'{a["ip"]}:2368' for a in ep["subsets"][0]["addresses"])
    text = d("svc", "ghost")
    for line in ("Name:                     ghost", "Namespace:                default", "Type:                     ClusterIP",
                 f'IP:                       {svc["spec"]["clusterIP"]}', "Port:                     <unset>  2368/TCP",
                 "TargetPort:               2368/TCP", f"Endpoints:                {ips}",
                 "Session Affinity:         None", "Events:                   <none>"):
        assert re.search(rf"^{re.escape(line)}$", text, re.M), (line, text)

    pod = json.loads(kn("get", "pod", "client", "-o", "json", "--lab", s.name, check=True).stdout)
    text = d("pod", "client")
    assert re.search(rf'^Node:\s+node1/{pod["status"]["hostIP"]}$', text, re.M), text
    assert re.search(rf'^IP:\s+{pod["status"]["podIP"]}$', text, re.M), text
    assert re.search(rf'^Annotations:\s+kn-lab.io/host-veth: {pod["metadata"]["annotations"]["kn-lab.io/host-veth"]}$', text, re.M), text
    assert re.search(r"^    Container ID:\s+kn-lab://\d+$", text, re.M) and re.search(r"^    State:\s+Running$", text, re.M), text
    ghost = d("pod", "-l", "app=ghost").split("\n\n\n")[0]
    assert re.search(r"^Controlled By:\s+ReplicaSet/ghost-\w+$", ghost, re.M), ghost

    node = d("node", "node1")
    assert re.search(r"^Addresses:\n  InternalIP:  192\.168\.56\.11\n  Hostname:    node1$", node, re.M), node
    assert re.search(r"^Non-terminated Pods:\s+\(\d+ in total\)$", node, re.M) and "  default  " in node, node

    deploy = d("deploy", "ghost")
    assert re.search(r"^Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable$", deploy, re.M), deploy
    assert re.search(r"^NewReplicaSet:\s+ghost-\w+ \(3/3 replicas created\)$", deploy, re.M), deploy
    assert re.search(r"^Status:\s+Active$", d("ns", "default"), re.M)
    assert re.search(r"^  Addresses:\s+" + re.escape(ips.replace(":2368", "")) + "$", d("endpoints", "ghost"), re.M)
    assert "TargetRef:  Pod/ghost-" in d("endpointslices", "-l", "kubernetes.io/service-name=ghost")


def test_describe_ingress_shows_backends_with_endpoints(lab, kn):
    s = lab("09-ingress")
    ep = json.loads(kn("get", "ep", "api", "-o", "json", "--lab", s.name, check=True).stdout)
    ips = ",".join(f'{a["ip"]}:8080' for a in ep["subsets"][0]["addresses"])
    text = kn("describe", "ing/ingress", "--lab", s.name, check=True).stdout
    assert re.search(rf"^              /api   api:80 \({re.escape(ips)}\)$", text, re.M), text
    assert re.search(r"^Address:\s+192\.168\.56\.\d+$", text, re.M), text
