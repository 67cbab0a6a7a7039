"""Bad input, table-driven through the real CLI: exit 2, one line on stderr,
no traceback, and no network or build work first.

Every image here names 127.0.0.1:9 (the discard port, closed on a test
machine): a command that reached the network would fail there with "refused"
and exit 1, which the table would catch.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.support.cli import archport

IMG = "127.0.0.1:9/team/app:1"


def _cases(tmp: Path) -> list[tuple[str, list[str]]]:
    garbage = tmp / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    gz = tmp / "extra.toml.gz"
    gz.write_bytes(gzip.compress(b"[[component]]\nname = 'x'\n"))
    tar = tmp / "garbage.tar"
    tar.write_bytes(bytes(range(256)) * 12)
    paste = tmp / "paste.txt"
    paste.write_text("kube-system   coredns-x   0/1   ImagePullBackOff   0   1m\n")
    out = f"oci:{tmp}/out"
    return [
        # port numbers above 65535, wherever a registry host is named
        ("ref port 65536", ["inspect", "127.0.0.1:65536/a:b"]),
        ("ref port 99999 src", ["copy", "127.0.0.1:99999/a:b", out + ":1"]),
        ("ref port 70000 dst", ["copy", IMG, "127.0.0.1:70000/a:b"]),
        ("ref port 0", ["inspect", "127.0.0.1:0/a:b"]),
        ("airgap ref port", ["airgap", "127.0.0.1:99999/a:b", "--out", f"{tmp}/a.tar"]),
        ("mirror port", ["--mirror", "docker.io=127.0.0.1:99999", "inspect", IMG]),
        ("plain-http port", ["--plain-http", "127.0.0.1:123456", "inspect", IMG]),
        ("ssh port", ["doctor", "--host", "bob@board", "-p", "70000"]),
        ("host with port", ["doctor", "--host", "bob@board:70000"]),
        ("port --to port", ["port", IMG, "--to", "127.0.0.1:99999/k3s"]),
        # platforms
        ("platform linux inspect", ["inspect", "--platform", "linux", IMG]),
        ("platform linux copy", ["copy", "--platform", "linux", IMG, out + ":1"]),
        ("platform linux smoke", ["smoke", "--platform", "linux", IMG]),
        ("platform linux check", ["check", "--platform", "linux", IMG]),
        ("platform linux airgap", ["airgap", "--platform", "linux", IMG, "--out", f"{tmp}/a.tar"]),
        ("platform linux doctor", ["doctor", "--platform", "linux", "--from-text", str(paste)]),
        ("platform non-ascii inspect", ["inspect", "--platform", "linux/rïscv64", IMG]),
        ("platform non-ascii smoke", ["smoke", "--platform", "linux/risc\u0445v64", IMG]),
        ("port arch non-ascii", ["port", IMG, "--arch", "rïscv64", "--to", out]),
        ("port arch linux", ["port", IMG, "--arch", "linux", "--to", out]),
        # --jobs
        ("jobs 0", ["--jobs", "0", "inspect", IMG]),
        ("jobs negative", ["--jobs", "-3", "copy", IMG, out + ":1"]),
        ("jobs 0 after command", ["copy", "--jobs", "0", IMG, out + ":1"]),
        ("jobs word", ["port", IMG, "--to", out, "--jobs", "many"]),
        # where a node is read from, and where a dump goes
        ("doctor root missing", ["doctor", "--root", "/nonexistent", "--no-registry"]),
        ("collect root missing", ["collect", "--root", "/nonexistent", "--out", f"{tmp}/dump"]),
        ("doctor host empty", ["doctor", "--host", ""]),
        ("collect host empty", ["collect", "--host", "", "--out", f"{tmp}/dump2"]),
        ("collect out parent missing", ["collect", "--out", f"{tmp}/missing/deeper/dump"]),
        ("collect out tgz parent missing", ["collect", "--out", f"{tmp}/missing/dump.tar.gz"]),
        ("journal lines 0", ["doctor", "--journal-lines", "0", "--no-registry"]),
        # --plain-http, --mirror, --ca-file
        ("plain-http empty", ["--plain-http", "", "inspect", IMG]),
        ("plain-http url", ["--plain-http", "http://127.0.0.1:5000", "inspect", IMG]),
        ("plain-http userinfo", ["--plain-http", "bob:pw-xyz@reg.example", "inspect", IMG]),
        ("mirror without =", ["--mirror", "127.0.0.1:5000", "inspect", IMG]),
        ("ca-file garbage", ["--ca-file", str(garbage), "inspect", IMG]),
        ("ca-file binary", ["--ca-file", str(tar), "inspect", IMG]),
        ("ca-file missing", ["--ca-file", f"{tmp}/nope.pem", "inspect", IMG]),
        # port's --to and --smoke-timeout, before any work
        ("to empty", ["port", IMG, "--to", ""]),
        ("to no host", ["port", IMG, "--to", "nohost"]),
        ("to upper prefix", ["port", IMG, "--to", "reg.example:5000/UPPER"]),
        ("to oci with tag", ["port", IMG, "--to", out + ":tag"]),
        ("smoke-timeout 0", ["port", IMG, "--to", out, "--smoke-timeout", "0"]),
        ("smoke-timeout nan", ["port", IMG, "--to", out, "--smoke-timeout", "nan"]),
        ("smoke-timeout negative", ["port", IMG, "--to", out, "--smoke-timeout", "-5"]),
        # the five that ended in "internal error"
        ("smoke timeout nan", ["smoke", "--timeout", "nan", IMG]),
        ("smoke timeout inf", ["smoke", "--timeout", "inf", IMG]),
        ("smoke timeout 1e309", ["smoke", "--timeout", "1e309", IMG]),
        ("port smoke-args unbalanced", ["port", IMG, "--to", out, "--smoke-args", "'unbalanced"]),
        ("port catalog gz", ["port", IMG, "--to", out, "--catalog", str(gz)]),
        # one line, not five
        ("doctor from garbage tar", ["doctor", "--from", str(tar)]),
    ]


CASE_NAMES = [name for name, _ in _cases(Path("/tmp"))]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_input_is_one_line_and_exit_2(name, tmp_path):
    argv = dict(_cases(tmp_path))[name]
    p = archport(*argv, expect=None, timeout=60)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2, f"{name}: exit {p.returncode}\n{p.stderr}"
    assert len(lines) == 1, f"{name}: {p.stderr}"
    low = lines[0].lower()
    assert "internal error" not in low and "refused" not in low, lines[0]
    assert "pw-xyz" not in p.stderr
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("name", ["ref port 65536", "smoke timeout nan", "port catalog gz"])
def test_bad_input_in_json_mode_is_one_document(name, tmp_path):
    argv = dict(_cases(tmp_path))[name]
    p = archport(*argv, "--json", expect=2, timeout=60)
    if p.stdout.strip():      # argparse's own errors come before --json is known
        assert json.loads(p.stdout)["exitCode"] == 2
    else:
        assert len(p.stderr.strip().splitlines()) == 1
