"""End-to-end tests of kn-netexec, the built-in test server that kn-lab runs in pods.

Runs the built binary ($KNLAB_BUILD_DIR/kn-netexec, default <repo>/build as in conftest.py) on
127.0.0.1 only, with free ports picked by the kernel, and checks the endpoint contract learners
and later tests rely on. Every server started here is killed by its fixture, whatever the
outcome, before conftest's host_guard compares the host (which also catches a leaked process).
"""

import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

HOST = "127.0.0.1"
BUILD_DIR = Path(os.environ.get("KNLAB_BUILD_DIR") or Path(__file__).resolve().parents[2] / "build")
BINARY = BUILD_DIR / "kn-netexec"
IDENTITY = {
    "POD_NAME": "web-7f9c-abcde",
    "POD_NAMESPACE": "shop",
    "POD_IP": "10.244.1.23",
    "NODE_NAME": "node-b",
}
TIMEOUT = 5.0


def free_ports(kinds):
    """Distinct ports the kernel considers free right now: all sockets are bound to port 0 and held
    open together (so two of them can never get the same port), read, then released."""
    socks = [socket.socket(socket.AF_INET, kind) for kind in kinds]
    try:
        for s in socks:
            s.bind((HOST, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Netexec:
    # A released port can still be taken by another program's connection before kn-netexec binds
    # it; such a start is retried on fresh ports, any other failure is reported at once.
    ATTEMPTS = 3

    def __init__(self):
        assert BINARY.exists(), f"{BINARY} not built (set KNLAB_BUILD_DIR)"
        for attempt in range(self.ATTEMPTS):
            self._start()
            err = self._wait_ready()
            if err is None:
                return
            if b"Address already in use" not in err or attempt == self.ATTEMPTS - 1:
                raise AssertionError(f"kn-netexec exited: {err!r}")

    def _start(self):
        tcp = socket.SOCK_STREAM
        (self.http_port, self.http_port2, self.tcp_port, self.udp_port) = free_ports(
            [tcp, tcp, tcp, socket.SOCK_DGRAM])
        self.proc = subprocess.Popen(
            [str(BINARY), "--bind", HOST,
             "--http-port", str(self.http_port), f"--http-port={self.http_port2}",
             "--tcp-port", str(self.tcp_port), "--udp-port", str(self.udp_port)],
            env={**os.environ, **IDENTITY},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _wait_ready(self):
        """None once the server answers (all listeners are open before its first answer), or what
        it printed when it exited instead."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read()
                self.proc.stderr.close()
                return err
            try:
                with socket.create_connection((HOST, self.http_port), timeout=0.2):
                    return None
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise AssertionError("kn-netexec did not start listening")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)
        self.proc.stderr.close()

    def conn(self, port=None):
        return http.client.HTTPConnection(HOST, port or self.http_port, timeout=TIMEOUT)

    def get(self, path, headers=None, method="GET", body=None):
        c = self.conn()
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read().decode()
        finally:
            c.close()

    def raw(self):
        s = socket.create_connection((HOST, self.http_port), timeout=TIMEOUT)
        return s


@pytest.fixture
def server():
    srv = Netexec()
    try:
        yield srv
    finally:
        srv.stop()


def read_response(f):
    """One HTTP response from a socket file: (status, headers, body), headers lower-cased."""
    status_line = f.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers = {}
    while (line := f.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = f.read(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, body.decode()


def check_identity_headers(headers, path):
    assert headers["X-Pod-Name"] == IDENTITY["POD_NAME"]
    assert headers["X-Pod-IP"] == IDENTITY["POD_IP"]
    assert headers["X-Request-Path"] == path


def test_root_reports_identity_path_and_client(server):
    status, headers, body = server.get("/?color=blue")
    assert status == 200
    lines = body.split("\n")
    assert lines[:5] == [
        f"pod: {IDENTITY['POD_NAME']}",
        f"namespace: {IDENTITY['POD_NAMESPACE']}",
        f"ip: {IDENTITY['POD_IP']}",
        f"node: {IDENTITY['NODE_NAME']}",
        "path: /?color=blue",
    ]
    assert lines[5].startswith(f"client: {HOST}:") and int(lines[5].rsplit(":", 1)[1]) > 0
    assert lines[6:] == [""]  # exactly six lines, newline-terminated
    check_identity_headers(headers, "/?color=blue")
    assert headers["Content-Length"] == str(len(body))


def test_hostname_is_bare(server):
    status, headers, body = server.get("/hostname")
    assert status == 200
    assert body == socket.gethostname()
    check_identity_headers(headers, "/hostname")


def test_clientip_shows_peer(server):
    c = server.conn()
    try:
        c.connect()
        local_port = c.sock.getsockname()[1]
        c.request("GET", "/clientip")
        r = c.getresponse()
        assert r.status == 200
        assert r.read().decode() == f"{HOST}:{local_port}"
    finally:
        c.close()


def test_echo_decodes_msg_and_echoes_post_body(server):
    assert server.get("/echo?msg=hello%20world")[2] == "hello world"
    assert server.get("/echo?x=1&msg=a+b%21")[2] == "a b!"
    status, _, body = server.get("/echo", method="POST", body=b"posted\nbody")
    assert (status, body) == (200, "posted\nbody")


def test_headers_shows_request_line_and_headers_as_received(server):
    s = server.raw()
    try:
        s.sendall(b"GET /headers?q=1 HTTP/1.1\r\nHost: svc.shop\r\nX-Forwarded-For: 1.2.3.4\r\n"
                  b"x-lower-case:  spaced \r\n\r\n")
        status, headers, body = read_response(s.makefile("rb"))
    finally:
        s.close()
    assert status == 200
    assert body == ("GET /headers?q=1 HTTP/1.1\nHost: svc.shop\nX-Forwarded-For: 1.2.3.4\n"
                    "x-lower-case:  spaced \n")
    assert headers["x-request-path"] == "/headers?q=1"


def test_healthz(server):
    assert server.get("/healthz")[:1] == (200,)
    assert server.get("/healthz")[2] == "ok"


def test_any_other_path_answers_identity_and_the_path_received(server):
    # Like traefik/whoami: what an Ingress or HTTPRoute sent (after rewrites) is visible.
    status, headers, body = server.get("/shop/cart?id=9")
    assert status == 200
    assert body.startswith("pod: ") and "\npath: /shop/cart?id=9\n" in body, body
    check_identity_headers(headers, "/shop/cart?id=9")


@pytest.mark.parametrize("path", ["/shell?cmd=id", "/exec", "/exit", "/exit?code=1"])
def test_no_shell_exec_or_exit_endpoint(server, path):
    status, _, body = server.get(path)
    assert (status, body) == (404, "404 page not found\n")
    assert server.proc.poll() is None
    assert server.get("/healthz")[0] == 200


def test_second_http_port_serves_too(server):
    c = server.conn(server.http_port2)
    try:
        c.request("GET", "/healthz")
        assert c.getresponse().read() == b"ok"
    finally:
        c.close()


def test_keep_alive_two_requests_one_connection(server):
    c = server.conn()
    try:
        c.request("GET", "/clientip")
        first = c.getresponse().read().decode()
        sock = c.sock
        c.request("GET", "/clientip")
        second = c.getresponse().read().decode()
        assert c.sock is sock  # http.client reconnects silently if the server had closed
        assert first == second  # same source port: same TCP connection
    finally:
        c.close()


def test_pipelined_requests_get_two_responses_in_order(server):
    s = server.raw()
    try:
        s.sendall(b"GET /echo?msg=one HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /echo?msg=two HTTP/1.1\r\nHost: x\r\n\r\n")
        f = s.makefile("rb")
        assert read_response(f)[2] == "one"
        assert read_response(f)[2] == "two"
    finally:
        s.close()


def test_partial_reads_byte_by_byte(server):
    s = server.raw()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for b in b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello":
            s.sendall(bytes([b]))
            time.sleep(0.001)
        assert read_response(s.makefile("rb"))[:3:2] == (200, "hello")
    finally:
        s.close()


def test_connection_close_and_http10_close_after_response(server):
    for request in (b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    b"GET /healthz HTTP/1.0\r\n\r\n"):
        s = server.raw()
        try:
            s.sendall(request)
            f = s.makefile("rb")
            status, headers, body = read_response(f)
            assert (status, body) == (200, "ok")
            assert headers["connection"] == "close"
            assert f.read() == b""  # server closed
        finally:
            s.close()


def test_http10_keep_alive(server):
    s = server.raw()
    try:
        f = s.makefile("rb")
        for msg in ("a", "b"):
            s.sendall(f"GET /echo?msg={msg} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".encode())
            status, headers, body = read_response(f)
            assert (status, body, headers["connection"]) == (200, msg, "keep-alive")
    finally:
        s.close()


def test_head_has_content_length_but_no_body(server):
    s = server.raw()
    try:
        s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /echo?msg=next HTTP/1.1\r\n\r\n")
        f = s.makefile("rb")
        assert f.readline().startswith(b"HTTP/1.1 200")
        head = b""
        while (line := f.readline()) != b"\r\n":
            head += line
        assert b"Content-Length: 2\r\n" in head
        assert read_response(f)[2] == "next"  # no body bytes were sent for HEAD
    finally:
        s.close()


def test_oversized_header_gets_431_and_close(server):
    s = server.raw()
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (20 * 1024) + b"\r\n\r\n")
        f = s.makefile("rb")
        status, headers, _ = read_response(f)
        assert status == 431
        assert headers["connection"] == "close"
        assert headers["x-pod-name"] == IDENTITY["POD_NAME"]
        assert f.read() == b""
    finally:
        s.close()


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/2.0\r\n\r\n",
    b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
])
def test_malformed_request_gets_400(server, request_bytes):
    s = server.raw()
    try:
        s.sendall(request_bytes)
        status, headers, _ = read_response(s.makefile("rb"))
        assert status == 400
        assert headers["connection"] == "close"
    finally:
        s.close()
    assert server.get("/healthz")[0] == 200  # and the server carries on


def test_udp_hostname_echo_and_other(server):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(TIMEOUT)
        s.connect((HOST, server.udp_port))
        s.send(b"hostname")
        assert s.recv(65536) == IDENTITY["POD_NAME"].encode()
        s.send(b"hostname\n")  # as `echo hostname | nc -u` sends it
        assert s.recv(65536) == IDENTITY["POD_NAME"].encode()
        s.send(b"echo x")
        assert s.recv(65536) == b"x"
        s.send(b"clientip")
        assert s.recv(65536) == f"{HOST}:{s.getsockname()[1]}".encode()
        s.send(b"anything else")
        assert s.recv(65536) == b"anything else"


def test_tcp_banner_then_echo(server):
    with socket.create_connection((HOST, server.tcp_port), timeout=TIMEOUT) as s:
        f = s.makefile("rb")
        assert f.readline() == f"pod: {IDENTITY['POD_NAME']}\n".encode()
        for chunk in (b"hello\n", b"x" * 100_000):
            s.sendall(chunk)
            assert f.read(len(chunk)) == chunk
        s.shutdown(socket.SHUT_WR)
        assert f.read() == b""  # server closes once the peer has closed


def test_sigterm_exits_zero_within_one_second(server):
    c = server.conn()  # an open keep-alive connection must not delay the exit
    try:
        c.request("GET", "/healthz")
        c.getresponse().read()
        start = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=1.0) == 0
        assert time.monotonic() - start < 1.0
    finally:
        c.close()


def test_sigint_exits_zero(server):
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=1.0) == 0
