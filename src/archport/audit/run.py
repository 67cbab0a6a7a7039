"""The audit of a node, or of a release and manifests alone: the use case
``archport audit`` runs, from values the CLI hands in.

A node is read as its facts (through a connector, or from an ``archport
collect`` dump) plus, when live, what its ``agent/images/`` archives hold.
What the user gave (:class:`Given`) wins over what the node says: an
explicit k3s release, manifests, ``config.yaml`` or ``registries.yaml``.
The facts fill in the rest: the release from ``k3s --version``, the merged
config and its drop-ins, the manifests directory, the running pods, the
image store and the platform from ``uname -m``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Mapping

from .. import platform as plat
from .. import reference
from ..catalog import Catalog, K3sRelease
from ..errors import ArchportError, BadInput, BadReference
from ..k3s import config as k3sconfig
from ..k3s import registries as k3sregistries
from ..k3s.manifests import parse_documents
from ..node import collect
from ..node.facts import Facts
from ..node.boards import Board, is_local
from ..remote import Connector
from ..node.cpu import Cpu
from .fit import FitCheck, board_name
from .inventory import Inventory, inventory
from .report import Audit, Lookup, audit

Documents = Iterable[tuple[str, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Given:
    """What the user gave, the same for every node audited."""

    catalog: Catalog
    release: K3sRelease | None = None                 # --k3s: else the node's k3s --version
    documents: Documents | None = None                # --manifests: else the node's server/manifests
    config: Mapping[str, Any] | None = None           # --config: instead of the node's config.yaml
    registries: Mapping[str, Any] | None = None       # --registries: instead of the node's
    target: plat.Platform | None = None               # --platform: else the node's own
    lookup: Lookup | None = None                      # None: ask no registry
    fit: Callable[[Cpu], FitCheck] | None = None      # a board's CPU -> its image fit check (riscv64)
    workers: int = 8                                  # registry lookups at a time


@dataclass(frozen=True, slots=True)
class Failure:
    """A board of several that could not be read: the others are still audited."""

    source: str
    error: str

    def to_dict(self) -> dict:
        return {"source": self.source, "error": self.error}


def read_live(conn: Connector, root: str = "") -> tuple[Facts, dict[str, str]]:
    """The node's facts, and the images its ``agent/images/`` archives hold.
    A machine without any trace of k3s is not a node: :class:`ArchportError`
    (auditing nothing must not read as "every image offers the platform")."""
    facts = collect.live(conn, root, 200, extra=("archives",), timeout=900)
    if not has_k3s(facts):
        where = "this machine" if conn.name == "local" else conn.name
        raise ArchportError(
            f"{where}{f' (under {root})' if root else ''} has no k3s: `k3s --version` did not answer and there is "
            "no k3s config, manifest, image or pod; audit a k3s node (--host [USER@]HOST[:PORT]), or a release "
            "without a node (--k3s VERSION)")
    return facts, facts.archives


def has_k3s(facts: Facts) -> bool:
    """Any trace of k3s: its binary's version, its config, its data, its pods."""
    return bool(facts.k3s_version or facts.config or facts.registries or facts.config_d or facts.manifests
                or facts.manifests_dir or facts.images_dir or facts.images or facts.cluster.pods)


def live(conn: Connector, given: Given, root: str = "") -> Audit:
    facts, archives = read_live(conn, root)
    return node(facts, given, archives)


def boards(targets: list[Board], connect: Callable[[Board], Connector], given: Given,
           root: str = "") -> tuple[list[Audit], list[Failure]]:
    """Each board's audit.  With one board its failure is the caller's to
    raise (an unreachable board: exit 1); with more, it is one :class:`Failure`."""
    results: list[Audit] = []
    failed: list[Failure] = []
    for b in targets:
        try:
            facts, archives = read_live(connect(b), root)
        except ArchportError as e:
            if len(targets) < 2:
                raise
            failed.append(Failure("local" if is_local(b) else f"ssh:{b.host.destination}", str(e)))
            continue
        results.append(node(facts, given, archives))
    return results, failed


