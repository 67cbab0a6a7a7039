"""server/manifests: the packaged manifests staged with their template
variables, and which files the deploy controller applies or deletes.  Pure.

Staging (k3s pkg/deploy/stage.go, Stage, called from pkg/server/server.go
stageFiles): at every start each packaged manifest is written to
``server/manifests/<name>`` with every ``%{VAR}%`` replaced, unless its name,
its name without extension, or one of its parent directories is in the
``--disable`` set.  A ``.skip`` file does not stop staging: the packaged file
is rewritten either way.

Applying (k3s pkg/deploy/controller.go, listFilesIn, every 15 s): walk the
directory (subdirectories too), sorted by path; a file named ``X.skip``
anywhere marks every file whose base name is ``X`` as skipped (the map is
keyed by base name); for each path, first ``shouldDisableService`` — a
parent directory or the base name without extension in the disable set — and
such a file is deleted together with its objects; then ``skipFile``: hidden
names, skipped names and anything not ``.json``/``.yml``/``.yaml`` are left
alone; the rest is applied as one object set owned by the Addon named after
the file (``name``: the base name up to its first dot).

The packaged manifests are the team's copy of the v1.24.2 set
(shared/k3s/v1.24.2/server-manifests), stored already rendered with k3s's
defaults; :func:`templatize` puts the variables back where k3s v1.24.2's
manifests/ sources carry them, so that ``system-default-registry`` and the
other settings act on them as in k3s.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from .config import Settings

# The values shared/ was rendered with (k3s's defaults) -> the variable, per
# file, as in k3s v1.24.2 manifests/*.yaml.  Each pair is an exact text
# replacement; templatize() checks that each one matched.
_DEFAULTS: dict[str, tuple[tuple[str, str], ...]] = {
    "coredns.yaml": (
        ("image: rancher/", "image: %{SYSTEM_DEFAULT_REGISTRY}%rancher/"),
        ("kubernetes cluster.local in-addr.arpa", "kubernetes %{CLUSTER_DOMAIN}% in-addr.arpa"),
        ("clusterIP: 10.43.0.10", "clusterIP: %{CLUSTER_DNS}%"),
    ),
    "local-storage.yaml": (
        ("image: rancher/", "image: %{SYSTEM_DEFAULT_REGISTRY}%rancher/"),
        ('"paths":["/var/lib/rancher/k3s/storage"]', '"paths":["%{DEFAULT_LOCAL_STORAGE_PATH}%"]'),
    ),
    "metrics-server/metrics-server-deployment.yaml": (
        ("image: rancher/", "image: %{SYSTEM_DEFAULT_REGISTRY}%rancher/"),
    ),
    "traefik.yaml": (
        ("https://10.43.0.1:443/", "https://%{KUBERNETES_API}%/"),
        ('global.systemDefaultRegistry: ""', 'global.systemDefaultRegistry: "%{SYSTEM_DEFAULT_REGISTRY_RAW}%"'),
    ),
}


class TemplateError(ValueError):
    pass


def templatize(name: str, text: str) -> str:
    """Put k3s's ``%{…}%`` variables back into a default-rendered manifest."""
    for rendered, template in _DEFAULTS.get(name, ()):
        if rendered not in text:
            raise TemplateError(f"{name}: expected {rendered!r} (is shared/ still the v1.24.2 set?)")
        text = text.replace(rendered, template)
    return text


def template_vars(s: Settings, kubernetes_api: str = "10.43.0.1:443") -> dict[str, str]:
    """k3s pkg/server/server.go stageFiles: the variables and their values.
    registryTemplate() adds the trailing slash only to a non-empty registry."""
    reg = s.system_default_registry
    return {
        "%{CLUSTER_DNS}%": s.cluster_dns,
        "%{CLUSTER_DOMAIN}%": s.cluster_domain,
        "%{DEFAULT_LOCAL_STORAGE_PATH}%": s.default_local_storage_path,
        "%{SYSTEM_DEFAULT_REGISTRY}%": f"{reg}/" if reg else "",
        "%{SYSTEM_DEFAULT_REGISTRY_RAW}%": reg,
        "%{KUBERNETES_API}%": kubernetes_api,
    }


def render(text: str, variables: dict[str, str]) -> str:
    for k, v in variables.items():
        text = text.replace(k, v)
    return text


def _disabled_by_name(name: str, disable: frozenset[str]) -> bool:
    no_ext = posixpath.splitext(name)[0]
    if name in disable or no_ext in disable:
        return True
    parts = name.split("/")
    return any("/".join(parts[:i]) in disable for i in range(1, len(parts)))


def stage(packaged: dict[str, str], variables: dict[str, str], disable: frozenset[str]) -> dict[str, str]:
    """The files Stage writes: relative name -> rendered text."""
    return {name: render(text, variables) for name, text in sorted(packaged.items())
            if not _disabled_by_name(name, disable)}


@dataclass(frozen=True, slots=True)
class Plan:
    apply: tuple[str, ...] = ()      # relative paths, in the controller's order
    delete: tuple[str, ...] = ()     # disabled: objects deleted, then the file
    skipped: tuple[str, ...] = ()    # a .skip file names them
    ignored: tuple[str, ...] = ()    # hidden or not a manifest


def addon_name(path: str) -> str:
    """pkg/deploy/controller.go name(): base name up to the first dot."""
    return posixpath.basename(path).split(".", 1)[0]


def _should_disable(path: str, disable: frozenset[str]) -> bool:
    parts = path.split("/")
    if any("/".join(parts[:i]) in disable for i in range(1, len(parts))):
        return True
    if not path.endswith((".json", ".yml", ".yaml")):
        return False
    base = posixpath.basename(path)
    return posixpath.splitext(base)[0] in disable


def plan(files: list[str], disable: frozenset[str]) -> Plan:
    """``files``: every regular file under the manifests directory, relative."""
    skips = {posixpath.basename(f)[: -len(".skip")] for f in files if f.endswith(".skip")}
    apply, delete, skipped, ignored = [], [], [], []
    for path in sorted(files):
        base = posixpath.basename(path)
        if _should_disable(path, disable):
            delete.append(path)
        elif base.startswith(".") or not base.endswith((".json", ".yml", ".yaml")):
            ignored.append(path)
        elif base in skips:
            skipped.append(path)
        else:
            apply.append(path)
    return Plan(tuple(apply), tuple(delete), tuple(skipped), tuple(ignored))


def split_documents(text: str) -> list[str]:
    """YAML documents of a manifest, empty and comment-only ones dropped
    (controller.go isEmptyYaml)."""
    docs, cur = [], []
    for line in text.splitlines(keepends=True):
        if line.rstrip() == "---":
            docs.append("".join(cur))
            cur = []
        else:
            cur.append(line)
    docs.append("".join(cur))
    return [d for d in docs if any(x.strip() and not x.strip().startswith("#") for x in d.splitlines())]
