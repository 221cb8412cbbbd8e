"""A running lab driven through random live changes: create, scale, delete (pods and
Deployments), expose, patch, several changes at once from several processes, a change killed
at a random op, a pause process or the DNS daemon killed by hand, a pod's veth deleted by hand, and `up` to repair.
After every step `get` agrees with a model the test keeps and with the kernel (one namespace per
pod, every pod Running); at the end `down` leaves the host as it was (host_guard).

The seed is printed (and in the test's id); replay one with KNLAB_RANDOM_SEED=<seed>. Longer
runs: KNLAB_RANDOM_STEPS=300 (scripts/soak.sh random N does that)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

import pytest

from conftest import KN_LAB
from harness import listdir

pytestmark = pytest.mark.e2e

SEED = int(os.environ.get("KNLAB_RANDOM_SEED") or random.SystemRandom().randrange(1 << 30))
STEPS = int(os.environ.get("KNLAB_RANDOM_STEPS", "40"))
LAB = "03-pod-to-pod-vxlan"
NAME = "vxlan"
OWN_PODS = {"a1", "b1", "a2", "b2", "a3", "b3"}
INFRA = {"node1", "node2", "node3", "wire", "external"}
DEPLOYMENTS = ("alpha", "beta", "gamma")
MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: delta
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: delta
  template:
    metadata:
      labels:
        app: delta
    spec:
      containers:
      - name: web
        image: nginx
---
apiVersion: v1
kind: Service
metadata:
  name: delta
spec:
  selector:
    app: delta
  ports:
  - port: 80
"""


