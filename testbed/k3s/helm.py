"""helm-controller for the stand-in: HelmChart objects (traefik) need it.

k3s v1.24.2 runs github.com/k3s-io/helm-controller v0.12.3 (its go.mod)
in-process, after creating the ``helmcharts.helm.cattle.io`` and
``helmchartconfigs.helm.cattle.io`` CRDs itself (pkg/crd, wrangler
NamespacedType, schema-less with a status subresource).  The Go module
proxy serves v0.12.3, so the bed builds that module (cached under
``CACHE/helm-controller-v0.12.3``) and runs its standalone binary as a
supervised service next to the stand-in.  When the proxy refuses it or the
build fails, :func:`ensure` says why and HelmChart objects stay unapplied:
the stand-in's log says so, nothing pretends to install the chart.

The job image: k3s sets helm-controller's DefaultJobImage to
``<system-default-registry>/rancher/klipper-helm:…`` when that setting is
given (pkg/server/server.go).  The standalone binary cannot be told, so the
stand-in puts the same image in each HelmChart's ``spec.jobImage`` (the
field helm-controller reads first, pkg/helm/controller.go job()).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from archport.dirlock import DirLock

MODULE = "github.com/k3s-io/helm-controller"
VERSION = "v0.12.3"
DEFAULT_JOB_IMAGE = "rancher/klipper-helm:v0.7.3-build20220613"   # pkg/helm/controller.go, v0.12.3
# go.mod says go 1.16; the module predates Go 1.19's linker rules, so it is
# built with the newest Go of its time, fetched as a toolchain by the go command.
TOOLCHAIN = "go1.18.10"
VBOM_UTIL = "github.com/fvbommel/util@v0.0.0-20160121211510-db5cfe13f5cc"


class Unavailable(RuntimeError):
    """The proxy does not serve the module, or it does not build (go's own words)."""


def job_image(system_default_registry: str) -> str:
    return f"{system_default_registry}/{DEFAULT_JOB_IMAGE}" if system_default_registry else DEFAULT_JOB_IMAGE


CRDS = [
    {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
     "metadata": {"name": f"{plural}.helm.cattle.io"},
     "spec": {"group": "helm.cattle.io", "scope": "Namespaced",
              "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": kind + "List"},
              "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                            "schema": {"openAPIV3Schema": {"type": "object",
                                                           "x-kubernetes-preserve-unknown-fields": True}}}]}}
    for kind, plural in (("HelmChart", "helmcharts"), ("HelmChartConfig", "helmchartconfigs"))
]


def _go() -> str:
    for cand in (shutil.which("go"), "/usr/local/go/bin/go"):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise Unavailable("the Go toolchain (go) is not installed")


def ensure(cache: Path) -> Path:
    """The built binary (building it once); raises :class:`Unavailable`.
    One build at a time per machine (a lock on ``cache``): a caller that
    waited finds the binary there."""
    out = cache / "helm-controller"
    if out.is_file():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    lock = DirLock(cache)
    lock.acquire(fcntl.LOCK_EX)
    try:
        if not out.is_file():
            _build(out)
    finally:
        lock.release()
    return out


def _build(out: Path) -> None:
    env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64",
           "GOTOOLCHAIN": TOOLCHAIN}
    # The go command's own proxy setting (its default unless the user set one),
    # without "direct": everything comes through the module proxy.
    proxy = env.get("GOPROXY") or subprocess.run([_go(), "env", "GOPROXY"], capture_output=True, text=True,
                                                 env=env, timeout=60).stdout.strip()
    env["GOPROXY"] = ",".join(p for p in proxy.split(",") if p not in ("direct", "off"))
    cp = subprocess.run([_go(), "mod", "download", "-json", f"{MODULE}@{VERSION}"], capture_output=True, text=True,
                        env=env, timeout=1800)
    try:
        info = json.loads(cp.stdout)
    except json.JSONDecodeError:
        raise Unavailable((cp.stderr or cp.stdout).strip()) from None
    if info.get("Error") or not info.get("Dir"):
        raise Unavailable(info.get("Error") or "no Dir from go mod download")
    work = Path(tempfile.mkdtemp(prefix="archport-helm-controller-"))
    from archport.toolchain.gocompile import writable_copy
    src = writable_copy(info["Dir"], work / "src")
    vendor = Path(src) / "vendor"
    if vendor.is_dir() and not any(p.is_dir() for p in vendor.iterdir()):
        shutil.rmtree(vendor)                       # module zips keep only vendor/modules.txt
    # Upstream builds from vendor/; the module zip has none, so the whole
    # graph is resolved, and the proxy refuses one vanity path in it
    # (vbom.ml/util, "403 Forbidden", reached through wrangler v0.8.3 ->
    # sigs.k8s.io/cli-utils -> an old k8s.io/kubectl).  vbom.ml/util is
    # github.com/fvbommel/util under its old name; the same commit is served.
    subprocess.run([_go(), "mod", "edit", f"-replace=vbom.ml/util={VBOM_UTIL}"], cwd=src, env=env, check=True,
                   capture_output=True)
    # scripts/build: CGO_ENABLED=0 go build -ldflags "-X main.VERSION=$VERSION -extldflags -static -s"
    cp = subprocess.run([_go(), "build", "-ldflags", f"-X main.VERSION={VERSION} -extldflags -static -s",
                         "-o", str(work / "helm-controller"), "."], cwd=src, env=env, capture_output=True,
                        text=True, timeout=3600)
    if cp.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        raise Unavailable(f"building {MODULE}@{VERSION} failed: {cp.stderr.strip()[-1500:]}")
    # Copied beside ``out``, then renamed: a binary there is always whole.
    tmp = out.with_name(f".{out.name}.{os.getpid()}")
    shutil.copy2(work / "helm-controller", tmp)
    os.replace(tmp, out)
    shutil.rmtree(work, ignore_errors=True)
