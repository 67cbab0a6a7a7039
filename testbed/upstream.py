"""The bed's two loopback registries: UPSTREAM, which plays docker.io, and
REGISTRY, an empty one for ported images.

UPSTREAM serves a stand-in of every image of the k3s v1.24.2 image list
(shared/k3s/v1.24.2/k3s-images.txt) under its ``rancher/…`` name, for
linux/amd64 and linux/arm64 only, as upstream publishes them: none has a
linux/riscv64 entry, so the board's first pull of any of them fails the way a
real board's does once a mirror points at UPSTREAM.

The three Go components (coredns, local-path-provisioner, metrics-server)
are the REAL modules, built for amd64 and arm64 with upstream's flags
(recipes in standins/gomodules.py), so ``archport port`` rebuilds them for
riscv64 from what their build info says, and the journey runs real programs.
Where the module proxy refuses the tag's version, the nearest served version
is built under the tag k3s names; its build info (``go install MOD@VERSION``)
and the image's ``org.archport.testbed.standin`` label say which.

klipper-lb is distro-shaped, as the transplant tests build it
(standins/debian.py): Debian's busybox-static and iptables with a
real dpkg database, the iptables alternatives set to the legacy backend, and
an ``entry`` script of our own with klipper-lb's behaviour (upstream's image
is alpine:3.12, whose repository is unreachable here); its label says so.
The other binaries are tiny Go programs that say what they are: archport
builds pause from source and busybox from Debian, and klipper-helm and
traefik are not rebuilt from theirs.  Every image config keeps upstream's shape
(Entrypoint/Cmd/User, binary paths) so that port and check see the contract
they will see upstream.

Both are Debian's ``docker-registry`` (CNCF distribution) on 127.0.0.1 at the
ports of :mod:`testbed.paths`; the board reaches them at the same address
through the bed's forwarders.  Both are supervised like the bed's other processes
(:mod:`testbed.supervise`), so the bed's ``down`` stops them.
UPSTREAM's storage is cached on the machine keyed by the image set's version
(seeded once); REGISTRY's lives in the bed directory and starts empty.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from archport.dirlock import DirLock
from standins import debian, gomodules, images, programs, shared
from testbed import paths

REGISTRY_BIN = "/usr/bin/docker-registry"
# Bump when the stand-in images change: the cache key of UPSTREAM's storage.
STANDIN_REVISION = "3"
# Bump when the way the real modules are built changes (their recipes are in
# the key already): the cache key of their builds, shared by every image set.
MODULES_REVISION = "2"
PLATFORMS = ("amd64", "arm64")
PATH_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


@dataclass(frozen=True, slots=True)
class Standin:
    """One upstream image as the bed serves it."""

    repository: str             # rancher/…
    tag: str
    binary: str                 # where the stand-in program sits in the image
    config: dict = field(default_factory=dict)
    program: str = "generic"    # "pause" waits for a signal; "generic" prints what it is


# Image shapes (config and binary path), each from the upstream image's own
# build file; the acceptance script records the same facts for the Go ones.
_SHAPES: dict[str, tuple[str, dict, str]] = {
    "rancher/klipper-helm": ("/usr/bin/entry", {"Entrypoint": ["entry"], "Env": PATH_ENV}, "generic"),
    "rancher/klipper-lb": ("/usr/bin/entry", {"Cmd": ["entry"], "Env": PATH_ENV}, "generic"),
    "rancher/local-path-provisioner": ("/usr/bin/local-path-provisioner",
                                       {"Cmd": ["local-path-provisioner"], "Env": PATH_ENV}, "generic"),
    "rancher/mirrored-coredns-coredns": ("/coredns", {"Entrypoint": ["/coredns"], "Env": PATH_ENV}, "generic"),
    "rancher/mirrored-library-busybox": ("/bin/busybox", {"Cmd": ["sh"], "Env": PATH_ENV}, "generic"),
    "rancher/mirrored-library-traefik": ("/usr/local/bin/traefik",
                                         {"Entrypoint": ["/entrypoint.sh"], "Cmd": ["traefik"], "Env": PATH_ENV},
                                         "generic"),
    "rancher/mirrored-metrics-server": ("/metrics-server",
                                        {"Entrypoint": ["/metrics-server"], "User": "65534", "Env": PATH_ENV},
                                        "generic"),
    "rancher/mirrored-pause": ("/pause", {"Entrypoint": ["/pause"], "User": "65535:65535", "Env": PATH_ENV},
                               "pause"),
}


def image_set(images_txt: str) -> list[Standin]:
    """The k3s image list -> the stand-ins UPSTREAM serves (pure)."""
    out = []
    for line in images_txt.splitlines():
        ref = line.strip()
        if not ref or ref.startswith("#"):
            continue
        name, _, tag = ref.rpartition(":")
        repo = name.removeprefix("docker.io/")
        binary, config, program = _SHAPES.get(repo, ("/standin", {"Entrypoint": ["/standin"], "Env": PATH_ENV},
                                                     "generic"))
        out.append(Standin(repo, tag, binary, config, program))
    return out


def _build(program: str, goarch: str, work: Path) -> Path:
    out = work / f"{program}-{goarch}"
    if out.exists():
        return out
    # pause is the acceptance run's program; the others are the bed's own (their module path says so).
    return programs.build(program, goarch, work, dict(os.environ),
                          module="" if program == "pause" else f"archport.test/bed/{program}")


@dataclass(frozen=True)
class RealBuild:
    binaries: dict[str, Path]       # arch -> binary
    files: dict                     # the image's other files (layer_from_files form)
    label: str                      # what the stand-in is, for the image's label


def module_builds(recipe: gomodules.GoRecipe, version: str) -> Path:
    """Where ``recipe``'s module at ``version`` is built, one ``ARCH.bin`` per
    platform.  Keyed by the module version and the recipe, not by the image
    tag: every image set UPSTREAM serves shares them, so a version standing in
    for several tags (metrics-server v0.8.0 for v0.5.2 and v0.9.0,
    local-path-provisioner v0.0.30 for v0.0.21 and v0.0.37) is built once."""
    key = json.dumps([recipe.module, recipe.package, recipe.ldflags, recipe.trimpath, recipe.toolchain])
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return (paths.component_dir("upstream-modules", f"r{MODULES_REVISION}")
            / f"{recipe.module.replace('/', '_')}@{version}-{digest}")


def _resolved(x: Standin, recipe: gomodules.GoRecipe, work: Path, env: dict) -> tuple[str, Path, dict]:
    """(the tag as a module version, the set's record, what it says: the
    version standing in for the tag, why, and build seconds)."""
    where = work / f"module-{x.repository.replace('/', '_')}"
    where.mkdir(parents=True, exist_ok=True)
    wanted = x.tag if x.tag.startswith("v") else f"v{x.tag}"
    record = where / "built.json"
    # One caller at a time (a cold run's background prefetch and the bed's seed).
    lock = DirLock(where)
    lock.acquire(fcntl.LOCK_EX)
    try:
        if record.exists():
            return wanted, record, json.loads(record.read_text())
        version, why = gomodules.standin_version(recipe.module, wanted, env, where)
        done = {"version": version, "why": why, "seconds": {}}
        _write_json(record, done)
    finally:
        lock.release()
    return wanted, record, done


def _write_json(path: Path, doc: dict) -> None:
    """Replace ``path`` whole: a reader never sees half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2))
    os.replace(tmp, path)


