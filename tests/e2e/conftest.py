"""pytest fixtures for the kn-lab end-to-end tests.

Run:  cd tests/e2e && sudo /usr/bin/python3 -m pytest -q

Policy (see also pytest.ini):
  * Every test in this directory is wrapped by `host_guard` (snapshot of the
    host's root netns + /run/netns, /etc/netns, /run/kn-lab, mounts and lab
    processes before the test; after the test AND after its labs are down the
    state must be identical, else the test ERRORs at teardown listing each
    difference).  Opt out only with @pytest.mark.unit for pure-Python tests
    that touch nothing (they also need no root).
  * Tests marked @pytest.mark.e2e, and every test using `kn` or `lab`, are
    skipped when the kn-lab binary is missing.  Everything non-unit is
    skipped when not root.  Set KNLAB_E2E_REQUIRE=1 (CI) to turn those skips
    into failures.
  * At the end of the session nothing named kn-* may remain in /run/netns and
    /run/kn-lab must have no entries.
  * Traffic rule: tests only send traffic between the lab's own namespaces, to
    the lab's own addresses (and 127.0.0.1).  Never to any other address.
  * The suite needs the machine to itself: anything else creating namespaces
    or mounts at the same time shows up as a difference.

Environment:
  KNLAB_BUILD_DIR      where kn-lab, kn-pause, kn-netexec live (default <repo>/build)
  KNLAB_E2E_TIMEOUT    default timeout for one kn-lab command, s (default 120)
  KNLAB_E2E_SETTLE     how long host_guard waits for async teardown, s (default 5)
  KNLAB_E2E_REQUIRE    "1": missing root/binary is a failure, not a skip
  KNLAB_E2E_SNAPSHOT_DIR  if set, host_guard writes before/after JSON there on failure
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import harness
from harness import ns_exec as _ns_exec, wait_tcp as _wait_tcp

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("KNLAB_BUILD_DIR") or REPO / "build")
KN_LAB = BUILD_DIR / "kn-lab"
LABS_DIR = REPO / "labs"
TIMEOUT = float(os.environ.get("KNLAB_E2E_TIMEOUT", "120"))
SETTLE = float(os.environ.get("KNLAB_E2E_SETTLE", "5"))
REQUIRE = os.environ.get("KNLAB_E2E_REQUIRE") == "1"
SNAPSHOT_DIR = os.environ.get("KNLAB_E2E_SNAPSHOT_DIR")

# Labs brought up during this session (for the end-of-session rescue).
_SESSION_LABS: set[str] = set()


def _skip_or_fail(reason: str):
    if REQUIRE:
        pytest.fail(f"{reason} (KNLAB_E2E_REQUIRE=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


def require_root():
    if os.geteuid() != 0:
        _skip_or_fail("needs root (network namespaces, mounts, iptables-legacy-save)")


def require_kn_lab():
    require_root()
    if not os.access(KN_LAB, os.X_OK):
        _skip_or_fail(f"kn-lab binary not found at {KN_LAB} (build it, or set KNLAB_BUILD_DIR)")


def require_binary(name: str) -> Path:
    """Path of a built binary (kn-lab, kn-pause, kn-netexec); skip if it is not built."""
    path = BUILD_DIR / name
    if not os.access(path, os.X_OK):
        _skip_or_fail(f"{name} not built at {path} (build it, or set KNLAB_BUILD_DIR)")
    return path


# --------------------------------------------------------------------------- host_guard

@dataclass
class HostGuard:
    """The before-snapshot of one test; also usable for mid-test checks."""
    before: dict
    last_diff: list = field(default_factory=list)

    def check(self, settle: float = 0.0) -> list[str]:
        """Differences now (retrying up to `settle` seconds until none)."""
        self.last_diff, self.after = harness.settle_diff(self.before, timeout=settle)
        return self.last_diff

    def assert_clean(self, settle: float = SETTLE, what: str = "host state changed"):
        d = self.check(settle)
        if d:
            self._dump()
            pytest.fail(f"{what} ({len(d)} difference(s), after {settle:g}s settle):\n"
                        + "\n".join(f"  - {x}" for x in d), pytrace=False)

    def _dump(self):
        if not SNAPSHOT_DIR:
            return
        os.makedirs(SNAPSHOT_DIR, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for tag, snap in (("before", self.before), ("after", getattr(self, "after", None))):
            if snap is not None:
                with open(os.path.join(SNAPSHOT_DIR, f"{stamp}-{tag}.json"), "w") as fh:
                    json.dump(snap, fh, indent=1, sort_keys=True)


@pytest.fixture
def host_guard(request):
    """Snapshot before; after the test (and after its labs are down) assert no difference.

    Yields a HostGuard: `.before` (the snapshot), `.check(settle=0) -> list[str]`,
    `.assert_clean(settle=SETTLE)` for explicit mid-test checks.
    """
    require_root()
    guard = HostGuard(before=harness.snapshot())
    yield guard
    guard.assert_clean(SETTLE, what=f"host not restored after {request.node.nodeid}")


@pytest.fixture(autouse=True)
def _default_guard(request):
    """Applies host_guard to every test not marked `unit` (see module docstring)."""
    if request.node.get_closest_marker("unit"):
        return
    if request.node.get_closest_marker("e2e"):
        require_kn_lab()
    request.getfixturevalue("host_guard")


@pytest.fixture(scope="session", autouse=True)
def _session_residue_check():
    """At session end: no kn-* entries in /run/netns, nothing in /run/kn-lab."""
    at_start = set(_kn_residue())
    yield
    left = _kn_residue()
    if not left:
        return
    # Rescue only labs this session brought up: never touch someone else's.
    if _SESSION_LABS and os.access(KN_LAB, os.X_OK):
        for name in sorted(_SESSION_LABS):
            subprocess.run([str(KN_LAB), "down", name], capture_output=True, text=True,
                           timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    lines = [f"  - {x}{'  (already there at session start)' if x in at_start else ''}" for x in left]
    pytest.fail("kn-lab residue at end of session:\n" + "\n".join(lines), pytrace=False)


def _kn_residue() -> list[str]:
    out = [f"/run/netns/{n}" for n in harness.listdir("/run/netns") if n.startswith("kn-")]
    out += [f"/run/kn-lab/{n}" for n in harness.listdir("/run/kn-lab")]
    # desired states kept across reboots: `down` removes them too
    out += [f"/var/lib/kn-lab/{n}" for n in harness.listdir("/var/lib/kn-lab")]
    return out


# --------------------------------------------------------------------------- kn / lab

def resolve_lab(name_or_file: str) -> tuple[str, str]:
    """(argument for `kn-lab up`, lab name for `kn-lab down`).

    Accepts a path to a .toml, a file name in labs/ with or without .toml,
    or a bare lab name (passed through).  The lab name is the TOML's `name`
    (top level, or in [lab] / [metadata]), else the file stem.
    """
    candidates = [Path(name_or_file), LABS_DIR / name_or_file, LABS_DIR / f"{name_or_file}.toml"]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        return name_or_file, Path(name_or_file).stem
    name = None
    try:
        import tomllib
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        for table in (data, data.get("lab", {}), data.get("metadata", {})):
            if isinstance(table, dict) and isinstance(table.get("name"), str):
                name = table["name"]
                break
    except (OSError, ValueError, ImportError):
        pass
    return str(path), name or path.stem


def _fmt(r: subprocess.CompletedProcess) -> str:
    return (f"$ {' '.join(map(str, r.args))}\n[exit {r.returncode}]\n"
            f"--- stdout ---\n{r.stdout}--- stderr ---\n{r.stderr}")


class KnRunner:
    """Callable: kn(*args, timeout=TIMEOUT, check=False, input=None) -> CompletedProcess."""

    def __init__(self, binary: Path = KN_LAB):
        self.binary = binary
        self.up_labs: dict[str, bool] = {}  # labs brought up via kn("up", ...) and not downed
        self.downed: set[str] = set()         # labs the test downed itself via kn("down", ...)
        self.downed_all = False

    def run(self, *args, timeout: float | None = None, check: bool = False,
            input: str | None = None) -> subprocess.CompletedProcess:
        argv = [str(self.binary), *map(str, args)]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout or TIMEOUT,
                               input=input, stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
            raise AssertionError(f"timed out after {e.timeout}s: {' '.join(argv)}\n"
                                 f"--- stdout ---\n{out}--- stderr ---\n{err}") from None
        print(_fmt(r))  # captured by pytest, shown on failure
        if check and r.returncode != 0:
            raise AssertionError("kn-lab failed:\n" + _fmt(r))
        return r

    def __call__(self, *args, **kw) -> subprocess.CompletedProcess:
        args = tuple(map(str, args))
        if args[:1] == ("up",) and len(args) > 1:
            _, name = resolve_lab(args[1])
            self.up_labs[name] = True
            _SESSION_LABS.add(name)
        elif args[:1] == ("down",):
            rest = [a for a in args[1:] if not a.startswith("-")]
            if "--all" in args:
                self.up_labs.clear()
                self.downed_all = True
            elif rest:
                name = resolve_lab(rest[0])[1]
                self.up_labs.pop(name, None)
                self.downed.add(name)
            elif len(self.up_labs) == 1:
                self.downed.update(self.up_labs)
                self.up_labs.clear()
        return self.run(*args, **kw)

    def cleanup(self):
        """Down every lab brought up with kn("up") that the test did not down."""
        for name in list(self.up_labs):
            self.run("down", name)
        self.up_labs.clear()


@pytest.fixture
def kn(host_guard):
    """Run the kn-lab binary: kn("get", "pods", "-o", "json", timeout=30, check=True).

    Returns subprocess.CompletedProcess (text stdout/stderr); never a shell.
    Labs brought up with kn("up", X) and not downed by the test are downed at
    teardown (before host_guard compares).
    """
    require_kn_lab()
    runner = KnRunner()
    yield runner
    runner.cleanup()


@dataclass
class Lab:
    name: str                   # lab name, as used by `kn-lab down <name>`
    source: str                 # what was passed to `kn-lab up`
    up: subprocess.CompletedProcess
    kn: KnRunner

    def ns(self, obj: str) -> str:
        """Network namespace of a pod or node of this lab: kn-<lab>.<obj>."""
        return f"kn-{self.name}.{obj}"

    def ns_exec(self, obj: str, *cmd: str, **kw) -> subprocess.CompletedProcess:
        return _ns_exec(self.ns(obj), *cmd, **kw)

    def wait_tcp(self, obj: str, host: str, port: int, timeout: float = 2.0) -> bool:
        return _wait_tcp(self.ns(obj), host, port, timeout)

    def exec(self, obj: str, *cmd: str, **kw) -> subprocess.CompletedProcess:
        """`kn-lab exec <obj> -- cmd...`"""
        return self.kn.run("exec", "--lab", self.name, obj, "--", *cmd, **kw)

    def down(self, *extra: str, **kw) -> subprocess.CompletedProcess:
        """`kn-lab down <name>` from the test (the fixture's final down then tolerates failure)."""
        return self.kn("down", self.name, *extra, **kw)

    def pods(self) -> object:
        """Parsed `kn-lab get pods -o json`."""
        return json.loads(self.kn.run("get", "pods", "-o", "json", "--lab", self.name, check=True).stdout)


def _state_dirs() -> set[str]:
    try:
        return {e.name for e in os.scandir("/run/kn-lab") if e.is_dir()}
    except OSError:
        return set()


@pytest.fixture
def lab(kn):
    """Factory: lab("02-pod-to-pod-same-node", *extra_up_args, name=None, timeout=None, check=True) -> Lab.

    Runs `kn-lab up` (argument resolved by resolve_lab(); the lab name is the
    TOML's name / the file stem, corrected by the /run/kn-lab/<lab>/ dir the
    up created, unless name= is given); on teardown ALWAYS runs
    `kn-lab down <name>` (even if
    the test or the up failed), in reverse order, before host_guard compares.
    A failing down after a successful up is reported as a teardown error.
    """
    started: list[tuple[str, bool]] = []

    def _up(name_or_file: str, *extra: str, name: str | None = None,
            timeout: float | None = None, check: bool = True) -> Lab:
        source, labname = resolve_lab(name_or_file)
        labname = name or labname
        _SESSION_LABS.add(labname)
        idx = len(started)
        started.append((labname, False))  # registered before up: a half-up lab is downed too
        state_before = _state_dirs()
        r = kn.run("up", source, *extra, timeout=timeout)
        new_state = _state_dirs() - state_before
        if name is None and len(new_state) == 1 and labname not in new_state:
            # /run/kn-lab/<lab>/ is the truth about the lab's name
            print(f"note: lab name is {next(iter(new_state))!r}, not {labname!r} (from /run/kn-lab)")
            labname = next(iter(new_state))
            _SESSION_LABS.add(labname)
        started[idx] = (labname, r.returncode == 0)
        if check and r.returncode != 0:
            raise AssertionError(f"kn-lab up {source} failed:\n" + _fmt(r))
        return Lab(name=labname, source=source, up=r, kn=kn)

    yield _up

    failures = []
    for labname, was_up in reversed(started):
        try:
            r = kn.run("down", labname)
        except AssertionError as e:  # timeout
            failures.append(str(e))
            continue
        if r.returncode != 0 and was_up and not (labname in kn.downed or kn.downed_all):
            failures.append(_fmt(r))
    if failures:
        pytest.fail("kn-lab down failed:\n" + "\n".join(failures), pytrace=False)


@pytest.fixture
def build_bin():
    """build_bin("kn-netexec") -> Path; skips (fails under KNLAB_E2E_REQUIRE=1) when not built."""
    return require_binary


# --------------------------------------------------------------------------- namespace helpers

@pytest.fixture
def ns_exec():
    """ns_exec(ns, *cmd, timeout=30, check=False, input=None) -> CompletedProcess (ip netns exec)."""
    return _ns_exec


@pytest.fixture
def wait_tcp():
    """wait_tcp(ns, host, port, timeout=2.0) -> bool: TCP connect from inside ns, retried."""
    return _wait_tcp
