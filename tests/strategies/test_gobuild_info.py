"""go: -X values the catalog templates as {commit}/{date} come from the
module's .info (Origin.Hash, Time) when upstream's build info does not carry
them; the result says which."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

from archport.catalog import load
from archport.port.catalog_extra import with_extras
from archport.platform import Platform
from archport.strategies.gobuild import recover
from archport.toolchain.gocompile import GoOptions, Toolchain, build_binary
from tests.strategies.helpers import env, upstream
from tests.support.port import HELLO_CATALOG
from tests.support import goproxy
from tests.support.gobuild import go_binary

REF = "rancher/mirrored-example-hello:v1.2.3"
HASH = "fedcba9876543210fedcba9876543210fedcba98"


def _setup(tmp_path: Path, template: str, origin: bool = True):
    proxy = goproxy.build(tmp_path / "proxy")
    info = {"Version": "v1.2.3", "Time": "2022-05-06T07:08:09+02:00"}
    if origin:
        info["Origin"] = {"VCS": "git", "URL": "https://example.test/hello", "Hash": HASH, "Ref": "refs/tags/v1.2.3"}
    (proxy / "example.test" / "hello" / "@v" / "v1.2.3.info").write_text(json.dumps(info))
    cat_file = tmp_path / "hello.toml"
    # The port tests' fixture component, its -X template replaced by the one under test.
    cat_file.write_text(HELLO_CATALOG.replace('"main.version" = "{version}"', f'"main.version" = "{template}"'))
    catalog = with_extras(load(), [str(cat_file)])
    go = go_binary()
    shared = {n: subprocess.run([go, "env", n], capture_output=True, text=True, check=True).stdout.strip()
              for n in ("GOCACHE",)}
    go_env = {"PATH": f"{os.path.dirname(go)}:/usr/bin:/bin", "HOME": str(tmp_path),
              "GOMODCACHE": str(tmp_path / "modcache"), "GOTOOLCHAIN": "local", **shared,
              # GOPRIVATE would send example.test past the proxy: only the checksum DB is skipped.
              "GOPROXY": f"file://{proxy}", "GONOSUMDB": "example.test", "GOFLAGS": "-mod=mod"}
    up = upstream(REF, catalog.component(REF), None, catalog=catalog)
    return up, env(tmp_path, catalog=catalog, go_env=go_env)


def test_commit_and_date_come_from_the_info_and_the_result_says_so(tmp_path):
    up, e = _setup(tmp_path, "{version}-{commit}-{date}")
    recipe = recover(up, e)
    assert recipe.ldflags == f"-X main.version=1.2.3-{HASH}-2022-05-06T05:08:09Z"
    assert recipe.notes == ("-X main.version from example.test/hello@v1.2.3's .info: Origin.Hash, "
                            "Time (the commit's time, not upstream's build time)",)


def test_without_origin_the_commit_stays_empty_and_the_result_says_why(tmp_path):
    up, e = _setup(tmp_path, "{commit}", origin=False)
    recipe = recover(up, e)
    assert recipe.ldflags == "-X main.version="
    assert recipe.notes == ("-X main.version left empty: example.test/hello@v1.2.3's .info has no Origin.Hash",)


def test_the_proxy_is_not_asked_when_no_template_needs_it(tmp_path):
    up, e = _setup(tmp_path, "{version}")
    e = dataclasses.replace(e, go=GoOptions(env={"GOPROXY": "off"}))     # asking would fail and say so
    recipe = recover(up, e)
    assert (recipe.ldflags, recipe.notes) == ("-X main.version=1.2.3", ())


def test_the_rebuilt_binary_carries_the_commit(tmp_path):
    up, e = _setup(tmp_path, "{commit}")
    recipe = recover(up, e)
    binary, _ = build_binary(recipe, Platform("linux", "amd64"), Toolchain.for_options(e.go, e.log),
                             tuple(e.catalog.fixups), e.workdir, e.log)
    out = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60).stdout
    assert f"version={HASH} " in out
