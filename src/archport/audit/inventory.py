"""The images a node needs, and why (pure: values in, values out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .. import reference
from ..catalog import Catalog, K3sRelease
from ..errors import BadInput, BadReference
from ..k3s import config as k3sconfig
from ..k3s import helm
from ..k3s.behaviour import load as _behaviour
from ..k3s.manifests import containers

# Kinds of reasons, in the order a table lists them.
RELEASE, MANIFEST, HELMCHART, HELM_JOB, PAUSE, SERVICELB, POD = (
    "release", "manifest", "helmchart", "helm-job", "pause", "servicelb", "pod")


@dataclass(frozen=True, slots=True)
class Need:
    image: str                              # normalized: the name the kubelet asks containerd for
    reasons: tuple[tuple[str, str], ...]    # (kind, text), first seen first

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for k, _ in self.reasons))

    @property
    def familiar(self) -> str:
        return reference.parse(self.image).familiar()

    def to_dict(self) -> dict:
        return {"image": self.image, "needed_by": [{"kind": k, "why": t} for k, t in self.reasons]}


@dataclass(frozen=True, slots=True)
class Inventory:
    needs: tuple[Need, ...]
    notes: tuple[str, ...] = ()
    k3s_version: str = ""
    system_default_registry: str = ""
    disabled: tuple[str, ...] = ()


@dataclass
class _Builder:
    order: list[str] = field(default_factory=list)
    reasons: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, image: str, kind: str, why: str) -> None:
        try:
            name = reference.normalize(image)
        except BadReference as e:
            self.notes.append(f"{why}: {image!r} is not an image reference ({e}); left out")
            return
        if name not in self.reasons:
            self.order.append(name)
            self.reasons[name] = []
        if (kind, why) not in self.reasons[name]:
            self.reasons[name].append((kind, why))

    def build(self, **kw) -> Inventory:
        return Inventory(tuple(Need(n, tuple(self.reasons[n])) for n in self.order), tuple(self.notes), **kw)


def inventory(*, release: K3sRelease | None = None, catalog: Catalog | None = None,
              config: Mapping[str, Any] | None = None,
              documents: Iterable[tuple[str, dict[str, Any]]] | None = None,
              pods: Iterable[tuple[str, str]] = ()) -> Inventory:
    """Everything a node needs.  ``config`` is the merged k3s config
    (:func:`archport.k3s.config.merge`); ``documents`` the manifests directory
    (:func:`archport.k3s.manifests.load_documents`); ``pods`` ``(namespace/name,
    image)`` pairs of the running pods."""
    cfg = dict(config or {})
    sdr = k3sconfig.system_default_registry(cfg)
    off = k3sconfig.disabled(cfg)
    b = _Builder()
    roles = _release_images(b, release, catalog, sdr, off) if release is not None else {}
    pause, origin = k3sconfig.pause_image(cfg, roles.get("pause"))
    if pause:
        b.add(pause, PAUSE, f"pod sandbox (pause) image: {origin}")
    elif release is None:
        b.notes.append("pause image: not set in the config and no k3s version known (give --k3s VERSION)")
    if roles.get("klipper-lb") and "servicelb" not in off:
        b.add(k3sconfig.with_system_registry(roles["klipper-lb"], sdr), SERVICELB,
              "klipper-lb: ServiceLB is enabled (no 'disable: servicelb')")
    if documents is not None:
        _manifests(b, [(rel, d) for rel, d in documents if not _disabled_file(rel, off)], off,
                   roles.get("klipper-helm"), sdr)
    for pod, image in pods:
        b.add(image, POD, f"pod {pod}")
    return b.build(k3s_version=release.version if release else "", system_default_registry=sdr,
                   disabled=tuple(sorted(off)))


def _release_images(b: _Builder, release: K3sRelease, catalog: Catalog | None, sdr: str,
                    off: frozenset[str]) -> dict[str, str]:
    """The release's images less the disabled components'; returns the system
    ones by role (pause, klipper-lb, klipper-helm), which are listed with
    their own reasons."""
    roles: dict[str, str] = {}
    dropped = _repositories_of(off)
    label = f"k3s {release.version} image list"
    for image in release.images:
        role = _role(image, catalog)
        if role:
            roles[role] = image
        if role in ("pause", "klipper-lb"):
            continue                     # listed by the caller, with their own reasons
        if _path(image) in dropped:
            continue
        b.add(k3sconfig.with_system_registry(image, sdr), RELEASE,
              label + (" + system-default-registry" if sdr else ""))
    return roles


def _manifests(b: _Builder, docs: list[tuple[str, dict[str, Any]]], off: frozenset[str], helm_default: str | None,
               sdr: str) -> None:
    """The workloads' images, the HelmCharts' values and their install jobs."""
    for c in containers(docs):
        ns = f"{c.namespace}/" if c.namespace else ""
        role = "init container" if c.init else "container"
        b.add(c.image, MANIFEST, f"{c.source}: {c.kind} {ns}{c.workload} {role} {c.name}")
    for chart in helm.charts(docs):
        where = f"{chart.source}: HelmChart {chart.namespace}/{chart.name}"
        for ci in helm.images(chart):
            if ci.image is None:
                b.notes.append(f"{where}: {ci.note}")
            else:
                b.add(ci.image, HELMCHART, f"{where} values {ci.path}")
        job = chart.job_image or (k3sconfig.with_system_registry(helm_default, sdr) if helm_default else "")
        if job and "helm-controller" not in off:
            b.add(job, HELM_JOB, f"{where} install job" + ("" if chart.job_image else " (controller default)"))
        elif not job:
            b.notes.append(f"{where}: the helm install job's image is the controller default "
                           "(give --k3s VERSION to know it)")


def manifest_images(documents: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
    """The images a manifests directory runs (workloads, the local-path helper
    pod, HelmChart values), normalized, in first-seen order: what ``port
    --manifests`` ports when no image is named."""
    return [n.image for n in inventory(documents=documents).needs]


def _disabled_file(rel: str, off: frozenset[str]) -> bool:
    """k3s leaves out a packaged manifest whose name (or directory, as
    metrics-server's) is disabled: ``disable: traefik`` drops traefik.yaml
    (k3s pkg/deploy, skip list built from --disable)."""
    first = rel.split(" ", 1)[0].split("/", 1)[0]
    return first.rsplit(".", 1)[0] in off if "." in first else first in off


def _path(image: str) -> str:
    return reference.parse(image).path


def _repositories_of(names: frozenset[str]) -> set[str]:
    out: set[str] = set()
    for c in _behaviour().components:
        if c.name in names:
            out |= {reference.parse(r).path for r in c.repositories}
    return out


def _role(image: str, catalog: Catalog | None) -> str:
    """Which system role a release image plays: the catalog's component name
    for pause and the klipper images, else ''."""
    ref = reference.parse(image)
    if catalog is not None:
        for name in ("pause", "klipper-lb", "klipper-helm"):
            try:
                comp = catalog.component(name)
            except BadInput:           # a catalog without that component
                continue
            if comp.matches(ref):
                return name
    for name, path in (("pause", "rancher/mirrored-pause"), ("klipper-lb", "rancher/klipper-lb"),
                       ("klipper-helm", "rancher/klipper-helm")):
        if ref.path == path:
            return name
    return ""
