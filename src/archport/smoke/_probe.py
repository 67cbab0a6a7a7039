"""The readiness probe, run as a script inside the smoke container's network namespace.

``python -I _probe.py PID SPEC`` joins ``/proc/PID/ns/net`` (setns(2), as
the first thing, while single-threaded) and then asks 127.0.0.1 there until
the signal in SPEC (JSON: kind, port, path, query, answer, seconds) answers
or the time is up.  It prints ``ready: …`` (exit 0), each new failure as
``not ready: …`` as it goes (the last one is why, exit 1, also when it is
killed first), and ``setns: …`` (exit 125) when it cannot join.

Only the network namespace is joined: this process never runs image code,
keeps the host's filesystem and credentials, and talks to nothing but the
container's own loopback.  That is why the image itself never needs host
networking for a network signal.
"""

import ctypes
import json
import os
import socket
import ssl
import sys
import time

CLONE_NEWNET = 0x40000000


def join(pid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    finally:
        os.close(fd)


# Each asker returns (ready, what it answered); a failed connection raises.

def http(spec: dict, tls: bool) -> tuple[bool, str]:
    import http.client      # here: the module-level name ``http`` is this function
    if tls:
        # The program's own self-signed serving certificate (metrics-server
        # makes one in --cert-dir): this asks whether it serves, not who it is.
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", spec["port"], timeout=2, context=ctx)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", spec["port"], timeout=2)
    try:
        conn.request("GET", spec["path"])
        r = conn.getresponse()
        body = r.read(200).decode(errors="replace").strip()
    finally:
        conn.close()
    return 200 <= r.status < 300, f"GET {spec['path']} answered {r.status} {body[:80]}".strip()


def dns(spec: dict) -> tuple[bool, str]:
    # here: the module-level name ``dns`` is this function, and only a DNS probe needs dnspython
    import dns.exception
    import dns.message
    import dns.query
    import dns.rdatatype
    q = dns.message.make_query(spec["query"], dns.rdatatype.A)
    try:
        r = dns.query.udp(q, "127.0.0.1", port=spec["port"], timeout=1)
    except dns.exception.Timeout:
        return False, "no DNS answer within 1s"
    got = sorted(item.address for rrset in r.answer if rrset.rdtype == dns.rdatatype.A for item in rrset)
    if spec["answer"] not in got:
        return False, f"A {spec['query']} answered {got or 'nothing'} (rcode {r.rcode()})"
    return True, f"A {spec['query']} answered {', '.join(got)}"


def main() -> None:
    pid, spec = int(sys.argv[1]), json.loads(sys.argv[2])
    try:
        join(pid)
    except OSError as e:
        print(f"setns: cannot join the network namespace of pid {pid}: {e}", flush=True)
        sys.exit(125)
    deadline = time.monotonic() + spec["seconds"]
    last = "not asked yet"
    while time.monotonic() < deadline:
        try:
            ok, why = dns(spec) if spec["kind"] == "dns" else http(spec, spec["kind"] == "https")
            if ok:
                print(f"ready: {why}", flush=True)
                sys.exit(0)
        except (OSError, socket.timeout, ssl.SSLError) as e:
            why = str(e) or type(e).__name__
        except Exception as e:        # a malformed answer is a failed attempt, never a crash
            why = f"{type(e).__name__}: {e}"
        if why != last:
            print(f"not ready: {why}", flush=True)
            last = why
        time.sleep(0.1)
    sys.exit(1)


if __name__ == "__main__":
    main()
