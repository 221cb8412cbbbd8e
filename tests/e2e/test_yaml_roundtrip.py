"""`kn-lab get -o yaml` gives back manifests that `kn-lab apply -f` accepts: the user's objects
of a lab (Deployments, ClusterIP, NodePort and LoadBalancer Services, an Ingress, a TLS Secret,
a GatewayClass, a Gateway, an HTTPRoute) saved with `get -o yaml`, the lab taken down, a bare lab
with the same nodes brought up, the saved YAML applied: the same objects come back (their spec
and labels, as `get -o json` shows them; uid, creationTimestamp and status are the new lab's).

What is saved is what a learner made: the Deployments, the Services they named, the L7 objects.
What kn-lab makes itself is not saved and comes back by itself, as in a cluster: ReplicaSets,
Pods, Endpoints and EndpointSlices follow from the Deployments and Services; the data planes
(ingress-nginx's controller and Service, which are part of the bare lab like a controller
installed in a cluster; the Gateway's nginx Deployment and Service `<gateway>-nginx`) from the
lab and the Gateway; kube-dns from the lab. The saved YAML holds everything a real API server
returns (status, metadata.uid, resourceVersion, creationTimestamp, generation, clusterIP(s),
ipFamilies, allocateLoadBalancerNodePorts, ...): apply ignores what the server sets, as the API
server does, and keeps what it may be given (clusterIP, nodePort), so the Services come back
with the same addresses and ports."""

from __future__ import annotations

import json

import pytest

from conftest import REPO

pytestmark = pytest.mark.e2e

MANIFESTS = REPO / "manifests"
LAB = "rtrip"

HEAD = f"""
[lab]
name = "{LAB}"
description = "round trip of get -o yaml through apply -f"
{{manifests}}
[cluster]
node_network = "192.168.56.0/24"
cni = "vxlan"
[[node]]
name = "node1"
[[node]]
name = "node2"
[ingress_nginx]
type = "NodePort"
http_node_port = 30080
https_node_port = 30443
"""

OBJECTS = """
[[deployment]]
name = "api"
replicas = 2
image = "kn-lab/netexec"
[[service]]
name = "api"
selector = { app = "api" }
port = 80
target_port = 8080
[[deployment]]
name = "web"
replicas = 2
image = "nginx"
[[service]]
name = "web"
type = "NodePort"
selector = { app = "web" }
port = 80
node_port = 30081
[[service]]
name = "web-lb"
type = "LoadBalancer"
selector = { app = "web" }
port = 80
"""

USER_KINDS = "deployments,ingresses,secrets,gatewayclasses,gateways,httproutes"
USER_SERVICES = ["api", "web", "web-lb"]


def manifests_line() -> str:
    files = ["gateway/gateway.yaml", "tls/example-com-tls.yaml", "course/httproute.yaml", "course/ingress.yaml"]
    return "manifests = [" + ", ".join(f'"{MANIFESTS / f}"' for f in files) + "]"


def user_objects(kn, lab: str) -> dict[str, dict]:
    """The user's objects by kind/namespace/name: their spec (data for a Secret) and labels."""
    items = json.loads(kn("get", USER_KINDS, "-o", "json", "--lab", lab, check=True).stdout)["items"]
    items += json.loads(kn("get", "svc", *USER_SERVICES, "-o", "json", "--lab", lab, check=True).stdout)["items"]
    out = {}
    for o in items:
        md = o["metadata"]
        key = f'{o["kind"]}/{md.get("namespace", "")}/{md["name"]}'
        out[key] = {"spec": o.get("spec", o.get("data")), "labels": md.get("labels", {}),
                    "annotations": {k: v for k, v in md.get("annotations", {}).items() if not k.startswith("kn-lab.io/")}}
    return out


def test_get_yaml_applies_back_to_a_bare_lab(lab, kn, tmp_path):
    full = tmp_path / "full.toml"
    full.write_text(HEAD.format(manifests=manifests_line()) + OBJECTS)
    bare = tmp_path / "bare.toml"
    bare.write_text(HEAD.format(manifests=""))

    s = lab(str(full))
    before = user_objects(kn, s.name)
    assert {k.split("/")[0] for k in before} == {"Deployment", "Service", "Ingress", "Secret", "GatewayClass", "Gateway", "HTTPRoute"}
    saved = tmp_path / "saved.yaml"
    saved.write_text(kn("get", USER_KINDS, "-o", "yaml", "--lab", s.name, check=True).stdout)
    saved_svc = tmp_path / "saved-services.yaml"
    saved_svc.write_text(kn("get", "svc", *USER_SERVICES, "-o", "yaml", "--lab", s.name, check=True).stdout)
    assert "uid:" in saved.read_text() and "status:" in saved_svc.read_text() and "clusterIPs:" in saved_svc.read_text()
    s.down(check=True)

    b = lab(str(bare))
    assert json.loads(kn("get", "deploy", "-o", "json", "--lab", b.name, check=True).stdout)["items"] == []
    r = kn("apply", "-f", str(saved), "-f", str(saved_svc), "--lab", b.name)
    assert r.returncode == 0, r.stderr
    after = user_objects(kn, b.name)
    assert sorted(after) == sorted(before)
    for key in before:
        assert after[key] == before[key], key
    # What kn-lab makes itself came back by itself.
    rs = json.loads(kn("get", "rs", "-o", "json", "--lab", b.name, check=True).stdout)["items"]
    assert sorted(o["metadata"]["labels"]["app"] for o in rs) == ["api", "web"]
    ep = json.loads(kn("get", "endpoints", "api", "-o", "json", "--lab", b.name, check=True).stdout)
    assert len(ep["subsets"][0]["addresses"]) == 2
    gw = kn("get", "svc", "my-gateway-nginx", "--lab", b.name, check=True).stdout
    assert "LoadBalancer" in gw
    # Applying the same YAML again changes nothing (kubectl's "unchanged" objects).
    again = kn("apply", "-f", str(saved), "-f", str(saved_svc), "--lab", b.name, check=True)
    assert user_objects(kn, b.name) == after, again.stdout
