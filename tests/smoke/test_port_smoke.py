"""port's smoke step with a catalog recipe: the verdict it gives when the
rebuilt riscv64 image fails, judged against upstream's amd64 image run the
same way (real registry, Go, containerd + qemu; the port tests' fixture
component rancher/mirrored-example-hello)."""

from __future__ import annotations

import json

import pytest

from tests.support.port import HELLO_CATALOG, archport


def catalog(tmp_path, recipe: str):
    p = tmp_path / "hello-smoke.toml"
    p.write_text(HELLO_CATALOG + "\n[[smoke]]\n" + recipe + 'source = "https://example.test/hello"\n')
    return p


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("port-smoke-cache")   # one build, reused by every port below


def port(reg, env, cat, dest, cache) -> tuple[int, dict]:
    cp = archport("port", f"{reg.host}/rancher/mirrored-example-hello:v1.2.3", "--arch", "riscv64", "--to",
                  f"oci:{dest}", "--catalog", str(cat), "--cache-dir", str(cache), "--json", env=env)
    doc = json.loads(cp.stdout)
    return cp.returncode, doc["images"][0]


def test_the_recipe_passes(hello_upstream, go_env, registry_plain, tmp_path, cache):
    cat = catalog(tmp_path, 'args = ["smoke"]\nready = "exit"\nexpect = "arch=riscv64 .*args=\\\\[smoke\\\\]"\n')
    code, r = port(registry_plain, go_env, cat, tmp_path / "out", cache)
    assert code == 0 and r["status"] == "ported", r
    assert r["smoke"] == "ok (exit 0 via containerd)", r
    assert "args=[smoke]" in r["smokeOutput"]


def test_failing_like_upstream_blames_the_recipe(hello_upstream, go_env, registry_plain, tmp_path, cache):
    cat = catalog(tmp_path, 'args = ["x"]\nready = "exit"\nexpect = "printed by nobody"\n')
    code, r = port(registry_plain, go_env, cat, tmp_path / "out", cache)
    assert code == 1 and r["status"] == "failed", r
    assert "fails like upstream: the recipe is wrong (upstream linux/amd64 fails the same way" in r["smoke"], r
    assert r["nextStep"].startswith("fails like upstream: the recipe is wrong"), r
    assert "emulation" not in r["nextStep"], r


def test_failing_only_emulated_blames_emulation(hello_upstream, go_env, registry_plain, tmp_path, cache):
    cat = catalog(tmp_path, 'ready = "exit"\nexpect = "arch=amd64"\n')
    code, r = port(registry_plain, go_env, cat, tmp_path / "out", cache)
    assert code == 1 and r["status"] == "failed", r
    assert "does not run under emulation: upstream linux/amd64 passes the same smoke" in r["smoke"], r
    assert r["nextStep"] == "the image does not run under emulation; nothing was pushed", r
