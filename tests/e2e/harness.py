"""Host-safety and residue harness for the kn-lab end-to-end tests.

The product promise: a lab never touches the host's root network namespace,
and `kn-lab down` leaves nothing behind.  This module proves it:

    before = snapshot()
    ... kn-lab up / test / kn-lab down ...
    problems = diff(before, snapshot())      # [] means "host is as it was"

snapshot() returns a plain, JSON-serialisable dict (so it can be saved and
compared later, see `python3 harness.py --help`).  diff() returns a list of
human-readable lines, each naming the object, e.g.

    link added: veth1234 (veth, mtu 1500)
    mount added: /run/netns/kn-demo.web nsfs (source nsfs)
    sysctl changed: net.ipv4.ip_forward 0 -> 1
    process added: pid 4242 sleep 'sleep 30' [netns kn-demo.web]

What is covered (all in the root network namespace / on the host):
  links       `ip -d -j addr show` link part, keyed by name; stats, carrier
              counters and every *_timer field (bridge timers) dropped
  addrs       addresses keyed by "<dev> <family> <addr>/<len>"; the
              valid/preferred lifetime countdowns are dropped (v4 and v6)
  routes      `ip -4/-6 -j route show table all` (multiset; "expires" dropped)
  rules       `ip -4/-6 -j rule show` (multiset)
  neigh       PERMANENT neighbour entries only (others age by themselves)
  sysctls     every readable file under /proc/sys/net, minus SYSCTL_EXCLUDE
  iptables    iptables-legacy-save / ip6tables-legacy-save, comments and
              counters stripped, one line per chain/rule, table-qualified
  nft         `nft -s list ruleset` (stateless: no counters/quotas), one line
              per statement, qualified with its table/chain path
  mounts      /proc/self/mountinfo as (mount point, fs type, source) multiset
  paths       the trees under /run/netns, /etc/netns and /run/kn-lab (a
              directory that did not exist before and exists after is itself
              a difference, e.g. an empty /run/kn-lab left behind)
  processes   non-zombie processes whose command is a lab command (LAB_COMMANDS)
              or whose network namespace is not PID 1's

Deliberately not covered: tc qdiscs/filters, bridge fdb, conntrack entries,
xfrm, loaded kernel modules (this kernel has none), files outside the paths
above.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager

SNAPSHOT_VERSION = 1

# Commands that only ever run because of a lab.  Matched against
# /proc/PID/comm and the basename of argv[0].
LAB_COMMANDS = frozenset({"kn-lab", "kn-pause", "kn-netexec", "bird", "nginx", "dnsmasq"})

# Directories whose whole tree is recorded.
WATCHED_DIRS = ("/run/netns", "/etc/netns", "/run/kn-lab")

# sysctls under /proc/sys/net that change by themselves (or are secrets that
# the kernel generates lazily).  Files that fail to read (write-only ones such
# as net.ipv4.route.flush, unset stable_secret) are skipped automatically.
# Entries are dotted names; a trailing ".*" matches a whole subtree, a leading
# "*." matches the last component anywhere.
SYSCTL_EXCLUDE = (
    "net.netfilter.nf_conntrack_count",  # live conntrack entry counter
    "net.ipv4.tcp_fastopen_key",         # generated lazily on first TFO use
    "*.stable_secret",                   # unreadable until set; secret anyway
)

# Link attributes that change by themselves.
_LINK_DROP = frozenset({"stats", "stats64", "carrier_changes", "carrier_up_count",
                        "carrier_down_count", "addr_info"})
_ADDR_DROP = frozenset({"valid_life_time", "preferred_life_time"})
_ROUTE_DROP = frozenset({"expires"})

_ENV = dict(os.environ, LC_ALL="C")

# Order of the diff sections (also the order of lines in diff()'s output).
SECTIONS = ("links", "addrs", "routes", "rules", "neigh", "sysctls", "iptables",
            "nft", "mounts", "paths", "processes", "errors")


# --------------------------------------------------------------------------- helpers

def _run_parallel(cmds: dict[str, list[str]], timeout: float = 20.0) -> dict[str, tuple[int, str, str]]:
    """Start every command at once, then collect (rc, stdout, stderr)."""
    procs = {}
    for key, argv in cmds.items():
        try:
            procs[key] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          stdin=subprocess.DEVNULL, text=True, env=_ENV)
        except OSError as e:  # tool missing
            procs[key] = e
    out = {}
    for key, p in procs.items():
        if isinstance(p, OSError):
            out[key] = (127, "", str(p))
            continue
        try:
            so, se = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            so, se = p.communicate()
            out[key] = (124, so, "timeout: " + se)
            continue
        out[key] = (p.returncode, so, se)
    return out


def _flatten(obj, prefix: str = "", out: dict | None = None) -> dict:
    """Flatten nested dicts to dotted keys; lists become comma-joined strings."""
    if out is None:
        out = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if k.endswith("_timer"):
            continue  # bridge / bridge-port timers tick by themselves
        if isinstance(v, dict):
            _flatten(v, key + ".", out)
        elif isinstance(v, list):
            out[key] = ",".join(json.dumps(x, sort_keys=True) if isinstance(x, (dict, list)) else str(x)
                                for x in v)
        else:
            out[key] = v
    return out


_FIRST_KEYS = ("type", "dst", "src", "from", "to", "gateway", "via", "dev", "oif", "iif",
               "table", "protocol", "scope", "prefsrc", "metric", "priority")


def _render(d: dict, drop=frozenset()) -> str:
    """Deterministic one-line rendering of a route/rule dict."""
    flat = _flatten({k: v for k, v in d.items() if k not in drop})
    flat = {k: v for k, v in flat.items() if v not in ("", None) and not (k == "flags" and v == "")}
    parts = [f"{k} {flat.pop(k)}" for k in _FIRST_KEYS if k in flat]
    parts += [f"{k} {flat[k]}" for k in sorted(flat)]
    return " ".join(parts)


def _json(rc_out_err, what: str, errors: list) -> list:
    rc, so, se = rc_out_err
    if rc != 0:
        errors.append(f"{what}: exit {rc}: {se.strip()[:200]}")
        return []
    try:
        return json.loads(so) if so.strip() else []
    except ValueError as e:
        errors.append(f"{what}: bad JSON: {e}")
        return []


def _sysctl_excluded(name: str) -> bool:
    for pat in SYSCTL_EXCLUDE:
        if pat.startswith("*."):
            if name.endswith(pat[1:]):
                return True
        elif pat.endswith(".*"):
            if name.startswith(pat[:-1]):
                return True
        elif name == pat:
            return True
    return False


def read_sysctls(root: str = "/proc/sys/net") -> dict[str, str]:
    """Every readable sysctl under root as {dotted.name: value}.

    Names follow sysctl(8): path components joined with '.', a '.' inside a
    component (e.g. VLAN device eth0.100) shown as '/'.
    """
    out = {}
    base = os.path.dirname(root)  # /proc/sys
    for dirpath, _dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, base)
        prefix = ".".join(c.replace(".", "/") for c in rel.split(os.sep))
        for f in files:
            name = f"{prefix}.{f.replace('.', '/')}"
            if _sysctl_excluded(name):
                continue
            try:
                with open(os.path.join(dirpath, f), "rb") as fh:
                    data = fh.read()
            except OSError:
                continue  # write-only or unreadable: skipped by design
            out[name] = " ".join(data.decode("utf-8", "replace").split())
    return out


_COUNTER_TAIL = re.compile(r"\s*\[\d+:\d+\]\s*$")
_COUNTER_HEAD = re.compile(r"^\[\d+:\d+\]\s*")


def parse_iptables_save(text: str, family: str) -> list[str]:
    """One line per chain declaration / rule, prefixed with family and table."""
    out, table = [], "?"
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = line[1:]
            out.append(f"{family} {table}: table")
            continue
        line = _COUNTER_HEAD.sub("", line)
        if line.startswith(":"):
            line = _COUNTER_TAIL.sub("", line)
        out.append(f"{family} {table}: {line}")
    return out


_NFT_VOLATILE = re.compile(r"\s+expires\s+[0-9a-z.]+|\s+counter packets \d+ bytes \d+")


def parse_nft(text: str) -> list[str]:
    """Flatten `nft list ruleset` text into path-qualified statement lines."""
    out, stack = [], []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "}":
            if stack:
                stack.pop()
            continue
        line = _NFT_VOLATILE.sub("", line)
        if line.endswith("{"):
            stack.append(line[:-1].strip())
            out.append(" / ".join(stack))
            continue
        out.append(" / ".join(stack + [line]))
    return out


def _unescape_mount(s: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def read_mounts(path: str = "/proc/self/mountinfo") -> list[list[str]]:
    out = []
    with open(path) as fh:
        for line in fh:
            fields = line.split()
            try:
                sep = fields.index("-")
            except ValueError:
                continue
            mp = _unescape_mount(fields[4])
            fstype, source = fields[sep + 1], _unescape_mount(fields[sep + 2])
            out.append([mp, fstype, source])
    out.sort()
    return out


def read_tree(top: str) -> list[str] | None:
    """Relative paths under top ("" is top itself, dirs end in '/'); None if absent."""
    if not os.path.isdir(top):
        return None
    out = [""]
    for dirpath, dirs, files in os.walk(top):
        rel = os.path.relpath(dirpath, top)
        rel = "" if rel == "." else rel + "/"
        out += [rel + d + "/" for d in dirs]
        out += [rel + f for f in files]
    out.sort()
    return out


def _netns_of(pid: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def read_processes(host_netns: str) -> list[dict]:
    """Non-zombie processes that run a lab command or live outside host_netns."""
    out = []
    me = str(os.getpid())
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                stat = fh.read().decode("utf-8", "replace")
            state, ppid = stat[stat.rindex(")") + 2:].split(" ", 2)[:2]
            if state in ("Z", "X"):
                continue  # zombies hold no namespace; PID 1 reaps lazily here
            with open(f"/proc/{pid}/comm", "rb") as fh:
                comm = fh.read().decode("utf-8", "replace").rstrip("\n")
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                argv = fh.read().decode("utf-8", "replace").rstrip("\0").split("\0")
        except (OSError, ValueError):
            continue  # exited while we looked
        arg0 = os.path.basename(argv[0]) if argv and argv[0] else ""
        lab_cmd = comm in LAB_COMMANDS or arg0 in LAB_COMMANDS
        netns = _netns_of(pid)
        if netns is None:
            if not lab_cmd:
                continue  # exited, or not inspectable (e.g. the VM's PID 1)
            netns = "net:[unknown]"
        if not lab_cmd and netns == host_netns:
            continue
        try:
            with open(f"/proc/{ppid}/comm") as fh:
                parent = f"{ppid} {fh.read().strip()}"
        except OSError:
            parent = ppid
        out.append({"pid": int(pid), "comm": comm, "cmdline": " ".join(argv),
                    "netns": netns, "lab_cmd": lab_cmd, "parent": parent})
    out.sort(key=lambda p: p["pid"])
    return out


def _netns_ids() -> dict[str, str]:
    """/run/netns entry name -> 'net:[inode]' (to name the netns of a process)."""
    out = {}
    try:
        names = os.listdir("/run/netns")
    except OSError:
        return out
    for n in names:
        try:
            out[n] = f"net:[{os.stat(os.path.join('/run/netns', n)).st_ino}]"
        except OSError:
            pass
    return out


def host_netns_id() -> str:
    """'net:[inode]' of the root network namespace.

    /proc/1/ns/net is the reference; where PID 1 cannot be inspected (on this
    VM it has more capabilities than root in the test shell, so the link is
    EPERM) kthreadd (PID 2) is used: kernel threads always live in init_net.
    """
    for pid in ("1", "2"):
        ns = _netns_of(pid)
        if ns is not None:
            return ns
    raise RuntimeError("cannot read /proc/1/ns/net nor /proc/2/ns/net (need root)")


# --------------------------------------------------------------------------- snapshot

def snapshot() -> dict:
    """Structured snapshot of the host (root netns) state; see module docstring."""
    host_netns = host_netns_id()
    self_netns = _netns_of("self")
    if self_netns is None:
        raise RuntimeError("cannot read /proc/self/ns/net")
    if host_netns != self_netns:
        raise RuntimeError(f"harness must run in the host's root network namespace "
                           f"({host_netns}), but runs in {self_netns}")

    errors: list[str] = []
    res = _run_parallel({
        "addr": ["ip", "-d", "-j", "addr", "show"],
        "route4": ["ip", "-4", "-j", "route", "show", "table", "all"],
        "route6": ["ip", "-6", "-j", "route", "show", "table", "all"],
        "rule4": ["ip", "-4", "-j", "rule", "show"],
        "rule6": ["ip", "-6", "-j", "rule", "show"],
        "neigh4": ["ip", "-4", "-j", "neigh", "show", "nud", "permanent"],
        "neigh6": ["ip", "-6", "-j", "neigh", "show", "nud", "permanent"],
        "ipt4": ["iptables-legacy-save"],
        "ipt6": ["ip6tables-legacy-save"],
        "nft": ["nft", "-s", "list", "ruleset"],
    })
    # Cheap local reads happen while the tools run.
    sysctls = read_sysctls()
    mounts = read_mounts()
    paths = {d: read_tree(d) for d in WATCHED_DIRS}
    netns_ids = _netns_ids()
    processes = read_processes(host_netns)

    links, addrs = {}, {}
    for link in _json(res["addr"], "ip addr", errors):
        name = link.get("ifname", f"ifindex{link.get('ifindex')}")
        links[name] = _flatten({k: v for k, v in link.items() if k not in _LINK_DROP})
        for a in link.get("addr_info", []):
            key = f"{name} {a.get('family')} {a.get('local')}/{a.get('prefixlen')}"
            if "address" in a:
                key += f" peer {a['address']}"
            addrs[key] = _flatten({k: v for k, v in a.items()
                                   if k not in _ADDR_DROP and k not in ("family", "local", "prefixlen", "address")})

    routes = sorted([f"ipv4 {_render(r, _ROUTE_DROP)}" for r in _json(res["route4"], "ip -4 route", errors)]
                    + [f"ipv6 {_render(r, _ROUTE_DROP)}" for r in _json(res["route6"], "ip -6 route", errors)])
    rules = sorted([f"ipv4 {_render(r)}" for r in _json(res["rule4"], "ip -4 rule", errors)]
                   + [f"ipv6 {_render(r)}" for r in _json(res["rule6"], "ip -6 rule", errors)])
    neigh = {}
    for fam, key in (("ipv4", "neigh4"), ("ipv6", "neigh6")):
        for n in _json(res[key], f"ip {fam} neigh", errors):
            k = f"{fam} {n.get('dst')} dev {n.get('dev')}"
            neigh[k] = _render({kk: vv for kk, vv in n.items() if kk not in ("dst", "dev")})

    iptables = []
    for fam, key, tool in (("ipv4", "ipt4", "iptables-legacy-save"), ("ipv6", "ipt6", "ip6tables-legacy-save")):
        rc, so, se = res[key]
        if rc != 0:
            errors.append(f"{tool}: exit {rc}: {se.strip()[:200]}")
        else:
            iptables += parse_iptables_save(so, fam)
    rc, so, se = res["nft"]
    if rc != 0:
        errors.append(f"nft: exit {rc}: {se.strip()[:200]}")
        nft = []
    else:
        nft = parse_nft(so)

    return {
        "version": SNAPSHOT_VERSION,
        "time": time.time(),
        "host_netns": host_netns,
        "links": links,
        "addrs": addrs,
        "routes": routes,
        "rules": rules,
        "neigh": neigh,
        "sysctls": sysctls,
        "iptables": sorted(iptables),
        "nft": sorted(nft),
        "mounts": mounts,
        "paths": paths,
        "netns_ids": netns_ids,
        "processes": processes,
        "errors": errors,
    }


# --------------------------------------------------------------------------- diff

def _diff_dict(kind: str, a: dict, b: dict, describe=None) -> list[str]:
    out = []
    for k in sorted(b.keys() - a.keys()):
        out.append(f"{kind} added: {k}{describe(b[k]) if describe else ''}")
    for k in sorted(a.keys() - b.keys()):
        out.append(f"{kind} removed: {k}{describe(a[k]) if describe else ''}")
    for k in sorted(a.keys() & b.keys()):
        va, vb = a[k], b[k]
        if va == vb:
            continue
        if isinstance(va, dict) and isinstance(vb, dict):
            fields = sorted(set(va) | set(vb))
            changes = [f"{f} {va.get(f, '<unset>')} -> {vb.get(f, '<unset>')}"
                       for f in fields if va.get(f) != vb.get(f)]
            out.append(f"{kind} changed: {k}: " + ", ".join(changes))
        else:
            out.append(f"{kind} changed: {k} {va} -> {vb}")
    return out


def _diff_multiset(kind: str, a, b, fmt=str) -> list[str]:
    ca = Counter(fmt(x) for x in a)
    cb = Counter(fmt(x) for x in b)
    out = []
    for k in sorted((cb - ca).elements()):
        out.append(f"{kind} added: {k}")
    for k in sorted((ca - cb).elements()):
        out.append(f"{kind} removed: {k}")
    return out


def _describe_link(l: dict) -> str:
    bits = []
    kind = l.get("linkinfo.info_kind")
    if kind:
        bits.append(str(kind))
    if "mtu" in l:
        bits.append(f"mtu {l['mtu']}")
    if l.get("master"):
        bits.append(f"master {l['master']}")
    return f" ({', '.join(bits)})" if bits else ""


def _diff_sysctls(a: dict, b: dict) -> list[str]:
    out = []

    def grouped(kind, keys, src):
        groups: dict[str, list[str]] = {}
        for k in keys:
            groups.setdefault(k.rsplit(".", 1)[0], []).append(k)
        for parent in sorted(groups):
            ks = sorted(groups[parent])
            if len(ks) > 3:  # a whole per-device directory appeared / vanished
                out.append(f"sysctl {kind}: {parent}.* ({len(ks)} keys)")
            else:
                out.extend(f"sysctl {kind}: {k} = {src[k]}" for k in ks)

    grouped("added", b.keys() - a.keys(), b)
    grouped("removed", a.keys() - b.keys(), a)
    for k in sorted(a.keys() & b.keys()):
        if a[k] != b[k]:
            out.append(f"sysctl changed: {k} {a[k]} -> {b[k]}")
    return out


def _diff_tree(top: str, a: list | None, b: list | None) -> list[str]:
    """Paths added/removed under a watched dir; children of an added dir collapse into it."""
    sa, sb = set(a or []), set(b or [])
    out = []
    if a is None and b is not None:
        out.append(f"path added: {top}/ (directory did not exist before)")
        sa = {""}
    elif b is None and a is not None:
        out.append(f"path removed: {top}/ (directory existed before)")
        sb = {""}
    for kind, new, old in (("added", sb - sa, sa), ("removed", sa - sb, sb)):
        # keep only the topmost new paths; count what is below them
        tops = sorted(p for p in new if not any(p != q and q.endswith("/") and p.startswith(q)
                                                 for q in new))
        for p in tops:
            below = sum(1 for q in new if q != p and q.startswith(p)) if p.endswith("/") else 0
            extra = f" ({below} entries below)" if below else ""
            label = "netns entry" if top == "/run/netns" else "path"
            name = p if top == "/run/netns" else f"{top}/{p}"
            out.append(f"{label} {kind}: {name}{extra}")
    return out


def _diff_processes(a: dict, b: dict) -> list[str]:
    """New processes only, compared by (comm, cmdline).

    A process is reported when its (comm, cmdline) occurs more often than in
    the first snapshot AND it is a lab command, or it lives in a network
    namespace that the first snapshot did not know, or in a kn-* netns.
    Processes in namespaces that existed before (other software on the
    machine) are not reported, and neither are processes that went away.
    """
    root = b.get("host_netns")
    before_ns = {p["netns"] for p in a.get("processes", [])}
    before_ns |= set(a.get("netns_ids", {}).values())
    names = {v: k for k, v in a.get("netns_ids", {}).items()}
    names.update({v: k for k, v in b.get("netns_ids", {}).items()})
    kn_ns = {v for k, v in b.get("netns_ids", {}).items() if k.startswith("kn-")}
    budget = Counter((p["comm"], p["cmdline"]) for p in a.get("processes", []))
    out = []
    for p in b.get("processes", []):
        key = (p["comm"], p["cmdline"])
        if budget[key] > 0:
            budget[key] -= 1
            continue
        ns = p["netns"]
        if not (p.get("lab_cmd") or ns not in before_ns or ns in kn_ns):
            continue
        where = "host netns" if ns == root else f"netns {names.get(ns, ns)}"
        parent = f" (parent {p['parent']})" if p.get("parent") else ""
        out.append(f"process added: pid {p['pid']} {p['comm']} {p['cmdline']!r} [{where}]{parent}")
    return out


def diff(before: dict, after: dict) -> list[str]:
    """Human-readable differences between two snapshots ([] = identical)."""
    out: list[str] = []
    out += _diff_dict("link", before.get("links", {}), after.get("links", {}), _describe_link)
    out += _diff_dict("address", before.get("addrs", {}), after.get("addrs", {}))
    out += _diff_multiset("route", before.get("routes", []), after.get("routes", []))
    out += _diff_multiset("rule", before.get("rules", []), after.get("rules", []))
    out += _diff_dict("neighbour", before.get("neigh", {}), after.get("neigh", {}),
                      lambda v: f" {v}")
    out += _diff_sysctls(before.get("sysctls", {}), after.get("sysctls", {}))
    out += _diff_multiset("iptables-legacy", before.get("iptables", []), after.get("iptables", []))
    out += _diff_multiset("nft", before.get("nft", []), after.get("nft", []))
    out += _diff_multiset("mount", before.get("mounts", []), after.get("mounts", []),
                          lambda m: f"{m[0]} {m[1]} (source {m[2]})")
    pa, pb = before.get("paths", {}), after.get("paths", {})
    for top in sorted(set(pa) | set(pb), key=lambda t: (WATCHED_DIRS + (t,)).index(t)):
        out += _diff_tree(top, pa.get(top), pb.get(top))
    out += _diff_processes(before, after)
    ea, eb = set(before.get("errors", [])), set(after.get("errors", []))
    out += [f"snapshot error (after only): {e}" for e in sorted(eb - ea)]
    out += [f"snapshot error (before only): {e}" for e in sorted(ea - eb)]
    return out


def settle_diff(before: dict, timeout: float = 5.0, interval: float = 0.25) -> tuple[list[str], dict]:
    """diff(before, snapshot()) retried until empty or timeout.

    Network namespaces (and veth peers inside them) are destroyed
    asynchronously by the kernel, so a residue can take a moment to vanish.
    Returns (differences, last snapshot).
    """
    deadline = time.monotonic() + timeout
    while True:
        after = snapshot()
        d = diff(before, after)
        if not d or time.monotonic() >= deadline:
            return d, after
        time.sleep(interval)


# --------------------------------------------------------------------------- host directories

def listdir(path: str) -> list[str]:
    """The entries of `path`, or [] when it does not exist: /run/netns, /etc/netns and
    /run/kn-lab come and go (kn-lab removes the ones it made when its last lab goes down,
    and a fresh machine has none of them)."""
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


def _run_netns_mounts() -> int:
    return sum(1 for m in read_mounts() if m[0] == "/run/netns")


@contextmanager
def scratch_netns(name: str):
    """`ip netns add name` ... `ip netns del name`, restoring /run/netns exactly.

    On a host where /run/netns did not exist, `ip netns add` creates the directory and
    bind-mounts it onto itself (and `ip netns del` leaves both): those are undone too, so the
    host ends as it began.
    """
    if not name.startswith("kn-"):
        raise ValueError(f"scratch namespaces are named kn-*, not {name!r}")
    if os.path.exists(f"/run/netns/{name}"):
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)  # a leftover
    had_dir = os.path.isdir("/run/netns")
    mounts_before = _run_netns_mounts()
    try:
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=30)
        yield name
    finally:
        if os.path.exists(f"/run/netns/{name}"):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
        while _run_netns_mounts() > mounts_before:
            if subprocess.run(["umount", "/run/netns"], capture_output=True, timeout=30).returncode:
                break
        if not had_dir:
            try:
                os.rmdir("/run/netns")
            except OSError:
                pass


# --------------------------------------------------------------------------- in-namespace helpers

def ns_exec(ns: str, *cmd: str, timeout: float = 30.0, check: bool = False,
            input: str | None = None) -> subprocess.CompletedProcess:
    """Run `ip netns exec <ns> cmd...` (never through a shell); text output."""
    if not cmd:
        raise ValueError("ns_exec needs a command")
    if not ns.startswith("kn-"):
        raise ValueError(f"ns_exec only enters lab namespaces (kn-*), not {ns!r}")
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], capture_output=True, text=True,
                          timeout=timeout, check=check, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL)


_WAIT_TCP = r"""
import socket, sys, time
host, port, deadline = sys.argv[1], int(sys.argv[2]), time.monotonic() + float(sys.argv[3])
err = None
while True:
    try:
        socket.create_connection((host, port), timeout=0.3).close()
        sys.exit(0)
    except OSError as e:
        err = e
    if time.monotonic() >= deadline:
        print(err, file=sys.stderr)
        sys.exit(1)
    time.sleep(0.1)
