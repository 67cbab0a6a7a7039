"""Bad input, table-driven through the real CLI: exit 2, one line on stderr,
no traceback, and no network or build work first.

Every image here names 127.0.0.1:9 (the discard port, closed on a test
machine): a command that reached the network would fail there with "refused"
and exit 1, which the table would catch.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import tempfile
from pathlib import Path

import pytest

from tests.support.cli import archport

IMG = "127.0.0.1:9/team/app:1"
K3S = "v1.24.2+k3s1"

# YAML that costs more to read than its size: 5,000 nested lists, a
# 3,000-deep mapping, and a 9-level alias bomb (9**9 nodes from ~350 bytes).
DEEP_LISTS = "a: " + "[" * 5000 + "]" * 5000 + "\n"
DEEP_MAP = "".join(" " * i + "a:\n" for i in range(3000))
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
YAML_SHAPES = {"5000 nested lists": DEEP_LISTS, "3000-deep mapping": DEEP_MAP, "alias bomb": ALIAS_BOMB}


def oci_layout(root: Path) -> Path:
    """A one-image OCI layout (tag ``1``): a local source that needs no network."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes) -> dict:
        d = hashlib.sha256(data).hexdigest()
        (blobs / d).write_bytes(data)
        return {"digest": f"sha256:{d}", "size": len(data)}

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("hello")
        info.size = 3
        t.addfile(info, io.BytesIO(b"hi\n"))
    layer = buf.getvalue()
    config = {"architecture": "riscv64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           **blob(json.dumps(config).encode())},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **blob(layer)}]}
    top = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **blob(json.dumps(manifest).encode()),
           "annotations": {"org.opencontainers.image.ref.name": "1"}}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return root


def _yaml_cases(tmp: Path) -> list[tuple[str, list[str]]]:
    """Each bounded-reader shape in each YAML input a user hands archport."""
    out = []
    for shape, text in YAML_SHAPES.items():
        slug = shape.replace(" ", "-")
        f = tmp / f"{slug}.yaml"
        f.write_text(text)
        d = tmp / f"manifests-{slug}"
        d.mkdir()
        (d / "m.yaml").write_text(text)
        inv = tmp / f"inventory-{slug}.yaml"
        inv.write_text("all:\n  hosts:\n    b1:\n      x: " + text.replace("\n", " ") + "\n"
                       if shape == "5000 nested lists" else text)
        out += [
            (f"manifests {shape}", ["audit", "--manifests", str(d), "--k3s", K3S, "--no-registry"]),
            (f"config {shape}", ["audit", "--config", str(f), "--k3s", K3S, "--no-registry"]),
            (f"registries {shape}", ["audit", "--registries", str(f), "--k3s", K3S, "--no-registry"]),
            (f"inventory {shape}", ["doctor", "--inventory", str(inv)]),
            (f"kubeconfig {shape}", ["verify", "--kubeconfig", str(f), "--image", IMG]),
        ]
    return out


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
    pod = tmp / "pod"
    pod.mkdir()
    (pod / "p.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: 5\n")
    vars_list = tmp / "vars-list.yaml"
    vars_list.write_text("all:\n  vars: [a, b]\n  hosts:\n    b1: {ansible_host: 127.0.0.1}\n")
    user_map = tmp / "user-map.yaml"
    user_map.write_text("all:\n  hosts:\n    b1: {ansible_user: {a: 1}}\n")
    dump = io.BytesIO()
    with tarfile.open(fileobj=dump, mode="w:gz") as t:
        for i in range(4):
            info = tarfile.TarInfo(f"dump/f{i}")
            info.size = 100_000
            t.addfile(info, io.BytesIO(bytes(range(256)) * 390 + bytes(160)))
    truncated = tmp / "dump.tar.gz"
    truncated.write_bytes(dump.getvalue()[:len(dump.getvalue()) // 2])
    a_file = tmp / "a-file"
    a_file.write_text("garbage\n")
    layout = oci_layout(tmp / "layout")
    deep_index = tmp / "deep-index"
    deep_index.mkdir()
    (deep_index / "index.json").write_text("[" * 100_000 + "]" * 100_000)
    (deep_index / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
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
        # internal errors, once
        *_yaml_cases(tmp),
        ("pod containers 5", ["audit", "--manifests", str(pod), "--k3s", K3S, "--no-registry"]),
        ("inventory vars a list", ["doctor", "--inventory", str(vars_list)]),
        ("inventory user a mapping", ["doctor", "--inventory", str(user_map)]),
        ("doctor from truncated gzip", ["doctor", "--from", str(truncated)]),
        ("audit from truncated gzip", ["audit", "--from", str(truncated), "--no-registry"]),
        ("smoke expect a{99999999999}", ["smoke", "--expect", "a{99999999999}", IMG]),
        # wrong exit codes, once
        ("oci source a regular file", ["inspect", f"oci:{a_file}:1"]),
        ("oci index.json 100000 nested arrays", ["inspect", f"oci:{deep_index}"]),
        ("oci copy source a regular file", ["copy", f"oci:{a_file}:1", out + ":1"]),
        ("oci destination a regular file", ["copy", f"oci:{layout}:1", f"oci:{a_file}:1"]),
        ("oci destination under a regular file", ["copy", f"oci:{layout}:1", f"oci:{a_file}/sub:1"]),
        ("oci destination under missing parents", ["copy", f"oci:{layout}:1", f"oci:{tmp}/missing/deeper:1"]),
        ("collect out an existing file", ["collect", "--out", str(a_file)]),
        ("collect out an existing tgz", ["collect", "--out", str(truncated)]),
        ("debian-archive unclosed IPv6", ["port", IMG, "--to", out, "--debian-archive", "http://[::1"]),
        ("debian-archive port 99999", ["port", IMG, "--to", out, "--debian-archive", "http://h:99999/debian"]),
        ("debian-archive space in host", ["port", IMG, "--to", out, "--debian-archive", "http://a b/debian"]),
        ("debian-archive ftp", ["port", IMG, "--to", out, "--debian-archive", "ftp://h/debian"]),
        ("debian-archive userinfo", ["port", IMG, "--to", out, "--debian-archive", "http://u:pw-xyz@h/debian"]),
        ("smoke debian-archive unclosed IPv6", ["smoke", "--debian-archive", "http://[::1", IMG]),
        ("debian-keyring missing", ["port", IMG, "--to", out, "--debian-keyring", f"{tmp}/nope.gpg"]),
        ("smoke debian-keyring missing", ["smoke", "--debian-keyring", f"{tmp}/nope.gpg", IMG]),
        ("audit local root missing", ["audit", "--local", "--root", "/nonexistent", "--no-registry"]),
        ("verify kubeconfig garbage", ["verify", "--kubeconfig", str(a_file), "--image", IMG, "--timeout", "5"]),
    ]


def _names() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        return [name for name, _ in _cases(Path(tmp))]


CASE_NAMES = _names()


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
