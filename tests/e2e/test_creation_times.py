"""Each object of a lab records its own creation time (metadata.creationTimestamp), in the
record's state.toml (`object_created`: { object = "<Kind>/<namespace>/<name>", created = <unix s> }):
an object made later is younger, a live change of another object, a repairing `up` and a
restore after a reboot leave every time as it was."""

from __future__ import annotations

import re
import time
import tomllib
from pathlib import Path

import pytest

from test_reliability import simulate_reboot

pytestmark = pytest.mark.e2e

LAB = "03-pod-to-pod-vxlan"


def recorded_times(labname: str, root: str = "/run/kn-lab") -> dict[str, int]:
    """The creation times the record holds, by object key ("Pod/default/a1", "Node//node1")."""
    with open(Path(root) / labname / "state.toml", "rb") as fh:
        state = tomllib.load(fh)
    return {e["object"]: e["created"] for e in state.get("object_created", [])}


def pods_of(times: dict[str, int], prefix: str) -> dict[str, int]:
    return {k: t for k, t in times.items() if k.startswith(f"Pod/default/{prefix}")}


def test_each_object_records_its_own_creation_time(lab, kn):
    v = lab(LAB)
    first = recorded_times(v.name)
    # Every object of the lab from the start, all of the lab's own time.
    for key in ("Node//node1", "Node//node2", "Node//node3", "Pod/default/a1", "Pod/default/b3",
                "Namespace//default", "Namespace//kube-system", "Namespace//kube-public",
                "Namespace//kube-node-lease"):
        assert key in first, (key, sorted(first))
    assert len(set(first.values())) == 1, first

    time.sleep(2)
    kn("create", "deploy", "later", "--image=nginx", "--replicas=1", "--lab", v.name, check=True)
    second = recorded_times(v.name)
    new = {k: t for k, t in second.items() if k not in first}
    later_pods = pods_of(second, "later-")
    assert "Deployment/default/later" in new and len(later_pods) == 1, new
    assert set(later_pods) <= set(new)
    assert all(t >= first["Node//node1"] + 2 for t in new.values()), (new, first["Node//node1"])
    assert all(t > first["Pod/default/a1"] for t in new.values())
    assert {k: second[k] for k in first} == first  # the objects that were there keep theirs

    # A live change of another object: the first replica, the nodes and the rest keep theirs.
    time.sleep(1)
    kn("scale", "deploy/later", "--replicas=2", "--lab", v.name, check=True)
    third = recorded_times(v.name)
    assert {k: third[k] for k in second} == second
    added = set(pods_of(third, "later-")) - set(later_pods)
    assert len(added) == 1 and third[next(iter(added))] > second["Deployment/default/later"]

    # Back to one replica: the pod that goes is forgotten, the one that stays keeps its time.
    kn("scale", "deploy/later", "--replicas=1", "--lab", v.name, check=True)
    fourth = recorded_times(v.name)
    assert fourth == second

    # `up` of the lab that is up, nothing drifted: every time as it was.
    r = kn("up", LAB, check=True)
    assert recorded_times(v.name) == fourth, r.stdout

    # AGE in `get pods`: the lab's pods are older than the later one.
    lines = kn("get", "pods", "--lab", v.name, check=True).stdout.splitlines()
    age = {l.split()[0]: l.split()[-1] for l in lines[1:] if l.strip()}
    seconds = {n: int(a[:-1]) for n, a in age.items() if re.fullmatch(r"\d+s", a)}
    later = next(n for n in age if n.startswith("later-"))
    if later in seconds and "a1" in seconds:
        assert seconds["a1"] >= seconds[later] + 2, age


def test_creation_times_survive_a_reboot(lab, kn):
    v = lab(LAB)
    time.sleep(1)
    kn("create", "deploy", "later", "--image=nginx", "--replicas=1", "--lab", v.name, check=True)
    before = recorded_times(v.name)
    assert recorded_times(v.name, "/var/lib/kn-lab") == before  # the kept desired state has them

    simulate_reboot(v.name)
    time.sleep(1)
    r = kn("up", v.name, check=True)
    assert "restoring" in r.stdout, r.stdout
    assert recorded_times(v.name) == before


def test_a_record_without_times_gets_the_labs_own_on_up(lab, kn):
    """A record written before objects had times: `up` (a repair) gives each object the lab's
    creation time (what AGE showed for it), not the time of the repair."""
    v = lab("02-pod-to-pod-same-node")
    path = Path("/run/kn-lab") / v.name / "state.toml"
    text = re.sub(r"\[\[object_created\]\]\ncreated = \d+\nobject = '[^']*'\n\n?", "", path.read_text())
    assert "object_created" not in text
    path.write_text(text)
    created = tomllib.loads(text)["created"]
    time.sleep(2)
    kn("up", "02-pod-to-pod-same-node", check=True)
    times = recorded_times(v.name)
    assert "Pod/default/web" in times and "Node//node1" in times, times
    assert set(times.values()) == {created}, times
