"""Bad input is refused, says where and what is allowed, and changes nothing.

One table, three kinds of input:

  * lab files (TOML), given to a real `kn-lab up <file>` (not --dry-run: a file that got
    through would really be built, and the host guard would see it);
  * Kubernetes YAML manifests, each given three ways: `kn-lab apply -f`, `kn-lab delete -f`
    (both with --lab naming a lab that is not up: the files are validated before the lab is
    looked for) and a lab file's `[lab] manifests = [...]` given to `kn-lab up`;
  * command lines.

Each row gives the exit code and substrings of stderr that name the place (file:line:column
of the offending value, or the flag / argument) and what is allowed.  Around every row the
autouse host_guard (conftest.py) compares the host before and after; the test also checks
that no /run/netns/kn-<lab>.* and no /run/kn-lab/<lab> of the row's lab name appeared.

Rows with `defect=` are known product defects: they are strict xfails, so they start failing
(XPASS) once the defect is fixed, and the row's `defect` can be removed.

KNLAB_WRITE_CATALOGUE=1 rewrites bad_input_catalogue.md (next to this file) with the first
line kn-lab prints for every row, the temporary directory shown as <tmp>.
"""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import listdir
from conftest import KN_LAB, require_kn_lab

pytestmark = pytest.mark.e2e

NOLAB = "bi-nolab"        # a lab that is never up: target of apply/delete/scale/... rows
MANIFEST_LAB = "bi-mf"    # the lab file that lists a row's manifest (YAML rows, "lab" way)
CATALOGUE_PATH = Path(__file__).with_name("bad_input_catalogue.md")
WRITE_CATALOGUE = os.environ.get("KNLAB_WRITE_CATALOGUE") == "1"
CLI_USAGE_EXIT = {"extras": 2, "required": 2, "validation": 2}  # usage errors are input errors: exit 2

NOT_PEM = "this is not a certificate\n"
KEY_PEM = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n"


@dataclass(frozen=True)
class Case:
    id: str
    kind: str                       # "toml" | "yaml" | "cli"
    text: str = ""                  # the lab file (toml) or the manifest (yaml)
    argv: tuple = ()                # cli: arguments after kn-lab; "{tmp}" is the test's directory
    files: tuple = ()               # (name, text) pairs written into {tmp} first
    expect: tuple = ()              # substrings of stderr; "{file}" = the input file, "{tmp}" as above
    rc: int | None = 2              # expected exit code (None: any non-zero one)
    lab: str = ""                   # lab name whose namespaces / state must not appear
    ways: tuple = ("apply", "delete", "lab")  # yaml: how the manifest is given
    defect: str = ""                # a known defect: the row is a strict xfail
    outside: str = ""               # cli: a path ("{tmp}/...") that must not appear either


def toml(id, text, *expect, lab, rc=2, files=(), defect=""):
    return Case(id, "toml", text=textwrap.dedent(text).lstrip("\n"), expect=expect, lab=lab, rc=rc,
                files=files, defect=defect)


def yaml(id, text, *expect, ways=("apply", "delete", "lab"), defect=""):
    return Case(id, "yaml", text=textwrap.dedent(text).lstrip("\n"), expect=expect, ways=ways, defect=defect)


def cli(id, argv, *expect, rc=2, lab=NOLAB, files=(), defect="", outside=""):
    return Case(id, "cli", argv=tuple(argv), expect=expect, rc=rc, lab=lab, files=files, defect=defect,
                outside=outside)


# --------------------------------------------------------------------------- lab files