class World:
    """What the lab should hold: replicas per Deployment, Services, and whether a repair is due."""

    def __init__(self, kn, rng: random.Random, tmp):
        self.kn, self.rng, self.tmp = kn, rng, tmp
        self.replicas: dict[str, int] = {}
        self.services: set[str] = set()
        self.broken = False  # something was broken by hand or a change killed: `up` must repair
        self.daemon_killed = False

    def run(self, *args, check=True, env=None):
        if env is None:
            return self.kn(*args, "--lab", NAME, check=check)
        return subprocess.run([str(KN_LAB), *args, "--lab", NAME], env=env, capture_output=True, text=True, timeout=120)

    def pods(self) -> list[dict]:
        """Every pod of the lab, in every Kubernetes namespace (kube-dns lives in kube-system)."""
        return json.loads(self.run("get", "pods", "-A", "-o", "json").stdout)["items"]

    # ---- the steps ----------------------------------------------------------------------------
    def create(self):
        free = [d for d in DEPLOYMENTS if d not in self.replicas]
        if not free:
            return self.scale()
        d, n = self.rng.choice(free), self.rng.randrange(0, 4)
        self.run("create", "deploy", d, "--image=nginx", f"--replicas={n}")
        self.replicas[d] = n

    def scale(self):
        if not self.replicas:
            return self.create()
        d, n = self.rng.choice(sorted(self.replicas)), self.rng.randrange(0, 7)
        self.run("scale", f"deploy/{d}", f"--replicas={n}")
        self.replicas[d] = n

    def delete_pod(self):
        pods = [p["metadata"]["name"] for p in self.pods() if p["metadata"]["name"].startswith(DEPLOYMENTS)]
        if not pods:
            return self.create()
        self.run("delete", "pod", self.rng.choice(pods))  # its Deployment makes another

    def delete_deploy(self):
        mine = sorted(d for d in self.replicas if d in DEPLOYMENTS)
        if not mine:
            return self.create()
        d = self.rng.choice(mine)
        self.run("delete", "deploy", d)
        del self.replicas[d]

    def expose(self):
        candidates = [d for d in self.replicas if d not in self.services]
        if not candidates:
            return self.patch() if self.services else self.create()
        d = self.rng.choice(candidates)
        self.run("expose", f"deploy/{d}", "--port=80")
        self.services.add(d)

    def patch(self):
        if not self.services:
            return self.expose()
        self.run("patch", "svc", self.rng.choice(sorted(self.services)),
                 "-p", json.dumps({"spec": {"type": self.rng.choice(['ClusterIP', 'NodePort', 'LoadBalancer'])}}))

    def manifest(self):
        """apply -f of a Deployment and its Service (again: a change of replicas), or delete -f."""
        f = self.tmp / "delta.yaml"
        if "delta" in self.replicas and self.rng.random() < 0.4:
            self.run("delete", "-f", str(f))
            del self.replicas["delta"]
            self.services.discard("delta")
            return
        n = self.rng.randrange(0, 5)
        f.write_text(MANIFEST.format(replicas=n))
        self.run("apply", "-f", str(f))
        self.replicas["delta"] = n
        self.services.add("delta")

    def concurrent(self):
        """Three scales at once from three processes: the lab's lock serialises them."""
        for d in DEPLOYMENTS:
            if d not in self.replicas:
                self.run("create", "deploy", d, "--image=nginx", "--replicas=1")
                self.replicas[d] = 1
        wanted = {d: self.rng.randrange(0, 5) for d in DEPLOYMENTS}
        procs = [subprocess.Popen([str(KN_LAB), "scale", f"deploy/{d}", f"--replicas={n}", "--lab", NAME],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for d, n in wanted.items()]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        self.replicas.update(wanted)

    def killed_change(self):
        if not self.replicas:
            return self.create()
        d, n = self.rng.choice(sorted(self.replicas)), self.rng.randrange(0, 9)
        env = dict(os.environ, KNLAB_TEST_KILL_AT=str(self.rng.randrange(1, 40)))
        r = self.run("scale", f"deploy/{d}", f"--replicas={n}", env=env)
        assert r.returncode in (0, -9), r  # past its last op the change simply completes
        self.replicas[d] = n  # the record goes ahead of the kernel: `up` finishes the change
        self.broken = r.returncode == -9

    def kill_pause(self):
        victim = self.rng.choice(self.pods())
        os.kill(int(victim["metadata"]["annotations"]["kn-lab.io/pause-pid"]), signal.SIGKILL)
        self.broken = True

    def daemons(self) -> list[int]:
        """PIDs of the lab's cluster DNS server (dnsmasq, there once a Service exists)."""
        out = []
        for pid in listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv[0] == b"dnsmasq" and any(f"/run/kn-lab/{NAME}/".encode() in a for a in argv):
                out.append(int(pid))
        return out

    def kill_daemon(self):
        """A daemon killed by hand: `up` restarts it (and the check sees it back)."""
        pids = self.daemons()
        if not pids:
            return self.kill_pause()
        os.kill(self.rng.choice(pids), signal.SIGKILL)
        self.broken = True
        self.daemon_killed = True

    def delete_veth(self):
        victim = self.rng.choice(self.pods())
        subprocess.run(["ip", "-n", f"kn-{NAME}.{victim['spec']['nodeName']}", "link", "del",
                        victim["metadata"]["annotations"]["kn-lab.io/host-veth"]], check=True)
        self.broken = True

    def repair(self):
        self.kn("up", LAB, check=True)
        self.broken = False
        if self.daemon_killed:
            assert self.daemons(), "up did not restart the cluster DNS's dnsmasq"
            self.daemon_killed = False

    # ---- the check ------------------------------------------------------------------------------
    def check(self, step: int, what: str):
        if self.broken:
            self.repair()
        pods = self.pods()
        names = {p["metadata"]["name"] for p in pods}
        # A pod's namespace is kn-<lab>.<pod>, or kn-<lab>.<pod>.<namespace> outside default.
        want = {p["metadata"]["annotations"]["kn-lab.io/netns"].split(".", 1)[1] for p in pods}
        spaces = {n.split(".", 1)[1] for n in listdir("/run/netns") if n.startswith(f"kn-{NAME}.")} - INFRA - {"cloud-lb"}
        where = f"seed {SEED}, step {step} ({what})"
        assert spaces == want, f"{where}: get and the kernel differ: {sorted(spaces ^ want)}"
        assert OWN_PODS <= names, where
        for d in (*DEPLOYMENTS, "delta"):
            have = sum(1 for n in names if n.startswith(f"{d}-"))
            assert have == self.replicas.get(d, 0), f"{where}: {d} has {have} pods, the model {self.replicas.get(d, 0)}"
        down = [p["metadata"]["name"] for p in pods if p["status"]["phase"] != "Running"]
        assert not down, f"{where}: not running: {down}"


STEP_WEIGHTS = [("create", 3), ("scale", 5), ("delete_pod", 3), ("delete_deploy", 1), ("expose", 2), ("patch", 2),
                ("manifest", 2),
                ("concurrent", 1), ("killed_change", 2), ("kill_pause", 1), ("kill_daemon", 1), ("delete_veth", 1), ("repair", 1)]


@pytest.mark.parametrize("seed", [SEED])
def test_random_live_changes_keep_get_the_model_and_the_kernel_in_agreement(seed, lab, kn, tmp_path):
    print(f"random live changes: seed {seed}, {STEPS} steps (replay: KNLAB_RANDOM_SEED={seed})")
    rng = random.Random(seed)
    lab(LAB)
    world = World(kn, rng, tmp_path)
    names, weights = zip(*STEP_WEIGHTS)
    t0 = time.monotonic()
    for step in range(STEPS):
        what = rng.choices(names, weights)[0]
        getattr(world, what)()
        world.check(step, what)
    print(f"{STEPS} steps in {time.monotonic() - t0:.1f} s")
    again = kn("up", LAB, check=True)
    assert "nothing drifted" in again.stdout, again.stdout
