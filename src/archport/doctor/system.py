"""k3s's own pods, known by their names, and what the catalog says about their images.

A ``kubectl get pods`` table names no image, but k3s deploys its packaged
components under fixed names, so a pod's name says which component it runs:

* the Deployments ``coredns``, ``local-path-provisioner``, ``metrics-server``
  (k3s ``manifests/*.yaml``) and ``traefik`` (its chart), whose pods are
  ``NAME-<replicaset hash>-<5 characters>``;
* helm-controller's Jobs ``helm-install-<chart>`` (k3s-io/helm-controller
  ``pkg/controllers/chart/chart.go``), which run klipper-helm;
* ServiceLB's DaemonSets ``svclb-<service>`` (k3s ``pkg/cloudprovider/servicelb.go``),
  which run klipper-lb;
* and every pod's sandbox, which runs the pause image.

The catalog (data, read here) says which tags of each component's image the
k3s releases it knows pull, and which platforms upstream publishes for each.
Pure: the catalog is passed in.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .. import reference
from ..errors import BadInput

if TYPE_CHECKING:
    from ..catalog import Catalog, Component

NAMESPACE = "kube-system"
# (pod name, catalog component); a ReplicaSet's hash is 6–10 characters, a pod's suffix 5.
WORKLOADS: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(rx), name) for rx, name in (
        (r"coredns-[a-z0-9]{6,10}-[a-z0-9]{5}", "coredns"),
        (r"local-path-provisioner-[a-z0-9]{6,10}-[a-z0-9]{5}", "local-path-provisioner"),
        (r"metrics-server-[a-z0-9]{6,10}-[a-z0-9]{5}", "metrics-server"),
        (r"traefik-[a-z0-9]{6,10}-[a-z0-9]{5}", "traefik"),
        (r"helm-install-[a-z0-9-]+-[a-z0-9]{5}", "klipper-helm"),
        (r"svclb-[a-z0-9-]+-[a-z0-9]{5}", "klipper-lb"),
    ))
SANDBOX = "pause"


def component_of(pod: str) -> str:
    """The catalog component a ``namespace/name`` pod of k3s runs, or ""."""
    ns, _, name = pod.partition("/")
    if ns != NAMESPACE:
        return ""
    return next((comp for rx, comp in WORKLOADS if rx.fullmatch(name)), "")


def known(catalog: Catalog, pods: list[str], platform: str, k3s_version: str = "") -> list[str]:
    """What the catalog says about the images these system pods run: one line
    naming them, then one per image whose tags lack ``platform``.  [] when
    none of the pods is k3s's own."""
    components = sorted({c for c in map(component_of, pods) if c})
    if not components:
        return []
    tags = _release_tags(catalog, k3s_version)
    lines = [f"these are k3s's system pods ({', '.join(_label(c) for c in components)}); "
             f"every pod's sandbox also runs the pause image"]
    for name in [SANDBOX, *components]:
        try:
            comp = catalog.component(name)
        except BadInput:                    # a catalog without this component
            continue
        line = _platform_line(comp, tags, platform)
        if line:
            lines.append(line)
    return lines


def _label(component: str) -> str:
    return {"klipper-helm": "helm-install jobs", "klipper-lb": "svclb"}.get(component, component)


def _release_tags(catalog: Catalog, k3s_version: str) -> list[reference.Reference]:
    """The images of the node's k3s release when known, else of every release the catalog knows."""
    releases = catalog.releases
    if k3s_version:
        try:
            releases = (catalog.release(k3s_version),)
        except BadInput:
            pass
    refs: dict[str, reference.Reference] = {}
    for r in releases:
        for image in r.images:
            refs.setdefault(image, reference.parse(image))
    return list(refs.values())


def _platform_line(comp: Component, refs: list[reference.Reference], platform: str) -> str:
    lack, have = [], []
    for ref in refs:
        if not comp.matches(ref) or not ref.tag:
            continue
        contract = comp.contract(ref.tag)
        if contract is None:
            continue
        (have if platform in contract.upstream_platforms else lack).append(ref.tag)
    if not lack:
        return ""
    lack, have = list(dict.fromkeys(lack)), list(dict.fromkeys(have))
    repo = comp.images[0].repository
    line = f"{repo} ({_label(comp.name)}): upstream publishes no {platform} for tag{'s' if len(lack) > 1 else ''} " \
           f"{', '.join(lack)}"
    return line + (f" ({', '.join(have)} {'have' if len(have) > 1 else 'has'} it)" if have else "")


def pods_of(workload: str, names: set[str]) -> set[str]:
    """Pods of a Deployment, DaemonSet or Job called ``workload``: their
    names add one or two generated suffixes (``coredns-b96499967-7xk9p``)."""
    return {n for n in names if re.fullmatch(re.escape(workload) + r"(-[a-z0-9]{5,10}){1,2}", n)}


def named_after(image: str, names: set[str]) -> set[str]:
    """Pods whose workload is named after the image's repository, as k3s's
    manifests name them: ``rancher/mirrored-metrics-server`` runs in
    ``metrics-server-…``, ``rancher/mirrored-coredns-coredns`` in ``coredns-…``."""
    try:
        repo = reference.parse(image).path.rsplit("/", 1)[-1]
    except BadInput:
        return set()
    repo = repo.removeprefix("mirrored-")
    parts = repo.split("-")
    for i in range(len(parts)):
        found = pods_of("-".join(parts[i:]), names)
        if found:
            return found
    return set()
