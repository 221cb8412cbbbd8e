"""`kn-lab exercise`: the course's five exercises (exercises/*.toml) checked step by step.

For each exercise a correct solution is played with kubectl's commands (only the binary's name
changed, as in test_course.py) and `exercise check` reports every step done (exit 0); a wrong
solution (wrong port, wrong selector, a missing policy, ...) makes the right step fail with its
hint (exit 1). Checks read the lab's objects and kernel, so other commands reaching the same
result pass too. Also: `exercise list`, `exercise reset`, bad input.
"""
import json
import re
import subprocess

import pytest

from conftest import REPO, _SESSION_LABS

EXERCISES = REPO / "manifests" / "exercises"
NODE1 = "192.168.56.11"
ALL_NAMES = ["services", "endpoints", "ingress", "gateway-api", "network-policy"]


@pytest.fixture
def exercise(kn):
    """start(NAME) -> kubectl: `kn-lab exercise start NAME` (it brings lab course up; the fixture
    takes it down), and kubectl = kn-lab."""
    def start(name):
        kn.up_labs["course"] = True  # `exercise start` brings it up: the runner's cleanup downs it
        _SESSION_LABS.add("course")
        r = kn("exercise", "start", name, check=True, timeout=180)
        assert "Step 1/" in r.stdout, r.stdout
        return r

    return start, kn


def check(kn, *args):
    return kn("exercise", "check", *args, check=False, timeout=120)


def steps_of(out):
    """{step name: done} from `exercise check`'s text."""
    return {m.group(2): m.group(1) == "\u2713" for m in re.finditer(r"^  ([\u2713\u2717]) \d+\. (\S+)$", out, re.M)}


def assert_done(kn):
    r = check(kn)
    assert r.returncode == 0, r.stdout + r.stderr
    assert all(steps_of(r.stdout).values()) and "is complete" in r.stdout, r.stdout
    j = json.loads(check(kn, "-o", "json").stdout)
    assert j["done"] and j["next"] is None and all(s["done"] for s in j["steps"])
    return r


def assert_next(kn, step, hint):
    """The first step not done is `step`, and its failing check's hint says `hint`."""
    r = check(kn)
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(rf"^Step \d+/\d+ {re.escape(step)}: ", r.stdout, re.M), r.stdout
    assert hint in r.stdout, r.stdout
    j = json.loads(check(kn, "-o", "json").stdout)
    assert not j["done"] and j["next"]["name"] == step
    return r


def test_list_names_every_exercise_and_the_one_started(exercise):
    start, kn = exercise
    rows = kn("exercise", "list", check=True).stdout.splitlines()
    assert rows[0].split()[:4] == ["#", "NAME", "LAB", "STARTED"]
    assert [r.split()[1] for r in rows[1:]] == ALL_NAMES
    assert [r.split()[0] for r in rows[1:]] == ["1", "2", "3", "4", "5"]
    start("2")  # by number
    rows = kn("exercise", "list", check=True).stdout.splitlines()
    started = [r.split()[1] for r in rows[1:] if r.split()[3] == "yes"]
    assert started == ["endpoints"]


def test_bad_input_says_what_to_do(kn):
    r = kn("exercise", "check")
    assert r.returncode != 0 and "no exercise is started" in r.stderr and "kn-lab exercise start NAME" in r.stderr
    r = kn("exercise", "start", "servics")
    assert r.returncode != 0 and 'no exercise "servics"' in r.stderr and "did you mean 'services'?" in r.stderr
    r = kn("exercise", "check", "services")
    assert r.returncode != 0 and "its lab course is not up" in r.stderr and "kn-lab exercise start services" in r.stderr
    r = kn("exercise", "reset")
    assert r.returncode != 0 and "no exercise is started" in r.stderr


def test_exercise_1_services(exercise):
    start, kubectl = exercise
    out = start("services").stdout
    assert "Step 1/4 run-podinfo" in out and "kubectl run podinfo --image=stefanprodan/podinfo --port=9898" in out
    assert_next(kubectl, "run-podinfo", "kubectl run podinfo --image=stefanprodan/podinfo --port=9898")
    kubectl("run", "podinfo", "--image=stefanprodan/podinfo", "--port=9898", check=True)
    # Wrong: the Service sends to a port nothing listens on.
    kubectl("expose", "pod", "podinfo", "--port=9898", "--target-port=8080", check=True)
    r = assert_next(kubectl, "expose", "kubectl get endpoints podinfo lists where it sends")
    assert steps_of(r.stdout)["run-podinfo"] and not steps_of(r.stdout)["expose"]
    kubectl("delete", "svc", "podinfo", check=True)
    kubectl("expose", "pod", "podinfo", "--port=9898", check=True)
    r = kubectl("run", "test", "--rm", "-i", "--image=alpine", "--", "sh", input="wget -qO- podinfo:9898\nexit\n")
    assert "pod: podinfo" in r.stdout
    assert_next(kubectl, "node-port", "kubectl patch svc podinfo")
    kubectl("patch", "svc", "podinfo", "-p", '{"spec":{"type":"NodePort"}}', check=True)
    assert_done(kubectl)


def test_exercise_2_endpoints(exercise):
    start, kubectl = exercise
    start("endpoints")
    kubectl("create", "deploy", "ghost", "--replicas=2", "--image=ghost:4", check=True)
    assert_next(kubectl, "deploy", "kubectl scale deploy/ghost --replicas=3")
    kubectl("scale", "deploy/ghost", "--replicas=3", check=True)  # another way to three replicas
    kubectl("rollout", "status", "deploy/ghost", check=True)
    # Wrong: a selector that matches no pod; the Service has no endpoints.
    kubectl("expose", "deploy/ghost", "--port=2368", "--selector=app=ghst", check=True)
    assert_next(kubectl, "expose", "kubectl describe svc ghost shows its Selector")
    kubectl("delete", "svc", "ghost", check=True)
    kubectl("expose", "deploy/ghost", "--port=2368", check=True)
    assert_done(kubectl)


