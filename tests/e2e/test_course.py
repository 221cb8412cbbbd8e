"""The course's exercises (../shared/course/README.md), as written, on `kn-lab up course`.

Each step is the course's kubectl command with only the binary's name changed (`kubectl` is
`kn-lab`, as `alias kubectl='sudo kn-lab'` makes it), and the course's "curl from your machine"
is `kn-lab exec external -- curl ...` (the root namespace is never touched). Every step's result
is checked. docs/course.md walks through the same steps.

Also here: `exec -it` on a real pseudo-terminal (`tty` names a device, `stty size` the size it
was given) and `run --rm -i` with piped stdin (runs, prints, leaves no pod).
"""
import json
import os
import pty
import re
import select
import struct
import fcntl
import subprocess
import termios
import time

import pytest

from conftest import KN_LAB, REPO

EXERCISES = REPO / "manifests" / "exercises"
NODE1 = "192.168.56.11"


@pytest.fixture
def course(lab, kn):
    """The course's cluster, and kubectl: kn-lab without --lab (the only lab up)."""
    c = lab("course")

    def kubectl(*args, check=True, **kw):
        return kn(*args, check=check, **kw)

    return c, kubectl


def curl(kubectl, *args):
    return kubectl("exec", "external", "--", "curl", "-s", "--max-time", "5", *args, check=False)


def wait_for(probe, what, timeout=10.0):
    end = time.monotonic() + timeout
    while True:
        r = probe()
        if r:
            return r
        if time.monotonic() > end:
            raise AssertionError(f"timed out: {what}")
        time.sleep(0.2)


