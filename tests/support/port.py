"""The port tests' world, for the whole suite (registered in tests/conftest.py,
so a session builds it once): real registry, real Go (module proxy and
GOTOOLCHAIN), real skopeo, containerd + qemu for smoke.  Upstream images are
built here from the fixture modules (tests/fixtures/gomod) with an older Go,
as real upstreams were."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from standins import images, skopeo
from tests.support import cli, gobuild, goproxy
from tests.support.gobuild import go_binary
from tests.support.registry import Registry

REPO = Path(__file__).resolve().parents[2]
OLD_GO = "go1.22.12"          # accepts the fixture's //go:linkname; Go >= 1.23 rejects it

HELLO_CATALOG = """
name = "example-hello"
description = "The fixture upstream component (tests/fixtures/gomod/hello@v1.2.3)."
kind = "go"
module_version = "{tag}"

[[image]]
repository = "rancher/mirrored-example-hello"
source = "https://example.test/hello"

[[go]]
versions = ">=1.0.0"
module = "example.test/hello"
package = "."
x = { "main.version" = "{version}" }
cgo = false
source = "https://example.test/hello"

[[contract]]
versions = ">=1.0.0"
binary = "/hello"
entrypoint = ["/hello"]
base = "scratch"
upstream_platforms = ["linux/amd64", "linux/arm64"]
source = "https://example.test/hello"

[[fixup]]
id = "netx-linkname-recvmsg"
module = "example.test/netx"
bad = "<v0.1.0"
good = "v0.1.0"
go = ">=1.23"
symptom = "link: example.test/netx: invalid reference to syscall.recvmsg"
action = "require"
alternative = "-ldflags=-checklinkname=0"
components = ["example-hello"]
source = "https://github.com/golang/go/issues/67401"
"""


def go_env_value(name: str) -> str:
    return subprocess.run([go_binary(), "env", name], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="session")
def proxy_dir(tmp_path_factory) -> Path:
    return goproxy.build(tmp_path_factory.mktemp("goproxy"))


@pytest.fixture(scope="session")
def go_env(proxy_dir) -> dict[str, str]:
    """What the CLI gets: the fixture proxy first, the real one after it (so
    GOTOOLCHAIN downloads still work); no checksum DB for example.test only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update({"GOPROXY": f"file://{proxy_dir},{go_env_value('GOPROXY')}", "GONOSUMDB": "example.test",
                "GOMODCACHE": go_env_value("GOMODCACHE"), "GOCACHE": go_env_value("GOCACHE"),
                "PYTHONPATH": str(REPO / "src")})
    return env


def fixture_go_env(proxy: Path, **extra: str) -> dict[str, str]:
    """What a bench or test hands the CLI outside pytest: the fixture proxy
    first, the real one after it, no checksum database for example.test,
    the machine's module cache, no toolchain switching."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update({"GOPROXY": f"file://{proxy},{go_env_value('GOPROXY')}", "GONOSUMDB": "example.test",
                "GOMODCACHE": go_env_value("GOMODCACHE"), "GOTOOLCHAIN": "local",
                "PYTHONPATH": str(REPO / "src"), **extra})
    return env


@contextmanager
def workspace(prefix: str, *, own_gocache: bool = True) -> Iterator[tuple[Path, Registry, dict[str, str]]]:
    """What every bench starts from: a scratch directory, a docker-registry
    in it, the fixture module proxy and the go environment for them (with a
    Go build cache of its own unless ``own_gocache`` is false); all stopped
    and removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    reg = Registry(tmp / "registry")
    reg.start()
    try:
        proxy = goproxy.build(tmp / "goproxy")
        extra = {"GOCACHE": str(tmp / "gocache")} if own_gocache else {}
        yield tmp, reg, fixture_go_env(proxy, **extra)
    finally:
        reg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def go_install(module_at_version: str, goarch: str, env: dict, out: Path, ldflags: str = "",
               toolchain: str = OLD_GO) -> Path:
    """``go install MODULE@VERSION`` for linux/GOARCH (build info then names
    the module's version, as in a release build); returns the binary."""
    flags = ["-trimpath"] + (["-ldflags", ldflags] if ldflags else [])
    return gobuild.install(module_at_version, goarch, out, flags=flags, toolchain=toolchain, env=env)


def push_image(tmp: Path, repo_tag: str, registry, per_arch: dict[str, dict[str, bytes | tuple]],
               config: dict) -> None:
    imgs = [images.make_image(f"linux/{arch}", [images.layer_from_files(files)], config=config)
            for arch, files in per_arch.items()]
    top = images.make_index(imgs)
    layout = images.write_layout(tmp / f"layout-{repo_tag.replace('/', '_').replace(':', '_')}",
                                 {"t": (top, imgs)})
    images.push(layout, "t", f"{registry.host}/{repo_tag}")


CA_BUNDLE = b"-----BEGIN CERTIFICATE-----\nfixture\n-----END CERTIFICATE-----\n"


@pytest.fixture(scope="session")
def hello_upstream(tmp_path_factory, go_env, registry_plain):
    """rancher/mirrored-example-hello:v1.2.3 (and :v1.2.4, same index) for amd64 + arm64."""
    tmp = tmp_path_factory.mktemp("hello-upstream")
    bins = {arch: go_install("example.test/hello@v1.2.3", arch, go_env, tmp, "-X main.version=1.2.3")
            for arch in ("amd64", "arm64")}
    cfg = {"Entrypoint": ["/hello"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
    # Beside the binary, a file the rebuilt image must keep (as coredns keeps
    # its CA bundle) and a helper ELF it cannot (it is for the wrong machine).
    per_arch = {a: {"hello": (b.read_bytes(), 0o755), "etc/ssl/certs/ca-certificates.crt": CA_BUNDLE,
                    "usr/bin/helper": (b.read_bytes(), 0o755)} for a, b in bins.items()}
    for tag in ("v1.2.3", "v1.2.4"):
        push_image(tmp, f"rancher/mirrored-example-hello:{tag}", registry_plain, per_arch, cfg)
    return bins


@pytest.fixture(scope="session")
def hello_catalog(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("catalog") / "hello.toml"
    p.write_text(HELLO_CATALOG)
    return p


def archport(*args: str, env: dict, timeout: float = 1800) -> subprocess.CompletedProcess:
    """The suite's runner with the port tests' whole environment (``env`` replaces
    this process's); the caller judges the exit code."""
    return cli.archport(*args, environ=env, timeout=timeout, expect=None)


def skopeo_raw(ref: str) -> dict | None:
    return skopeo.raw_json(f"docker://{ref}", "--tls-verify=false")


def upstream_digests(registry, repo_tag: str) -> dict[str, str]:
    doc = skopeo_raw(f"{registry.host}/{repo_tag}")
    return {f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"] for m in doc["manifests"]}