TOML_CASES = [
    toml("toml-syntax-error", """
        [lab]
        name = "bi-syntax"
        description = "no closing quote

        [[node]]
        name = "node1"
        """, "{file}:3:32: invalid input: TOML syntax error: Error while parsing string", lab="bi-syntax"),
    toml("toml-unknown-key-did-you-mean", """
        [lab]
        name = "bi-key"

        [[node]]
        name = "node1"

        [[deployment]]
        name = "web"
        image = "nginx"
        replica = 2
        """, "{file}:10:1: invalid input: unknown key 'replica' in [[deployment]]",
         "hint: did you mean 'replicas'? allowed keys in [[deployment]]: name, namespace, replicas, image, labels, port",
         lab="bi-key"),
    toml("toml-unknown-top-level-key", """
        [lab]
        name = "bi-top"

        [[nodes]]
        name = "node1"
        """, "{file}:4:3: invalid input: unknown key 'nodes' in the lab file", "did you mean 'node'?",
         "allowed keys in the lab file: lab, cluster, rack, node, pod, deployment, service, ingress_nginx",
         lab="bi-top"),
    toml("toml-string-for-integer", """
        [lab]
        name = "bi-type"

        [[node]]
        name = "node1"

        [[service]]
        name = "web"
        port = "80"
        """, "{file}:9:8: invalid input: key 'port' in [[service]] must be an integer, not a string", lab="bi-type"),
    toml("toml-string-for-integer-mtu", """
        [lab]
        name = "bi-type2"

        [cluster]
        mtu = "1500"

        [[node]]
        name = "node1"
        """, "{file}:5:7: invalid input: key 'mtu' in [cluster] must be an integer, not a string", lab="bi-type2"),
    toml("toml-port-out-of-range", """
        [lab]
        name = "bi-port"

        [[node]]
        name = "node1"

        [[service]]
        name = "web"
        port = 70000
        """, "{file}:9:8: invalid input: port = 70000 in [[service]] is out of range",
         "hint: allowed: 1 to 65535", lab="bi-port"),
    toml("toml-target-port-zero", """
        [lab]
        name = "bi-tport"

        [[node]]
        name = "node1"

        [[service]]
        name = "web"
        port = 80
        target_port = 0
        """, "{file}:10:15: invalid input: target_port = 0 in [[service]] is out of range",
         "hint: allowed: 1 to 65535", lab="bi-tport"),
    toml("toml-overlap-pod-service", """
        [lab]
        name = "bi-ovl1"

        [cluster]
        pod_cidr = "10.244.0.0/16"
        service_cidr = "10.244.128.0/17"

        [[node]]
        name = "node1"
        """, "{file}:6:16: invalid input: service_cidr 10.244.128.0/17 overlaps pod_cidr 10.244.0.0/16",
         "hint: pod, service and node networks must not overlap", lab="bi-ovl1"),
    toml("toml-overlap-pod-node", """
        [lab]
        name = "bi-ovl2"

        [cluster]
        pod_cidr = "10.244.0.0/16"
        node_network = "10.244.200.0/24"

        [[node]]
        name = "node1"
        """, "{file}:6:16: invalid input: node_network 10.244.200.0/24 overlaps pod_cidr 10.244.0.0/16",
         "hint: pod, service and node networks must not overlap", lab="bi-ovl2"),
    toml("toml-overlap-service-node", """
        [lab]
        name = "bi-ovl3"

        [cluster]
        service_cidr = "10.96.0.0/12"
        node_network = "10.100.0.0/24"

        [[node]]
        name = "node1"
        """, "{file}:6:16: invalid input: node_network 10.100.0.0/24 overlaps service_cidr 10.96.0.0/12",
         "hint: pod, service and node networks must not overlap", lab="bi-ovl3"),
    toml("toml-overlap-with-default", """
        [lab]
        name = "bi-ovl4"

        [cluster]
        pod_cidr = "10.96.0.0/16"

        [[node]]
        name = "node1"
        """, "{file}:4:1: invalid input: service_cidr 10.96.0.0/12 overlaps pod_cidr 10.96.0.0/16",
         lab="bi-ovl4"),
    toml("toml-node-network-too-small", """
        [lab]
        name = "bi-small"

        [cluster]
        node_network = "192.168.56.0/30"

        [[node]]
        name = "node1"

        [[node]]
        name = "node2"
        """, "{file}:5:16: invalid input: node_network 192.168.56.0/30 has 2 host addresses; 2 nodes and the 3 "
             "addresses kept for the lab's own hosts (outside world, router, load balancer) need 5",
         "hint: use a larger node_network", lab="bi-small"),
    toml("toml-host-bits-set", """
        [lab]
        name = "bi-bits"

        [cluster]
        pod_cidr = "10.244.1.0/16"

        [[node]]
        name = "node1"
        """, '{file}:5:12: invalid input: pod_cidr = "10.244.1.0/16" in [cluster] is not a valid IPv4 network',
         'hint: host bits are set: did you mean "10.244.0.0/16"?', lab="bi-bits"),
    toml("toml-unknown-cni", """
        [lab]
        name = "bi-cni"

        [cluster]
        cni = "calico"

        [[node]]
        name = "node1"
        """, '{file}:5:7: invalid input: cni = "calico" is not a known mode',
         'hint: allowed: "vxlan" (encapsulated), "host-gw" (static routes), "bgp" (bird2)', lab="bi-cni"),
    toml("toml-unknown-proxy-mode", """
        [lab]
        name = "bi-proxy"

        [cluster]
        proxy_mode = "ipvs"

        [[node]]
        name = "node1"
        """, '{file}:5:14: invalid input: proxy_mode = "ipvs" is not a kube-proxy mode',
         'hint: allowed: "iptables" (the default) or "nftables"', lab="bi-proxy"),
    toml("toml-lab-name-too-long", """
        [lab]
        name = "bi-abcdefghijabcdefghijabcdefghij"

        [[node]]
        name = "node1"
        """, '{file}:2:8: invalid input: lab name "bi-abcdefghijabcdefghijabcdefghij" is 33 characters long, at most 32 are allowed',
         "hint: use lowercase letters, digits and '-'", lab="bi-abcdefghijabcdefghijabcdefghij"),
    toml("toml-node-name-too-long", """
        [lab]
        name = "bi-nodelong"

        [[node]]
        name = "n123456789a123456789b123456789c123456789d123456789e123456789f123"
        """, '{file}:5:8: invalid input: node name "n123456789a123456789b123456789c123456789d123456789e123456789f123" '
             "is 64 characters long, at most 63 are allowed", lab="bi-nodelong"),
    toml("toml-rack-name-too-long-for-interface", """
        [lab]
        name = "bi-racklong"

        [[rack]]
        name = "rack-number-one-x"
        network = "192.168.56.0/24"

        [[node]]
        name = "node1"
        """, '{file}:5:8: invalid input: rack name "rack-number-one-x" is 17 characters long, at most 15 are allowed',
         lab="bi-racklong"),
    toml("toml-port-name-too-long", """
        [lab]
        name = "bi-pname"

        [[node]]
        name = "node1"

        [[service]]
        name = "web"
        ports = [{ name = "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp", port = 80 }, { name = "https", port = 443 }]
        """, '{file}:9:19: invalid input: Service default/web: port name "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp" is 64 characters long, at most 63 are allowed',
         lab="bi-pname"),
    toml("toml-table-name-bad-start", """
        [lab]
        name = "bi-tname"

        [)node]
        name = "node1"
        """, "{file}:4:2: invalid input: a table name cannot start with ')'",
         "hint: write [name] or [[name]]: a name of letters, digits, '_' and '-', or a quoted one", lab="bi-tname"),
    toml("toml-check-unknown-key", """
        [lab]
        name = "bi-chk1"

        [[node]]
        name = "node1"

        [[check]]
        name = "web"
        from = "node1"
        to = "web"
        exepct = "reach"
        """, "{file}:11:1: invalid input: unknown key 'exepct' in [[check]]",
         "hint: did you mean 'expect'? allowed keys in [[check]]: name", lab="bi-chk1"),
    toml("toml-check-says-nothing", """
        [lab]
        name = "bi-chk2"

        [[node]]
        name = "node1"

        [[check]]
        name = "web"
        from = "node1"
        """, "{file}:7:1: invalid input: [[check]] 'web' says nothing to check",
         "hint: give one of: to = (traffic), resolves = (DNS), route = or fdb = (kernel), object = (an API object)", lab="bi-chk2"),
    toml("toml-check-key-of-another-kind", """
        [lab]
        name = "bi-chk3"

        [[node]]
        name = "node1"

        [[check]]
        name = "rt"
        node = "node1"
        route = "10.244.1.0/24"
        status = 200
        """, "{file}:11:1: invalid input: 'status' does not apply to a kernel check ([[check]] 'rt')",
         "hint: keys of a kernel check: node, route, via_gateway, dev, fdb, dst", lab="bi-chk3"),
    toml("toml-check-route-host-bits", """
        [lab]
        name = "bi-chk4"

        [[node]]
        name = "node1"

        [[check]]
        name = "rt"
        node = "node1"
        route = "10.244.1.1/24"
        """, '{file}:10:9: invalid input: route = "10.244.1.1/24" in [[check]] \'rt\' is not a valid IPv4 network',
         'hint: host bits are set: did you mean "10.244.1.0/24"?', lab="bi-chk4"),
    toml("toml-check-after-unknown", """
        [lab]
        name = "bi-chk5"

        [[node]]
        name = "node1"

        [[check]]
        name = "second"
        after = ["frist"]
        object = "nodes"
        count = 1

        [[check]]
        name = "first"
        object = "nodes"
        """, '{file}:7:1: invalid input: check "second" runs after "frist", which is not a check here',
         "hint: did you mean 'first'? checks: second, first", lab="bi-chk5"),
    toml("toml-check-cycle", """
        [lab]
        name = "bi-chk6"

        [[node]]
        name = "node1"

        [[check]]
        name = "a"
        after = ["b"]
        object = "nodes"

        [[check]]
        name = "b"
        after = ["a"]
        object = "nodes"
        """, '{file}:7:1: invalid input: check "a" depends on itself through after =', "hint: break the cycle", lab="bi-chk6"),
    toml("toml-check-no-reach-with-status", """
        [lab]
        name = "bi-chk7"

        [[node]]
        name = "node1"

        [[check]]
        name = "x"
        from = "node1"
        to = "10.0.0.1"
        expect = "no-reach"
        status = 200
        """, '{file}:11:10: invalid input: expect = "no-reach" cannot also expect an answer',
         "hint: remove status, body, backends and client, or expect = \"reach\"", lab="bi-chk7"),
    toml("toml-lab-name-with-slash", """
        [lab]
        name = "bi/slash"

        [[node]]
        name = "node1"
        """, "{file}:2:8: invalid input: lab name \"bi/slash\" must not contain '/'",
         "hint: use lowercase letters, digits and '-'", lab="bi/slash"),
    toml("toml-pod-name-with-slash", """
        [lab]
        name = "bi-podslash"

        [[node]]
        name = "node1"

        [[pod]]
        name = "../etc"
        """, "{file}:8:8: invalid input: pod name \"../etc\" must not contain '.'", lab="bi-podslash"),
    toml("toml-lab-name-dotdot", """
        [lab]
        name = ".."

        [[node]]
        name = "node1"
        """, "{file}:2:8: invalid input: lab name \"..\" must not contain '.'", lab=".."),
    toml("toml-node-name-dotdot", """
        [lab]
        name = "bi-nodedots"

        [[node]]
        name = "a..b"
        """, "{file}:5:8: invalid input: node name \"a..b\" must not contain '.'", lab="bi-nodedots"),
    toml("toml-lab-name-with-space", """
        [lab]
        name = "bi space"

        [[node]]
        name = "node1"
        """, "{file}:2:8: invalid input: lab name \"bi space\" must not contain ' '", lab="bi space"),
    toml("toml-lab-name-uppercase", """
        [lab]
        name = "Bi-Upper"

        [[node]]
        name = "node1"
        """, '{file}:2:8: invalid input: lab name "Bi-Upper" must be lowercase',
         "hint: use lowercase letters, digits and '-'", lab="Bi-Upper"),
    toml("toml-node-name-uppercase", """
        [lab]
        name = "bi-nodeupper"

        [[node]]
        name = "Node1"
        """, '{file}:5:8: invalid input: node name "Node1" must be lowercase', lab="bi-nodeupper"),
    toml("toml-non-ascii-name", """
        [lab]
        name = "bi-caf\u00e9"

        [[node]]
        name = "node1"
        """, "{file}:2:15: invalid input: a non-ASCII character outside a comment", lab="bi-caf\u00e9"),
    toml("toml-reserved-node-name", """
        [lab]
        name = "bi-reserved"

        [[node]]
        name = "router"
        """, '{file}:5:8: invalid input: node name "router" is reserved', "hint: reserved: wire, external, router, cloud-lb, host",
         lab="bi-reserved"),
    toml("toml-pod-named-like-node", """
        [lab]
        name = "bi-dupname"

        [[node]]
        name = "node1"

        [[pod]]
        name = "node1"
        """, "{file}:7:1: invalid input: the name 'node1' is used twice", lab="bi-dupname"),
    toml("toml-pod-on-missing-node", """
        [lab]
        name = "bi-podnode"

        [[node]]
        name = "node1"

        [[pod]]
        name = "web"
        node = "node2"
        """, "{file}:9:8: invalid input: pod 'web' is on node 'node2', which the lab does not define",
         "hint: nodes of this lab: node1", lab="bi-podnode"),
    toml("toml-deployment-replicas-negative", """
        [lab]
        name = "bi-replicas"

        [[node]]
        name = "node1"

        [[deployment]]
        name = "web"
        image = "nginx"
        replicas = -1
        """, "{file}:10:12: invalid input: replicas = -1 in [[deployment]] is out of range",
         "hint: allowed: 0 to 250", lab="bi-replicas"),
    toml("toml-node-port-out-of-range", """
        [lab]
        name = "bi-nprange"

        [[node]]
        name = "node1"

        [[service]]
        name = "web"
        type = "NodePort"
        port = 80
        node_port = 8080
        """, "{file}:11:13: invalid input: node_port = 8080 in [[service]] is out of range",
         "hint: allowed: 30000 to 32767", lab="bi-nprange"),
    toml("toml-node-port-used-twice", """
        [lab]
        name = "bi-npdup"

        [[node]]
        name = "node1"

        [[service]]
        name = "web"
        type = "NodePort"
        port = 80
        node_port = 30080

        [[service]]
        name = "api"
        type = "NodePort"
        port = 80
        node_port = 30080
        """, "{file}:17:13: invalid input: Service default/api: node port 30080 is already used by Service default/web",
         "hint: each NodePort is open on every node: two services cannot share one", lab="bi-npdup"),
    toml("toml-node-port-on-clusterip", """
        [lab]
        name = "bi-npcip"

        [[node]]
        name = "node1"

        [[service]]
        name = "web"
        port = 80
        node_port = 30080
        """, "{file}:10:13: invalid input: Service default/web: a node port is set on a ClusterIP service",
         'hint: make it a NodePort or LoadBalancer service (lab file: type = "NodePort"; manifest: spec.type: NodePort)', lab="bi-npcip"),
    toml("toml-image-not-in-catalogue", """
        [lab]
        name = "bi-image"

        [[node]]
        name = "node1"

        [[deployment]]
        name = "web"
        image = "redis:7"
        """, "{file}:7:1: invalid input: image \"redis:7\" is not in kn-lab's image catalogue",
         "hint: known images: ghost, stefanprodan/podinfo, nginx", lab="bi-image"),
    toml("toml-no-node", """
        [lab]
        name = "bi-nonode"
        """, "{file}:1:1: invalid input: the lab defines no node", "hint: add a node:", lab="bi-nonode"),
    toml("toml-no-lab-table", """
        [[node]]
        name = "node1"
        """, "{file}:1:1: invalid input: the lab file has no [lab] table",
         'hint: start the file with [lab] and name = "my-lab"', lab="lab"),
    toml("toml-ports-mixed-with-port", """
        [lab]
        name = "bi-mixed"

        [[node]]
        name = "node1"

        [[service]]
        name = "web"
        port = 80
        ports = [{ name = "http", port = 80 }, { name = "https", port = 443 }]
        """, "{file}:9:8: invalid input: 'port' and 'ports' are both set in [[service]] 'web'",
         "hint: with several ports, put each port's keys in its entry of ports", lab="bi-mixed"),
    toml("toml-unnamed-port-among-several", """
        [lab]
        name = "bi-unnamed"

        [[node]]
        name = "node1"

        [[service]]
        name = "web"
        ports = [{ name = "http", port = 80 }, { port = 443 }]
        """, "{file}:9:40: invalid input: Service default/web: port 443 has no name", "hint: a Service with several ports names each of them", lab="bi-unnamed"),
    toml("toml-ingress-nginx-bad-type", """
        [lab]
        name = "bi-ingtype"

        [[node]]
        name = "node1"

        [ingress_nginx]
        type = "ClusterIP"
        """, '{file}:8:8: invalid input: type = "ClusterIP" is not allowed in [ingress_nginx]',
         "hint: allowed: NodePort, LoadBalancer", lab="bi-ingtype"),
    toml("toml-ingress-nginx-not-a-table", """
        ingress_nginx = "yes"

        [lab]
        name = "bi-ingtable"

        [[node]]
        name = "node1"
        """, "{file}:1:17: invalid input: key 'ingress_nginx' in the lab file must be a table: write [ingress_nginx], "
             "not a string", lab="bi-ingtable"),
    toml("toml-ingress-nginx-port-string", """
        [lab]
        name = "bi-ingport"

        [[node]]
        name = "node1"

        [ingress_nginx]
        http_node_port = "30080"
        """, "{file}:8:18: invalid input: key 'http_node_port' in [ingress_nginx] must be an integer, not a string",
         lab="bi-ingport"),
    toml("toml-ingress-nginx-port-out-of-range", """
        [lab]
        name = "bi-ingrange"

        [[node]]
        name = "node1"

        [ingress_nginx]
        https_node_port = 443
        """, "{file}:8:19: invalid input: https_node_port = 443 in [ingress_nginx] is out of range",
         "hint: allowed: 30000 to 32767", lab="bi-ingrange"),
    toml("toml-manifest-file-missing", """
        [lab]
        name = "bi-mfmissing"
        manifests = ["app.yaml", "no-such-file.yaml"]

        [[node]]
        name = "node1"
        """, '{file}:3:26: invalid input: manifest "no-such-file.yaml" does not exist ({tmp}/no-such-file.yaml)',
         "hint: paths in manifests are relative to the lab file", lab="bi-mfmissing",
         files=(("app.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"),)),
    toml("toml-manifest-node-port-clash", """
        [lab]
        name = "bi-mfclash"
        manifests = ["svc.yaml"]

        [[node]]
        name = "node1"

        [[service]]
        name = "api"
        type = "NodePort"
        port = 80
        node_port = 30080
        """, "node port 30080 is already used by Service default/api", lab="bi-mfclash",
         files=(("svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: NodePort\n"
                             "  ports:\n  - port: 80\n    nodePort: 30080\n"),)),
    toml("toml-manifest-pod-named-like-node", """
        [lab]
        name = "bi-mfname"
        manifests = ["pod.yaml"]

        [[node]]
        name = "node1"
        """, "{tmp}/pod.yaml:", "used twice", lab="bi-mfname",
         files=(("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: node1\nspec:\n  containers:\n"
                             "  - name: web\n    image: nginx\n"),)),
    toml("toml-manifests-not-an-array", """
        [lab]
        name = "bi-mfstring"
        manifests = "app.yaml"

        [[node]]
        name = "node1"
        """, "{file}:3:13: invalid input: key 'manifests' in [lab] must be an array of strings, not a string",
         lab="bi-mfstring"),
]


