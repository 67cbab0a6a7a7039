"""The suite's registry (tests/support/registry.py) when a test restarts it.

Fault tests stop the session's registry and start it again on the same port.
A start must never report ready because something else answered there: not
the same registry still running (a second start), nor another process that
took the port.  Either way the new process exits ("address already in use")
while the test goes on talking to the wrong server, and the running one
loses its handle and outlives the session.
"""

from __future__ import annotations

import http.server
import threading

import httpx
import pytest

from tests.support.registry import Registry


def test_a_second_start_of_a_running_registry_is_refused(tmp_path):
    reg = Registry(tmp_path / "reg")
    reg.start()
    try:
        first = reg._proc
        with pytest.raises(RuntimeError, match="already running"):
            reg.start()
        assert reg._proc is first and reg.running      # the handle still names the one serving
        assert httpx.get(f"{reg.url}/v2/", timeout=5).status_code == 200
    finally:
        reg.stop()
    assert first.poll() is not None                     # stop() reached it: nothing outlives the test


class _AnswersV2(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_start_is_not_ready_when_another_process_answers_on_its_port(tmp_path):
    reg = Registry(tmp_path / "reg")
    squatter = http.server.HTTPServer(("127.0.0.1", reg.port), _AnswersV2)
    thread = threading.Thread(target=squatter.serve_forever, daemon=True)
    thread.start()
    try:
        assert httpx.get(f"{reg.url}/v2/", timeout=5).status_code == 200    # what the old probe took as ready
        with pytest.raises(RuntimeError, match="address already in use"):
            reg.start()
        assert not reg.running
    finally:
        squatter.shutdown()
        squatter.server_close()
        reg.stop()
