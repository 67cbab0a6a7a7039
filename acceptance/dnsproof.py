"""The DNS proof: the ported riscv64 coredns answers a query from the host.

    private containerd ─► ctr pull --plain-http --platform linux/riscv64 (the
    ported index, as a node's containerd would pull it) ─► ctr run -d --net-host
    with a bind-mounted Corefile (hosts plugin only, no forwarding) ─► dnspython
    asks 127.0.0.1:PORT for NAME A until it answers ─► stop, delete, clean up.

The process is emulated: binfmt_misc hands the riscv64 ELF to qemu-user.
"""

from __future__ import annotations

import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.query
import dns.exception
import dns.rcode
import dns.rdatatype

from archport.smoke.containerd import Private

NAMESPACE = "archport-acceptance"


@dataclass
class Proof:
    ok: bool = False
    answer: list[str] = field(default_factory=list)
    rcode: str = ""
    pull_seconds: float = 0.0
    seconds_to_first_answer: float = 0.0     # from `ctr run -d` returning to the first answer
    attempts: int = 0
    argv: list[str] = field(default_factory=list)
    corefile: str = ""
    error: str = ""
    log_tail: str = ""
    snapshotter: str = ""

    def to_dict(self) -> dict:
        return dict(vars(self))


def corefile(port: int, name: str, address: str) -> str:
    return (f".:{port} {{\n"
            f"    bind 127.0.0.1\n"
            f"    hosts {{\n"
            f"        {address} {name}\n"
            f"    }}\n"
            f"}}\n")


def port_is_free(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _ask(name: str, port: int, timeout: float):
    q = dns.message.make_query(name, dns.rdatatype.A)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)


def prove(image: str, work: Path, *, port: int = 1053, name: str = "archport.test", address: str = "10.43.0.10",
          wait: float = 180) -> Proof:
    proof = Proof()
    if not port_is_free(port):
        proof.error = f"127.0.0.1:{port} is in use; cannot run the DNS proof there"
        return proof
    confdir = work / "coredns-conf"
    confdir.mkdir(parents=True, exist_ok=True)
    proof.corefile = corefile(port, name, address)
    (confdir / "Corefile").write_text(proof.corefile)
    log = work / "coredns.log"
    private = Private()
    ep = private.start()
    proof.snapshotter = ep.snapshotter
    cid = "archport-dns-" + uuid.uuid4().hex[:8]
    try:
        started = time.monotonic()
        ep.ctr("images", "pull", "--plain-http", "--platform", "linux/riscv64", image, namespace=NAMESPACE,
               timeout=600)
        proof.pull_seconds = round(time.monotonic() - started, 2)
        proof.argv = ["/coredns", "-conf", "/etc/coredns/Corefile"]
        # ctr run's trailing args are the whole process argv (not appended to
        # the Entrypoint), hence /coredns first.
        ep.ctr("run", "-d", "--net-host", "--platform", "linux/riscv64", "--log-uri", f"file://{log}",
               "--mount", f"type=bind,src={confdir},dst=/etc/coredns,options=rbind:ro",
               image, cid, *proof.argv, namespace=NAMESPACE, timeout=120)
        t0 = time.monotonic()
        deadline = t0 + wait
        while time.monotonic() < deadline:
            proof.attempts += 1
            try:
                resp = _ask(name, port, timeout=1.0)
            except (dns.exception.Timeout, ConnectionRefusedError, OSError):
                status = ep.ctr("tasks", "ls", namespace=NAMESPACE, check=False, timeout=30).stdout
                if cid in status and "STOPPED" in status.split(cid, 1)[1].splitlines()[0]:
                    proof.error = "coredns stopped before answering"
                    break
                time.sleep(0.5)
                continue
            proof.seconds_to_first_answer = round(time.monotonic() - t0, 2)
            proof.rcode = dns.rcode.to_text(resp.rcode())
            proof.answer = [r.to_text() for rrset in resp.answer for r in rrset]
            proof.ok = proof.rcode == "NOERROR" and proof.answer == [address]
            if not proof.ok:
                proof.error = f"unexpected answer: {proof.rcode} {proof.answer}"
            break
        else:
            proof.error = f"no answer within {wait:g}s"
    except Exception as e:                       # recorded, the run goes on to clean up
        proof.error = f"{type(e).__name__}: {e}"
    finally:
        ep.ctr("tasks", "kill", "-s", "SIGTERM", cid, namespace=NAMESPACE, check=False, timeout=30)
        for _ in range(40):
            out = ep.ctr("tasks", "ls", namespace=NAMESPACE, check=False, timeout=30).stdout
            if cid not in out or "STOPPED" in out.split(cid, 1)[1].splitlines()[0]:
                break
            time.sleep(0.25)
        ep.ctr("tasks", "delete", "-f", cid, namespace=NAMESPACE, check=False, timeout=30)
        ep.ctr("containers", "delete", cid, namespace=NAMESPACE, check=False, timeout=30)
        ep.ctr("images", "rm", "--sync", image, namespace=NAMESPACE, check=False, timeout=60)
        try:
            proof.log_tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        except OSError:
            pass
        private.stop()
    return proof