def test_the_course_cluster_has_what_the_exercises_start_from(course):
    c, kubectl = course
    nodes = kubectl("get", "nodes", "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
    assert nodes == ["node1", "node2", "node3"]
    pods = json.loads(kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]
    assert sorted(p["metadata"]["namespace"] for p in pods) == ["ingress-nginx", "kube-system"]
    assert kubectl("get", "pods").stdout == "" or "No resources" in kubectl("get", "pods").stderr
    svc = kubectl("get", "svc", "-n", "ingress-nginx", "ingress-nginx-controller", "-o",
                  "jsonpath={.spec.type} {.spec.ports[*].nodePort}").stdout
    assert svc == "NodePort 30080 30443"
    assert "envoy-gateway-system" in kubectl("get", "ns").stdout


def test_exercise_1_services(course):
    c, kubectl = course
    assert "pod/podinfo created" in kubectl("run", "podinfo", "--image=stefanprodan/podinfo", "--port=9898").stdout
    assert "service/podinfo exposed" in kubectl("expose", "pod", "podinfo", "--port=9898").stdout
    # kubectl run test --rm -it --image=alpine -- sh, then wget the Service by its name.
    r = kubectl("run", "test", "--rm", "-i", "--image=alpine", "--", "sh",
                input="wget -qO- podinfo:9898\nexit\n")
    assert "pod: podinfo" in r.stdout, r.stdout
    assert 'pod "test" deleted' in r.stdout
    assert "test" not in kubectl("get", "pods", "-o", "name").stdout
    # Change the Service to type NodePort, read the NodePort, curl a node on it from outside.
    assert "service/podinfo patched" in kubectl("patch", "svc", "podinfo", "-p", '{"spec":{"type":"NodePort"}}').stdout
    port = kubectl("get", "svc", "podinfo", "-o", "jsonpath={.spec.ports[0].nodePort}").stdout
    assert 30000 <= int(port) <= 32767
    ip = kubectl("get", "nodes", "-o", 'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}').stdout
    assert ip == NODE1
    assert "pod: podinfo" in curl(kubectl, f"http://{ip}:{port}/").stdout
    assert 'pod "podinfo" deleted' in kubectl("delete", "pod", "podinfo").stdout
    assert 'service "podinfo" deleted' in kubectl("delete", "svc", "podinfo").stdout
    assert "podinfo" not in kubectl("get", "all").stdout


def test_exercise_2_endpoints(course):
    c, kubectl = course
    assert "deployment.apps/ghost created" in kubectl("create", "deploy", "ghost", "--replicas=3", "--image=ghost:4").stdout
    kubectl("expose", "deploy/ghost", "--port=2368")
    assert 'deployment "ghost" successfully rolled out' in kubectl("rollout", "status", "deploy/ghost").stdout
    wide = kubectl("get", "po", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[:6] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP"]
    ips = sorted(kubectl("get", "po", "-l", "app=ghost", "-o", "jsonpath={.items[*].status.podIP}").stdout.split())
    assert len(ips) == 3
    ep = kubectl("get", "endpoints", "ghost").stdout.splitlines()[1].split()
    assert sorted(a.split(":")[0] for a in ep[1].split(",")) == ips
    assert all(a.endswith(":2368") for a in ep[1].split(","))
    desc = kubectl("describe", "svc", "ghost").stdout
    endpoints = re.search(r"^Endpoints:\s+(\S+)", desc, re.M).group(1)
    assert sorted(a.split(":")[0] for a in endpoints.split(",")) == ips
    kubectl("delete", "deploy", "ghost")
    kubectl("delete", "svc", "ghost")
    assert kubectl("get", "po", "-l", "app=ghost", "-o", "name").stdout == ""


def test_exercise_3_ingress(course):
    c, kubectl = course
    # The controller's default backend answers 404 before any Ingress.
    assert curl(kubectl, "-o", "/dev/null", "-w", "%{http_code}", f"http://{NODE1}:30080/").stdout == "404"
    out = kubectl("run", "ghost", "--image=ghost:4", "--port=2368", "--expose").stdout
    assert "service/ghost created" in out and "pod/ghost created" in out
    assert "ingress.networking.k8s.io/ghost created" in kubectl("apply", "-f", EXERCISES / "ingress-ghost.yaml").stdout
    assert kubectl("get", "ingress", "ghost", "-o", "jsonpath={.spec.ingressClassName}").stdout == "nginx"
    assert "pod: ghost" in curl(kubectl, f"http://{NODE1}:30080/").stdout
    assert 'ingress.networking.k8s.io "ghost" deleted' in kubectl("delete", "ingress", "ghost").stdout
    assert curl(kubectl, "-o", "/dev/null", "-w", "%{http_code}", f"http://{NODE1}:30080/").stdout == "404"


def test_exercise_4_gateway_api(course, tmp_path):
    c, kubectl = course
    kubectl("run", "ghost", "--image=ghost:4", "--port=2368", "--expose")
    kubectl("apply", "-f", EXERCISES / "gatewayclass-eg.yaml")
    accepted = kubectl("get", "gatewayclass", "eg", "-o", 'jsonpath={.status.conditions[?(@.type=="Accepted")].status}').stdout
    assert accepted == "True"
    kubectl("apply", "-f", EXERCISES / "gateway-ghost.yaml")
    # The controller made a LoadBalancer Service in its own namespace: find it with get svc -A.
    rows = [l.split() for l in kubectl("get", "svc", "-A").stdout.splitlines()[1:]]
    envoy = [r for r in rows if r[0] == "envoy-gateway-system"]
    assert len(envoy) == 1 and envoy[0][1].startswith("envoy-default-ghost-") and envoy[0][2] == "LoadBalancer", rows
    name, external_ip = envoy[0][1], envoy[0][4]
    labelled = kubectl("get", "svc", "-n", "envoy-gateway-system", "-l", "gateway.envoyproxy.io/owning-gateway-name=ghost",
                       "-o", "name").stdout.strip()
    assert labelled == f"service/{name}"
    r = kubectl("patch", "svc", name, "-n", "envoy-gateway-system", "-p", '{"spec":{"externalTrafficPolicy":"Cluster"}}')
    assert f"service/{name} patched" in r.stdout
    kubectl("apply", "-f", EXERCISES / "httproute-ghost.yaml")
    assert kubectl("get", "gateway", "ghost", "-o", "jsonpath={.status.addresses[0].value}").stdout == external_ip
    assert "pod: ghost" in wait_for(lambda: curl(kubectl, f"http://{external_ip}/").stdout, "ghost through the Gateway")
    # HTTPS for ghost.local, a self-signed certificate stored by create secret tls.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", tmp_path / "tls.key",
                    "-out", tmp_path / "tls.crt", "-subj", "/CN=ghost.local", "-addext", "subjectAltName=DNS:ghost.local"],
                   check=True, capture_output=True)
    kubectl("create", "secret", "tls", "ghost-tls", f"--cert={tmp_path / 'tls.crt'}", f"--key={tmp_path / 'tls.key'}")
    assert "gateway.gateway.networking.k8s.io/ghost configured" in kubectl("apply", "-f", EXERCISES / "gateway-ghost-https.yaml").stdout
    out = wait_for(lambda: curl(kubectl, "-k", "--resolve", f"ghost.local:443:{external_ip}", "https://ghost.local/").stdout,
                   "ghost over HTTPS")
    assert "pod: ghost" in out
    subject = curl(kubectl, "-kv", "--resolve", f"ghost.local:443:{external_ip}", "https://ghost.local/").stderr
    assert "CN=ghost.local" in subject


