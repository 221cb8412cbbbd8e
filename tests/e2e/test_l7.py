"""Ingress (ingress-nginx on real nginx) and the Gateway API (an nginx data plane per Gateway),
driven by the course's own manifests, applied unchanged (issue 5). Every answer names the pod
that served it; every route is checked from the lab's `external` namespace, over the lab's own
addresses."""

from __future__ import annotations

import collections
import re
import subprocess
import threading
import time

import pytest

from conftest import REPO

pytestmark = pytest.mark.e2e

MANIFESTS = REPO / "manifests"
COURSE = MANIFESTS / "course"
EXAMPLES = MANIFESTS / "examples"
NODE1, NODE2 = "192.168.56.11", "192.168.56.12"


def curl(lab, *args: str) -> subprocess.CompletedProcess:
    return lab.exec("external", "curl", "-s", "--max-time", "3", *args)


def wait_http(lab, url: str, want: str = "", timeout: float = 10.0, *extra: str) -> str:
    """Polls until `url` answers (with `want` in the body, if given); returns the body."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = curl(lab, *extra, url)
        if last.returncode == 0 and want in last.stdout:
            return last.stdout
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered {want!r}: {last}")


def status_code(lab, url: str, *extra: str) -> str:
    return curl(lab, "-o", "/dev/null", "-w", "%{http_code}", *extra, url).stdout


def pod_of(body: str) -> str:
    m = re.search(r"^pod: (\S+)$", body, re.M)
    return m.group(1) if m else ""


def many(lab, url: str, n: int, *extra: str) -> collections.Counter:
    """n requests over one curl process (keep-alive), counted by the pod that answered."""
    out = lab.exec("external", "curl", "-s", "--max-time", "30", *extra, *([url] * n), check=True).stdout
    return collections.Counter(re.findall(r"^pod: (\S+)$", out, re.M))


# ------------------------------------------------------------------------------------ Ingress

def test_ingress_default_backend_then_course_ingress_rewrites_to_slash(lab, kn):
    s = lab("09-ingress")
    # The course's Ingress is applied at up; take it away to see the controller with no Ingress.
    kn("delete", "-f", str(COURSE / "ingress.yaml"), "--lab", s.name, check=True)
    wait_http(s, f"http://{NODE1}:30080/healthz")
    r = curl(s, "-i", f"http://{NODE1}:30080/api/users")
    assert " 404 " in r.stdout.splitlines()[0] and "default backend - 404" in r.stdout, r.stdout

    out = kn("apply", "-f", str(COURSE / "ingress.yaml"), "--lab", s.name, check=True).stdout
    assert "ingress.networking.k8s.io/ingress created" in out and "nginx reloaded" in out, out
    # /api/... reaches an api pod with the path rewritten to / (the test server prints the path).
    body = wait_http(s, f"http://{NODE1}:30080/api/users", "pod: api-")
    assert "\npath: /\n" in body, body
    # A NodePort: every node forwards to the controller.
    assert pod_of(curl(s, f"http://{NODE2}:30080/api").stdout).startswith("api-")
    # Upstreams are the endpoints: both api pods answer.
    seen = many(s, f"http://{NODE1}:30080/api", 40)
    assert len(seen) == 2 and all(p.startswith("api-") for p in seen), seen
    # What learners read: get/describe ingress, the controller's Service.
    get = kn("get", "ingress", "--lab", s.name, check=True).stdout
    assert re.search(r"^ingress\s+nginx\s+\*\s+192\.168\.56\.\d+\s+80\s", get, re.M), get
    desc = kn("describe", "ingress", "ingress", "--lab", s.name, check=True).stdout
    assert "/api   api:80 (" in desc and "nginx.ingress.kubernetes.io/rewrite-target: /" in desc, desc
    svc = kn("get", "svc", "-n", "ingress-nginx", "--lab", s.name, check=True).stdout
    assert "80:30080/TCP,443:30443/TCP" in svc, svc


def test_ingress_host_exact_and_capture_rules(lab, kn):
    s = lab("09-ingress")
    kn("apply", "-f", str(EXAMPLES / "ingress-hosts.yaml"), "-f", str(EXAMPLES / "ingress-capture.yaml"),
       "--lab", s.name, check=True)
    url = f"http://{NODE1}:30080"
    assert pod_of(wait_http(s, url + "/", "pod: web-", 10, "-H", "Host: web.example.com")).startswith("web-")
    # Exact: /v1 only (the test server has no /v1 page: its 404 names the pod and the path).
    head = curl(s, "-i", "--resolve", f"api.example.com:30080:{NODE1}", "http://api.example.com:30080/v1").stdout
    assert "X-Pod-Name: api-" in head and re.search(r"^X-Request-Path: /v1\s*$", head, re.M), head
    assert status_code(s, "http://api.example.com:30080/v1/x", "--resolve", f"api.example.com:30080:{NODE1}") == "404"
    # An unknown host falls to the default server: the course's rule (no host) still applies there.
    assert status_code(s, url + "/web", "-H", "Host: other.example.com") == "404"
    assert pod_of(curl(s, "-H", "Host: other.example.com", url + "/api").stdout).startswith("api-")
    # rewrite-target with capture groups: /something/hostname -> /hostname.
    r = curl(s, url + "/something/hostname")
    assert r.stdout.startswith("web-"), r.stdout


def test_ingress_tls_with_a_self_signed_certificate(lab, kn):
    s = lab("09-ingress")
    kn("apply", "-f", str(EXAMPLES / "ingress-tls.yaml"), "--lab", s.name, check=True)
    resolve = f"secure.example.com:30443:{NODE1}"
    body = wait_http(s, "https://secure.example.com:30443/", "pod: web-", 10, "-k", "--resolve", resolve)
    assert pod_of(body).startswith("web-")
    v = s.exec("external", "curl", "-skv", "--max-time", "3", "--resolve", resolve, "https://secure.example.com:30443/")
    assert "subject: CN=example.com" in v.stderr, v.stderr
    # Plain HTTP to a TLS host is redirected, as ingress-nginx's ssl-redirect does.
    r = curl(s, "-i", "-H", "Host: secure.example.com", f"http://{NODE1}:30080/")
    assert " 308 " in r.stdout.splitlines()[0] and "location: https://secure.example.com" in r.stdout.lower(), r.stdout


def test_ingress_reload_on_scale_drops_no_request(lab, kn):
    s = lab("09-ingress")
    url = f"http://{NODE1}:30080/api"
    wait_http(s, url, "pod: api-")
    codes: list[str] = []
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            r = s.exec("external", "sh", "-c",
                       f"for i in $(seq 25); do curl -s -o /dev/null -w '%{{http_code}}\\n' --max-time 3 {url}; done")
            codes.extend(r.stdout.split())

    t = threading.Thread(target=loop)
    t.start()
    try:
        for replicas in (4, 1, 3):
            out = kn("scale", "deploy/api", f"--replicas={replicas}", "--lab", s.name, check=True).stdout
            assert "nginx reloaded in ingress-nginx/ingress-nginx-controller" in out, out
            time.sleep(0.3)
    finally:
        stop.set()
        t.join()
    assert len(codes) >= 50, codes
    assert set(codes) == {"200"}, collections.Counter(codes)
    # The upstreams followed: the three api pods answer.
    seen = many(s, url, 60)
    assert len(seen) == 3, seen


def test_ingress_nginx_is_torn_down(lab, kn):
    s = lab("09-ingress")
    conf = f"/run/kn-lab/{s.name}/nginx/ingress-nginx.ingress-nginx-controller/nginx.conf"
    ps = subprocess.run(["pgrep", "-f", conf], capture_output=True, text=True)
    assert ps.stdout.split(), "nginx master not found"
    s.down(check=True)
    ps = subprocess.run(["pgrep", "-f", conf], capture_output=True, text=True)
    assert ps.stdout.split() == [], ps.stdout


# -------------------------------------------------------------------------------- Gateway API

GW = "192.168.56.200"


def test_gateway_course_httproute_http_and_https(lab, kn):
    s = lab("10-gateway-api")
    get = kn("get", "gateway", "--lab", s.name, check=True).stdout
    assert re.search(rf"^my-gateway\s+kn-lab\s+{GW}\s+True\s", get, re.M), get
    body = wait_http(s, f"http://{GW}/api", "pod: api-")
    assert "\npath: /api\n" in body  # no rewrite in the course's route
    assert status_code(s, f"http://{GW}/other") == "404"
    desc = kn("describe", "httproute", "api-route", "--lab", s.name, check=True).stdout
    assert "Reason:   Accepted" in desc and "Reason:   ResolvedRefs" in desc, desc
    gc = kn("describe", "gatewayclass", "kn-lab", "--lab", s.name, check=True).stdout
    assert "Controller Name:  kn-lab.dev/gateway-controller" in gc and "Reason:   Accepted" in gc, gc
    # HTTPS listener: TLS terminated with the lab's self-signed certificate.
    v = s.exec("external", "curl", "-skv", "--max-time", "3", "--resolve", f"example.com:443:{GW}", "https://example.com/api")
    assert pod_of(v.stdout).startswith("api-") and "subject: CN=example.com" in v.stderr, v
    # The data plane is a LoadBalancer Service with a port per listener.
    svc = kn("get", "svc", "my-gateway-nginx", "--lab", s.name, check=True).stdout
    assert "LoadBalancer" in svc and "80:" in svc and "443:" in svc and "9000:" in svc, svc


def test_gateway_header_match_and_weighted_split(lab, kn):
    s = lab("10-gateway-api")
    kn("apply", "-f", str(EXAMPLES / "httproute-header.yaml"), "--lab", s.name, check=True)
    v2 = wait_http(s, f"http://{GW}/v/", "pod: api-v2-", 10, "-H", "X-Version: v2")
    assert "\npath: /\n" in v2, v2  # URLRewrite ReplacePrefixMatch /v -> /
    assert pod_of(curl(s, f"http://{GW}/v/").stdout).startswith("api-") and "api-v2" not in curl(s, f"http://{GW}/v/").stdout

    kn("apply", "-f", str(EXAMPLES / "httproute-canary.yaml"), "--lab", s.name, check=True)
    seen = many(s, f"http://{GW}/api", 1000)
    v2_hits = sum(n for p, n in seen.items() if p.startswith("api-v2-"))
    assert sum(seen.values()) == 1000, seen
    assert 60 <= v2_hits <= 140, seen  # 10% of 1000, within a few points


def test_gateway_cross_namespace_needs_a_reference_grant(lab, kn):
    s = lab("10-gateway-api")
    wait_http(s, f"http://{GW}/api", "pod: api-")
    kn("apply", "-f", str(EXAMPLES / "cross-namespace-route.yaml"), "--lab", s.name, check=True)
    desc = kn("describe", "httproute", "billing", "--lab", s.name, check=True).stdout
    assert "RefNotPermitted" in desc, desc
    assert status_code(s, f"http://{GW}/billing/") == "500"
    kn("apply", "-f", str(EXAMPLES / "reference-grant.yaml"), "--lab", s.name, check=True)
    body = wait_http(s, f"http://{GW}/billing/", "pod: billing-")
    assert "namespace: billing" in body
    desc = kn("describe", "httproute", "billing", "--lab", s.name, check=True).stdout
    assert "RefNotPermitted" not in desc, desc


def test_gateway_tcproute_forwards_raw_tcp(lab, kn):
    s = lab("10-gateway-api")
    kn("apply", "-f", str(EXAMPLES / "tcproute.yaml"), "--lab", s.name, check=True)
    body = wait_http(s, f"http://{GW}:9000/", "pod: api-")
    assert "\npath: /\n" in body
    get = kn("get", "tcproute", "--lab", s.name, check=True).stdout
    assert "api-tcp" in get


def test_gateway_service_external_traffic_policy_is_patchable(lab, kn):
    s = lab("10-gateway-api")
    wait_http(s, f"http://{GW}/api", "pod: api-")
    out = kn("patch", "svc", "my-gateway-nginx", "-p", '{"spec":{"externalTrafficPolicy":"Local"}}', "--lab", s.name, check=True).stdout
    assert "service/my-gateway-nginx patched" in out, out
    desc = kn("describe", "svc", "my-gateway-nginx", "--lab", s.name, check=True).stdout
    assert re.search(r"^External Traffic Policy:\s+Local$", desc, re.M), desc
    # The cloud balancer now sends only to the node that runs the data plane; traffic still flows.
    lb = s.ns_exec("cloud-lb", "iptables-legacy-save", "-t", "nat", check=True).stdout
    assert lb.count("default/my-gateway-nginx:http -> ") == 1, lb
    assert pod_of(wait_http(s, f"http://{GW}/api", "pod: api-")).startswith("api-")
    # The patch is part of the lab's desired state: a later change keeps it.
    kn("scale", "deploy/api", "--replicas=3", "--lab", s.name, check=True)
    desc = kn("describe", "svc", "my-gateway-nginx", "--lab", s.name, check=True).stdout
    assert re.search(r"^External Traffic Policy:\s+Local$", desc, re.M), desc


def test_gateway_udproute_forwards_datagrams(lab, kn):
    s = lab("10-gateway-api")
    kn("apply", "-f", str(EXAMPLES / "udproute.yaml"), "--lab", s.name, check=True)
    desc = kn("describe", "udproute", "api-udp", "--lab", s.name, check=True).stdout
    assert "Reason:   Accepted" in desc and "Reason:   ResolvedRefs" in desc, desc
    deadline = time.monotonic() + 10
    while True:
        r = s.exec("external", "sh", "-c", f"echo hostname | nc -u -w1 {GW} 9001")
        if r.stdout.startswith("api-"):
            break
        assert time.monotonic() < deadline, r
        time.sleep(0.2)
