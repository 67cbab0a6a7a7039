"""Smoke without waiting: a server-shaped riscv64 program in containerd + qemu
binfmt is done the moment its readiness signal answers, and a failure is
judged against the amd64 image of the same index run the same way."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from archport.catalog.smoke import Signal
from archport.layout import LayoutSource
from archport.smoke.compare import LIKE_UPSTREAM, smoke_compared
from archport.smoke.run import Options, smoke
from standins.images import layer_from_files, make_image, make_index, write_layout

SERVER = "tests/fixtures/go/smokeserver"
PATH_ENV = "PATH=/usr/local/bin:/usr/bin:/bin"
HEALTH = Signal("http", port=8080, path="/healthz")
TIMEOUT = 120


@pytest.fixture(scope="module")
def server(gobuild) -> dict[str, bytes]:
    return {arch: gobuild(SERVER, arch).read_bytes() for arch in ("riscv64", "amd64")}


def layout(tmp: Path, server: dict[str, bytes], arches=("riscv64", "amd64"), user: str = "") -> str:
    """A server image index (an upstream amd64 and its riscv64 port side by side)."""
    cfg = {"Entrypoint": ["/smokeserver"], "Env": [PATH_ENV], **({"User": user} if user else {})}
    imgs = [make_image(f"linux/{a}", [layer_from_files({"smokeserver": (server[a], 0o755)})], config=cfg)
            for a in arches]
    write_layout(tmp / "layout", {"v1": (make_index(imgs), imgs)})
    return str(tmp / "layout")


def opts(containerd, **kw) -> Options:
    return Options(containerd_address=containerd.address, **{"timeout": TIMEOUT, **kw})


def test_a_server_is_done_when_its_health_endpoint_answers(tmp_path, containerd, binfmt_riscv64, server):
    src = LayoutSource(layout(tmp_path, server), "v1")
    started = time.monotonic()
    r = smoke(src, opts(containerd, args=("-delay", "1s", "-cert-dir", "/tmp/certs"), signal=HEALTH,
                        writable=("/tmp",)))
    took = time.monotonic() - started
    assert r.ok and r.ready and r.path == "containerd", r
    assert "GET /healthz answered 200 ok" in r.said, r
    assert "smokeserver GOARCH=riscv64 starting" in r.stdout
    assert r.exit_code is None and not r.timed_out               # stopped by us once ready
    assert 1 <= r.seconds < 30 and took < 45, (r.seconds, took)  # far less than the timeout
    assert containerd.ctr("tasks", "ls", "-q", namespace="archport-smoke").stdout.strip() == ""
    doc = r.to_dict()
    assert doc["ready"] is True and doc["signal"].startswith("HTTP GET 127.0.0.1:8080/healthz")
    assert doc["exit"] == {"code": None, "signal": None, "timedOut": False}
    [check] = doc["checks"]
    assert check["name"] == "ready" and check["passed"] is True and check["seconds"] >= 1
    assert check["expected"] == doc["signal"] and "answered 200" in check["observed"]


def test_an_output_signal_ends_the_run_when_it_is_printed(tmp_path, containerd, binfmt_riscv64, server):
    src = LayoutSource(layout(tmp_path, server), "v1")
    r = smoke(src, opts(containerd, args=("-cert-dir", "/tmp/c"), signal=Signal("output", r"serving /healthz")))
    assert r.ok and r.ready and r.seconds < 30, r


def test_a_dns_server_is_done_when_it_answers_the_query(tmp_path, containerd, binfmt_riscv64, server):
    """coredns's recipe shape: an A query on the container's loopback port."""
    src = LayoutSource(layout(tmp_path, server), "v1")
    ask = Signal("dns", port=1053, query="archport.test", answer="10.43.0.10")
    r = smoke(src, opts(containerd, args=("-dns", "127.0.0.1:1053", "-cert-dir", "/tmp/c"), signal=ask,
                        writable=("/tmp",)))
    assert r.ok and r.said == "A archport.test answered 10.43.0.10" and r.seconds < 30, r
    wrong = Signal("dns", port=1053, query="archport.test", answer="10.43.0.99")
    r = smoke(src, opts(containerd, args=("-dns", "127.0.0.1:1053", "-cert-dir", "/tmp/c"), signal=wrong,
                        writable=("/tmp",), timeout=6))
    assert not r.ok and "answered ['10.43.0.10']" in r.said, r


def test_the_confined_fallback_waits_for_the_same_signal(tmp_path, binfmt_riscv64, server):
    """qemu confined to the extracted root: its own network namespace (loopback
    up, nothing else), asked from inside it."""
    src = LayoutSource(layout(tmp_path, server), "v1")
    r = smoke(src, Options(mode="qemu", args=("-delay", "1s", "-cert-dir", "/tmp/c"), signal=HEALTH,
                           writable=("/tmp",), timeout=TIMEOUT))
    assert r.path == "qemu" and r.ok and r.ready and r.seconds < 30, r
    assert "GOARCH=riscv64" in r.stdout


def test_a_server_that_never_answers_is_not_ready(tmp_path, containerd, binfmt_riscv64, server):
    src = LayoutSource(layout(tmp_path, server), "v1")
    r = smoke(src, opts(containerd, args=("-listen", "127.0.0.1:9090", "-cert-dir", "/tmp/c"), signal=HEALTH,
                        timeout=8))
    assert not r.ok and r.ready is False and r.timed_out, r
    assert "no answer" in r.said or "refused" in r.said, r.said


def test_a_recipe_file_is_mounted_read_only(tmp_path, containerd, binfmt_riscv64, server):
    src = LayoutSource(layout(tmp_path, server), "v1")
    r = smoke(src, opts(containerd, args=("-read", "/etc/fixture/Corefile", "-cert-dir", "/tmp/c"),
                        files=(("/etc/fixture/Corefile", ". {\n    hosts\n}\n"),), writable=("/tmp",),
                        signal=Signal("output", "serving"), timeout=30))
    assert r.ok, r
    assert 'read /etc/fixture/Corefile: ". {\\n    hosts\\n}\\n" <nil>' in r.stdout, r.stdout
    assert "write /etc/fixture/Corefile: open /etc/fixture/Corefile: read-only file system" in r.stdout, r.stdout


def test_failing_like_upstream_says_the_recipe_is_wrong(tmp_path, containerd, binfmt_riscv64, server):
    # As metrics-server with its default arguments: the certificates directory
    # cannot be made in the working directory (/ as nobody), on both platforms.
    src = LayoutSource(layout(tmp_path, server, user="65534"), "v1")
    r = smoke_compared(src, opts(containerd, signal=HEALTH))
    assert not r.ok and r.exit_code == 2 and "error creating self-signed certificates" in r.stderr, r
    assert r.verdict.startswith(LIKE_UPSTREAM), r.verdict
    assert r.upstream is not None and r.upstream.platform == "linux/amd64" and r.upstream.exit_code == 2
    assert "does not run under emulation" not in r.verdict
    assert any(n.startswith(LIKE_UPSTREAM) for n in r.notes)


def test_failing_only_on_riscv64_is_an_emulation_failure(tmp_path, containerd, binfmt_riscv64, server):
    src = LayoutSource(layout(tmp_path, server), "v1")
    r = smoke_compared(src, opts(containerd, args=("-fail-on", "riscv64", "-cert-dir", "/tmp/c"), signal=HEALTH,
                                 writable=("/tmp",)))
    assert not r.ok and r.exit_code == 3, r
    assert r.verdict.startswith("does not run under emulation: upstream linux/amd64 passes"), r.verdict
    assert r.upstream.ok and r.upstream.ready


def test_without_a_host_platform_there_is_nothing_to_compare(tmp_path, containerd, binfmt_riscv64, server):
    src = LayoutSource(layout(tmp_path, server, arches=("riscv64",)), "v1")
    r = smoke_compared(src, opts(containerd, args=("-fail-on", "riscv64"), signal=HEALTH))
    assert not r.ok and r.upstream is None
    assert r.verdict == "does not run under emulation"
    assert any(n.startswith("not compared with upstream: no linux/amd64 image") for n in r.notes), r.notes


def test_the_cli_uses_the_catalog_recipe_and_compares(tmp_path, containerd, binfmt_riscv64, server, capsys):
    """``archport smoke`` judges a failure against the index's host platform
    (its JSON says so), and ``--no-compare`` skips that."""
    from archport.cli.main import main
    path = layout(tmp_path, server, user="65534")
    code = main(["--json", "smoke", f"oci:{path}:v1", "--containerd-address", containerd.address,
                 "--timeout", "60"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["verdict"].startswith(LIKE_UPSTREAM), doc
    assert doc["upstream"]["platform"] == "linux/amd64"
    code = main(["--json", "smoke", f"oci:{path}:v1", "--containerd-address", containerd.address,
                 "--timeout", "60", "--no-compare"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["verdict"] is None and doc["upstream"] is None
    assert doc["checks"] and not all(c["passed"] for c in doc["checks"])
    assert set(doc["checks"][0]) == {"name", "passed", "expected", "observed", "seconds"}
