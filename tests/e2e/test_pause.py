"""End-to-end tests of kn-pause, the process that holds each pod's namespaces.

Runs the built binary ($KNLAB_BUILD_DIR/kn-pause) directly, in the host's network namespace
(it opens nothing) or as PID 1 of a PID namespace of its own (util-linux unshare), and checks
its contract: SIGTERM and SIGINT end it with status 0, SIGCHLD does not, orphans parented to it
are reaped, and it costs next to no memory. Every process started here is killed by the test.
"""

import platform
import signal
import subprocess
import time

import pytest

from conftest import require_binary

TIMEOUT = 5.0


@pytest.fixture
def pause_bin():
    return str(require_binary("kn-pause"))


def wait_for(predicate, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def waiting(pid):
    """True once `pid` sleeps in rt_sigtimedwait (its signals are then taken, not defaulted)."""
    try:
        return open(f"/proc/{pid}/wchan").read().startswith("do_sigtimedwait")
    except FileNotFoundError:
        return False


def children(pid):
    return open(f"/proc/{pid}/task/{pid}/children").read().split()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_term_and_int_end_it_with_status_0(pause_bin, sig):
    p = subprocess.Popen([pause_bin])
    try:
        wait_for(lambda: waiting(p.pid), "kn-pause to wait for signals")
        p.send_signal(signal.SIGCHLD)
        time.sleep(0.05)
        assert p.poll() is None, "SIGCHLD ended kn-pause"
        p.send_signal(sig)
        assert p.wait(TIMEOUT) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_it_reaps_orphans_as_pid_1(pause_bin):
    # kn-pause is PID 1 of a new PID namespace; a shell entered into it starts `sleep` in the
    # background and exits, so `sleep` is reparented to kn-pause, which must reap it.
    holder = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", pause_bin])
    try:
        pause = int(wait_for(lambda: children(holder.pid), "unshare to start kn-pause")[0])
        wait_for(lambda: waiting(pause), "kn-pause to wait for signals")
        subprocess.run(["nsenter", "--target", str(pause), "--pid", "--", "sh", "-c", "sleep 0.3 & exit 0"],
                       check=True, timeout=TIMEOUT)
        orphans = children(pause)
        assert len(orphans) == 1, f"sleep was not reparented to kn-pause: {orphans}"
        wait_for(lambda: not children(pause), f"kn-pause to reap its orphan (zombie {orphans[0]})")
        assert holder.poll() is None, "kn-pause ended while reaping"
        subprocess.run(["kill", "-TERM", str(pause)], check=True)
        assert holder.wait(TIMEOUT) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_it_costs_next_to_no_memory(pause_bin):
    p = subprocess.Popen([pause_bin])
    try:
        wait_for(lambda: waiting(p.pid), "kn-pause to wait for signals")
        status = open(f"/proc/{p.pid}/status").read()
        rss_kb = int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS:")).split()[1])
        # Built without libc on x86-64 and arm64: a few pages. Elsewhere static glibc: < 1 MB.
        limit = 64 if platform.machine() in ("x86_64", "aarch64") else 1024
        assert rss_kb < limit, f"kn-pause resident set {rss_kb} kB (limit {limit} kB)"
    finally:
        p.kill()
        p.wait()
