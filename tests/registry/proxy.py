"""A loopback HTTP proxy in front of a real registry that can tamper with answers.

``TamperingProxy(upstream_url, rewrite)`` forwards every request to the
registry and passes each answer through ``rewrite(method, path, status,
headers, body) -> (status, headers, body)`` first: the way a compromised
mirror or a man in the middle would change what archport reads.  Headers
the registry sent (``Docker-Content-Digest`` among them) stay as they were
unless ``rewrite`` changes them; ``Content-Length`` follows the new body.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import httpx

Rewrite = Callable[[str, str, int, dict, bytes], tuple[int, dict, bytes]]
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


class TamperingProxy:
    def __init__(self, upstream: str, rewrite: Rewrite | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.rewrite = rewrite or (lambda m, p, s, h, b: (s, h, b))
        self.requests: list[tuple[str, str]] = []
        proxy = self
        client = httpx.Client(timeout=60, follow_redirects=False)
        self._client = client

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP | {"host"}}
                r = client.request(self.command, proxy.upstream + self.path, headers=headers, content=body)
                proxy.requests.append((self.command, self.path))
                out = {k: v for k, v in r.headers.items() if k.lower() not in _HOP}
                status, out, data = proxy.rewrite(self.command, self.path, r.status_code, out, r.content)
                self.send_response(status)
                for k, v in out.items():
                    self.send_header(k, v)
                length = r.headers.get("content-length") if self.command == "HEAD" else str(len(data))
                self.send_header("Content-Length", length or "0")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.host = f"127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._client.close()

    def __enter__(self) -> "TamperingProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
