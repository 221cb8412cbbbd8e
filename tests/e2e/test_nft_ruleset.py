"""kube-proxy's nftables mode: every lab's rendered `table ip kube-proxy` (what `up --dry-run`
and `up -v` print, and what kn-lab compiles into netlink messages) is accepted by `nft -c -f`, nft's own checker,
in a scratch network namespace of its own (`unshare -n`: the host's ruleset is never touched).
"""
import pathlib
import re
import subprocess

import pytest

from harness import ns_exec, scratch_netns

pytestmark = pytest.mark.e2e

LABS = sorted(p.stem for p in (pathlib.Path(__file__).resolve().parents[2] / "labs").glob("*.toml"))


def scripts_of(dry_run: str) -> list[str]:
    """The nft -f scripts in `up --dry-run`'s output (each op's heredoc)."""
    return re.findall(r"nft -f - <<'EOF'\n(.*?)EOF", dry_run, flags=re.S)


@pytest.mark.parametrize("labname", LABS)
def test_every_labs_kube_proxy_table_passes_nft_check(kn, labname, tmp_path):
    r = kn("up", "--dry-run", labname, "--proxy-mode", "nftables", check=True)
    scripts = scripts_of(r.stdout)
    # The same lab in iptables mode says whether kube-proxy has anything to write: a table per
    # node there, a table per node here, and none of kube-proxy's iptables chains left.
    ipt = kn("up", "--dry-run", labname, "--proxy-mode", "iptables", check=True).stdout
    nodes = ipt.count("KUBE-SERVICES - [0:0]") // 2  # declared in each node's nat and filter
    assert len(scripts) == nodes, (labname, len(scripts), nodes)
    assert "KUBE-SERVICES" not in r.stdout and "KUBE-SVC-" not in r.stdout
    if not scripts:
        return
    for i, script in enumerate(scripts):
        assert script.startswith("add table ip kube-proxy\ndelete table ip kube-proxy\n")
        f = tmp_path / f"{i}.nft"
        f.write_text(script)
        # -c: nft builds the whole transaction and the kernel checks it, then it is not committed.
        c = subprocess.run(["unshare", "-n", "nft", "-c", "-f", str(f)], capture_output=True, text=True)
        assert c.returncode == 0, (labname, i, c.stderr)


# ---- kn-lab's own netlink messages (net/nft_batch) against nft -f ---------------------------
#
# kn-lab compiles its scripts into nf_tables messages with libnftnl instead of running them
# through libnftables. The table the kernel then holds must be the one `nft -f` makes of the
# same text: the same listing as text and as JSON (types, comments, user data, expressions).
# Each script goes through both ways, each into a scratch namespace of its own.


@pytest.fixture
def compare(build_bin, tmp_path):
    tool = str(build_bin("knlab-nft-apply"))

    def run(*scripts: str) -> None:
        with scratch_netns("kn-nftc-test.kn") as a, scratch_netns("kn-nftc-test.nft") as b:
            for i, script in enumerate(scripts):
                f = tmp_path / f"{i}.nft"
                f.write_text(script)
                r = subprocess.run([tool, a, "--file", str(f)], capture_output=True, text=True)
                assert r.returncode == 0, (i, r.stderr)
                r = ns_exec(b, "nft", "-f", str(f))
                assert r.returncode == 0, (i, r.stderr)
            for flags in ([], ["-j"]):
                mine = ns_exec(a, "nft", *flags, "list", "ruleset").stdout
                theirs = ns_exec(b, "nft", *flags, "list", "ruleset").stdout
                assert "table ip kube-proxy" in theirs or '"name": "kube-proxy"' in theirs
                assert mine == theirs, flags

    return run


@pytest.mark.parametrize("labname", ["06-service-clusterip", "07-service-nodeport", "08-service-loadbalancer", "course"])
def test_kn_labs_messages_make_the_table_nft_makes(kn, compare, labname):
    scripts = scripts_of(kn("up", "--dry-run", labname, "--proxy-mode", "nftables", check=True).stdout)
    assert scripts
    for script in scripts:
        compare(script)


def test_every_rule_shape_and_a_delta_make_what_nft_makes(build_bin, compare):
    """knlab-nft-apply --sample: affinity, NodePort Local (endpoints here and elsewhere),
    LoadBalancer, UDP, no endpoints; --delta: flushed and deleted chains, deleted elements and
    affinity sets, a new endpoint."""
    tool = str(build_bin("knlab-nft-apply"))
    sample = subprocess.run([tool, "-", "--sample"], capture_output=True, text=True, check=True).stdout
    delta = subprocess.run([tool, "-", "--sample", "--delta"], capture_output=True, text=True, check=True).stdout
    for shape in ("update @affinity-", "fib saddr type local", "numgen random mod 3", "udp dport", "comment \"",
                  "flags dynamic,timeout", "goto reject-chain", ": drop"):
        assert shape in sample, shape
    for shape in ("flush chain", "delete chain", "delete element", "delete set ip kube-proxy affinity-"):
        assert shape in delta, shape
    compare(sample)
    compare(sample, delta)


def test_a_refused_line_is_named_and_nothing_is_written(build_bin, tmp_path):
    tool = str(build_bin("knlab-nft-apply"))
    f = tmp_path / "bad.nft"
    f.write_text("add table ip kube-proxy\nadd chain ip kube-proxy new\ndelete chain ip kube-proxy missing\n")
    with scratch_netns("kn-nftc-test.bad") as ns:
        r = subprocess.run([tool, ns, "--file", str(f)], capture_output=True, text=True)
        assert r.returncode == 1
        assert "No such file or directory: the kernel refused line 3: delete chain ip kube-proxy missing" in r.stderr
        assert ns_exec(ns, "nft", "list", "ruleset").stdout.strip() == ""  # all or nothing