def _stored(storage: Path, x: Standin) -> bool:
    """The tag is in a registry's storage (distribution's filesystem layout)."""
    return (storage / "docker/registry/v2/repositories" / x.repository / "_manifests/tags" / x.tag
            / "current/link").is_file()


def fetch_modules(standins: list[Standin], work: Path, storage: Path) -> list[str]:
    """Download what the real modules' builds will need, compiling nothing
    (:func:`gomodules.fetch_module`), for the images neither in ``storage``
    nor built yet; returns them.  A cold run does this beside its first tests."""
    env = gomodules.go_env(dict(os.environ))
    fetched = []
    for x in standins:
        recipe = gomodules.GO_RECIPES.get(x.repository)
        if recipe is None or _stored(storage, x):
            continue
        _, _, done = _resolved(x, recipe, work, env)
        builds = module_builds(recipe, done["version"])
        missing = [a for a in PLATFORMS if not (builds / f"{a}.bin").exists()]
        for arch in missing:
            tmp = Path(tempfile.mkdtemp(prefix=".fetch-"))
            try:
                gomodules.fetch_module(recipe.module, done["version"], tmp, package=recipe.package,
                                       toolchain=recipe.toolchain, goarch=arch, env=env)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        if missing:
            fetched.append(f"{recipe.module}@{done['version']}")
    return fetched