def test_exercise_5_namespace_and_pods(course):
    """The first steps of the NetworkPolicy exercise (the policies come with NetworkPolicy)."""
    c, kubectl = course
    assert "namespace/dev created" in kubectl("create", "namespace", "dev").stdout
    labels = kubectl("get", "ns", "dev", "-o", "jsonpath={.metadata.labels}").stdout
    assert json.loads(labels) == {"kubernetes.io/metadata.name": "dev"}
    kubectl("run", "nginx", "--image=nginx", "-n", "dev")
    kubectl("run", "alpine", "--image=alpine", "-n", "dev")
    kubectl("wait", "--for=condition=Ready", "pod/nginx", "pod/alpine", "-n", "dev")
    ip = kubectl("get", "pod", "nginx", "-n", "dev", "-o", "jsonpath={.status.podIP}").stdout
    r = kubectl("exec", "alpine", "-n", "dev", "--", "wget", "-qO-", "-T", "5", f"http://{ip}/")
    assert "pod: nginx" in r.stdout
    assert 'namespace "dev" deleted' in kubectl("delete", "ns", "dev").stdout
    assert kubectl("get", "pods", "-n", "dev", "-o", "name").stdout == ""


def test_labels_move_a_pod_in_and_out_of_a_service(course):
    c, kubectl = course
    kubectl("run", "web", "--image=nginx", "--labels=app=web")
    kubectl("expose", "pod", "web", "--port=80")
    ip = kubectl("get", "pod", "web", "-o", "jsonpath={.status.podIP}").stdout
    assert kubectl("get", "ep", "web", "-o", "jsonpath={.subsets[0].addresses[0].ip}").stdout == ip
    r = kubectl("label", "pod", "web", "app=other", check=False)
    assert r.returncode != 0 and "'app' already has a value (web), and --overwrite is false" in r.stderr
    assert "pod/web labeled" in kubectl("label", "pod", "web", "app=other", "--overwrite").stdout
    assert kubectl("get", "ep", "web", "-o", "json").stdout.count(ip) == 0
    kubectl("label", "pod", "web", "app=web", "--overwrite")
    assert ip in kubectl("get", "ep", "web", "-o", "json").stdout
    assert "node/node2 labeled" in kubectl("label", "node", "node2", "zone=b").stdout
    assert kubectl("get", "nodes", "-l", "zone=b", "-o", "name").stdout.strip() == "node/node2"
    r = kubectl("label", "node", "node2", "kubernetes.io/hostname=other", "--overwrite", check=False)
    assert r.returncode != 0 and "label kubernetes.io/hostname of a node is Kubernetes' own" in r.stderr
    kubectl("label", "node", "node2", "zone-")
    assert kubectl("get", "nodes", "-l", "zone", "-o", "name").stdout == ""
    assert "namespace/default annotated" in kubectl("annotate", "ns", "default", "owner=course").stdout
    assert kubectl("get", "ns", "default", "-o", "jsonpath={.metadata.annotations.owner}").stdout == "course"


