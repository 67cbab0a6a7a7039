"""c: pause built statically for riscv64 with real cross compilers, run under qemu-user."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import time
import zipfile
from importlib import resources

import pytest

from archport.binaries.elf import read_elf
from archport.catalog.loader import load
from archport.emulation import qemu_binary
from archport.platform import parse as parse_platform
from archport.strategies import NotPortable
from archport.strategies.c import C
from archport.toolchain.compilers import find
from archport.fetch.goproxy import escape, proxy_list, read_member

from .helpers import check_built, env, unpack, upstream, with_tables

RISCV = parse_platform("linux/riscv64")
REF = "rancher/mirrored-pause:3.6"
# Read in k8s.io/kubernetes@v1.23.0 build/pause/Makefile (TAG ?= 3.6) and the
# SHA-256 of its build/pause/linux/pause.c, computed here from the module zip.
K8S = "v1.23.0"
PAUSE_SHA256 = "14a3fe21ab5f8e62937a2b453e76f3b94b0d3c7c04c3d09bc37195f54c1695ea"


def _pause(**extra):
    comp = load().component("pause")
    return with_tables(comp, c=(dataclasses.replace(comp.c_build("3.6"), **extra),))


def _run_and_stop(qemu: str, binary: str, sig=signal.SIGTERM) -> int:
    p = subprocess.Popen([qemu, binary], stderr=subprocess.PIPE)
    time.sleep(1.0)
    assert p.poll() is None, "pause exited on its own"
    p.send_signal(sig)
    return p.wait(timeout=20)


@pytest.mark.parametrize("compiler", ["zig", "gcc"])
def test_own_pause_for_riscv64_runs_and_stops_on_sigterm(tmp_path, compiler):
    # no upstream source named: archport's own pause.c is built; upstream
    # unreadable: the catalog contract stands in
    up = upstream(REF, _pause(module="", module_version="", sha256=()), None)
    e = env(tmp_path)
    strategy = C(prefer=compiler)
    assert find("riscv64", compiler).kind == compiler
    assert strategy.consider(up, RISCV, e).applies
    out = strategy.build(up, RISCV, e)
    assert "archport's own pause.c" in " ".join(out.notes)
    cfg = json.loads(out.built.config)
    assert cfg["config"]["Entrypoint"] == ["/pause"] and cfg["config"]["User"] == "65535:65535"
    assert cfg["architecture"] == "riscv64"
    assert check_built(out.built, tmp_path).ok
    root = unpack(out.built, tmp_path / "rootfs")
    info = read_elf((root / "pause").read_bytes())
    assert info.goarch == "riscv64" and info.static
    qemu = qemu_binary(RISCV)
    assert qemu, "qemu-user-static is needed for this test"
    v = subprocess.run([qemu, str(root / "pause"), "-v"], capture_output=True, text=True, timeout=30)
    assert v.returncode == 0 and "v3.6-archport" in v.stdout
    assert _run_and_stop(qemu, str(root / "pause")) == 0
    assert _run_and_stop(qemu, str(root / "pause"), signal.SIGINT) == 0


def test_upstream_pause_from_the_go_module_proxy(tmp_path):
    go_env = {"GOPROXY": ",".join(proxy_list(dict(os.environ))) or "off"}
    up = upstream(REF, _pause(module="k8s.io/kubernetes", module_version=K8S,
                              sha256=(("build/pause/linux/pause.c", PAUSE_SHA256),)),
                  {"Entrypoint": ["/pause"], "User": "65535:65535"})
    out = C().build(up, RISCV, env(tmp_path, go_env=go_env))
    assert f"upstream build/pause/linux/pause.c from k8s.io/kubernetes@{K8S}" in out.reason
    root = unpack(out.built, tmp_path / "rootfs")
    qemu = qemu_binary(RISCV)
    v = subprocess.run([qemu, str(root / "pause"), "-v"], capture_output=True, text=True, timeout=30)
    assert "pause.c v3.6-archport" in v.stdout          # upstream's own banner
    assert _run_and_stop(qemu, str(root / "pause")) == 0


def test_pause_3_10_2_from_the_kubernetes_release_that_builds_it(tmp_path):
    """k3s v1.35 to v1.37 run pause 3.10.2: the catalog names the
    k8s.io/kubernetes release whose Makefile has that TAG, and its pause.c
    (pinned) is built static, printing that version."""
    comp = load().component("pause")
    cb = comp.c_build("3.10.2")
    assert (cb.module, cb.module_version) == ("k8s.io/kubernetes", "v1.36.1")
    assert dict(cb.sha256) == {"build/pause/linux/pause.c": PAUSE_SHA256}
    go_env = {"GOPROXY": ",".join(proxy_list(dict(os.environ))) or "off"}
    up = upstream("rancher/mirrored-pause:3.10.2", comp, None)      # no riscv64 upstream: the catalog's contract
    out = C().build(up, RISCV, env(tmp_path, go_env=go_env))
    assert "upstream build/pause/linux/pause.c from k8s.io/kubernetes@v1.36.1" in out.reason, out.reason
    cfg = json.loads(out.built.config)
    assert cfg["config"]["Entrypoint"] == ["/pause"] and cfg["config"]["User"] == "65535:65535"
    root = unpack(out.built, tmp_path / "rootfs")
    info = read_elf((root / "pause").read_bytes())
    assert info.goarch == "riscv64" and info.static
    v = subprocess.run([qemu_binary(RISCV), str(root / "pause"), "-v"], capture_output=True, text=True, timeout=30)
    assert v.returncode == 0 and "pause.c v3.10.2-archport" in v.stdout, v.stdout


def _file_proxy(tmp_path, content: bytes):
    mod, ver = "example.test/Kube", "v1.0.0"
    d = tmp_path / "proxy" / escape(mod) / "@v"
    d.mkdir(parents=True)
    with zipfile.ZipFile(d / f"{ver}.zip", "w") as z:
        z.writestr(f"{mod}@{ver}/build/pause/linux/pause.c", content)
    return mod, ver, f"file://{tmp_path / 'proxy'}"


def test_pinned_sha256_mismatch_is_refused(tmp_path):
    content = (resources.files("archport") / "data" / "pause.c").read_bytes() + b"\n/* changed */\n"
    mod, ver, proxy = _file_proxy(tmp_path, content)
    up = upstream(REF, _pause(module=mod, module_version=ver, sha256=(("build/pause/linux/pause.c", "0" * 64),)), None)
    with pytest.raises(NotPortable, match="but the catalog pins"):
        C().build(up, RISCV, env(tmp_path, go_env={"GOPROXY": proxy}))


def test_unreachable_source_falls_back_and_says_so(tmp_path):
    up = upstream(REF, _pause(module="example.test/none", module_version="v1.0.0"), None)
    out = C().build(up, RISCV, env(tmp_path, go_env={"GOPROXY": f"file://{tmp_path}/empty"}))
    notes = " ".join(out.notes)
    assert "upstream source unavailable" in notes and "archport's own pause.c" in notes


def test_read_member_from_a_file_proxy(tmp_path):
    mod, ver, proxy = _file_proxy(tmp_path, b"int main(void){return 0;}\n")
    data, used = read_member(None, [proxy], mod, ver, "build/pause/linux/pause.c", tmp_path)
    assert data.startswith(b"int main") and used == proxy
    assert escape("github.com/BurntSushi/toml") == "github.com/!burnt!sushi/toml"
    assert proxy_list({"GOPROXY": "https://a.test,https://b.test|direct,https://c.test"}) == ["https://a.test", "https://b.test"]
    assert proxy_list({"GOPROXY": "off"}) == []


def test_not_a_c_component(tmp_path):
    d = C().consider(upstream("rancher/mirrored-coredns-coredns:1.9.1", "coredns", None), RISCV, env(tmp_path))
    assert not d.applies and "not a C program" in d.reason


@pytest.mark.parametrize("compiler", ["zig", "gcc"])
def test_same_inputs_same_digest(tmp_path, compiler):
    up = upstream(REF, "pause", None)
    a = C(prefer=compiler).build(up, RISCV, env(tmp_path / "a"))
    b = C(prefer=compiler).build(up, RISCV, env(tmp_path / "b"))
    assert a.built.manifest.digest == b.built.manifest.digest


def test_the_image_does_not_depend_on_the_run(tmp_path):
    """Annotations describe the image, not the run: the same source through
    another proxy, or from the build cache, gives the same digest."""
    import shutil

    from archport.strategies.cached import Cached

    content = (resources.files("archport") / "data" / "pause.c").read_bytes()
    mod, ver, proxy = _file_proxy(tmp_path, content)
    other = tmp_path / "mirror-of-proxy"
    shutil.copytree(tmp_path / "proxy", other)
    up = upstream(REF, _pause(module=mod, module_version=ver, sha256=()), {"Entrypoint": ["/pause"]})
    cached = Cached(C(prefer="gcc"))
    first = cached.build(up, RISCV, env(tmp_path / "a", go_env={"GOPROXY": proxy}))
    again = cached.build(up, RISCV, env(tmp_path / "a", go_env={"GOPROXY": proxy}))       # from the cache
    elsewhere = cached.build(up, RISCV, env(tmp_path / "b", go_env={"GOPROXY": f"file://{other}"}))
    assert any(n.startswith("from the build cache") for n in again.notes)
    assert not any(n.startswith("from the build cache") for n in elsewhere.notes)
    assert any(str(other) in n for n in elsewhere.notes)                  # the run is in the notes...
    assert first.built.manifest.digest == again.built.manifest.digest == elsewhere.built.manifest.digest
    assert proxy not in json.dumps(dict(first.built.manifest.annotations))   # ...not in the image


def test_from_the_build_cache_in_a_new_run(tmp_path):
    """A later run (its own, new work directory, the same cache) takes the
    binary from the build cache and still writes the image's layer."""
    import shutil

    from archport.strategies.cached import Cached

    content = (resources.files("archport") / "data" / "pause.c").read_bytes()
    mod, ver, proxy = _file_proxy(tmp_path, content)
    up = upstream(REF, _pause(module=mod, module_version=ver, sha256=()), {"Entrypoint": ["/pause"]})
    cached = Cached(C(prefer="gcc"))
    first_env = env(tmp_path / "a", go_env={"GOPROXY": proxy})
    first = cached.build(up, RISCV, first_env)
    shutil.rmtree(first_env.workdir)                       # that run is over; its work directory is gone
    later = dataclasses.replace(first_env, workdir=tmp_path / "b" / "work")
    again = cached.build(up, RISCV, later)
    assert any(n.startswith("from the build cache") for n in again.notes)
    assert again.built.manifest.digest == first.built.manifest.digest


@pytest.mark.parametrize("compiler", ["zig", "gcc"])
def test_the_baseline_is_rv64gc_and_a_raised_profile_is_recorded(tmp_path, compiler):
    from archport.binaries.riscv import read_attributes
    from archport.catalog import riscv
    up = upstream(REF, _pause(module="", module_version="", sha256=()), None)
    for profile, want in (("rva20u64", "rva20u64"), ("rva22u64", "rva22u64")):
        e = env(tmp_path / profile, isa_profile=profile)
        out = C(prefer=compiler).build(up, RISCV, e)
        root = unpack(out.built, tmp_path / profile / "rootfs")
        attrs = read_attributes((root / "pause").read_bytes())
        assert riscv.lowest_profile(attrs.extensions).name == want, attrs.arch
        assert out.built.manifest.annotations[riscv.ANNOTATION] == want