def _real_module(x: Standin, work: Path, platforms: tuple[str, ...] = PLATFORMS) -> RealBuild | None:
    """The real module of a Go component, built for ``platforms`` (cached in
    :func:`module_builds`; which version stands in for the tag is recorded in
    ``work``, the image set's own directory); None for the other images."""
    recipe = gomodules.GO_RECIPES.get(x.repository)
    if recipe is None:
        return None
    env = gomodules.go_env(dict(os.environ))
    wanted, record, done = _resolved(x, recipe, work, env)
    builds = module_builds(recipe, done["version"])
    builds.mkdir(parents=True, exist_ok=True)
    binaries = {}
    # install_module works in ``builds`` (its GOPATH and binary): one build at
    # a time there; whoever waited finds the binary done.
    lock = DirLock(builds)
    try:
        for arch in platforms:
            out = builds / f"{arch}.bin"
            if not out.exists():
                lock.acquire(fcntl.LOCK_EX)
            if not out.exists():
                built = gomodules.install_module(recipe.module, done["version"], builds, package=recipe.package,
                                                 ldflags=recipe.ldflags.format(version=done["version"]),
                                                 trimpath=recipe.trimpath, toolchain=recipe.toolchain,
                                                 goarch=arch, env=env)
                built.binary.rename(out)        # complete: another image set may take it from here on
                done["seconds"][arch] = round(built.seconds, 1)
                _write_json(record, done)
            binaries[arch] = out
    finally:
        lock.release()
    label = f"{recipe.module}@{done['version']} built for the archport test bed (not upstream's binary)"
    if done["version"] != wanted:
        label += f"; {done['why']}"
    files = {path: (gomodules.file_bytes(kind), 0o644) for path, kind in recipe.files}
    return RealBuild(binaries, files, label)


def build_modules(standins: list[Standin], work: Path, storage: Path) -> list[str]:
    """Build the real modules of the images neither in ``storage`` nor built
    yet, as :func:`seed` would (same locks); returns them.  A cold run does
    this beside its first tests, so the bed's seed finds them built."""
    built = []
    for x in standins:
        recipe = gomodules.GO_RECIPES.get(x.repository)
        if recipe is None or _stored(storage, x):
            continue
        version = _resolved(x, recipe, work, gomodules.go_env(dict(os.environ)))[2]["version"]
        if not all((module_builds(recipe, version) / f"{a}.bin").exists() for a in PLATFORMS):
            _real_module(x, work)
            built.append(f"{recipe.module}@{version}")
    return built


def _distro(x: Standin):
    """(files for an arch, config, label) of a distro-shaped stand-in, or None."""
    if x.repository != "rancher/klipper-lb":
        return None
    return (debian.root_files, debian.CONFIG,
            "Debian-shaped klipper-lb built for the archport test bed (busybox-static, iptables legacy, dpkg "
            "database, an entry script of ours); upstream's is alpine:3.12 + iptables")


# -- registry processes -----------------------------------------------------------

@dataclass(frozen=True)
class Served:
    name: str           # "upstream" | "registry"
    port: int
    storage: Path
    run: Path           # pid file and config live here

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def service(self) -> str:
        return f"{self.name}-registry"

    @property
    def config(self) -> Path:
        return self.run / f"{self.name}-registry.yml"


def upstream(layout: paths.Layout) -> Served:
    return Served("upstream", paths.PORTS.upstream,
                  paths.component_dir("upstream-registry", f"k3s-v1.24.2-r{STANDIN_REVISION}"), layout.run)


def registry(layout: paths.Layout) -> Served:
    return Served("registry", paths.PORTS.registry, layout.root / "registry", layout.run)


def _answers(host: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}/v2/", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _serves_from(s: Served) -> str | None:
    """The storage the running registry was started with (another revision
    of the stand-in set lives elsewhere)."""
    try:
        return json.loads(s.config.read_text())["storage"]["filesystem"]["rootdirectory"]
    except (OSError, ValueError, KeyError):
        return None


