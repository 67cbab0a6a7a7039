"""``smoke`` end to end: a Go program built for riscv64 runs in containerd
with qemu binfmt (and under ``qemu -L``), and the wrong binaries are caught."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from archport.cli import cmd_smoke
from archport.cli.main import main
from archport.errors import ArchportError, BadInput
from archport.layout import LayoutSource
from archport.smoke.run import Options, smoke
from standins.images import layer_from_files, make_image, make_index, write_layout

HELLO = "tests/fixtures/go/smokehello"
PATH_ENV = "PATH=/usr/local/bin:/usr/bin:/bin"


def image(tmp: Path, binary: bytes, platform="linux/riscv64", *, env=(), entry=("smokehello",),
          cmd=("from-cmd",), at="usr/bin/smokehello", extra=None) -> str:
    files = {at: (binary, 0o755), **(extra or {})}
    img = make_image(platform, [layer_from_files(files)],
                     config={"Entrypoint": list(entry), "Cmd": list(cmd), "Env": [PATH_ENV, *env]})
    write_layout(tmp / "layout", {"v1": (make_index([img]), [img])})
    return str(tmp / "layout")


@pytest.fixture(scope="module")
def hello_riscv64(gobuild) -> bytes:
    return gobuild(HELLO, "riscv64").read_bytes()


@pytest.fixture(scope="module")
def hello_amd64(gobuild) -> bytes:
    return gobuild(HELLO, "amd64").read_bytes()


def opts(containerd, **kw) -> Options:
    return Options(containerd_address=containerd.address, **kw)


def test_riscv64_program_runs_in_containerd(tmp_path, containerd, binfmt_riscv64, hello_riscv64):
    src = LayoutSource(image(tmp_path, hello_riscv64), "v1")
    r = smoke(src, opts(containerd, args=("one", "two"), expect=r"GOARCH=riscv64 args=\[one two\]"))
    assert r.path == "containerd", r
    assert r.stdout == "smokehello GOARCH=riscv64 args=[one two]\n"
    assert r.exit_code == 0 and r.matched and r.ok
    assert r.argv == ("smokehello", "one", "two")
    # the temporary image is gone from containerd afterwards
    assert containerd.ctr("images", "ls", "-q", namespace="archport-smoke").stdout.strip() == ""


def test_cmd_is_used_without_args(tmp_path, containerd, binfmt_riscv64, hello_riscv64):
    r = smoke(LayoutSource(image(tmp_path, hello_riscv64), "v1"), opts(containerd))
    assert r.ok and "args=[from-cmd]" in r.stdout


def test_exit_code_and_unmatched_expect_fail(tmp_path, containerd, binfmt_riscv64, hello_riscv64):
    src = LayoutSource(image(tmp_path, hello_riscv64, env=["SMOKEHELLO_EXIT=3"]), "v1")
    r = smoke(src, opts(containerd))
    assert r.exit_code == 3 and not r.ok
    r = smoke(LayoutSource(image(tmp_path / "b", hello_riscv64), "v1"), opts(containerd, expect="GOARCH=arm64"))
    assert r.exit_code == 0 and r.matched is False and not r.ok


def test_server_that_keeps_running_passes_when_expect_matched(tmp_path, containerd, binfmt_riscv64, hello_riscv64):
    src = LayoutSource(image(tmp_path, hello_riscv64, env=["SMOKEHELLO_SLEEP=60"]), "v1")
    r = smoke(src, opts(containerd, timeout=4, expect="GOARCH=riscv64"))
    assert r.timed_out and r.matched and r.ok
    assert containerd.ctr("tasks", "ls", "-q", namespace="archport-smoke").stdout.strip() == ""
    r = smoke(src, opts(containerd, timeout=4))
    assert r.timed_out and not r.ok


def test_qemu_fallback_runs_the_same_program(tmp_path, binfmt_riscv64, hello_riscv64):
    r = smoke(LayoutSource(image(tmp_path, hello_riscv64), "v1"), Options(mode="qemu", args=("x",)))
    assert r.path == "qemu"
    assert r.stdout == "smokehello GOARCH=riscv64 args=[x]\n" and r.ok


def test_private_containerd_when_none_answers(tmp_path, binfmt_riscv64, hello_riscv64):
    r = smoke(LayoutSource(image(tmp_path, hello_riscv64), "v1"),
              Options(containerd_address=str(tmp_path / "none.sock")))
    assert r.path == "containerd" and r.ok
    assert any(n.startswith("private containerd") for n in r.notes)


def test_qemu_fallback_when_containerd_cannot_start(tmp_path, binfmt_riscv64, hello_riscv64, monkeypatch):
    from archport.smoke import run as run_mod
    from archport.smoke.containerd import ContainerdError

    def refuse(self):
        raise ContainerdError("starting a private containerd needs root")
    monkeypatch.setattr(run_mod.Private, "start", refuse)
    r = smoke(LayoutSource(image(tmp_path, hello_riscv64), "v1"),
              Options(containerd_address=str(tmp_path / "none.sock")))
    assert r.path == "qemu" and r.ok and "GOARCH=riscv64" in r.stdout
    assert any("containerd not used: starting a private containerd needs root" in n for n in r.notes)
    with pytest.raises(ArchportError, match="cannot run in containerd: starting a private"):
        smoke(LayoutSource(image(tmp_path / "b", hello_riscv64), "v1"),
              Options(containerd_address=str(tmp_path / "none.sock"), mode="containerd"))


def test_amd64_binary_in_riscv64_image_is_exec_format_error(tmp_path, containerd, hello_amd64):
    r = smoke(LayoutSource(image(tmp_path, hello_amd64), "v1"), opts(containerd))
    assert not r.ok and r.path == "none"
    assert "exec format error" in r.error and "amd64" in r.error and "riscv64" in r.error


def test_binary_outside_path_is_reported_like_the_kubelet(tmp_path, containerd, hello_riscv64):
    r = smoke(LayoutSource(image(tmp_path, hello_riscv64, at="opt/smokehello"), "v1"), opts(containerd))
    assert not r.ok and r.error == 'exec: "smokehello": executable file not found in $PATH'


def test_missing_platform_and_empty_command(tmp_path, containerd, hello_riscv64):
    src = LayoutSource(image(tmp_path, hello_riscv64, platform="linux/arm64"), "v1")
    with pytest.raises(ArchportError, match="no linux/riscv64 image; it offers linux/arm64"):
        smoke(src, opts(containerd))
    src = LayoutSource(image(tmp_path / "b", hello_riscv64, entry=(), cmd=()), "v1")
    with pytest.raises(BadInput, match="neither Entrypoint nor Cmd"):
        smoke(src, opts(containerd))


# -- the CLI ------------------------------------------------------------------

class Ctx:
    def __init__(self, as_json=False):
        self.json = as_json
        self.buf = io.StringIO()
        self.console = Console(file=self.buf, width=200)
        self.err = Console(file=io.StringIO())
        self.docs = []

    def open_source(self, text):
        path, _, tag = text.removeprefix("oci:").rpartition(":")
        return LayoutSource(path, tag)

    def emit(self, doc):
        self.docs.append(doc)


def cli_args(image_path, containerd, *extra, **kw):
    ns = dict(image=f"oci:{image_path}:v1", args=list(extra), platform="linux/riscv64", expect=None,
              timeout=60, containerd_address=containerd.address, mode="auto")
    ns.update(kw)
    return SimpleNamespace(**ns)


def test_cli_run_prints_output_and_path(tmp_path, containerd, binfmt_riscv64, hello_riscv64):
    layout = image(tmp_path, hello_riscv64)
    ctx = Ctx()
    assert cmd_smoke.run(cli_args(layout, containerd, "a", "b", expect="riscv64"), ctx) == 0
    text = ctx.buf.getvalue()
    assert "containerd + runc + qemu binfmt" in text
    assert "smokehello GOARCH=riscv64 args=[a b]" in text and "smoke passed" in text
    ctx = Ctx(as_json=True)
    assert cmd_smoke.run(cli_args(layout, containerd, expect="arm64"), ctx) == 1
    doc = ctx.docs[0]
    assert doc["path"] == "containerd" and doc["matched"] is False and doc["ok"] is False
    json.dumps(doc)


def test_cli_through_main(tmp_path, containerd, binfmt_riscv64, hello_riscv64, capsys):
    layout = image(tmp_path, hello_riscv64)
    code = main(["smoke", "--json", "--containerd-address", containerd.address, "--expect", r"args=\[-v x\]",
                 f"oci:{layout}:v1", "--", "-v", "x"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0, doc
    assert doc["stdout"] == "smokehello GOARCH=riscv64 args=[-v x]\n"
    assert main(["smoke", "--expect", "(", f"oci:{layout}:v1"]) == 2
    assert "not a regular expression" in capsys.readouterr().err


def test_bad_platform_is_one_line_exit_2(tmp_path, capsys):
    # The message contains '[/VARIANT]': the CLI must not read it as rich markup.
    assert main(["smoke", "--platform", "linux//x", "oci:/nonexistent:v1"]) == 2
    assert "invalid platform" in capsys.readouterr().err