def _pty_run(argv, rows, cols, script, timeout=20.0):
    """Runs argv on a new pseudo-terminal of rows x cols, types `script`, returns what it printed."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    out, sent, end = b"", False, time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not sent and time.monotonic() > end - timeout + 1.0:
            os.write(fd, script.encode())
            sent = True
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    os.waitpid(pid, 0)
    return out.decode(errors="replace")


def test_exec_it_gives_a_shell_on_a_terminal(course):
    c, kubectl = course
    kubectl("run", "shell", "--image=alpine")
    out = _pty_run([str(KN_LAB), "exec", "-it", "shell", "--", "sh"], 33, 101,
                   "tty; stty size; echo job-$((6*7)); exit\n")
    assert re.search(r"^/dev/pts/\d+\s*$", out, re.M), out
    assert re.search(r"^33 101\s*$", out, re.M), out
    assert "job-42" in out


def test_run_rm_it_on_a_terminal_leaves_no_pod(course):
    c, kubectl = course
    out = _pty_run([str(KN_LAB), "run", "tmp", "--rm", "-it", "--image=alpine", "--", "sh"], 24, 80,
                   "hostname; tty; exit\n")
    assert re.search(r"^tmp\s*$", out, re.M), out      # the pod's UTS namespace
    assert re.search(r"^/dev/pts/\d+\s*$", out, re.M), out
    assert 'pod "tmp" deleted' in out
    assert kubectl("get", "pods", "-o", "name").stdout == ""


def test_patch_a_deployment_a_gateway_and_wait_for_a_deletion(course):
    c, kubectl = course
    kubectl("create", "deploy", "ghost", "--replicas=3", "--image=ghost:4")
    kubectl("patch", "deploy", "ghost", "-p", "spec:\n  replicas: 1\n")  # YAML, strategic
    assert len(kubectl("get", "po", "-l", "app=ghost", "-o", "name").stdout.split()) == 1
    kubectl("apply", "-f", EXERCISES / "gatewayclass-eg.yaml")
    kubectl("apply", "-f", EXERCISES / "gateway-ghost.yaml")
    r = kubectl("patch", "gateway", "ghost", "-p", '{"spec":{"listeners":[]}}', check=False)
    assert r.returncode != 0 and "application/strategic-merge-patch+json is not supported" in r.stderr
    r = kubectl("patch", "gateway", "ghost", "--type=json",
                "-p", '[{"op":"replace","path":"/spec/listeners/0/port","value":8080}]')
    assert "gateway.gateway.networking.k8s.io/ghost patched" in r.stdout
    assert kubectl("get", "svc", "-n", "envoy-gateway-system", "-o", "jsonpath={.items[0].spec.ports[0].port}").stdout == "8080"
    r = kubectl("wait", "--for=delete", "gateway/ghost", "--timeout=500ms", check=False)  # it is still there
    assert r.returncode == 1 and "timed out waiting for the condition on gateway/ghost" in r.stderr, r.stderr
    r = kubectl("wait", "--for=condition=Ready", "pod/nothing", "--timeout=300ms", check=False)
    assert r.returncode == 1 and "pod/nothing not found" in r.stderr
    ready = kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=ghost").stdout
    assert ready.startswith("pod/ghost-") and ready.rstrip().endswith("condition met")
    kubectl("delete", "gateway", "ghost")
    assert kubectl("wait", "--for=delete", "gateway/ghost", "--timeout=5s").stdout == "gateway/ghost deleted\n"
    assert kubectl("wait", "--for=delete", "svc", "-n", "envoy-gateway-system", "--all", "--timeout=5s").returncode == 0
    assert kubectl("get", "svc", "-n", "envoy-gateway-system", "-o", "name").stdout == ""


def test_logs_tail_and_follow(course):
    c, kubectl = course
    kubectl("run", "count", "--image=alpine", "--restart=Never", "--", "sh", "-c", "for i in 1 2 3 4; do echo line-$i; done")
    out = wait_for(lambda: "line-4" in kubectl("logs", "count").stdout and kubectl("logs", "count").stdout, "the pod's output")
    assert out.split() == ["line-1", "line-2", "line-3", "line-4"]
    assert kubectl("logs", "count", "--tail=2").stdout.split() == ["line-3", "line-4"]
    assert kubectl("logs", "-f", "count", timeout=10).stdout.split() == ["line-1", "line-2", "line-3", "line-4"]  # it ended


def test_create_service_and_ingress_from_flags_and_apply_from_stdin(course):
    c, kubectl = course
    kubectl("create", "deploy", "web", "--image=nginx", "--replicas=2")
    out = kubectl("create", "service", "nodeport", "web", "--tcp=8080:80", "--node-port=30100").stdout
    assert "service/web created" in out
    assert kubectl("get", "svc", "web", "-o", "jsonpath={.spec.type} {.spec.ports[0].nodePort}").stdout == "NodePort 30100"
    assert "pod: web-" in curl(kubectl, f"http://{NODE1}:30100/").stdout
    r = kubectl("create", "service", "nodeport", "web", "--tcp=80", check=False)
    assert r.returncode != 0 and 'services "web" already exists' in r.stderr
    out = kubectl("create", "ingress", "web", "--class=nginx", "--rule=/shop*=web:8080").stdout
    assert "ingress.networking.k8s.io/web created" in out
    assert kubectl("get", "ing", "web", "-o", "jsonpath={.spec.rules[0].http.paths[0].pathType}").stdout == "Prefix"
    assert "pod: web-" in curl(kubectl, f"http://{NODE1}:30080/shop/cart").stdout
    yaml = kubectl("get", "ing", "web", "-o", "yaml").stdout
    kubectl("delete", "ing", "web")
    assert "ingress.networking.k8s.io/web created" in kubectl("apply", "-f", "-", input=yaml).stdout
    assert "ingress.networking.k8s.io/web unchanged" in kubectl("apply", "-f", "-", input=yaml).stdout
    deploy = kubectl("get", "deploy", "web", "-o", "yaml").stdout
    assert "deployment.apps/web unchanged" in kubectl("apply", "-f", "-", input=deploy).stdout
    assert "deployment.apps/web configured" in kubectl("apply", "-f", "-", input=deploy.replace("replicas: 2", "replicas: 1", 1)).stdout
    assert "pod: web-" in curl(kubectl, f"http://{NODE1}:30080/shop").stdout


def test_field_selectors(course):
    c, kubectl = course
    kubectl("create", "deploy", "web", "--image=nginx", "--replicas=3")
    pods = json.loads(kubectl("get", "po", "-o", "json").stdout)["items"]
    node = pods[0]["spec"]["nodeName"]
    want = sorted(p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] == node)
    got = kubectl("get", "po", "--field-selector", f"spec.nodeName={node}", "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
    assert sorted(got) == want
    ip = pods[0]["status"]["podIP"]
    assert kubectl("get", "po", "-A", "--field-selector", f"status.podIP={ip}", "-o", "name").stdout.strip() == \
        f"pod/{pods[0]['metadata']['name']}"
    assert kubectl("exec", "deploy/web", "--", "hostname").stdout.strip().startswith("web-")  # one of its pods
    kubectl("expose", "deploy/web", "--port=80")
    assert kubectl("exec", "svc/web", "--", "hostname").stdout.strip() in want + [p["metadata"]["name"] for p in pods]
    r = kubectl("get", "svc", "--field-selector", "spec.nodeName=node1", check=False)
    assert r.returncode != 0 and "field label not supported: spec.nodeName" in r.stderr


def test_edit_through_the_editor(course, tmp_path):
    """Exercise 1 says "edit or patch it": kubectl edit with an editor that changes the type."""
    c, kubectl = course
    kubectl("run", "podinfo", "--image=stefanprodan/podinfo", "--port=9898", "--expose")
    editor = tmp_path / "editor.py"
    editor.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
                      "p.write_text(p.read_text().replace('type: ClusterIP', 'type: NodePort'))\n")
    env = dict(os.environ, KUBE_EDITOR=f"/usr/bin/python3 {editor}")
    r = subprocess.run([str(KN_LAB), "edit", "svc", "podinfo"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "service/podinfo edited" in r.stdout, r.stderr
    assert kubectl("get", "svc", "podinfo", "-o", "jsonpath={.spec.type}").stdout == "NodePort"
    env["KUBE_EDITOR"] = "/bin/true"  # saved unchanged
    r = subprocess.run([str(KN_LAB), "edit", "svc/podinfo"], env=env, capture_output=True, text=True, timeout=30)
    assert "Edit cancelled, no changes made." in r.stdout
    editor.write_text("import sys, pathlib\npathlib.Path(sys.argv[1]).write_text('spec: [unclosed\\n')\n")
    env["KUBE_EDITOR"] = f"/usr/bin/python3 {editor}"
    r = subprocess.run([str(KN_LAB), "edit", "svc", "podinfo"], env=env, capture_output=True, text=True, timeout=30)
    kept = re.search(r"your edit is kept in (\S+)", r.stderr)
    assert r.returncode != 0 and kept, r.stderr
    os.unlink(kept.group(1))
    assert kubectl("get", "svc", "podinfo", "-o", "jsonpath={.spec.type}").stdout == "NodePort"


def test_describe_every_kind(course):
    c, kubectl = course
    kubectl("create", "deploy", "ghost", "--image=ghost:4", "--replicas=2")
    kubectl("expose", "deploy/ghost", "--port=2368")
    node = kubectl("describe", "node", "node1").stdout
    assert re.search(r"^Name:\s+node1$", node, re.M) and re.search(r"^PodCIDR:\s+10.244.0.0/24$", node, re.M), node
    assert re.search(r"^\s+InternalIP:\s+192.168.56.11$", node, re.M)
    ns = kubectl("describe", "ns", "default").stdout
    assert re.search(r"^Labels:\s+kubernetes.io/metadata.name=default$", ns, re.M), ns
    deploy = kubectl("describe", "deployment/ghost").stdout
    assert re.search(r"^Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable$", deploy, re.M), deploy
    rs = kubectl("get", "rs", "-o", "name").stdout.split()[0]
    assert re.search(r"^Controlled By:\s+Deployment/ghost$", kubectl("describe", rs).stdout, re.M)
    slices = kubectl("describe", "endpointslices", "-l", "kubernetes.io/service-name=ghost").stdout
    assert re.search(r"^Name:\s+ghost-", slices, re.M), slices
    assert re.search(r"^Endpoints:\s+\S+:2368,\S+:2368$", kubectl("describe", "svc/ghost").stdout, re.M)
    r = kubectl("describe", "node", "node9", check=False)
    assert r.returncode != 0 and 'nodes "node9" not found' in r.stderr
