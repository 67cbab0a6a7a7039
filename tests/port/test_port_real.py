"""A real upstream module, end to end through the Go module proxy.

k3s v1.24.2 ships local-path-provisioner v0.0.21, but the module proxy here
refuses that version ("403 Forbidden: This module version is not available"),
so the newest version it serves, v0.0.30, stands in: same module, same image
contract (binary at /usr/bin/local-path-provisioner, found through PATH by the
manifest's ``command: [local-path-provisioner, …]``).  Module zips carry no
vendor/ packages, so both builds fetch the dependencies through the proxy.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.support.port import archport, push_image, skopeo_raw
from tests.support.gobuild import go_binary
from standins import shared

MODULE = "github.com/rancher/local-path-provisioner"
VERSION = "v0.0.30"
MANIFEST = shared.MANIFESTS / "local-storage.yaml"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture(scope="module")
def lpp_upstream(tmp_path_factory, go_env, registry_plain):
    """The stand-in upstream amd64 image, built the way upstream's scripts/build
    does: from the module tree (vendor/), CGO off, -X main.VERSION, -s -w."""
    tmp = tmp_path_factory.mktemp("lpp")
    cp = subprocess.run([go_binary(), "mod", "download", "-json", f"{MODULE}@{VERSION}"], env=go_env,
                        capture_output=True, text=True, cwd=tmp, timeout=900)
    info = json.loads(cp.stdout)
    assert not info.get("Error"), info
    src = tmp / "src"
    shutil.copytree(info["Dir"], src)
    for p in [src, *src.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    shutil.rmtree(src / "vendor")   # the module zip carries only vendor/modules.txt
    out = tmp / "local-path-provisioner"
    env = {**go_env, "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64", "GOTOOLCHAIN": "local"}
    cp = subprocess.run([go_binary(), "build", "-mod=mod", "-o", str(out), "-ldflags",
                         f"-X main.VERSION={VERSION} -extldflags -static -s -w", "."],
                        env=env, capture_output=True, text=True, cwd=src, timeout=1800)
    assert cp.returncode == 0, cp.stderr
    push_image(tmp, f"rancher/local-path-provisioner:{VERSION}", registry_plain,
               {"amd64": {"usr/bin/local-path-provisioner": (out.read_bytes(), 0o755)}},
               {"Cmd": ["local-path-provisioner"], "Env": [PATH_ENV]})
    manifests = tmp / "local-storage.yaml"
    manifests.write_text(MANIFEST.read_text())
    return manifests


def test_port_local_path_provisioner(lpp_upstream, go_env, registry_plain, tmp_path):
    reg = registry_plain
    # --strategy go: the catalog names rancher/local-path-provisioner itself as the
    # riscv64 alternative from v0.0.30 on, which here is the stand-in upstream.
    cp = archport("port", f"{reg.host}/rancher/local-path-provisioner:{VERSION}", "--arch", "riscv64",
                  "--to", f"{reg.host}/k3s-riscv64", "--strategy", "go", "--manifests", str(lpp_upstream),
                  "--smoke-args=--help", "--cache-dir", str(tmp_path / "cache"), "--json", env=go_env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported" and r["strategy"] == "go", r
    assert f"{MODULE}@{VERSION}" in r["reason"], r
    assert r["check"] == "ok (2 contracts)", r          # the image's own Cmd and the manifest's command
    assert r["smoke"].startswith("ok"), r
    assert "local-path-provisioner" in r["smokeOutput"] and VERSION in r["smokeOutput"], r["smokeOutput"]
    dest = skopeo_raw(f"{reg.host}/k3s-riscv64/rancher/local-path-provisioner:{VERSION}")
    arches = sorted(m["platform"]["architecture"] for m in dest["manifests"])
    assert arches == ["amd64", "riscv64"]
