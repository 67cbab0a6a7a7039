"""Find the containers of a k3s manifests directory (or a pod spec) that run an image.

The kubelet resolves ``image:`` through the same normalization as ``docker
pull`` (github.com/distribution/reference ``ParseNormalizedNamed``), so
``rancher/local-path-provisioner:v0.0.21`` in a manifest and
``docker.io/rancher/local-path-provisioner:v0.0.21`` on the command line are
the same image.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .. import reference, yamlsafe
from ..errors import BadInput, BadReference
from ..reference import Reference

# Files the k3s deploy controller applies (pkg/deploy/controller.go: .yaml,
# .yml and .json; a sibling "<name>.skip" disables a file).
_EXTENSIONS = (".yaml", ".yml", ".json")
# Workload kinds and where their pod spec sits.
_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


@dataclass(frozen=True, slots=True)
class Container:
    """One container of one workload, with what the kubelet will run."""

    source: str                       # file the workload came from (relative to the directory)
    kind: str
    namespace: str
    workload: str
    name: str
    image: str
    init: bool = False
    command: tuple[str, ...] | None = None
    args: tuple[str, ...] | None = None
    working_dir: str = ""
    # Literal ``env`` values only (``valueFrom`` is resolved at run time).
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def describe(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        role = "init container" if self.init else "container"
        return f"{self.source}: {self.kind} {ns}{self.workload}, {role} {self.name}"


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise BadInput(f"manifests path {str(root)!r} does not exist")
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        names = set(filenames)
        for name in sorted(filenames):
            if name.endswith(_EXTENSIONS) and f"{name}.skip" not in names and not name.startswith("."):
                out.append(Path(dirpath) / name)
    return out


def load_documents(path: str | os.PathLike[str]) -> list[tuple[str, dict[str, Any]]]:
    """Every YAML/JSON document under ``path`` (a directory, walked like k3s
    does, or one file), as ``(relative file name, document)``; ``List``
    documents are flattened into their items."""
    root = Path(path)
    texts: list[tuple[str, str]] = []
    for f in _files(root):
        rel = f.name if root.is_file() else str(f.relative_to(root))
        try:
            texts.append((rel, f.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as e:
            raise BadInput(f"cannot read {f}: {e}") from None
    return parse_documents(texts, where=str(root.parent if root.is_file() else root))


def parse_documents(files: Iterable[tuple[str, str]], where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """:func:`load_documents` for texts already read: ``(file name, text)``
    pairs, e.g. a node's manifests read over SSH.  ``where`` prefixes the file
    name in error messages."""
    yaml = YAML(typ="safe", pure=True)
    out: list[tuple[str, dict[str, Any]]] = []
    for rel, text in files:
        shown = f"{where}/{rel}" if where else rel
        try:
            docs = yamlsafe.load_all(text, shown, yaml)
        except YAMLError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise BadInput(f"{shown} is not valid YAML: {first}") from None
        for doc in docs:
            if not isinstance(doc, dict):
                continue
            if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                out.extend((rel, item) for item in doc["items"] if isinstance(item, dict))
            else:
                out.append((rel, doc))
                out.extend(_helper_pods(rel, doc, yaml))
    return out


# local-path-provisioner runs its helper pod (from the local-path-config
# ConfigMap, key helperPod.yaml) with command ["/bin/sh", "/script/<action>"]
# set by its provisioner.go (createHelperPod); the busybox image must keep
# /bin/sh for it.  The setup action is the one every new volume goes through.
_HELPER_POD_KEY = "helperPod.yaml"
_HELPER_COMMAND = ["/bin/sh", "/script/setup"]


def _helper_pods(rel: str, doc: dict[str, Any], yaml: YAML) -> list[tuple[str, dict[str, Any]]]:
    if doc.get("kind") != "ConfigMap" or not isinstance(doc.get("data"), dict):
        return []
    text = doc["data"].get(_HELPER_POD_KEY)
    if not isinstance(text, str):
        return []
    try:
        pod = yamlsafe.load(text, f"{rel}: ConfigMap {_HELPER_POD_KEY}", yaml)
    except YAMLError as e:
        raise BadInput(f"{rel}: ConfigMap {_dig(doc, ('metadata', 'name'))} {_HELPER_POD_KEY} is not valid YAML: "
                       f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}") from None
    if not isinstance(pod, dict):
        return []
    for c in _list(_dig(pod, ("spec", "containers")), f"{rel}: ConfigMap {_HELPER_POD_KEY}", "containers"):
        if isinstance(c, dict) and "command" not in c:
            c["command"] = list(_HELPER_COMMAND)
    pod.setdefault("metadata", {})
    if isinstance(pod["metadata"], dict):
        pod["metadata"].setdefault("namespace", _dig(doc, ("metadata", "namespace")) or "")
    return [(f"{rel} (ConfigMap {_dig(doc, ('metadata', 'name'))}, {_HELPER_POD_KEY})", pod)]


def _dig(doc: Any, keys: Iterable[str]) -> Any:
    for k in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(k)
    return doc


def _list(v: Any, source: str, key: str) -> list:
    """A pod spec's list field; Kubernetes rejects any other type, and so do we."""
    if v is None:
        return []
    if not isinstance(v, list):
        raise BadInput(f"{source}: {key} must be a list, not {type(v).__name__}")
    return v


def _strings(v: Any) -> tuple[str, ...] | None:
    if v is None:
        return None
    if not isinstance(v, list):
        return None
    return tuple(str(x) for x in v)


def containers(documents: Iterable[tuple[str, dict[str, Any]]]) -> list[Container]:
    """All containers and init containers of the workloads in ``documents``."""
    out: list[Container] = []
    for source, doc in documents:
        kind = doc.get("kind")
        path = _POD_SPEC_PATHS.get(kind) if isinstance(kind, str) else None
        # A bare pod spec (no kind, but containers) is accepted too.
        spec = _dig(doc, path) if path else (doc if "containers" in doc else None)
        if not isinstance(spec, dict):
            continue
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        for key, init in (("initContainers", True), ("containers", False)):
            for c in _list(spec.get(key), source, key):
                if not isinstance(c, dict) or not isinstance(c.get("image"), str):
                    continue
                env = {
                    str(e["name"]): str(e["value"])
                    for e in _list(c.get("env"), source, "env")
                    if isinstance(e, dict) and "name" in e and isinstance(e.get("value"), (str, int, float))
                }
                out.append(Container(
                    source=source, kind=kind or "PodSpec",
                    namespace=str(meta.get("namespace") or ""), workload=str(meta.get("name") or ""),
                    name=str(c.get("name") or ""), image=c["image"], init=init,
                    command=_strings(c.get("command")), args=_strings(c.get("args")),
                    working_dir=str(c.get("workingDir") or ""), env=MappingProxyType(env),
                ))
    return out


def same_image(a: Reference, b: Reference) -> bool:
    """Same repository and tag (``latest`` when neither tag nor digest), or same digest."""
    if a.repository != b.repository:
        return False
    if a.digest and b.digest:
        return a.digest == b.digest
    return (a.tag or "latest") == (b.tag or "latest")


def using_image(items: Iterable[Container], image: str | Reference) -> list[Container]:
    """The containers whose ``image`` normalizes to ``image``."""
    want = image if isinstance(image, Reference) else reference.parse(image)
    out = []
    for c in items:
        try:
            ref = reference.parse(c.image)
        except BadReference:
            continue        # a template placeholder or a typo: it can match nothing
        if same_image(ref, want):
            out.append(c)
    return out