def start(lay: paths.Layout, s: Served) -> None:
    """Start (idempotent) a plain-HTTP docker-registry for ``s``, supervised
    like the bed's other processes (so the bed's ``down`` stops it)."""
    from testbed import supervise
    if supervise.alive(lay, s.service) and _answers(s.host) and _serves_from(s) == str(s.storage):
        return
    supervise.stop(lay, s.service)
    s.run.mkdir(parents=True, exist_ok=True)
    s.storage.mkdir(parents=True, exist_ok=True)
    cfg = {"version": 0.1, "log": {"level": "info", "accesslog": {"disabled": True}},
           "storage": {"filesystem": {"rootdirectory": str(s.storage)}, "delete": {"enabled": True}},
           "http": {"addr": s.host, "secret": f"archport-bed-{s.name}"}}
    s.config.write_text(json.dumps(cfg, indent=2))      # JSON is YAML
    # REGISTRY_* variables would override the file (distribution's config parser).
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    supervise.start(lay, s.service, [REGISTRY_BIN, "serve", str(s.config)], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _answers(s.host):
            return
        if not supervise.alive(lay, s.service):
            break
        time.sleep(0.1)
    supervise.stop(lay, s.service)
    raise RuntimeError(f"docker-registry for {s.name} did not answer on {s.host}; see {lay.logs}")


def stop(lay: paths.Layout, s: Served) -> None:
    from testbed import supervise
    supervise.stop(lay, s.service)


def _has(host: str, repo: str, tag: str) -> bool:
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{tag}", method="HEAD", headers={
        "Accept": "application/vnd.oci.image.index.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status == 200
    except OSError:
        return False


def seed(s: Served, standins: list[Standin], work: Path) -> list[str]:
    """Push every missing stand-in (amd64 + arm64 index) with skopeo; returns
    what was pushed.  A seeded UPSTREAM is left as is."""
    missing = [x for x in standins if not _has(s.host, x.repository, x.tag)]
    work.mkdir(parents=True, exist_ok=True)
    for x in missing:
        real = _real_module(x, work)
        distro = _distro(x)
        cfg = dict(x.config)
        if distro is not None:
            cfg = {**distro[1], "Labels": {"org.archport.testbed.standin": distro[2]}}
        elif real is None:
            cfg["Env"] = [*cfg.get("Env", []), f"STANDIN_IMAGE={x.repository}:{x.tag}"]
        else:
            cfg["Labels"] = {"org.archport.testbed.standin": real.label}
        per_arch: dict[str, dict] = {}
        for arch in PLATFORMS:
            if distro is not None:
                per_arch[arch] = distro[0](arch)
            elif real is None:
                per_arch[arch] = {x.binary.lstrip("/"): (_build(x.program, arch, work).read_bytes(), 0o755)}
            else:
                per_arch[arch] = {x.binary.lstrip("/"): (real.binaries[arch].read_bytes(), 0o755), **real.files}
        images.push_index(work, s.host, f"{x.repository}:{x.tag}", per_arch, cfg,
                          layout_name=f"layout-{x.repository.replace('/', '_')}-{x.tag}")
    return [f"{x.repository}:{x.tag}" for x in missing]


METRICS_RBAC = "testbed-metrics-server-nodes-metrics.yaml"


def standin_manifests(lay: paths.Layout, work: Path) -> None:
    """What the bed's stand-in metrics-server needs beyond k3s v1.24.2's
    manifests.  Those grant nodes/stats, which metrics-server v0.5.2 reads
    (the kubelet's /stats/summary); from v0.6.0 it reads /metrics/resource,
    which the kubelet authorizes as nodes/metrics.  When the module proxy
    refuses v0.5.2 and the stand-in is a newer version, the board gets that
    one permission more, as a manifest of its own in server/manifests (the
    k3s way to add objects), never an edit of k3s's files."""
    f = lay.var_k3s / "server" / "manifests" / METRICS_RBAC
    record = work / "module-rancher_mirrored-metrics-server" / "built.json"
    version = json.loads(record.read_text())["version"] if record.exists() else "v0.5.2"
    if gomodules.semver(version) < (0, 6, 0):
        f.unlink(missing_ok=True)
        return
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(f"""# archport test bed: the stand-in metrics-server is {version} (the module proxy
# refuses v0.5.2); since v0.6.0 it reads the kubelet's /metrics/resource.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: testbed:metrics-server-nodes-metrics
rules:
- apiGroups: [""]
  resources: [nodes/metrics]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: testbed:metrics-server-nodes-metrics
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: testbed:metrics-server-nodes-metrics
subjects:
- kind: ServiceAccount
  name: metrics-server
  namespace: kube-system
""")


def images_txt() -> str:
    return shared.IMAGES_TXT.read_text()


def standins_work() -> Path:
    """The v1.24.2 set's own directory: which version stands in for each tag,
    its tiny programs and layouts (the module builds are shared)."""
    return paths.component_dir("upstream-standins", f"r{MODULES_REVISION}")


def up(layout: paths.Layout) -> dict[str, str]:
    """Start both registries and seed UPSTREAM (idempotent); returns env values."""
    u, r = upstream(layout), registry(layout)
    start(layout, u)
    work = standins_work()
    seed(u, image_set(images_txt()), work)
    standin_manifests(layout, work)
    start(layout, r)
    return env(layout)


def down(layout: paths.Layout) -> None:
    stop(layout, registry(layout))
    stop(layout, upstream(layout))


def env(layout: paths.Layout) -> dict[str, str]:
    return {"UPSTREAM": upstream(layout).host, "REGISTRY": registry(layout).host}
