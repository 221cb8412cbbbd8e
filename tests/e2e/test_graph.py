"""kn-lab graph on every shipped lab: the SVG is valid XML naming every node, pod and Service
that `kn-lab get` lists, the PNG is a PNG of a sane size; lab 06's text fits 100 columns; lab
03's --highlight draws the traced path in the highlight colour. One `up` per lab.
"""
import json
import os
import pty
import struct
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import KN_LAB, LABS_DIR, require_kn_lab

HIGHLIGHT = "#e00000"
SVG = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LABS = sorted(p.stem for p in LABS_DIR.glob("*.toml"))


def names(kn, lab, *what):
    r = kn("get", *what, "-o", "json", "--lab", lab, check=True)
    return [item["metadata"]["name"] for item in json.loads(r.stdout)["items"]]


def svg_texts(root):
    """Every <text> and <title> of the SVG: the labels and the ids of nodes and edges."""
    return [el.text or "" for el in root.iter() if el.tag in (SVG + "text", SVG + "title")]


def graph_file(kn, lab, fmt, *extra):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"graph.{fmt}"
        kn("graph", "--lab", lab, "-o", fmt, "--output-file", path, *extra, check=True)
        return path.read_bytes()


def highlighted(root):
    """Titles of the SVG's nodes and edges drawn in the highlight colour."""
    out = set()
    for g in root.iter(SVG + "g"):
        if g.get("class") not in ("node", "edge", "cluster"):
            continue
        title = g.find(SVG + "title")
        if title is not None and any(el.get("stroke") == HIGHLIGHT for el in g.iter()):
            out.add(title.text)
    return out


def check_svg(kn, lab):
    data = graph_file(kn, lab, "svg")
    root = ET.fromstring(data)
    assert root.tag == SVG + "svg"
    text = "\n".join(svg_texts(root))
    objects = {
        "node": names(kn, lab, "nodes"),
        "pod": names(kn, lab, "pods", "-A"),
        "service": names(kn, lab, "svc", "-A"),
    }
    for kind, items in objects.items():
        for name in items:
            assert name in text, f"{kind} {name} is not in the SVG of {lab}"
    assert objects["node"] and objects["pod"]


def check_png(kn, lab):
    data = graph_file(kn, lab, "png")
    assert data.startswith(PNG_MAGIC)
    assert 2_000 < len(data) < 30_000_000, len(data)
    width, height = struct.unpack(">II", data[16:24])  # IHDR
    assert 100 <= width <= 30_000 and 100 <= height <= 30_000, (width, height)


@pytest.mark.parametrize("labfile", LABS)
def test_graph_of_every_lab(lab, kn, labfile):
    lb = lab(labfile)
    check_svg(kn, lb.name)
    check_png(kn, lb.name)
    dot = kn("graph", "--lab", lb.name, "-o", "dot", check=True).stdout
    assert dot.startswith("digraph ") and dot.count("{") == dot.count("}")
    # Into a pipe without -o: SVG.
    r = kn("graph", "--lab", lb.name, check=True)
    assert r.stdout.lstrip().startswith("<?xml")
    if labfile.startswith("06-"):
        text = kn("graph", "--lab", lb.name, "-o", "text", check=True).stdout
        lines = text.splitlines()
        assert all(len(line) <= 100 for line in lines), [line for line in lines if len(line) > 100]
        for word in ("nodes", "services", "links between nodes", "svc ghost (default)"):
            assert word in text
    if labfile.startswith("03-"):
        check_highlight(kn, lb.name)


def check_highlight(kn, lab):
    root = ET.fromstring(graph_file(kn, lab, "svg", "--highlight", "a1", "a2:8080"))
    marked = highlighted(root)
    for title in ("pod/a1", "pod/a2", "wire/wire", "node1/flannel.1", "node2/flannel.1",
                  "pod/a1->node1/cni0", "node1/flannel.1->node2/flannel.1", "cluster_node/node1"):
        assert title in marked, (title, sorted(marked))
    for title in ("pod/b1", "node3/flannel.1", "external", "cluster_node/node3"):
        assert title not in marked, (title, sorted(marked))
    # One string "FROM TO" works the same.
    one = highlighted(ET.fromstring(graph_file(kn, lab, "svg", "--highlight", "a1 a2:8080")))
    assert one == marked
    # Bad input names the option.
    r = kn("graph", "--lab", lab, "--highlight", "nosuch", "a2")
    assert r.returncode != 0 and "--highlight" in r.stderr and "nosuch" in r.stderr, r.stderr
    r = kn("graph", "--lab", lab, "-o", "bmp")
    assert r.returncode != 0 and "-o bmp" in r.stderr, r.stderr


def on_terminal(*args):
    """kn-lab's output and exit code with stdout a pseudo-terminal."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(str(KN_LAB), [str(KN_LAB), *args])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(fd)
    return out.decode(errors="replace"), os.waitpid(pid, 0)[1] >> 8


def test_png_is_not_written_to_a_terminal():
    require_kn_lab()
    out, rc = on_terminal("graph", "-o", "png", "--lab", "no-such-lab")
    assert rc != 0 and "-o png" in out and "--output-file" in out, out
