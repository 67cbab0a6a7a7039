"""Progress is for a person at a terminal: bytes and rate of a copy between
two real registries show on stderr when stderr is a pseudo-terminal, and
nothing shows in a pipe or under ``--json``; stdout is the same either way."""

from __future__ import annotations

import json
import re

import pytest

from archport.progress import Phase, phase
from tests.cli.terminal import on_tty, plain
from standins import images as im
from tests.support.cli import archport
from tests.support.registry import Registry

LAYER = 6 << 20                 # enough bytes for a transfer to be seen


@pytest.fixture(scope="module")
def two_registries(tmp_path_factory, registry_plain):
    """An image with a 6 MB layer on one registry, and a second registry to copy it to."""
    other = Registry(tmp_path_factory.mktemp("registry-other"))
    other.start()
    tmp = tmp_path_factory.mktemp("progress-image")
    img = im.make_image("linux/amd64", [im.big_layer(tmp / "layer", LAYER),
                                        im.layer_from_files({"etc/hello": b"hello\n"})])
    layout = im.write_layout(tmp / "layout", {"v1": (im.make_index([img]), [img])})
    im.push(layout, "v1", f"{registry_plain.host}/progress/app:v1")
    try:
        yield f"{registry_plain.host}/progress/app:v1", other
    finally:
        other.stop()


def _stable(text: str) -> str:
    """stdout without what differs between two copies: destination and time."""
    return re.sub(r"\d+\.\ds\b", "Ts", re.sub(r"/dst\d+/", "/dstN/", text))


def test_copy_on_a_terminal_shows_bytes_and_rate(two_registries):
    src, other = two_registries
    code, out, tty = on_tty("copy", src, f"{other.host}/dst1/app:v1")
    assert code == 0, out + tty
    seen = plain(tty)
    assert "progress/app:v1 (3 blobs)" in seen, tty
    assert re.search(r"\d+(\.\d)?/\d+(\.\d)? MB", seen) and re.search(r"[\d.]+ [kMG]?B/s", seen), tty
    assert "copied" not in seen                       # the result is stdout's
    # The bar is transient: it draws over itself and leaves the cursor shown.
    assert "\x1b[?25l" in tty and "\x1b[?25h" in tty

    piped = archport("copy", src, f"{other.host}/dst2/app:v1")
    assert piped.stderr == ""                          # a pipe: no progress at all
    assert _stable(piped.stdout) == _stable(out) and "copied" in out


def test_json_on_a_terminal_is_silent(two_registries):
    src, other = two_registries
    code, out, tty = on_tty("--json", "copy", src, f"{other.host}/dst3/app:v1")
    assert code == 0, out + tty
    assert tty.strip() == "", repr(tty)
    doc = json.loads(out)
    piped = json.loads(archport("--json", "copy", src, f"{other.host}/dst4/app:v1").stdout)
    assert doc.keys() == piped.keys() and doc["digest"] == piped["digest"]
    assert doc["bytesSent"] == piped["bytesSent"] > LAYER


def test_force_color_in_a_pipe_is_still_silent(two_registries):
    # CI logs set FORCE_COLOR for colour; a redrawn bar there is noise.
    src, other = two_registries
    p = archport("copy", src, f"{other.host}/dst5/app:v1", env={"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"})
    assert p.stderr == "" and "copied" in p.stdout


def test_debug_in_a_pipe_logs_progress_as_plain_lines(two_registries):
    # For a log file: one line per step, no control sequences.
    src, other = two_registries
    p = archport("--debug", "copy", src, f"{other.host}/dst6/app:v1")
    assert "progress: sending " in p.stderr and "\x1b[" not in p.stderr, p.stderr
    assert "copied" in p.stdout


def test_a_phase_reports_its_start_and_its_end():
    seen: list = []
    with phase(seen.append, "go build x"):
        seen.append("working")
    with pytest.raises(KeyError), phase(seen.append, "check"):
        raise KeyError("x")
    assert seen == [Phase("go build x"), "working", Phase("go build x", ended=True),
                    Phase("check"), Phase("check", ended=True, failed=True)]
    assert [str(e) for e in seen] == ["go build x", "working", "go build x: done", "check", "check: failed"]


@pytest.fixture(scope="module")
def smoke_image(tmp_path_factory, gobuild) -> str:
    """A riscv64 image whose program prints and exits."""
    binary = gobuild("tests/fixtures/go/smokehello", "riscv64").read_bytes()
    img = im.make_image("linux/riscv64", [im.layer_from_files({"usr/bin/smokehello": (binary, 0o755)})],
                        config={"Entrypoint": ["smokehello"], "Env": ["PATH=/usr/bin:/bin"]})
    layout = im.write_layout(tmp_path_factory.mktemp("smoke-progress") / "layout", {"v1": (im.make_index([img]), [img])})
    return f"oci:{layout}:v1"


def test_smoke_on_a_terminal_shows_a_spinner_with_elapsed_seconds(smoke_image, containerd, binfmt_riscv64):
    args = ("smoke", "--containerd-address", containerd.address, "--timeout", "30", smoke_image, "--", "x")
    code, out, tty = on_tty(*args)
    assert code == 0, out + tty
    seen = plain(tty)
    label = "smoke linux/riscv64 (at most 30s)"
    assert re.search(rf"[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] {re.escape(label)} .*\d+\.\ds", seen), seen      # the spinner
    assert re.search(rf"✓ {re.escape(label)}  \d+\.\ds", seen), seen                     # and what it took
    assert "smoke passed" in out and "smoke passed" not in seen

    piped = archport(*args)
    assert piped.stderr == "" and piped.stdout == out
    code, out, tty = on_tty("--json", *args)
    assert code == 0 and tty.strip() == "" and json.loads(out)["ok"] is True, out + tty
