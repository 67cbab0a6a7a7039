"""The one-time builds that scripts/prefetch.py starts in the background take
the same lock as a test's first call: two callers at once give one build, the
second waits and reuses it, and nobody sees a half-written cache."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from testbed.k3s import helm
from tests.support import clients


def _twice_at_once(call) -> list:
    """``call()`` in two threads started together; their results."""
    results: list = [None, None]
    go = threading.Barrier(2)

    def run(i: int) -> None:
        go.wait()
        results[i] = call()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_a_client_is_built_once_by_two_callers(tmp_path, monkeypatch):
    monkeypatch.setattr(clients, "CACHE", tmp_path)
    builds = []

    def build(out: Path) -> None:
        builds.append(out)
        (out / "tool").write_bytes(b"half")
        time.sleep(0.5)                 # the other caller arrives meanwhile
        (out / "tool").write_bytes(b"whole")

    program = clients.Program("tool", "v1")
    got = _twice_at_once(lambda: clients._cached(program, build))
    assert got == [program.path, program.path] and len(builds) == 1
    assert program.path.read_bytes() == b"whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tool.lock", "tool-v1"]     # no temporary left


def test_helm_controller_is_built_once_by_two_callers(tmp_path, monkeypatch):
    builds = []

    def build(out: Path) -> None:
        builds.append(out)
        time.sleep(0.5)
        out.write_bytes(b"helm-controller")

    monkeypatch.setattr(helm, "_build", build)
    cache = tmp_path / "helm-controller-v0"
    got = _twice_at_once(lambda: helm.ensure(cache))
    assert got == [cache / "helm-controller"] * 2 and len(builds) == 1
    assert [p.name for p in cache.iterdir()] == ["helm-controller"]        # the lock leaves nothing


def test_a_real_module_is_built_once_by_two_callers(tmp_path, monkeypatch):
    """UPSTREAM's real modules: the bed's seed and the background build of the
    same module (its version chosen once, each platform built once)."""
    from standins import gomodules
    from testbed import upstream
    chosen, installs = [], []

    def standin_version(module, wanted, env, where):
        chosen.append(wanted)
        time.sleep(0.3)
        return wanted, ""

    def install_module(module, version, work, *, goarch, **kw):
        installs.append(goarch)
        out = work / f"bin-{goarch}"
        out.write_bytes(goarch.encode())
        time.sleep(0.3)
        return gomodules.Built(out, 0.3, "go", "install")

    monkeypatch.setattr(gomodules, "standin_version", standin_version)
    monkeypatch.setattr(gomodules, "install_module", install_module)
    monkeypatch.setattr(upstream, "module_builds", lambda recipe, version: tmp_path / "builds" / version)
    x = upstream.Standin("rancher/mirrored-metrics-server", "v0.5.2", "/metrics-server")
    got = _twice_at_once(lambda: upstream._real_module(x, tmp_path / "set"))
    assert chosen == ["v0.5.2"] and sorted(installs) == sorted(upstream.PLATFORMS)
    assert got[0].binaries == got[1].binaries
    assert {a: p.read_bytes() for a, p in got[0].binaries.items()} == {a: a.encode() for a in upstream.PLATFORMS}
