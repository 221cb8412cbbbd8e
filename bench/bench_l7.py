#!/usr/bin/env python3
"""L7 benchmark (issue 5): how fast the Ingress and Gateway labs come up, what a change of
Ingresses costs (configuration + graceful nginx reload), whether requests fail during reloads,
the latency nginx adds on the path, and what a data plane costs in memory.

    sudo /usr/bin/python3 bench/bench_l7.py [-r 5] [--reloads 20] [--json bench/out/l7.json]

Needs root and a built tree (build/kn-lab). Brings labs 09-ingress and 10-gateway-api up and
down; sends traffic only between the labs' own namespaces (external -> node/gateway addresses).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KN = str(REPO / "build" / "kn-lab")
COURSE_INGRESS = str(REPO / "manifests" / "course" / "ingress.yaml")


def kn(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([KN, *args], capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise SystemExit(f"kn-lab {' '.join(args)} failed:\n{r.stdout}{r.stderr}")
    return r


def timed(*args: str) -> float:
    t0 = time.perf_counter()
    kn(*args)
    return (time.perf_counter() - t0) * 1000


def ext(lab: str, *cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", f"kn-{lab}.external", *cmd], capture_output=True, text=True, timeout=120)


def wait_ok(lab: str, url: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ext(lab, "curl", "-sf", "--max-time", "2", "-o", "/dev/null", url).returncode == 0:
            return
        time.sleep(0.05)
    raise SystemExit(f"{url} never answered")


def rss_kb(lab: str) -> dict[str, int]:
    """VmRSS of the lab's nginx masters (command line names the lab's state) and their workers."""
    procs = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace").strip()
            status = open(f"/proc/{pid}/status").read()
        except OSError:
            continue
        field = lambda k: status.split(k + ":")[1].split()[0] if k + ":" in status else "0"
        procs[pid] = (cmd, field("PPid"), int(field("VmRSS")))
    masters = {pid for pid, (cmd, _, _) in procs.items() if cmd.startswith("nginx: master") and f"/run/kn-lab/{lab}/" in cmd}
    return {f"{pid} {cmd.split(' process')[0]}": rss for pid, (cmd, ppid, rss) in procs.items() if pid in masters or ppid in masters}


def latency_ms(lab: str, url: str, n: int) -> float:
    script = f"for i in $(seq {n}); do curl -s -o /dev/null -w '%{{time_total}}\\n' {url}; done"
    vals = [float(x) * 1000 for x in ext(lab, "sh", "-c", script).stdout.split()]
    return statistics.median(vals)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-r", type=int, default=5, help="repetitions of up/down")
    ap.add_argument("--reloads", type=int, default=20)
    ap.add_argument("--json", default=str(REPO / "bench" / "out" / "l7.json"))
    a = ap.parse_args()
    res: dict = {}

    for labfile, lab in (("09-ingress", "ingress"), ("10-gateway-api", "gateway")):
        ups, downs = [], []
        for _ in range(a.r):
            ups.append(timed("up", str(REPO / "labs" / f"{labfile}.toml")))
            downs.append(timed("down", lab))
            time.sleep(0.3)  # let the kernel finish destroying the namespaces (cleanup_net)
        res[lab] = {"up_ms": statistics.median(ups), "down_ms": statistics.median(downs), "ups": ups, "downs": downs}

    # Ingress: apply/delete of the course's Ingress (config + graceful reload), under load.
    kn("up", str(REPO / "labs" / "09-ingress.toml"))
    try:
        url = "http://192.168.56.11:30080/api"
        wait_ok("ingress", url)
        codes: list[str] = []
        stop = threading.Event()

        def load():
            while not stop.is_set():
                r = ext("ingress", "sh", "-c", f"for i in $(seq 20); do curl -s -o /dev/null -w '%{{http_code}}\\n' --max-time 3 {url}; done")
                codes.extend(r.stdout.split())

        t = threading.Thread(target=load)
        t.start()
        scale_ms = []
        for i in range(a.reloads):
            scale_ms.append(timed("scale", "deploy/api", f"--replicas={2 + (i % 3)}", "--lab", "ingress"))
        stop.set()
        t.join()
        errors = sum(1 for c in codes if c != "200")
        apply_ms = []
        for _ in range(5):
            kn("delete", "-f", COURSE_INGRESS, "--lab", "ingress")
            apply_ms.append(timed("apply", "-f", COURSE_INGRESS, "--lab", "ingress"))
        wait_ok("ingress", url)
        pods = json.loads(kn("get", "pods", "-o", "json", "--lab", "ingress").stdout)["items"]
        api_ip = next(p["status"]["podIP"] for p in pods if p["metadata"]["name"].startswith("api-"))
        res["ingress_changes"] = {
            "scale_with_reload_ms_median": statistics.median(scale_ms), "scale_samples": scale_ms,
            "apply_ingress_ms_median": statistics.median(apply_ms), "apply_samples": apply_ms,
            "requests_during_reloads": len(codes), "failed_requests": errors,
            "latency_ms_via_ingress": latency_ms("ingress", url, 200),
            "nginx_rss_kb": rss_kb("ingress"),
        }
        # direct path for comparison: from the controller's own node namespace to a pod
        node_lat = subprocess.run(["ip", "netns", "exec", "kn-ingress.node1", "sh", "-c",
                                   f"for i in $(seq 200); do curl -s -o /dev/null -w '%{{time_total}}\\n' http://{api_ip}:8080/; done"],
                                  capture_output=True, text=True).stdout.split()
        res["ingress_changes"]["latency_ms_node_to_pod"] = statistics.median(float(x) * 1000 for x in node_lat)
    finally:
        kn("down", "ingress", check=False)

    time.sleep(0.3)
    kn("up", str(REPO / "labs" / "10-gateway-api.toml"))
    try:
        wait_ok("gateway", "http://192.168.56.200/api")
        res["gateway"]["latency_ms_via_gateway"] = latency_ms("gateway", "http://192.168.56.200/api", 200)
        res["gateway"]["nginx_rss_kb"] = rss_kb("gateway")
    finally:
        kn("down", "gateway", check=False)

    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(res, indent=2))
    ic = res["ingress_changes"]
    print(f"{'lab':<10}{'up ms':>9}{'down ms':>9}")
    for lab in ("ingress", "gateway"):
        print(f"{lab:<10}{res[lab]['up_ms']:>9.1f}{res[lab]['down_ms']:>9.1f}")
    print(f"scale deploy/api (endpoints change, nginx reload, old workers gone): median {ic['scale_with_reload_ms_median']:.1f} ms")
    print(f"apply -f the course's Ingress (new config + reload): median {ic['apply_ingress_ms_median']:.1f} ms")
    print(f"requests during {a.reloads} reloads: {ic['requests_during_reloads']}, failed: {ic['failed_requests']}")
    print(f"latency, median of 200 curls: external->NodePort->ingress nginx->pod {ic['latency_ms_via_ingress']:.2f} ms, "
          f"node->pod {ic['latency_ms_node_to_pod']:.2f} ms, external->LB->gateway nginx->pod {res['gateway']['latency_ms_via_gateway']:.2f} ms")
    print(f"nginx RSS (kB): ingress {sum(ic['nginx_rss_kb'].values())} over {len(ic['nginx_rss_kb'])} processes, "
          f"gateway {sum(res['gateway']['nginx_rss_kb'].values())} over {len(res['gateway']['nginx_rss_kb'])}")


if __name__ == "__main__":
    main()
