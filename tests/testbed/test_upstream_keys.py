"""UPSTREAM's real-module builds are keyed by module version and recipe, not
by image tag, so image sets that need the same stand-in share one build.
(No bed: the builds are planted, and any go build here fails the test.)"""

from __future__ import annotations

import json

import pytest

from standins import gomodules
from testbed import paths, upstream

METRICS = "rancher/mirrored-metrics-server"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")

    def no_build(*a, **kw):
        raise AssertionError("a build that was already there ran again")
    monkeypatch.setattr(gomodules, "install_module", no_build)
    monkeypatch.setattr(gomodules, "go_env", lambda base: dict(base))
    return tmp_path / "cache"


def test_one_version_standing_in_for_two_tags_is_one_build(cache, tmp_path, monkeypatch):
    recipe = gomodules.GO_RECIPES[METRICS]
    builds = upstream.module_builds(recipe, "v0.8.0")
    assert builds.parent == cache / f"upstream-modules-r{upstream.MODULES_REVISION}"
    builds.mkdir(parents=True)
    for arch in upstream.PLATFORMS:
        (builds / f"{arch}.bin").write_bytes(f"metrics-server v0.8.0 {arch}".encode())
    monkeypatch.setattr(gomodules, "download", lambda *a, **kw: {})
    monkeypatch.setattr(gomodules, "served_version", lambda module, wanted, env, work: (
        ("v0.8.0", f"{module}@{wanted} is not served by the module proxy (gone)") if wanted == "v0.5.2"
        else (wanted, "")))
    old = upstream._real_module(upstream.Standin(METRICS, "v0.5.2", "/metrics-server"), tmp_path / "set-old")
    new = upstream._real_module(upstream.Standin(METRICS, "v0.9.0", "/metrics-server"), tmp_path / "set-new")
    assert old.binaries == new.binaries == {a: builds / f"{a}.bin" for a in upstream.PLATFORMS}
    assert "not served by the module proxy" in old.label and "not an approved release" in new.label
    # each set keeps its own record of what stands in for its tag (standin_manifests reads the old set's)
    rec = json.loads((tmp_path / "set-old" / f"module-{METRICS.replace('/', '_')}" / "built.json").read_text())
    assert rec["version"] == "v0.8.0"


def test_the_key_follows_the_version_and_the_recipe(cache):
    recipe = gomodules.GO_RECIPES[METRICS]
    assert upstream.module_builds(recipe, "v0.8.0") != upstream.module_builds(recipe, "v0.8.1")
    other = gomodules.GoRecipe(recipe.module, recipe.package, recipe.ldflags + " -s", recipe.trimpath,
                               recipe.toolchain, recipe.files, recipe.source)
    assert upstream.module_builds(recipe, "v0.8.0") != upstream.module_builds(other, "v0.8.0")


def test_a_chosen_stand_in_is_named_with_its_reason(monkeypatch, tmp_path):
    fetched = []
    monkeypatch.setattr(gomodules, "download", lambda module, version, env, cwd: fetched.append(version) or {})
    version, why = gomodules.standin_version("sigs.k8s.io/metrics-server", "v0.9.0", {}, tmp_path)
    assert (version, fetched) == ("v0.8.0", ["v0.8.0"]) and "not an approved release" in why