# --------------------------------------------------------------------------- manifests

DEPLOYMENT = """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      replicas: {replicas}
      selector:
        matchLabels:
          app: {selector}
      template:
        metadata:
          labels:
            app: web
        spec:
          containers:
          - name: web
            image: nginx
    """


def ingress(path_type: str | None, port: int = 80) -> str:
    """An Ingress with one rule and one path; `path_type` None leaves pathType out."""
    lines = [
        "apiVersion: networking.k8s.io/v1",
        "kind: Ingress",
        "metadata:",
        "  name: web",
        "spec:",
        "  ingressClassName: nginx",
        "  rules:",
        "  - host: web.example.com",
        "    http:",
        "      paths:",
        "      - path: /",
    ]
    if path_type is not None:
        lines.append(f"        pathType: {path_type}")
    lines += [
        "        backend:",
        "          service:",
        "            name: web",
        "            port:",
        f"              number: {port}",
    ]
    return "\n".join(lines) + "\n"


YAML_CASES = [
    yaml("yaml-syntax-error", """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
          labels: {app: web
        spec:
          containers:
          - name: web
            image: nginx
        """, "{file}:6:5: invalid input: YAML syntax error: end of map flow not found"),
    yaml("yaml-unknown-kind", """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: db
        spec: {}
        """, "{file}:2:7: invalid input: document 1: kind StatefulSet is not supported by kn-lab; supported: "
             "Namespace, Pod, Deployment, Service, Secret, IngressClass, Ingress, GatewayClass, Gateway, HTTPRoute"),
    yaml("yaml-wrong-api-version", DEPLOYMENT.replace("apps/v1", "v1").format(replicas=2, selector="web"),
         '{file}:1:13: invalid input: Deployment: apiVersion "v1" is not served for kind Deployment',
         "hint: allowed: apps/v1"),
    yaml("yaml-unknown-field-suggestion", DEPLOYMENT.replace("replicas:", "replica:").format(replicas=2, selector="web"),
         "{file}:6:3: invalid input: Deployment default/web: field spec.replica is unknown or not supported by kn-lab",
         "hint: did you mean 'replicas'? fields of spec that kn-lab reads: replicas, selector, template"),
    yaml("yaml-ingress-path-without-path-type", ingress(None),
         "{file}:11:9: invalid input: Ingress default/web: spec.rules[0].http.paths[0].pathType is required",
         "hint: allowed: Prefix, Exact, ImplementationSpecific"),
    yaml("yaml-ingress-bad-path-type", ingress("Regex"),
         '{file}:12:19: invalid input: Ingress default/web: spec.rules[0].http.paths[0].pathType "Regex" is not supported',
         "hint: allowed: Prefix, Exact, ImplementationSpecific"),
    yaml("yaml-ingress-backend-port-out-of-range", ingress("Prefix", port=70000),
         "{file}:17:23: invalid input: Ingress default/web: spec.rules[0].http.paths[0].backend.service.port.number = 70000 "
         "is out of range", "hint: allowed: 1 to 65535"),
    yaml("yaml-deployment-replicas-negative", DEPLOYMENT.format(replicas=-1, selector="web"),
         "{file}:6:13: invalid input: Deployment default/web: spec.replicas = -1 is out of range",
         "hint: allowed: 0 to 250"),
    yaml("yaml-selector-does-not-match-template", DEPLOYMENT.format(replicas=2, selector="api"),
         "{file}:8:5: invalid input: Deployment default/web: spec.template.metadata.labels {app=web}: "
         "`selector` {app=api} does not match template `labels`",
         "hint: every label of spec.selector.matchLabels must be in spec.template.metadata.labels"),
    yaml("yaml-service-string-target-port", """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          selector:
            app: web
          ports:
          - port: 80
            targetPort: http
        """, '{file}:10:17: invalid input: Service default/web: spec.ports[0].targetPort "http" is a named port: '
             "named target ports are not supported by kn-lab",
         "hint: give the container's port number (for example targetPort: 8080)"),
    yaml("yaml-service-quoted-target-port", """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          selector:
            app: web
          ports:
          - port: 80
            targetPort: "8080"
        """, '{file}:10:17: invalid input: Service default/web: spec.ports[0].targetPort must be a number, not the string "8080"',
         "hint: write it without quotes: targetPort: 8080"),
    yaml("yaml-service-node-port-out-of-range", """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          type: NodePort
          selector:
            app: web
          ports:
          - port: 80
            nodePort: 80
        """, "{file}:11:15: invalid input: Service default/web: spec.ports[0].nodePort = 80 is out of range",
         "hint: allowed: 30000 to 32767"),
    yaml("yaml-service-node-port-on-clusterip", """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          selector:
            app: web
          ports:
          - port: 80
            nodePort: 30080
        """, "{file}:10:15: invalid input: Service default/web: a node port is set on a ClusterIP service",
         "hint: make it a NodePort or LoadBalancer service"),
    yaml("yaml-gateway-listener-protocol-tls", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: gw
        spec:
          gatewayClassName: kn-lab
          listeners:
          - name: tls
            port: 443
            protocol: TLS
        """, "{file}:10:15: invalid input: Gateway default/gw: spec.listeners[0].protocol TLS (TLS passthrough, for "
             "TLSRoutes) is not supported by kn-lab",
         "hint: allowed: HTTP, HTTPS (TLS terminated by the gateway), TCP, UDP"),
    yaml("yaml-gateway-allowed-routes-from-selector", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: gw
        spec:
          gatewayClassName: kn-lab
          listeners:
          - name: http
            port: 80
            protocol: HTTP
            allowedRoutes:
              namespaces:
                from: Selector
        """, "{file}:13:15: invalid input: Gateway default/gw: spec.listeners[0].allowedRoutes.namespaces.from "
             "Selector is not supported by kn-lab",
         "hint: allowed: Same (routes in the Gateway's namespace) or All (any namespace)"),
    yaml("yaml-gateway-allowed-routes-selector-with-labels", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: gw
        spec:
          gatewayClassName: kn-lab
          listeners:
          - name: http
            port: 80
            protocol: HTTP
            allowedRoutes:
              namespaces:
                from: Selector
                selector:
                  matchLabels:
                    team: shop
        """, "{file}:14:9: invalid input: Gateway default/gw: field spec.listeners[0].allowedRoutes.namespaces.selector "
             "is unknown or not supported by kn-lab",
         "hint: fields of spec.listeners[0].allowedRoutes.namespaces that kn-lab reads: from"),
    yaml("yaml-httproute-backend-kind-not-service", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: route
        spec:
          parentRefs:
          - name: gw
          rules:
          - backendRefs:
            - kind: Pod
              name: web
              port: 80
        """, "{file}:10:13: invalid input: HTTPRoute default/route: spec.rules[0].backendRefs[0]: backendRef kind Pod "
             "is not supported: kn-lab routes to Services", 'hint: allowed: kind: Service (group "")'),
    yaml("yaml-pod-with-two-containers", """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
        spec:
          containers:
          - name: web
            image: nginx
          - name: sidecar
            image: busybox
        """, "{file}:9:5: invalid input: Pod default/web: spec.containers has 2 containers: a manifest gives one image per pod",
         "hint: keep one container here; multi-container pods are written in a lab file"),
    yaml("yaml-secret-cert-not-pem", f"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: web-tls
        type: kubernetes.io/tls
        stringData:
          tls.crt: this is not a certificate
          tls.key: |
            {KEY_PEM.replace(chr(10), chr(10) + '            ').rstrip()}
        """, "{file}:7:12: invalid input: Secret default/web-tls: stringData[tls.crt]: not PEM: expected a "
             "-----BEGIN CERTIFICATE----- block", "hint: the certificate in PEM"),
    yaml("yaml-secret-cert-not-pem-base64", """
        apiVersion: v1
        kind: Secret
        metadata:
          name: web-tls
        type: kubernetes.io/tls
        data:
          tls.crt: dGhpcyBpcyBub3QgYSBjZXJ0aWZpY2F0ZQo=
          tls.key: dGhpcyBpcyBub3QgYSBrZXkK
        """, "{file}:7:12: invalid input: Secret default/web-tls: data[tls.crt]: not PEM: expected a "
             "-----BEGIN CERTIFICATE----- block", "hint: the certificate in PEM"),
    yaml("yaml-duplicate-field", """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          ports:
          - port: 80
          ports:
          - port: 81
        """, "{file}:8:3: invalid input: document 1: field spec.ports appears twice",
         "hint: remove one of them"),
    yaml("yaml-uppercase-name-in-second-document", """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: shop
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: Web
          namespace: shop
        spec:
          containers:
          - name: web
            image: nginx
        """, '{file}:9:9: invalid input: Pod: metadata.name "Web" must be lowercase',
         "hint: use lowercase letters, digits and '-'"),
    yaml("yaml-image-reference-with-space", """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
        spec:
          containers:
          - name: web
            image: nginx latest
        """, '{file}:8:12: invalid input: Pod default/web: spec.containers[0].image "nginx latest" is not a valid image reference'),
    yaml("yaml-netpol-unknown-field", """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: deny
        spec:
          podSelector: {}
          ingres: []
        """, "{file}:7:3: invalid input: NetworkPolicy default/deny: field spec.ingres is unknown or not supported by kn-lab",
         "hint: did you mean 'ingress'?"),
    yaml("yaml-netpol-selector-without-values", """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web
        spec:
          podSelector:
            matchExpressions:
            - {key: app, operator: In}
        """, "{file}:8:28: invalid input: NetworkPolicy default/web: spec.podSelector.matchExpressions[0]: operator In needs values",
         "hint: for example values: [web, api]"),
    yaml("yaml-netpol-cidr-with-host-bits", """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web
        spec:
          podSelector: {}
          ingress:
          - from:
            - ipBlock:
                cidr: 10.0.0.1/8
        """, '{file}:10:15: invalid input: NetworkPolicy default/web: spec.ingress[0].from[0].ipBlock.cidr "10.0.0.1/8" has host bits set',
         "hint: the network is 10.0.0.0/8"),
    yaml("yaml-netpol-except-outside-cidr", """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web
        spec:
          podSelector: {}
          egress:
          - to:
            - ipBlock:
                cidr: 10.0.0.0/16
                except: [10.1.0.0/24]
        """, "{file}:11:18: invalid input: NetworkPolicy default/web: spec.egress[0].to[0].ipBlock.except[0] 10.1.0.0/24 is not inside cidr 10.0.0.0/16"),
    yaml("yaml-netpol-port-out-of-range", """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web
        spec:
          podSelector: {}
          ingress:
          - ports:
            - port: 70000
        """, "{file}:9:13: invalid input: NetworkPolicy default/web: spec.ingress[0].ports[0].port = 70000 is out of range",
         "hint: allowed: 1 to 65535"),
]


# --------------------------------------------------------------------------- command lines

CLI_CASES = [
    cli("cli-unknown-subcommand", ["frobnicate", "web"], "frobnicate", rc=None),
    cli("cli-unknown-flag", ["up", "--bogus", "02-pod-to-pod-same-node"],
        "The following argument was not expected: --bogus", rc=CLI_USAGE_EXIT["extras"], lab="p2p"),
    cli("cli-scale-negative-replicas", ["scale", "deploy/web", "--replicas=-1", "--lab", NOLAB],
        "--replicas: Value -1 not in range 0 to 250", rc=CLI_USAGE_EXIT["validation"]),
    cli("cli-scale-without-replicas", ["scale", "deploy/web", "--lab", NOLAB],
        "--replicas is required", rc=CLI_USAGE_EXIT["required"]),
    cli("cli-scale-not-a-deployment", ["scale", "web", "--replicas=2", "--lab", NOLAB],
        'error: kn-lab scale: invalid input: the server doesn\'t have a resource type "web"', "kinds: namespaces"),
    cli("cli-scale-a-service", ["scale", "svc", "web", "--replicas=2", "--lab", NOLAB],
        "error: invalid input: cannot scale a Service", "hint: kn-lab scale deploy/<name> --replicas=N"),
    cli("cli-expose-node-port-80", ["expose", "deploy/web", "--port=80", "--type=NodePort", "--node-port", "80", "--lab", NOLAB],
        "--node-port: Value 80 not in range 30000 to 32767", rc=CLI_USAGE_EXIT["validation"]),
    cli("cli-expose-node-port-on-clusterip", ["expose", "deploy/web", "--port=80", "--node-port=30080", "--lab", NOLAB],
        "invalid input: --node-port needs --type=NodePort or LoadBalancer"),
    cli("cli-expose-bad-type", ["expose", "deploy/web", "--port=80", "--type=ExternalName", "--lab", NOLAB],
        "--type: ExternalName not in {ClusterIP,NodePort,LoadBalancer}", rc=CLI_USAGE_EXIT["validation"]),
    cli("cli-trace-udp-and-icmp", ["trace", "client", "web", "--udp", "--icmp", "--lab", NOLAB],
        "--udp excludes --icmp", "hint: kn-lab trace --help", rc=CLI_USAGE_EXIT["validation"]),
    cli("cli-trace-bad-output", ["trace", "client", "web", "-o", "yaml", "--lab", NOLAB],
        "--output: yaml not in {json}", rc=CLI_USAGE_EXIT["validation"]),
    cli("cli-trace-url-over-udp", ["trace", "external", "http://node1:30080/", "--udp", "--lab", NOLAB],
        "invalid input: http://node1:30080/: a URL is reached over TCP", "hint: leave out --udp/--icmp"),
    cli("cli-trace-header-without-url", ["trace", "external", "node1:30080", "-H", "Host: demo.local", "--lab", NOLAB],
        "invalid input: -H needs a URL as TO", "hint: kn-lab trace external http://node1:30080/"),
    cli("cli-check-bad-output", ["check", "-o", "yaml", "--lab", NOLAB],
        "--output: yaml not in {json}", rc=CLI_USAGE_EXIT["validation"]),
    cli("cli-check-lab-not-up", ["check", "--lab", NOLAB],
        f"lab '{NOLAB}' is not up", rc=1),
    cli("cli-get-unknown-resource-type", ["get", "frobs", "--lab", NOLAB],
        'the server doesn\'t have a resource type "frobs"', "hint: kinds: namespaces, ns, nodes, no, pods, po", rc=2),
    cli("cli-describe-unknown-resource-type", ["describe", "frobs", "web", "--lab", NOLAB],
        'the server doesn\'t have a resource type "frobs"', "hint: kinds: namespaces, ns, nodes, no, pods, po", rc=2),
    cli("cli-get-bad-output-format", ["get", "pods", "-o", "xml", "--lab", NOLAB],
        'unable to match a printer suitable for the output format "xml", allowed formats are: custom-columns,json,jsonpath,jsonpath-as-json,name,wide,yaml', rc=2),
    cli("cli-up-missing-lab-name", ["up", "bi-no-such-lab"],
        "error: bi-no-such-lab: invalid input: no lab file of that name",
        "hint: give a path, or one of the labs that come with kn-lab:", "02-pod-to-pod-same-node", lab="bi-no-such-lab"),
    cli("cli-up-missing-lab-path", ["up", "{tmp}/bi-no-such-lab.toml"],
        "error: {tmp}/bi-no-such-lab.toml: invalid input: no such lab file", lab="bi-no-such-lab"),
    cli("cli-up-invalid-cni", ["up", "02-pod-to-pod-same-node", "--cni", "calico"],
        "--cni: calico not in {vxlan,host-gw,bgp}", rc=CLI_USAGE_EXIT["validation"], lab="p2p"),
    cli("cli-up-invalid-proxy-mode", ["up", "02-pod-to-pod-same-node", "--proxy-mode", "ipvs"],
        "--proxy-mode: ipvs not in {iptables,nftables}", rc=CLI_USAGE_EXIT["validation"], lab="p2p"),
    cli("cli-up-cni-host-gw-across-racks", ["up", "05b-two-racks", "--cni", "host-gw"],
        'error: --cni: invalid input: cni = "host-gw" cannot connect nodes in different racks',
        "hint: host-gw needs every node on one L2 segment", lab="racks"),
    cli("cli-delete-neither-file-nor-kind", ["delete", "--lab", NOLAB],
        "error: kn-lab delete: invalid input: what to delete?",
        "hint: kn-lab delete TYPE NAME..., TYPE/NAME..., TYPE -l SELECTOR, or -f FILE"),
    cli("cli-delete-file-and-kind", ["delete", "pod", "web", "-f", "{tmp}/app.yaml", "--lab", NOLAB],
        "error: invalid input: give either -f <manifests> or TYPE NAME, not both",
        files=(("app.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"),)),
    cli("cli-delete-a-node", ["delete", "node", "node1", "--lab", NOLAB],
        "error: kn-lab delete: invalid input: the lab's nodes are its lab file's", "hint: change [[node]] in the lab file"),
    cli("cli-delete-an-endpoints", ["delete", "ep/web", "--lab", NOLAB],
        "error: kn-lab delete: invalid input: kn-lab makes endpoints itself"),
    cli("cli-delete-unknown-kind", ["delete", "gadget", "web", "--lab", NOLAB],
        'error: kn-lab delete: invalid input: the server doesn\'t have a resource type "gadget"'),
    cli("cli-delete-type-without-name", ["delete", "pods", "--lab", NOLAB],
        "error: kn-lab delete: invalid input: resource(s) were provided, but no name was specified", "give NAME, -l SELECTOR or --all"),
    cli("cli-create-deploy-without-image", ["create", "deploy", "web", "--lab", NOLAB],
        "error: invalid input: --image is required", "hint: kn-lab create deploy <name> --image=<image>"),
    cli("cli-create-deploy-uppercase-name", ["create", "deploy", "Web", "--image=nginx", "--lab", NOLAB],
        'error: invalid input: deployment name "Web" must be lowercase'),
    cli("cli-create-unknown-kind", ["create", "statefulset", "db", "--lab", NOLAB],
        'error: invalid input: cannot create "statefulset"'),
    cli("cli-run-name-with-slash", ["run", "../web", "--image=nginx", "--lab", NOLAB],
        'error: invalid input: pod name "../web" must not contain'),
    cli("cli-create-secret-cert-not-pem",
        ["create", "secret", "tls", "web-tls", "--cert", "{tmp}/notpem.txt", "--key", "{tmp}/tls.key", "--lab", NOLAB],
        "error: kn-lab create secret tls: invalid input: the certificate is not PEM: expected a -----BEGIN CERTIFICATE----- block",
        "hint: give the certificate file in PEM", files=(("notpem.txt", NOT_PEM), ("tls.key", KEY_PEM))),
    cli("cli-create-secret-key-not-pem",
        ["create", "secret", "tls", "web-tls", "--cert", "{tmp}/notpem.txt", "--key", "{tmp}/tls.key", "--lab", NOLAB],
        "error: kn-lab create secret tls: invalid input: the key is not PEM", "hint: give the private key file in PEM",
        files=(("notpem.txt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), ("tls.key", NOT_PEM))),
    cli("cli-create-secret-missing-key-file",
        ["create", "secret", "tls", "web-tls", "--cert", "{tmp}/notpem.txt", "--key", "{tmp}/no-such.key", "--lab", NOLAB],
        "error: {tmp}/no-such.key: invalid input: No such file or directory: cannot read the file given to --key",
        files=(("notpem.txt", NOT_PEM),)),
    cli("cli-create-secret-not-tls", ["create", "secret", "generic", "web", "--lab", NOLAB],
        "error: invalid input: kn-lab creates TLS secrets only"),
    cli("cli-apply-missing-file", ["apply", "-f", "{tmp}/no-such.yaml", "--lab", NOLAB],
        "error: {tmp}/no-such.yaml: invalid input: No such file or directory: cannot read the manifest"),
    cli("cli-delete-missing-file", ["delete", "-f", "{tmp}/no-such.yaml", "--lab", NOLAB],
        "error: {tmp}/no-such.yaml: invalid input: No such file or directory: cannot read the manifest"),
    cli("cli-apply-empty-directory", ["apply", "-f", "{tmp}/empty", "--lab", NOLAB],
        "error: {tmp}/empty: invalid input: the directory has no *.yaml or *.yml file",
        files=(("empty/README", "no manifests here\n"),)),
    cli("cli-apply-empty-manifest", ["apply", "-f", "{tmp}/empty.yaml", "--lab", NOLAB],
        "error: {tmp}/empty.yaml: invalid input: no objects in the manifests", files=(("empty.yaml", "# nothing\n"),)),
    cli("cli-delete-empty-manifest", ["delete", "-f", "{tmp}/empty.yaml", "--lab", NOLAB],
        "error: {tmp}/empty.yaml: invalid input: no objects in the manifests", files=(("empty.yaml", "# nothing\n"),)),
    cli("cli-apply-without-file", ["apply", "--lab", NOLAB],
        "--filename is required", rc=CLI_USAGE_EXIT["required"]),
    cli("cli-down-path-as-lab-name", ["down", "../etc"],
        'error: invalid input: "../etc" is not a lab name', lab="etc"),
    cli("cli-scale-lab-not-up", ["scale", "deploy/web", "--replicas=2", "--lab", NOLAB],
        f"error: read lab state: lab '{NOLAB}' is not up", rc=1),
    cli("cli-lab-option-is-a-path", ["scale", "deploy/web", "--replicas=2", "--lab", "../..{tmp}/escape"],
        "is not a lab name", outside="{tmp}/escape.lock", lab="../..{tmp}/escape"),
    cli("cli-down-invalid-lab-name", ["down", "Bi Space"],
        'error: invalid input: "Bi Space" is not a lab name: it must be lowercase', lab="Bi Space"),
    cli("cli-patch-type-is-the-patch-type", ["patch", "svc", "web", "--type=NodePort", "-p", "{}", "--lab", NOLAB],
        "--type: NodePort not in {strategic,merge,json}", rc=CLI_USAGE_EXIT["validation"]),
    cli("cli-patch-unknown-kind", ["patch", "gadget", "web", "-p", "{}", "--lab", NOLAB],
        'error: kn-lab patch: invalid input: the server doesn\'t have a resource type "gadget"', "kinds: "),
    cli("cli-patch-not-an-object", ["patch", "svc", "web", "-p", "[1", "--lab", NOLAB],
        "error: -p/--patch:1:1: invalid input: the text is neither JSON nor YAML"),
    cli("cli-expose-a-replicaset", ["expose", "rs/web", "--port=80", "--lab", NOLAB],
        'error: kn-lab expose: invalid input: cannot expose a ReplicaSet', "kn-lab exposes pods, deployments and services"),
    cli("cli-expose-three-args", ["expose", "pod", "a", "b", "--port=80", "--lab", NOLAB],
        "object: At Most 2 required but received 3", rc=CLI_USAGE_EXIT["extras"]),
    cli("cli-run-port-zero", ["run", "web", "--image=nginx", "--port=0", "--expose", "--lab", NOLAB],
        "--port: Value 0 not in range 1 to 65535", rc=CLI_USAGE_EXIT["validation"]),
    cli("cli-create-deploy-too-many-replicas", ["create", "deploy", "web", "--image=nginx", "--replicas=251", "--lab", NOLAB],
        "--replicas: Value 251 not in range 0 to 250", rc=CLI_USAGE_EXIT["validation"]),
    cli("cli-create-service-bad-type", ["create", "service", "external", "web", "--tcp=80", "--lab", NOLAB],
        'error: kn-lab create service: invalid input: cannot create a service of type "external"', "clusterip|nodeport|loadbalancer"),
    cli("cli-create-service-bad-port", ["create", "service", "clusterip", "web", "--tcp=80:http", "--lab", NOLAB],
        'error: --tcp: invalid input: "http" is not a port (1 to 65535)'),
    cli("cli-create-ingress-bad-rule", ["create", "ingress", "web", "--rule=web:80", "--lab", NOLAB],
        'error: --rule: invalid input: "web:80" is not HOST/PATH=SERVICE:PORT[,tls[=SECRET]]'),
    cli("cli-patch-without-a-patch", ["patch", "svc", "web", "--lab", NOLAB],
        "--patch is required", rc=CLI_USAGE_EXIT["required"]),
    cli("cli-run-rm-detached", ["run", "web", "--image=alpine", "--rm", "--lab", NOLAB],
        "error: invalid input: --rm should only be used for attached containers", "add -i"),
]

# --------------------------------------------------------------------------- parameters


def _params():
    out = []
    for c in TOML_CASES + CLI_CASES:
        out.append(pytest.param(c, "", id=c.id, marks=_marks(c)))
    for c in YAML_CASES:
        for way in c.ways:
            out.append(pytest.param(c, way, id=f"{c.id}-via-{way}", marks=_marks(c)))
    return out


def _marks(c: Case):
    return [pytest.mark.xfail(strict=True, reason=f"defect: {c.defect}")] if c.defect else []


def _all_ids():
    ids = [c.id for c in TOML_CASES + YAML_CASES + CLI_CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return ids


# --------------------------------------------------------------------------- checks

def _safe_component(name: str) -> bool:
    return bool(name) and "/" not in name and name not in (".", "..") and "\0" not in name


def _traces(lab: str) -> set[str]:
    """What exists of lab `lab`: /run/netns/kn-<lab>.*, /etc/netns/kn-<lab>.*, /run/kn-lab/<lab> and its lock.

    Only the row's own lab: other people's labs may come and go meanwhile (the host guard sees
    everything, and a difference there that names another lab is not this row's).
    """
    out = {f"/run/netns/{n}" for n in listdir("/run/netns") if n.startswith(f"kn-{lab}.")}
    out |= {f"/etc/netns/{n}" for n in listdir("/etc/netns") if n.startswith(f"kn-{lab}.")}
    if _safe_component(lab):
        for p in (f"/run/kn-lab/{lab}", f"/run/kn-lab/{lab}.lock"):
            if os.path.lexists(p):
                out.add(p)
    else:
        # A name that is not a path component (`..`, `a/b`): any new entry of /run/kn-lab counts.
        out |= {f"/run/kn-lab/{n}" for n in listdir("/run/kn-lab")}
    return out


def _run(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    r = subprocess.run([str(KN_LAB), *argv], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    print(f"$ kn-lab {' '.join(argv)}\n[exit {r.returncode}]\n--- stdout ---\n{r.stdout}--- stderr ---\n{r.stderr}")
    return r


def _write(tmp: Path, files) -> None:
    for name, text in files:
        p = tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def _invocation(case: Case, way: str, tmp: Path) -> tuple[list[str], str, list[str]]:
    """(argv, the input file's path for {file}, labs whose traces must not appear)."""
    _write(tmp, case.files)
    if case.kind == "toml":
        f = tmp / "lab.toml"
        f.write_bytes(case.text.encode())
        return ["up", str(f)], str(f), [case.lab]
    if case.kind == "yaml":
        m = tmp / "manifest.yaml"
        m.write_text(case.text)
        if way == "apply":
            return ["apply", "-f", str(m), "--lab", NOLAB], str(m), [NOLAB]
        if way == "delete":
            return ["delete", "-f", str(m), "--lab", NOLAB], str(m), [NOLAB]
        lab = tmp / "lab.toml"
        lab.write_text(f'[lab]\nname = "{MANIFEST_LAB}"\nmanifests = ["manifest.yaml"]\n\n[[node]]\nname = "node1"\n')
        return ["up", str(lab)], str(m), [MANIFEST_LAB]
    argv = [a.replace("{tmp}", str(tmp)) for a in case.argv]
    return argv, "", [case.lab.replace("{tmp}", str(tmp))]


_CATALOGUE: dict[str, tuple[int, str]] = {}


@pytest.fixture(scope="module", autouse=True)
def _catalogue():
    yield
    if WRITE_CATALOGUE:
        missing = [cid for cid in _all_ids() if cid not in _CATALOGUE]
        if missing:  # a partial run (-k, -x) would drop rows: keep the file as it is
            print(f"\nnot writing {CATALOGUE_PATH.name}: {len(missing)} case(s) did not run")
        else:
            _write_catalogue()


def _write_catalogue():
    lines = [
        "# Bad input catalogue",
        "",
        "Every case of `tests/e2e/test_bad_input.py`, with kn-lab's exit code and the first line it prints",
        "(on stderr; on stdout when stderr is empty). Generated by `KNLAB_WRITE_CATALOGUE=1 python3 -m pytest -q test_bad_input.py`",
        "(as root, in tests/e2e); the test's temporary directory is shown as `<tmp>`. A YAML case is run",
        "three ways (`apply -f`, `delete -f`, and a lab's `manifests = [...]` with `up`), which print the",
        "same line; it is listed once. Rows marked **defect** are known product defects (strict xfail).",
        "",
        "| case | exit | first line of the error |",
        "| --- | --- | --- |",
    ]
    cases = {c.id: c for c in TOML_CASES + YAML_CASES + CLI_CASES}
    for cid in _all_ids():
        rc, first = _CATALOGUE[cid]
        mark = " **defect**" if cases[cid].defect else ""
        first = first.replace("|", "\\|")
        lines.append(f"| `{cid}`{mark} | {rc} | `{first}` |" if "`" not in first else f"| `{cid}`{mark} | {rc} | {first} |")
    CATALOGUE_PATH.write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------- the test

@pytest.mark.parametrize("case,way", _params())
def test_bad_input_is_refused_with_its_place_and_changes_nothing(case: Case, way: str, tmp_path: Path):
    require_kn_lab()
    argv, file, labs = _invocation(case, way, tmp_path)
    outside = Path(case.outside.replace("{tmp}", str(tmp_path))) if case.outside else None
    state_root_existed = os.path.isdir("/run/kn-lab")
    before = {lab: _traces(lab) for lab in labs}
    try:
        r = _run(argv)
    finally:
        appeared = {lab: _traces(lab) - before[lab] for lab in labs}
        escaped = outside is not None and os.path.lexists(outside)
        # A row that got through must not leave anything behind for the next rows (or other people).
        for lab, new in appeared.items():
            if new and _safe_component(lab):
                _run(["down", lab])
        if escaped:
            outside.unlink()
        if (escaped or any(appeared.values())) and not state_root_existed:
            try:
                os.rmdir("/run/kn-lab")  # only if empty: then it is the one this row made
            except OSError:
                pass

    out = r.stderr
    first = next((l for l in (r.stderr or r.stdout).splitlines() if l.strip()), "")
    if WRITE_CATALOGUE and (case.kind != "yaml" or way == case.ways[0]):
        _CATALOGUE[case.id] = (r.returncode, re.sub(r"\bin \d+ ms\b", "in <n> ms", first.replace(str(tmp_path), "<tmp>")))

    assert not any(appeared.values()), f"the refused input left traces of its lab: {appeared}"
    assert not escaped, f"the refused input created {outside}"
    assert r.returncode != 0, f"accepted: exit 0\n{r.stdout}{r.stderr}"
    missing = [s for s in (e.replace("{file}", file).replace("{tmp}", str(tmp_path)) for e in case.expect)
               if s not in out]
    assert not missing, f"stderr lacks {missing!r}; it was:\n{out}"
    assert case.rc is None or r.returncode == case.rc, f"exit {r.returncode}, expected {case.rc}"
    assert "Traceback" not in out and "terminate called" not in out and "Assertion" not in out


@pytest.mark.unit
def test_the_table_has_enough_distinct_cases():
    ids = _all_ids()
    assert len(ids) >= 45
    assert {c.kind for c in TOML_CASES + YAML_CASES + CLI_CASES} == {"toml", "yaml", "cli"}
    for c in TOML_CASES + YAML_CASES + CLI_CASES:
        assert c.expect, c.id
        assert c.rc is None or c.rc != 0, c.id
