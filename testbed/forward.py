"""Loopback forwarders between the host's and the board's network namespaces.

``python -m testbed.forward NETNS RULE...`` with RULE ``to-board:PORT`` (the
host's 127.0.0.1:PORT reaches the board's 127.0.0.1:PORT) or ``to-host:PORT``
(the other way).  One process serves all its rules.  A socket belongs to the
network namespace its creating thread was in when it was created
(setns(2)), so the process creates each socket after entering the namespace
it belongs to and returns to the host's at once; no veth, no host link.
"""
from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import sys

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class Namespaces:
    def __init__(self, board_netns: str) -> None:
        self.host = os.open("/proc/self/ns/net", os.O_RDONLY)
        self.board = os.open(board_netns, os.O_RDONLY)

    def socket(self, where: str) -> socket.socket:
        _setns(self.board if where == "board" else self.host)
        try:
            return socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        finally:
            _setns(self.host)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


async def _serve(ns: Namespaces, listen_in: str, connect_in: str, port: int) -> asyncio.AbstractServer:
    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        s = ns.socket(connect_in)
        s.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(s, ("127.0.0.1", port))
        except OSError:
            s.close()
            w.close()
            return
        r2, w2 = await asyncio.open_connection(sock=s)
        await asyncio.gather(_pipe(r, w2), _pipe(r2, w))

    lsock = ns.socket(listen_in)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(128)
    lsock.setblocking(False)
    return await asyncio.start_server(handle, sock=lsock)


async def main(netns: str, rules: list[str]) -> None:
    ns = Namespaces(netns)
    servers = []
    for rule in rules:
        direction, port = rule.split(":")
        listen_in, connect_in = ("host", "board") if direction == "to-board" else ("board", "host")
        servers.append(await _serve(ns, listen_in, connect_in, int(port)))
    print(f"forwarding {' '.join(rules)}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
