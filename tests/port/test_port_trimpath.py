"""The go strategy follows the upstream binary's -trimpath setting, read from
its build info (Go >= 1.18 records "-trimpath=true")."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from archport.catalog import load
from archport.layout import LayoutSource
from archport.oci import read_config
from archport.port.catalog_extra import with_extras
from archport.reference import parse as parse_ref
from archport.strategies import Upstream
from archport.strategies.gobuild import recover
from tests.strategies.helpers import env
from standins import images
from tests.support import goproxy
from tests.support.gobuild import go_binary

REF = "rancher/mirrored-example-hello:v1.2.3"


def _upstream_hello(go_env: dict, tmp_path, trimpath: bool):
    """example.test/hello built by the current Go, as an upstream would, from
    a checkout (build info: (devel)) with its netx dependency bumped."""
    src = shutil.copytree(goproxy.FIXTURES / "hello@v1.2.3", tmp_path / "hello")
    e = {**go_env, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "GOOS": "linux", "GOARCH": "amd64",
         "CGO_ENABLED": "0"}
    for cmd in ([go_binary(), "mod", "edit", "-require=example.test/netx@v0.1.0"],
                [go_binary(), "build", "-buildvcs=false", *(["-trimpath"] if trimpath else []), "-o", "out", "."]):
        cp = subprocess.run(cmd, cwd=src, env=e, capture_output=True, text=True, timeout=600)
        assert cp.returncode == 0, cp.stderr
    return src / "out"


@pytest.mark.parametrize("trimpath", [True, False])
def test_recipe_trims_as_upstream_did(go_env, hello_catalog, tmp_path, trimpath):
    binary = _upstream_hello(go_env, tmp_path, trimpath)
    img = images.make_image("linux/amd64", [images.layer_from_files({"hello": (binary.read_bytes(), 0o755)})],
                            config={"Entrypoint": ["/hello"]})
    images.write_layout(tmp_path / "up", {"t": (img.manifest, [img])})
    source = LayoutSource(tmp_path / "up", "t")
    top = source.resolve()
    cfg = read_config(source, top)
    catalog = with_extras(load(), [str(hello_catalog)])
    up = Upstream(parse_ref(REF), source, top, (cfg.platform,), top, cfg, catalog.component(REF))
    recipe = recover(up, env(tmp_path, catalog=catalog))
    assert (recipe.module, recipe.version, recipe.binary) == ("example.test/hello", "v1.2.3", "/hello")
    assert recipe.trimpath is trimpath
