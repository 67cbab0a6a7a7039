"""Images named inside k3s HelmChart resources (pure).

k3s's helm-controller (github.com/k3s-io/helm-controller, pkg/controllers/chart)
installs a ``HelmChart`` with a job running the klipper-helm image: the values
are the chart's ``spec.valuesContent``, then the ``valuesContent`` of a
``HelmChartConfig`` of the same name and namespace (how users customise the
packaged traefik), then ``spec.set``.  The chart's own templates are not here,
so images are read where charts conventionally name them: an ``image`` key
holding either a reference or a map of ``repository``/``name``, ``tag`` and
``registry``.  Rancher's packaged charts put ``global.systemDefaultRegistry``
in front (their ``system_default_registry`` template), which k3s fills from
``--system-default-registry``.  A tag left to the chart's ``appVersion`` cannot
be read without the chart archive and is reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ruamel.yaml.error import YAMLError

from .. import yamlsafe
from ..errors import BadInput

_REPO_KEYS = ("repository", "name")


@dataclass(frozen=True, slots=True)
class ChartImage:
    chart: str                # "kube-system/traefik"
    source: str               # the manifest file
    path: str                 # where in the values: "image"
    image: str | None         # None when the tag is the chart's default
    note: str = ""


@dataclass(frozen=True, slots=True)
class Chart:
    name: str
    namespace: str
    source: str
    job_image: str            # spec.jobImage, "" for the controller's default
    values: dict


def charts(documents: Iterable[tuple[str, dict[str, Any]]]) -> list[Chart]:
    docs = list(documents)
    configs: dict[tuple[str, str], dict] = {}
    for rel, doc in docs:
        if doc.get("kind") == "HelmChartConfig":
            key = _key(doc)
            configs[key] = _deep_merge(configs.get(key, {}), _values(rel, doc))
    out = []
    for rel, doc in docs:
        if doc.get("kind") != "HelmChart":
            continue
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        values = _deep_merge(_values(rel, doc), configs.get(_key(doc), {}))
        sets = spec.get("set") or {}
        if not isinstance(sets, dict):  # the HelmChart CRD: set is a map of key to value
            raise BadInput(f"{rel}: HelmChart {_key(doc)[1]}: spec.set must be a mapping of KEY: VALUE")
        for dotted, v in sets.items():
            _set(values, str(dotted), v)
        ns, name = _key(doc)
        out.append(Chart(name, ns, rel, str(spec.get("jobImage") or ""), values))
    return out


def images(chart: Chart) -> list[ChartImage]:
    g = chart.values.get("global")
    sdr = str(g.get("systemDefaultRegistry") or "").strip("/") if isinstance(g, dict) else ""
    out: list[ChartImage] = []
    where = f"{chart.namespace}/{chart.name}"
    for path, node in _image_nodes(chart.values, ""):
        if isinstance(node, str):
            if node.strip():
                out.append(ChartImage(where, chart.source, path, node.strip()))
            continue
        repo = next((str(node[k]) for k in _REPO_KEYS if isinstance(node.get(k), str) and node[k].strip()), "")
        if not repo:
            continue
        registry = str(node.get("registry") or "").strip("/") or sdr
        name = f"{registry}/{repo}" if registry else repo
        tag, digest = node.get("tag"), node.get("digest")
        if digest:
            out.append(ChartImage(where, chart.source, path, f"{name}@{digest}"))
        elif tag not in (None, ""):
            out.append(ChartImage(where, chart.source, path, f"{name}:{tag}"))
        else:
            out.append(ChartImage(where, chart.source, path, None,
                                  f"{name}: no tag in the values, the chart's appVersion applies "
                                  "(read it from the chart archive)"))
    return out


def _image_nodes(node: Any, prefix: str):
    if not isinstance(node, dict):
        return
    for k, v in node.items():
        path = f"{prefix}.{k}" if prefix else str(k)
        if k == "image" and (isinstance(v, str) or (isinstance(v, dict) and any(x in v for x in _REPO_KEYS))):
            yield path, v
        elif isinstance(v, dict):
            yield from _image_nodes(v, path)
        elif isinstance(v, list):
            for i, item in enumerate(v):
                yield from _image_nodes(item, f"{path}[{i}]")


def _key(doc: dict) -> tuple[str, str]:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    return str(meta.get("namespace") or "kube-system"), str(meta.get("name") or "")


def _values(rel: str, doc: dict) -> dict:
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    text = spec.get("valuesContent")
    if not isinstance(text, str) or not text.strip():
        return {}
    try:
        v = yamlsafe.load(text, f"{rel}: valuesContent")
    except YAMLError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BadInput(f"{rel}: {doc.get('kind')} {_key(doc)[1]} valuesContent is not valid YAML: {first}") from None
    return v if isinstance(v, dict) else {}


def _deep_merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _set(values: dict, dotted: str, value: Any) -> None:
    """``helm --set a.b=c`` (no list indexes or escaped dots: k3s's packaged charts use none)."""
    parts = dotted.split(".")
    node = values
    for p in parts[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[parts[-1]] = value
