"""kube-proxy's nftables mode: every lab's rendered `table ip kube-proxy` (what `up --dry-run`
and `up -v` print, and what libnftables runs) is accepted by `nft -c -f`, nft's own checker,
in a scratch network namespace of its own (`unshare -n`: the host's ruleset is never touched).
"""
import pathlib
import re
import subprocess

import pytest

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
