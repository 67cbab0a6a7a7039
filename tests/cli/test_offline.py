"""The first run of a new user: an unreachable registry fails at once, once,
with the next step; nothing is left on disk; "rerun" only when it helps."""

from __future__ import annotations

import json
import time
import uuid


from archport.reference import DEFAULT_DOMAIN
from standins import images as im
from tests.support.cli import archport

# A network namespace with no interface but a down loopback: no name
# resolves, whatever this machine's own network is, and nothing leaves it.
OFFLINE = ("unshare", "-n")



def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_the_quick_start_offline_fails_within_5s_says_mirror_once_and_leaves_no_files(tmp_path):
    work, cache = tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    t = time.monotonic()
    p = archport("port", "--k3s", "v1.24.2", "--arch", "riscv64", "--to", "oci:./x", "--airgap", "x.tar.zst",
                 cwd=work, wrap=OFFLINE, env={"XDG_CACHE_HOME": str(cache)}, expect=1, timeout=60)
    assert time.monotonic() - t < 5, p.stderr
    hint = f"--mirror {DEFAULT_DOMAIN}=HOST"
    assert p.stderr.count(hint) == 1, p.stderr              # once, not once per image
    assert f"cannot reach registry {DEFAULT_DOMAIN}" in p.stderr
    assert p.stderr.count("cannot reach registry") == 1
    out = p.stdout + p.stderr
    assert "Errno" not in out and "run the same command again" not in out and "rerun" not in out
    assert "next:" not in p.stdout and hint not in p.stdout  # errors on stderr, the result on stdout
    assert _files(work) == []                               # no airgap, no .sha256, no empty oci dir
    # the same under --json: one document on stdout, the next step in it, still no files
    doc = json.loads(archport("--json", "port", "--k3s", "v1.24.2", "--to", "oci:./x", "--airgap", "x.tar.zst",
                              cwd=work, wrap=OFFLINE, env={"XDG_CACHE_HOME": str(cache)}, expect=1).stdout)
    assert doc["complete"] is False and doc["airgap"] is None and doc["airgapImages"] == []
    assert all(hint in i["nextStep"] for i in doc["images"]) and len(doc["images"]) == 8
    assert _files(work) == []


def test_an_unresolvable_registry_is_asked_once_for_all_its_images(tmp_path):
    """.invalid never resolves (RFC 6761 §6.4)."""
    images = [f"registry.invalid/team/app{i}:1" for i in range(6)]
    t = time.monotonic()
    p = archport("port", *images, "--to", "oci:./x", "--airgap", "a.tar", cwd=tmp_path,
                 env={"XDG_CACHE_HOME": str(tmp_path / "cache")}, expect=1)
    assert time.monotonic() - t < 5, p.stderr
    assert p.stderr.count("cannot reach registry registry.invalid") == 1, p.stderr
    assert p.stderr.count("--mirror registry.invalid=HOST") == 1
    assert "6 images" in p.stderr and "rerun" not in p.stdout + p.stderr
    assert _files(tmp_path) == ["cache", "cache/archport"]


def test_bad_arch_is_bad_input_without_rerun(tmp_path):
    for flags in (["--arch", "sparc"], ["--platform", "linux/sparc"], ["--platform", "windows/amd64"],
                  ["--arch", "riscv64", "--platform", "linux/riscv64"]):
        p = archport("port", "--k3s", "v1.24.2", *flags, "--to", "oci:./x", "--airgap", "x.tar", cwd=tmp_path,
                     expect=2)
        assert len(p.stderr.strip().splitlines()) == 1 and "rerun" not in p.stderr, p.stderr
        assert _files(tmp_path) == []
    # --platform is the long form of --arch
    p = archport("port", "registry.invalid/a/b:1", "--platform", "linux/riscv64", "--to", "oci:./x",
                 cwd=tmp_path, env={"XDG_CACHE_HOME": str(tmp_path / "cache")}, expect=1)
    assert "cannot reach registry registry.invalid" in p.stderr


def test_an_image_no_strategy_supports_says_what_would_and_writes_no_airgap(registry_plain, tmp_path):
    repo = f"example/unknown-{uuid.uuid4().hex[:6]}"
    img = im.make_image("linux/amd64", [im.layer_from_files({"etc/motd": b"hello\n"})])
    im.push(im.write_layout(tmp_path / "l", {"1": (img.manifest, [img])}), "1", f"{registry_plain.host}/{repo}:1")
    work = tmp_path / "work"
    work.mkdir()
    p = archport("port", f"{registry_plain.host}/{repo}:1", "--to", "oci:./x", "--airgap", "x.tar",
                 "--cache-dir", str(tmp_path / "cache"), cwd=work, expect=1)
    out = p.stdout + p.stderr
    # what would make it portable (a catalog entry, a strategy that builds it), never "rerun"
    assert "catalog" in p.stderr and "\n  next: " in p.stderr, out
    assert "rerun" not in out and "run the same command again" not in out
    assert "x.tar" not in _files(work) and "x.tar.sha256" not in _files(work)


def test_smoke_args_take_a_value_that_starts_with_a_dash(tmp_path):
    for form in (["--smoke-args", "--help"], ["--smoke-args", "-version -v"], ["--smoke-args=--help"]):
        p = archport("port", "registry.invalid/a/b:1", "--to", "oci:./x", *form, cwd=tmp_path,
                     env={"XDG_CACHE_HOME": str(tmp_path / "cache")}, expect=1)
        assert "expected one argument" not in p.stderr and "cannot reach registry" in p.stderr, p.stderr
    archport("port", "registry.invalid/a/b:1", "--to", "oci:./x", "--smoke-args", "'unclosed", cwd=tmp_path,
             expect=2)


def test_an_unresolvable_destination_names_the_to_flag_not_a_mirror(tmp_path):
    p = archport("port", "registry.invalid/a/b:1", "--to", "dest.invalid/ported", cwd=tmp_path,
                 env={"XDG_CACHE_HOME": str(tmp_path / "cache")}, expect=1)
    assert "cannot reach registry dest.invalid" in p.stderr and "--to registry name dest.invalid" in p.stderr
    assert "--mirror" not in p.stderr and "rerun" not in p.stdout + p.stderr
