"""Quiescence for the benchmarks (bench_up_down.py, bench_scale.py): before a timed step, wait
until the aftermath of the previous one is over (kernel threads, PID 1 reaping orphans, our own
tools: their CPU clock ticks stop growing) and the machine is idle, so that no step pays for
another's cleanup or for other users' work. Standard library only."""
from __future__ import annotations

import os
import time
from typing import Callable, Iterable

SETTLE_WINDOW_S = 0.15      # sample CPU time this often
SETTLE_BUSY_TICKS = 1       # our aftermath is over: at most this many clock ticks in a window...
SETTLE_QUIET_WINDOWS = 2    # ...for this many windows in a row (the same count for machine idle)
SETTLE_TIMEOUT_S = 60.0     # give up waiting for our aftermath after this long
IDLE_BUSY_MAX = 0.25        # the machine is idle: under 25 % of all CPUs busy in a window
PF_KTHREAD = 0x00200000     # task flag of kernel threads (/proc/PID/stat field 9)


def watched_ticks(comms: Iterable[str]) -> int:
    """CPU clock ticks used so far (utime + stime) by kernel threads, PID 1 (and the orphans it has
    reaped) and the live processes whose command is in `comms`."""
    comms = set(comms)
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                comm, rest = f.read().rsplit(")", 1)
        except OSError:
            continue                      # the process went away
        fields = rest.split()             # fields[0] is the state (stat field 3), so flags are [6]
        comm = comm.split("(", 1)[1]
        if int(fields[6]) & PF_KTHREAD or entry.name == "1" or comm in comms:
            total += int(fields[11]) + int(fields[12])
        if entry.name == "1":
            # PID 1 reaps the kn-pause processes a `down` kills: their time moves to its children's.
            total += int(fields[13]) + int(fields[14])
    return total


def machine_busy() -> tuple[int, int]:
    """(busy, total) clock ticks of the machine (/proc/stat: user + nice + system, all)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2], sum(v)


def settle(wait_idle: float, comms: Iterable[str], log: Callable[[str], None]) -> None:
    """Waits for our aftermath to be over, then for the machine to be idle or `wait_idle` seconds."""
    t0 = time.perf_counter()
    quiet = idle = 0
    t_quiet = None                                   # when our aftermath was found over
    before, m_before = watched_ticks(comms), machine_busy()
    while True:
        time.sleep(SETTLE_WINDOW_S)
        now, m_now = watched_ticks(comms), machine_busy()
        # Threads that exited in the window take their ticks with them; a negative delta is just quiet.
        quiet = quiet + 1 if now - before <= SETTLE_BUSY_TICKS else 0
        busy = (m_now[0] - m_before[0]) / max(1, m_now[1] - m_before[1])
        idle = idle + 1 if busy < IDLE_BUSY_MAX else 0
        before, m_before = now, m_now
        elapsed = time.perf_counter() - t0
        if quiet >= SETTLE_QUIET_WINDOWS or elapsed > SETTLE_TIMEOUT_S:
            if t_quiet is None:
                t_quiet = elapsed
                if quiet < SETTLE_QUIET_WINDOWS:
                    log(f"  warning: still busy after {SETTLE_TIMEOUT_S:.0f} s, measuring anyway")
            if idle >= SETTLE_QUIET_WINDOWS or elapsed - t_quiet >= wait_idle:
                return
