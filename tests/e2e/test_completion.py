"""Shell completion and the man page, as a learner meets them: bash's completion function is
driven the way bash drives it (COMP_WORDS/COMP_CWORD, then COMPREPLY), with and without the
bash-completion package loaded, and zsh through its bash completion layer; the man page is
rendered by man(1)."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from conftest import KN_LAB, require_kn_lab

pytestmark = pytest.mark.e2e

BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    require_kn_lab()
    out = {}
    for shell in ("bash", "zsh"):
        r = subprocess.run([str(KN_LAB), "completion", shell], capture_output=True, text=True, check=True)
        path = tmp_path_factory.mktemp("completion") / f"kn-lab.{shell}"
        path.write_text(r.stdout)
        out[shell] = path
    return out


def complete(script, line: str, *, shell: str = "bash", with_bash_completion: bool = False) -> list[str]:
    """What the completion offers for `line` (the word being typed is the last, maybe empty)."""
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    words[0] = str(KN_LAB)  # the script asks the binary that is being completed
    arr = " ".join(shlex.quote(w) for w in words)
    if shell == "bash":
        pre = f"source {BASH_COMPLETION}; " if with_bash_completion else ""
        prog = (f"{pre}source {script['bash']}; COMP_WORDS=({arr}); COMP_CWORD={len(words) - 1}; "
                "_kn_lab; printf '%s\\n' \"${COMPREPLY[@]}\"")
        argv = ["bash", "-c", prog]
    else:
        prog = (f"autoload -U +X compinit && compinit -u; source {script['zsh']}; setopt ksharrays; "
                f"COMP_WORDS=({arr}); COMP_CWORD={len(words) - 1}; _kn_lab_zsh; print -l -- \"${{COMPREPLY[@]}}\"")
        argv = ["zsh", "-f", "-c", prog]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return sorted(w for w in r.stdout.splitlines() if w)


def test_commands_and_options_come_from_the_parser(script):
    top = complete(script, "kn-lab ")
    for cmd in ("up", "down", "get", "exec", "logs", "describe", "apply", "completion", "--version"):
        assert cmd in top
    assert not any(w.startswith("__") for w in top)  # the hidden helpers are not offered
    assert complete(script, "kn-lab up --d") == ["--dry-run"]
    assert complete(script, "kn-lab get -o ") == ["custom-columns=", "json", "jsonpath-as-json=", "jsonpath=", "name", "wide", "yaml"]
    assert complete(script, "kn-lab expose deploy/web --type ") == ["ClusterIP", "LoadBalancer", "NodePort"]
    assert complete(script, "kn-lab completion ") == ["bash", "zsh"]
    # A flag takes no value: the word after it is the positional again.
    assert "02-pod-to-pod-same-node" in complete(script, "kn-lab up --dry-run 02")


@pytest.mark.parametrize("with_bash_completion", [False, True])
def test_lab_names(script, with_bash_completion):
    got = complete(script, "kn-lab up 02-pod", with_bash_completion=with_bash_completion)
    assert got == ["02-pod-to-pod-same-node"]
    every = complete(script, "kn-lab up ")
    assert {"01-container-to-container", "06-service-clusterip", "10-gateway-api"} <= set(every)


def test_pods_nodes_and_labs_of_a_running_lab(script, lab):
    p2p = lab("02-pod-to-pod-same-node")
    assert "p2p" in complete(script, "kn-lab down ")
    assert complete(script, f"kn-lab exec --lab {p2p.name} ") == ["api", "node1", "web"]
    assert complete(script, "kn-lab exec w") == ["web"]
    assert complete(script, "kn-lab logs a") == ["api"]
    assert complete(script, "kn-lab get pods ") == ["api", "web"]
    assert complete(script, "kn-lab get nodes ") == ["node1"]
    assert complete(script, "kn-lab describe pod w") == ["web"]
    # After `--` comes the command run in the pod: not kn-lab's words.
    assert complete(script, "kn-lab exec web -- ") == []
    # zsh, through bashcompinit, offers the same candidates (zsh's compgen leaves matching the
    # typed prefix to zsh's completion widget, so outside one it lists them all).
    assert complete(script, "kn-lab exec w", shell="zsh") == ["api", "node1", "web"]
    assert "02-pod-to-pod-same-node" in complete(script, "kn-lab up 02-pod", shell="zsh")


def test_man_page_lists_every_command(tmp_path):
    require_kn_lab()
    page = tmp_path / "kn-lab.1"
    page.write_text(subprocess.run([str(KN_LAB), "__man"], capture_output=True, text=True, check=True).stdout)
    r = subprocess.run(["man", "-l", str(page)], capture_output=True, text=True, timeout=30,
                       env={"MANPAGER": "cat", "PAGER": "cat", "COLUMNS": "100", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert "kn-lab - a Kubernetes networking lab made of real kernel objects" in r.stdout
    top = subprocess.run([str(KN_LAB), "--help"], capture_output=True, text=True).stdout
    commands = [line.split()[0].rstrip(",") for line in top.split("Subcommands:")[1].splitlines() if line.strip()]
    assert len(commands) >= 15
    for cmd in commands:
        assert f"kn-lab {cmd}" in r.stdout, cmd
    assert "--dry-run" in r.stdout and "--dry-run VALUE" not in r.stdout  # a flag, not an option
    assert "warning" not in r.stderr.lower()