"""


def wait_tcp(ns: str, host: str, port: int, timeout: float = 2.0) -> bool:
    """True once a TCP connect to host:port from inside netns `ns` succeeds.

    Retries every 100 ms for up to `timeout` seconds (one helper process in
    the namespace for the whole wait).  Traffic rule: `host` must be one of
    the lab's own addresses or 127.0.0.1.
    """
    try:
        r = ns_exec(ns, sys.executable or "/usr/bin/python3", "-c", _WAIT_TCP, host, str(int(port)),
                    str(timeout), timeout=timeout + 10)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0


# --------------------------------------------------------------------------- CLI

def _main(argv: list[str]) -> int:
    import argparse
    ap = argparse.ArgumentParser(description="kn-lab host snapshot / diff")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot", help="print a JSON snapshot")
    s.add_argument("-o", "--output")
    d = sub.add_parser("diff", help="diff two saved snapshots (or one against now)")
    d.add_argument("before")
    d.add_argument("after", nargs="?")
    t = sub.add_parser("time", help="time N snapshots")
    t.add_argument("-n", type=int, default=10)
    args = ap.parse_args(argv)
    if args.cmd == "snapshot":
        data = json.dumps(snapshot(), indent=1, sort_keys=True)
        if args.output:
            with open(args.output, "w") as fh:
                fh.write(data)
        else:
            print(data)
        return 0
    if args.cmd == "diff":
        with open(args.before) as fh:
            before = json.load(fh)
        if args.after:
            with open(args.after) as fh:
                after = json.load(fh)
        else:
            after = snapshot()
        lines = diff(before, after)
        print("\n".join(lines) if lines else "no differences")
        return 1 if lines else 0
    if args.cmd == "time":
        times = []
        for _ in range(args.n):
            t0 = time.perf_counter()
            snapshot()
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        print(f"snapshot: min {times[0]:.1f} ms, median {times[len(times) // 2]:.1f} ms, "
              f"max {times[-1]:.1f} ms over {args.n}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