def test_exercise_3_ingress(exercise, tmp_path):
    start, kubectl = exercise
    start("ingress")
    r = assert_next(kubectl, "run-ghost", "kubectl run ghost --image=ghost:4 --port=2368 --expose")
    assert steps_of(r.stdout)["default-backend"]
    kubectl("run", "ghost", "--image=ghost:4", "--port=2368", "--expose", check=True)
    # Wrong: the Ingress sends to port 80 of the Service, which has only 2368.
    wrong = tmp_path / "ingress.yaml"
    wrong.write_text((EXERCISES / "ingress-ghost.yaml").read_text().replace("number: 2368", "number: 80"))
    kubectl("apply", "-f", wrong, check=True)
    assert_next(kubectl, "ingress", "kubectl describe ingress ghost shows its backends")
    kubectl("apply", "-f", EXERCISES / "ingress-ghost.yaml", check=True)
    assert_done(kubectl)


def _envoy_service(kubectl):
    return kubectl("get", "svc", "-n", "envoy-gateway-system", "-l", "gateway.envoyproxy.io/owning-gateway-name=ghost",
                   "-o", "jsonpath={.items[0].metadata.name}", check=True).stdout


def test_exercise_4_gateway_api(exercise, tmp_path):
    start, kubectl = exercise
    start("gateway-api")
    kubectl("run", "ghost", "--image=ghost:4", "--port=2368", "--expose", check=True)
    kubectl("apply", "-f", EXERCISES / "gatewayclass-eg.yaml", check=True)
    kubectl("apply", "-f", EXERCISES / "gateway-ghost.yaml", check=True)
    # Wrong: the route is there, but the Service's externalTrafficPolicy is Local.
    kubectl("apply", "-f", EXERCISES / "httproute-ghost.yaml", check=True)
    kubectl("patch", "svc", _envoy_service(kubectl), "-n", "envoy-gateway-system",
            "-p", '{"spec":{"externalTrafficPolicy":"Local"}}', check=True)
    r = assert_next(kubectl, "traffic-policy", "externalTrafficPolicy")
    assert steps_of(r.stdout)["gateway"]
    kubectl("patch", "svc", _envoy_service(kubectl), "-n", "envoy-gateway-system",
            "-p", '{"spec":{"externalTrafficPolicy":"Cluster"}}', check=True)
    assert_next(kubectl, "https", "kubectl create secret tls ghost-tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", tmp_path / "tls.key",
                    "-out", tmp_path / "tls.crt", "-subj", "/CN=ghost.local", "-addext", "subjectAltName=DNS:ghost.local"],
                   check=True, capture_output=True)
    kubectl("create", "secret", "tls", "ghost-tls", f"--cert={tmp_path / 'tls.crt'}", f"--key={tmp_path / 'tls.key'}", check=True)
    kubectl("apply", "-f", EXERCISES / "gateway-ghost-https.yaml", check=True)
    assert_done(kubectl)


def test_exercise_5_network_policy(exercise, tmp_path):
    start, kubectl = exercise
    start("network-policy")
    kubectl("create", "namespace", "dev", check=True)
    kubectl("run", "nginx", "--image=nginx", "-n", "dev", check=True)
    kubectl("run", "alpine", "--image=alpine", "-n", "dev", check=True)
    # Wrong: the default deny is missing (allow-in-namespace alone isolates the pods too).
    kubectl("apply", "-f", EXERCISES / "allow-in-namespace.yaml", check=True)
    kubectl("run", "other", "--image=alpine", "--", "sleep", "infinity", check=True)
    r = assert_next(kubectl, "default-deny", "default-deny-ingress.yaml")
    assert steps_of(r.stdout)["namespace-and-pods"] and steps_of(r.stdout)["other-namespace-blocked"]
    kubectl("apply", "-f", EXERCISES / "default-deny-ingress.yaml", check=True)
    assert_done(kubectl)
    # Wrong: allowing every namespace lets the pod of default in.
    wide = tmp_path / "allow.yaml"
    wide.write_text((EXERCISES / "allow-in-namespace.yaml").read_text().replace("podSelector: {}\n", "namespaceSelector: {}\n")
                    .replace("  namespaceSelector: {}\n  ingress", "  podSelector: {}\n  ingress"))
    kubectl("apply", "-f", wide, check=True)
    assert_next(kubectl, "allow-in-namespace", "kubectl apply -f manifests/exercises/allow-in-namespace.yaml")
    kubectl("apply", "-f", EXERCISES / "allow-in-namespace.yaml", check=True)
    assert_done(kubectl)


def test_reset_starts_again_on_a_fresh_lab(exercise):
    start, kubectl = exercise
    start("services")
    kubectl("run", "podinfo", "--image=stefanprodan/podinfo", "--port=9898", check=True)
    assert_next(kubectl, "expose", "kubectl expose pod podinfo --port=9898")
    r = kubectl("exercise", "reset", check=True, timeout=180)
    assert "starts again" in r.stdout and "Step 1/4 run-podinfo" in r.stdout
    assert kubectl("get", "pods", "-o", "name", check=True).stdout == ""
    assert_next(kubectl, "run-podinfo", "kubectl run podinfo")
    rows = kubectl("exercise", "list", check=True).stdout.splitlines()
    assert [r.split()[1] for r in rows[1:] if len(r.split()) > 3 and r.split()[3] == "yes"] == ["services"]
