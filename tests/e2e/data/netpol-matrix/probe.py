"""One source pod's probes, run inside the pod's network namespace (`ip netns exec <netns>`).

argv[1] is a JSON object:
  {"timeout": 1.0,
   "probes": [{"to": "y/b", "ip": "10.244.2.3", "port": 80, "protocol": "TCP",
               "name": "b", "namespace": "y", "sport": 0}, ...]}

Every probe runs at once (one thread each); stdout gets one JSON list, in the order of the
probes: {"to", "port", "protocol", "connected", "detail", "ms"}.

  TCP: connect (the handshake is the connectivity, as agnhost connect), then GET / and check
       that the answer names the target ("pod: <name>" and "namespace: <ns>"); refused,
       unreachable or timed out is "not connected".
  UDP: a connected socket (bound to `sport` when given, so that a probe never reuses the
       conntrack entry of an earlier one), send b"hostname", wait for the target's name; sent
       again once halfway through the timeout. ICMP port unreachable (REJECT) shows as
       ECONNREFUSED on receive.

Only the standard library: this runs with the host's python3 in the pod's network namespace.
"""
import errno
import json
import socket
import sys
import threading
import time


def _err(e: BaseException) -> str:
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, OSError) and e.errno:
        return errno.errorcode.get(e.errno, str(e.errno))
    return f"{type(e).__name__}: {e}"


def probe_tcp(p: dict, timeout: float) -> tuple[bool, str]:
    deadline = time.monotonic() + timeout
    try:
        s = socket.create_connection((p["ip"], p["port"]), timeout=timeout)
    except OSError as e:
        return False, f"connect: {_err(e)}"
    data = b""
    with s:
        try:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            while True:
                s.settimeout(max(0.05, deadline - time.monotonic()))
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError as e:
            return False, f"connected, then {_err(e)} (got {len(data)} bytes)"
    text = data.decode("utf-8", "replace")
    want = f"pod: {p['name']}\nnamespace: {p['namespace']}\n"
    if want not in text:
        first = text.split("\r\n\r\n", 1)[-1].strip().splitlines()[:2]
        return False, f"connected, but the answer is not {p['namespace']}/{p['name']}: {first!r}"
    return True, "ok"


def probe_udp(p: dict, timeout: float) -> tuple[bool, str]:
    deadline = time.monotonic() + timeout
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with s:
        try:
            if p.get("sport"):
                s.bind(("0.0.0.0", p["sport"]))
            s.connect((p["ip"], p["port"]))
            s.send(b"hostname")
            resent = False
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False, "timeout"
                s.settimeout(left / 2 if not resent else left)
                try:
                    reply = s.recv(2048)
                except socket.timeout:
                    if resent:
                        return False, "timeout"
                    s.send(b"hostname")
                    resent = True
                    continue
                if reply.strip() == p["name"].encode():
                    return True, "ok"
                return False, f"answered {reply[:60]!r}, not {p['name']!r}"
        except OSError as e:
            return False, _err(e)


def main() -> int:
    job = json.loads(sys.argv[1])
    timeout = float(job.get("timeout", 1.0))
    probes = job["probes"]
    results: list = [None] * len(probes)

    def run(i: int, p: dict) -> None:
        t0 = time.monotonic()
        try:
            ok, detail = (probe_tcp if p["protocol"] == "TCP" else probe_udp)(p, timeout)
        except Exception as e:  # a bug here must show as a result, not as a lost thread
            ok, detail = False, f"probe error: {type(e).__name__}: {e}"
        results[i] = {"to": p["to"], "port": p["port"], "protocol": p["protocol"], "connected": ok,
                      "detail": detail, "ms": round((time.monotonic() - t0) * 1000, 1)}

    threads = [threading.Thread(target=run, args=(i, p), daemon=True) for i, p in enumerate(probes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 2.0)
    for i, p in enumerate(probes):
        if results[i] is None:
            results[i] = {"to": p["to"], "port": p["port"], "protocol": p["protocol"], "connected": False,
                          "detail": "probe thread did not finish", "ms": None}
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