def dump(path: str, given: Given) -> Audit:
    """The node an ``archport collect`` dump (directory or ``.tar.gz``) describes."""
    with tempfile.TemporaryDirectory(prefix="archport-dump-") as tmp:
        facts = collect.read(path, tmp)
    return node(facts, given, {})


def files(given: Given) -> Audit:
    """No node: the release's image list and the manifests, as given."""
    release = given.release
    source = f"k3s {release.version}" if release else "manifests"
    inv = inventory(release=release, catalog=given.catalog, config=given.config or {}, documents=given.documents)
    result = _verdicts(inv, given, given.config or {}, given.registries or {}, (),
                       given.target or plat.RISCV64, release.version if release else None)
    return replace(result, source=source)


def node(facts: Facts, given: Given, archives: Mapping[str, str]) -> Audit:
    """One node's audit from its facts; ``archives`` maps the images its
    ``agent/images/`` files hold to the file (empty for a dump)."""
    notes: list[str] = []
    release = _release(facts, given, notes)
    for name, path in (("config", "config.yaml"), ("registries", "registries.yaml")):
        if f"{name} (unparseable)" in facts.missing:
            notes.append(f"the node's {path} could not be parsed: audited as if it were absent")
    config = given.config if given.config is not None else k3sconfig.merge(facts.config, facts.config_d)
    regs = given.registries if given.registries is not None else facts.registries
    documents = given.documents
    if documents is None and facts.manifests:
        documents = parse_documents(facts.manifests, where=f"{facts.source}:server/manifests")
    pods = [(p.key, c.image) for p in facts.cluster.pods for c in p.containers if c.image]
    if facts.images_dir and not archives:
        notes.append(f"agent/images holds {len(facts.images_dir)} file(s) ({', '.join(facts.images_dir[:4])}"
                     f"{' …' if len(facts.images_dir) > 4 else ''}) whose images were not read (a dump does not "
                     "carry them): what k3s imported from them shows as 'imported'")
    inv = inventory(release=release, catalog=given.catalog, config=config, documents=documents, pods=pods)
    if notes:
        inv = replace(inv, notes=tuple(notes) + inv.notes)
    target = _target(facts, given)
    fit, board = None, ""
    if given.fit is not None and given.lookup is not None and facts.cpu is not None and \
            target.architecture == "riscv64":
        fit, board = given.fit(facts.cpu), board_name(facts.cpu)
    result = _verdicts(inv, given, config, regs, _in_store(facts, archives), target,
                       facts.k3s_version or (release.version if release else None), fit)
    return replace(result, source=facts.source, board=board if fit is not None else "")


def _release(facts: Facts, given: Given, notes: list[str]) -> K3sRelease | None:
    """The release given, else the one the node's ``k3s --version`` names."""
    version = facts.k3s_version
    if given.release is not None:
        return given.release
    if not version:
        notes.append("k3s --version could not be read: give --k3s VERSION for the release's image list")
        return None
    try:
        return given.catalog.release(version)
    except BadInput as e:
        notes.append(f"the node's k3s {version} is not in the catalog, so its image list is unknown ({e})")
        return None


def _in_store(facts: Facts, archives: Mapping[str, str]) -> dict[str, str]:
    """What the node holds already: its archives' images (live nodes only),
    then its image store's tags."""
    held = dict(archives)
    for img in facts.images:
        for tag in img.tags:
            try:
                held[reference.normalize(tag)] = "image store"
            except BadReference:
                continue
    return held


def _target(facts: Facts, given: Given) -> plat.Platform:
    if given.target is not None:
        return given.target
    try:
        return plat.from_uname(facts.arch) if facts.arch else plat.RISCV64
    except BadInput:
        return plat.RISCV64


def _verdicts(inv: Inventory, given: Given, config: Mapping[str, Any], regs: Mapping[str, Any],
              in_store: Mapping[str, str] | tuple, target: plat.Platform, version: str | None,
              fit: FitCheck | None = None) -> Audit:
    return audit(inv, target, k3sregistries.parse(regs), lookup=given.lookup, version=version, in_store=in_store,
                 disable_default_endpoint=bool(config.get("disable-default-registry-endpoint")),
                 workers=given.workers, fit=fit)
