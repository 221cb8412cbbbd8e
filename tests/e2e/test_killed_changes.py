"""A live change killed at any point leaves a lab that the next `up` repairs: it makes the pods
the desired state has and the kernel lacks, removes the namespaces the desired state does not
know, restarts what a half-made pod lacks; afterwards `get` agrees with the kernel, a second
`up` finds nothing to do, and the same change succeeds.

The change records where the lab is going before it changes the kernel (write-ahead), and a
change that fails (not killed) is undone together with its record."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from conftest import KN_LAB
from harness import listdir

pytestmark = pytest.mark.e2e

LAB = "03-pod-to-pod-vxlan"
NAME = "vxlan"
INFRA = {"node1", "node2", "node3", "wire", "external"}
OWN_PODS = 6  # the lab file's: a1, b1, a2, b2, a3, b3


def lab_namespaces() -> set[str]:
    return {n.split(".", 1)[1] for n in listdir("/run/netns") if n.startswith(f"kn-{NAME}.")}


def assert_get_agrees_with_kernel(lab) -> list[dict]:
    pods = lab.pods()["items"]
    names = {p["metadata"]["name"] for p in pods}
    assert lab_namespaces() - INFRA == names, "pods listed and pod namespaces differ"
    not_running = [p["metadata"]["name"] for p in pods if p["status"]["phase"] != "Running"]
    assert not not_running, not_running
    return pods


def start(lab, kn, replicas: int = 2):
    v = lab(LAB)
    kn("create", "deploy", "d1", "--image=nginx", f"--replicas={replicas}", "--lab", v.name, check=True)
    return v


def repaired(v, kn):
    r = kn("up", LAB, check=True)
    again = kn("up", LAB, check=True)
    assert "nothing drifted" in again.stdout, again.stdout
    return r


# Fault points of `scale deploy/d1 --replicas=12` (10 new pods): named by a part of the op's
# rendering (the first op that matches), or an index into the change's ops.
KILL_POINTS = [
    "ip netns add kn-vxlan.d1-",   # before the first new namespace
    "exec kn-pause",               # a namespace made, its pause not started
    "type veth peer name eth0",    # a pause running, no veth
    "route add default",           # a veth without its route
    "kn-netexec",                  # the network done, no container
    "60",                          # somewhere in the middle
]


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_scale_killed_then_up_repairs_and_the_change_succeeds(kill_at, lab, kn):
    v = start(lab, kn)
    env = dict(os.environ, KNLAB_TEST_KILL_AT=kill_at)
    r = subprocess.run([str(KN_LAB), "scale", "deploy/d1", "--replicas=12", "--lab", v.name], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == -9, r
    up = repaired(v, kn)
    # What was missing is named: pods never made, or half-made pods restarted.
    assert "repaired: pod d1-" in up.stdout, up.stdout
    pods = assert_get_agrees_with_kernel(v)
    assert len([p for p in pods if p["metadata"]["name"].startswith("d1-")]) == 12  # the record went ahead
    # The same change again, and its reverse, now succeed.
    kn("scale", "deploy/d1", "--replicas=12", "--lab", v.name, check=True)
    kn("scale", "deploy/d1", "--replicas=2", "--lab", v.name, check=True)
    kn("scale", "deploy/d1", "--replicas=12", "--lab", v.name, check=True)
    assert len(assert_get_agrees_with_kernel(v)) == OWN_PODS + 12
    # Every new pod answers.
    ip = next(p["status"]["podIP"] for p in v.pods()["items"] if p["metadata"]["name"].startswith("d1-"))
    assert v.wait_tcp("node1", ip, 80, timeout=5)  # the nginx image serves on 80


@pytest.mark.parametrize("delay", [0.02, 0.06, 0.12])
def test_scale_down_killed_from_outside_then_up_removes_what_the_record_does_not_know(delay, lab, kn):
    v = start(lab, kn, replicas=12)
    p = subprocess.Popen([str(KN_LAB), "scale", "deploy/d1", "--replicas=1", "--lab", v.name],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    repaired(v, kn)
    pods = assert_get_agrees_with_kernel(v)
    d1 = [x for x in pods if x["metadata"]["name"].startswith("d1-")]
    assert len(d1) in (1, 12)  # killed before the record was written, or after
    kn("scale", "deploy/d1", "--replicas=5", "--lab", v.name, check=True)
    assert len(assert_get_agrees_with_kernel(v)) == OWN_PODS + 5


@pytest.mark.parametrize("fail_at", ["exec kn-pause", "kn-netexec"])
def test_failed_change_is_undone_with_its_record(fail_at, lab, kn):
    v = start(lab, kn)
    before = {p["metadata"]["name"] for p in v.pods()["items"]}
    env = dict(os.environ, KNLAB_TEST_FAIL_AT=fail_at)
    r = subprocess.run([str(KN_LAB), "scale", "deploy/d1", "--replicas=6", "--lab", v.name], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "injected failure" in r.stderr, r
    assert {p["metadata"]["name"] for p in assert_get_agrees_with_kernel(v)} == before
    again = kn("up", LAB, check=True)
    assert "nothing drifted" in again.stdout, again.stdout


def test_scale_down_killed_before_its_removal_then_up_removes_the_pods(lab, kn):
    """Removing pods is an op like the others (one NetnsRemove for all of them, one /proc scan):
    killed before it, the record already says 2 replicas; `up` removes the namespaces left.
    (Killed in the middle of it: test_scale_down_killed_from_outside...)"""
    v = start(lab, kn, replicas=12)
    env = dict(os.environ, KNLAB_TEST_KILL_AT="ip netns del kn-vxlan.d1-")
    r = subprocess.run([str(KN_LAB), "scale", "deploy/d1", "--replicas=2", "--lab", v.name], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == -9, r
    assert len(lab_namespaces() - INFRA) > OWN_PODS + 2  # some removals were not made
    up = repaired(v, kn)
    assert "is not in the lab's desired state (removed)" in up.stdout, up.stdout
    assert len(assert_get_agrees_with_kernel(v)) == OWN_PODS + 2
    kn("scale", "deploy/d1", "--replicas=4", "--lab", v.name, check=True)
    assert len(assert_get_agrees_with_kernel(v)) == OWN_PODS + 4


def test_dry_run_and_verbose_show_the_ops_of_a_live_change(lab, kn):
    v = start(lab, kn, replicas=3)
    before = lab_namespaces()
    up_ops = kn("scale", "deploy/d1", "--replicas=5", "--dry-run", "--lab", v.name, check=True).stdout
    assert up_ops.count("ip netns add kn-vxlan.d1-") == 2, up_ops
    assert "exec kn-pause" in up_ops and "iptables" not in up_ops  # no Service: no rules change
    assert "# dry run: deployment.apps/d1 scaled" in up_ops
    down_ops = kn("scale", "deploy/d1", "--replicas=1", "--dry-run", "--lab", v.name, check=True).stdout
    assert down_ops.count("ip netns del kn-vxlan.d1-") == 2, down_ops
    assert lab_namespaces() == before and len(v.pods()["items"]) == OWN_PODS + 3  # nothing changed
    # -v shows the same ops as they run, the removals too.
    r = kn("-v", "scale", "deploy/d1", "--replicas=1", "--lab", v.name, check=True)
    assert r.stderr.count("ip netns pids kn-vxlan.d1-") == 2, r.stderr
    assert len(assert_get_agrees_with_kernel(v)) == OWN_PODS + 1
    # --dry-run goes only with what changes a lab.
    refused = kn("get", "pods", "--dry-run", "--lab", v.name)
    assert refused.returncode == 2 and "--dry-run does not go with `kn-lab get`" in refused.stderr


@pytest.mark.parametrize("kill_at", ["install -m 0644 /dev/stdin /run/kn-lab/ingress/nginx", "nginx -s reload"])
def test_ingress_apply_killed_before_the_reload_then_up_reloads_nginx(kill_at, lab, kn):
    """The switch-over writes nginx's files, then reloads it: killed between the two (or before),
    `up` sees nginx running an older configuration than its file (or a file that differs from
    the desired state), and reloads it; the course's Ingress then answers."""
    from test_l7 import COURSE, NODE1, status_code, wait_http
    s = lab("09-ingress")
    kn("delete", "-f", str(COURSE / "ingress.yaml"), "--lab", s.name, check=True)
    wait_http(s, f"http://{NODE1}:30080/healthz")
    env = dict(os.environ, KNLAB_TEST_KILL_AT=kill_at)
    r = subprocess.run([str(KN_LAB), "apply", "-f", str(COURSE / "ingress.yaml"), "--lab", s.name], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == -9, r
    assert status_code(s, f"http://{NODE1}:30080/api/users") == "404"  # the old configuration serves
    up = kn("up", "09-ingress", check=True)
    assert "(reloaded)" in up.stdout or "(rewritten)" in up.stdout, up.stdout
    body = wait_http(s, f"http://{NODE1}:30080/api/users", "pod: api-")
    assert "\npath: /\n" in body, body
    assert "nothing drifted" in kn("up", "09-ingress", check=True).stdout


def test_a_bad_manifest_applied_to_a_running_lab_names_the_manifest(lab, kn, tmp_path):
    """The whole desired state is validated again; the error names the user's manifest at the
    object that breaks the rule, never the record under /run/kn-lab, and nothing changes."""
    v = lab("07-service-nodeport")
    f = tmp_path / "clash.yaml"
    f.write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: clash\nspec:\n  type: NodePort\n"
                 "  selector:\n    app: podinfo\n  ports:\n  - port: 80\n    targetPort: 9898\n    nodePort: 30080\n")
    before = kn("get", "svc", "-o", "json", "--lab", v.name, check=True).stdout  # the objects, not AGE
    r = kn("apply", "-f", str(f), "--lab", v.name)
    assert r.returncode == 2, r
    assert f"{f}:" in r.stderr and "30080" in r.stderr and "/run/kn-lab" not in r.stderr, r.stderr
    assert kn("get", "svc", "-o", "json", "--lab", v.name, check=True).stdout == before
    # The same rule from the command line names no file at all.
    r = kn("expose", "deploy/podinfo", "--name=clash", "--type=NodePort", "--port=80", "--node-port=30080",
           "--lab", v.name)
    assert r.returncode == 2 and "30080" in r.stderr and "/run/kn-lab" not in r.stderr, r.stderr
