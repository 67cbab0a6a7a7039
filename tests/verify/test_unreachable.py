"""verify against an API server that is not there: the first check fails in
seconds, naming the server, never with kubectl's advice, and never exit 2."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from archport.cli.main import main
from archport.verify.kubectl import kubectl_message


def _kubeconfig(path, port: int):
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- cluster: {{server: 'https://127.0.0.1:{port}', insecure-skip-tls-verify: true}}\n  name: c\n"
        "contexts:\n- context: {cluster: c, user: u}\n  name: x\ncurrent-context: x\n"
        "users:\n- name: u\n  user: {token: t0k3n}\n")
    return str(path)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                      # nothing listens there now: connect() is refused
    return port


@pytest.fixture
def silent_server():
    """Accepts every connection and never says a word."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    held, stop = [], threading.Event()

    def accept():
        s.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(s.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield s.getsockname()[1]
    stop.set()
    t.join()
    for c in held:
        c.close()
    s.close()


def _verify(kubeconfig, capsys, *extra):
    start = time.monotonic()
    rc = main(["verify", "--json", "--kubeconfig", kubeconfig, *extra])
    took = time.monotonic() - start
    out = capsys.readouterr()
    return rc, took, out.out + out.err, json.loads(out.out)


def test_a_closed_port_fails_the_first_check_in_seconds(tmp_path, capsys):
    port = _closed_port()
    rc, took, text, doc = _verify(_kubeconfig(tmp_path / "kc", port), capsys)
    assert rc == 1 and took < 15
    checks = doc["boards"][0]["checks"]
    assert checks[0]["name"] == "nodes" and not checks[0]["ok"]
    assert f"cannot reach the API server at https://127.0.0.1:{port}" in checks[0]["reason"]
    assert "--validate=false" not in text and "did you specify" not in text
    assert "check image" not in text and "t0k3n" not in text


def test_a_server_that_never_answers_is_bounded_by_the_timeout(tmp_path, capsys, silent_server):
    rc, took, text, doc = _verify(_kubeconfig(tmp_path / "kc", silent_server), capsys, "--timeout", "3")
    assert rc == 1 and took < 20
    reason = doc["boards"][0]["checks"][0]["reason"]
    assert f"cannot reach the API server at https://127.0.0.1:{silent_server}" in reason


def test_kubectl_advice_is_cut_from_its_message():
    err = ('error: error validating "STDIN": error validating data: failed to download openapi: Get '
           '"https://127.0.0.1:1/openapi/v2?timeout=32s": dial tcp 127.0.0.1:1: connect: connection refused; '
           'if you choose to ignore these errors, turn validation off with --validate=false\n')
    msg = kubectl_message(err)
    assert msg.endswith("connection refused") and "validate=false" not in msg
    assert kubectl_message("The connection to the server 127.0.0.1:1 was refused - did you specify the right "
                           "host or port?") == "The connection to the server 127.0.0.1:1 was refused"


@pytest.mark.parametrize("text", ["garbage: [\n", "hello\n"])
def test_a_kubeconfig_kubectl_cannot_read_is_refused_not_polled(tmp_path, capsys, text):
    bad = tmp_path / "kc"
    bad.write_text(text)
    start = time.monotonic()
    rc = main(["verify", "--kubeconfig", str(bad), "--timeout", "60"])
    err = capsys.readouterr().err
    assert rc == 2 and time.monotonic() - start < 15
    assert "kubeconfig" in err and len(err.strip().splitlines()) == 1


def test_a_kubeconfig_kubectl_itself_cannot_load_is_bad_input(tmp_path):
    """Past the CLI's own look at the file: what kubectl refuses is the user's file too."""
    from archport.errors import BadInput
    from archport.remote import Local
    from archport.verify import Kubectl
    bad = tmp_path / "kc"
    bad.write_text("garbage: [\n")
    with pytest.raises(BadInput, match="error loading config file"):
        Kubectl(Local(), f"kubectl --kubeconfig {bad}", on_node=False, name=str(bad)).unreachable(2)


def _path_without_k3s(tmp_path, monkeypatch, k3s: str | None = None):
    """PATH with kubectl and the shell's tools but no k3s, or the given stand-in k3s script."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if k3s is not None:
        (bin_dir / "k3s").write_text(k3s)
        (bin_dir / "k3s").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")


def test_a_machine_without_k3s_is_said_at_once_in_one_line(tmp_path, monkeypatch, capsys):
    """No k3s will appear while we poll: one line saying so and what to do, exit 1 (not bad input)."""
    _path_without_k3s(tmp_path, monkeypatch)
    start = time.monotonic()
    rc = main(["verify", "--local"])
    took = time.monotonic() - start
    out = capsys.readouterr()
    assert rc == 1 and took < 15
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and out.out == ""
    assert "this machine has no k3s" in lines[0]
    assert "--host" in lines[0] and "--kubeconfig" in lines[0]
    assert "check image" not in lines[0]


def test_a_machine_with_k3s_stopped_says_so_in_seconds(tmp_path, monkeypatch, capsys):
    """k3s is there but its server is not: the first check names it, with where to look."""
    kc = _kubeconfig(tmp_path / "kc", _closed_port())
    _path_without_k3s(tmp_path, monkeypatch, f'#!/bin/sh\nshift\nexec kubectl --kubeconfig {kc} "$@"\n')
    start = time.monotonic()
    rc = main(["verify", "--local", "--json"])
    took = time.monotonic() - start
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1 and took < 15
    reason = doc["boards"][0]["checks"][0]["reason"]
    assert "cannot reach the API server" in reason and "is k3s running on this machine?" in reason
