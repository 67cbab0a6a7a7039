"""A rebuilt Go binary is stripped when upstream's is: no .symtab upstream,
so -s -w here (cmd/link), and the layer is not twice upstream's size."""

from __future__ import annotations

import shutil

from archport.strategies.transplant_go import recipes_for
from archport.toolchain.gocompile import strip_like, stripped
from tests.strategies.helpers import upstream
from tests.support import gobuild


def test_strip_like_adds_what_is_missing_only_when_upstream_is_stripped():
    assert strip_like("-X main.version=1", True) == "-X main.version=1 -s -w"
    assert strip_like("-w -s", True) == "-w -s"
    assert strip_like("-s", True) == "-s -w"
    assert strip_like("", True) == "-s -w"
    assert strip_like("-X main.version=1", False) == "-X main.version=1"


def test_the_recipe_strips_when_upstreams_binary_has_no_symtab(go_env, tmp_path):
    # -trimpath keeps -ldflags out of the build info: only the ELF says it was stripped.
    built = {}
    for name, flags in (("bare", ["-trimpath", "-ldflags", "-s -w"]), ("full", ["-trimpath"])):
        out = tmp_path / name
        out.mkdir()
        built[name] = gobuild.install("example.test/hello@v1.2.3", "riscv64", out, flags=flags, env=go_env,
                                       toolchain=gobuild.OLD_GO)
    for name, binary in built.items():
        with open(binary, "rb") as f:
            assert stripped(f) is (name == "bare"), name
        root = tmp_path / f"root-{name}"
        (root / "bin").mkdir(parents=True)
        shutil.copy(binary, root / "bin" / "hello")
        (recipe,) = recipes_for(upstream("rancher/mirrored-example-hello:v1.2.3", None, None), ["bin/hello"], root)
        assert recipe.module == "example.test/hello"
        assert ("-s" in recipe.ldflags.split() and "-w" in recipe.ldflags.split()) is (name == "bare"), recipe
