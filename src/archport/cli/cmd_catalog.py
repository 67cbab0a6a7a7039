"""``archport catalog list|show|release|releases|update``: print what archport
knows, with sources, and read the lists of k3s releases newer than the catalog."""

from __future__ import annotations

from rich.markup import escape

from .. import reference
from ..catalog import load
from ..errors import BadInput
from . import args as argtypes
from . import k3srelease
from .render import Notes, first_sentence, paragraph, table


def register(sub) -> None:
    p = sub.add_parser(
        "catalog", help="show what archport knows about k3s releases and their system images",
        description="Print the catalog: k3s releases and their image lists, and per component how it is built "
                    "upstream, its image contract, other sources of missing platforms, k3s knobs and fixups. "
                    "Every fact is printed with its source; unverified facts are marked. A release's image "
                    "list is read from the release's own k3s-images.txt when the network allows (kept in the "
                    "cache with its URL and the time it was read); 'update' reads the lists of newer releases.",
    )
    actions = p.add_subparsers(dest="catalog_action", metavar="ACTION")
    actions.add_parser("list", parents=[sub.common], help="list known releases and components",
                       epilog="  archport catalog list\n  archport --json catalog list")
    show = actions.add_parser("show", parents=[sub.common], help="everything known about one component",
                              epilog="  archport catalog show klipper-helm\n"
                                     "  archport catalog show rancher/mirrored-pause")
    show.add_argument("component", metavar="COMPONENT|IMAGE")
    rel = actions.add_parser("release", parents=[sub.common], help="the images of one k3s release",
                             description="The images of one k3s release, from the release's own k3s-images.txt "
                                         "(read now, or kept from an earlier read), else the catalog's list, "
                                         "marked inferred when it was not read from the release. VERSION is a "
                                         "release (v1.33.7+k3s1), a Kubernetes version (v1.33.7: its newest k3s "
                                         "revision known) or a minor version (1.33: the newest release known).",
                             epilog="  archport catalog release 1.33\n  archport catalog release v1.33.7+k3s1")
    rel.add_argument("version", metavar="VERSION")
    k3srelease.add_option(rel)
    lst = actions.add_parser("releases", parents=[sub.common],
                             help="every k3s release known, and where its list is from",
                             description="Every k3s release the catalog or the cache knows, and where its image "
                                         "list comes from: cached (read from the release by archport, with its "
                                         "age), shipped (read from the release when archport was made) or "
                                         "inferred (the catalog's guess).",
                             epilog="  archport catalog releases")
    k3srelease.add_option(lst)
    upd = actions.add_parser("update", parents=[sub.common], help="read the lists of releases newer than the catalog",
                             description="Read the k3s-images.txt of every shipped release whose list is inferred, "
                                         "and find releases newer than any known by asking for their k3s-images.txt "
                                         "in the order k3s numbers releases (more k3s revisions, next patches, next "
                                         "minor versions; two patch numbers in a row without a release end a "
                                         "line). Each list is kept in the cache with its URL and the time it was "
                                         "read.",
                             epilog="  archport catalog update\n"
                                    "  archport catalog update --releases-url https://mirror.example/k3s")
    k3srelease.add_option(upd)
    upd.add_argument("--limit", type=argtypes.positive_int, default=200, metavar="N",
                     help="ask at most N URLs (default 200)")
    p.set_defaults(run=run)


def run(args, ctx) -> int:
    catalog = load()
    action = getattr(args, "catalog_action", None)
    if action == "list":
        return _list(catalog, ctx)
    if action == "show":
        return _show(catalog.component(args.component), catalog, ctx)
    if action == "release":
        return _release(args, catalog, ctx)
    if action == "releases":
        return _releases(args, catalog, ctx)
    if action == "update":
        return _update(args, catalog, ctx)
    raise BadInput("archport catalog: name an action: list, show COMPONENT, release VERSION, releases or update")


def _mark(source) -> str:
    return source.url if source.verified else f"{source.url} (unverified)"


def _list(catalog, ctx) -> int:
    if ctx.json:
        ctx.emit({
            "releases": [{"version": r.version, "images": list(r.images), "verified": r.source.verified}
                         for r in catalog.releases],
            "components": [{"name": c.name, "kind": c.kind, "images": [i.repository for i in c.images]}
                           for c in catalog.components],
            "fixups": [f.id for f in catalog.fixups],
        })
        return 0
    t = table("release", "kubernetes", "images", "list", right=("images",), title="k3s releases")
    for r in catalog.releases:
        t.add_row(r.version, r.kubernetes, str(len(r.images)), "verified" if r.source.verified else "inferred")
    ctx.console.print(t)
    # Each description's first sentence as a note: the cells stay one line
    # at 80 columns (``catalog show NAME`` has the rest).
    notes = Notes()
    t = table("name", "kind", "images", wide=("images",), title="components")
    for c in catalog.components:
        t.add_row(f"{escape(c.name)} {notes.mark(first_sentence(c.description))}".strip(), c.kind,
                  escape(", ".join(i.repository for i in c.images)))
    ctx.console.print(t)
    notes.print(ctx.console)
    ctx.console.print()
    ctx.console.print("fixups: " + ", ".join(f.id for f in catalog.fixups), highlight=False, soft_wrap=False)
    return 0


def _release(args, catalog, ctx) -> int:
    from ..fetch.k3sreleases import listed
    with k3srelease.opened(args, ctx, catalog) as releases:
        found = listed(releases, args.version)
    release = found.release
    rows = []
    for image, ref in zip(release.images, release.references()):
        try:
            comp = catalog.component(image)
            name, kind = comp.name, comp.kind
        except BadInput:        # an image a release read later added: no component knows it yet
            name, kind = "(unknown)", ""
        rows.append({"image": image, "reference": ref, "component": name, "kind": kind})
    if ctx.json:
        ctx.emit(release.to_dict() | {"resolved": rows, "chosen": found.why,
                                      "list": {"origin": found.origin, "inferred": release.inferred,
                                               "url": release.source.url, "readAt": release.read_at or None,
                                               "problem": found.problem or None}})
        return 0
    if found.why:
        ctx.err.print(found.why, markup=False, highlight=False, soft_wrap=True)
    t = table("image", "component", "kind", wide=("image",),
              title=f"k3s {release.version} (Kubernetes {release.kubernetes})")
    for row in rows:
        # The familiar name (as docker prints it) keeps the row on one line.
        t.add_row(escape(reference.parse(row["reference"]).familiar()), escape(row["component"]), row["kind"])
    ctx.console.print(t)
    ctx.console.print(f"source: {_mark(release.source)}", highlight=False)
    paragraph(ctx.console, "list: " + k3srelease.source_line(found, url=False).split(": ", 1)[1], "      ")
    if found.origin == "catalog" and release.source.note:
        paragraph(ctx.console, f"note: {release.source.note}", "      ")
    return 0


def _releases(args, catalog, ctx) -> int:
    with k3srelease.opened(args, ctx, catalog) as releases:
        known = releases.known()
    def where(r):
        return "cached" if r.read_at else ("inferred" if r.inferred else "shipped")
    if ctx.json:
        ctx.emit({"releases": [{"version": r.version, "images": len(r.images), "list": where(r),
                                "url": r.source.url, "readAt": r.read_at or None} for r in known]})
        return 0
    t = table("release", "kubernetes", "images", "list", "read", right=("images",), title="k3s releases")
    for r in known:
        t.add_row(r.version, r.kubernetes, str(len(r.images)), where(r),
                  k3srelease.when(r.read_at).split(", ", 1)[1] if r.read_at else "")
    ctx.console.print(t)
    paragraph(ctx.console, "cached: read from the release by archport (catalog update, or a --k3s that read it); "
                           "shipped: read from the release when archport was made; inferred: the catalog's "
                           "guess, not read from the release")
    return 0


def _update(args, catalog, ctx) -> int:
    from ..fetch.k3sreleases import update
    with k3srelease.opened(args, ctx, catalog) as releases:
        if releases.base is None:
            raise BadInput("catalog update reads release lists: give --releases-url URL (reading them is off)")
        done = update(releases, args.limit)
        base = releases.base
    if ctx.json:
        ctx.emit({"complete": not done.stopped, "base": base, "requests": done.probed,
                  "read": [{"version": r.version, "images": list(r.images), "url": r.source.url,
                            "readAt": r.read_at} for r in done.read],
                  "notPublished": list(done.missing), "stopped": done.stopped or None})
        return 0 if not done.stopped else 1
    for r in done.read:
        ctx.console.print(f"{r.version}: {len(r.images)} images, read from {r.source.url}", highlight=False,
                          soft_wrap=True)
    for v in done.missing:
        ctx.console.print(f"{v}: the release publishes no {catalog.assets.images if catalog.assets else 'list'}",
                          highlight=False)
    ctx.console.print(f"{len(done.read)} list(s) read, {done.probed} URL(s) asked under {base}"
                      + (f"; lines walked: {', '.join(done.lines)}" if done.lines else ""), highlight=False,
                      soft_wrap=True)
    if done.stopped:
        ctx.fail(f"catalog update stopped: {done.stopped}; the lists read before that are kept")
        return 1
    return 0


def _show(comp, catalog, ctx) -> int:
    fixups = [f for f in catalog.fixups if comp.name in f.components]
    if ctx.json:
        ctx.emit(comp.to_dict() | {"fixups": [f.to_dict() for f in fixups]})
        return 0
    out = ctx.console
    out.print(f"[bold]{comp.name}[/] ({comp.kind}): {comp.description}", highlight=False)
    sections = [
        ("images", comp.images, lambda i: f"{i.repository}" + (f" (mirrors {i.upstream})"
                                                               if i.upstream != i.repository else "")),
        ("go build", comp.go, lambda g: f"[{g.versions}] {g.module} {g.package} cgo={int(g.cgo)} "
                                       f"ldflags={' '.join(g.ldflags)} "
                                       + " ".join(f"-X {k}={v}" for k, v in g.x)
                                       + (" (vendored)" if g.vendored else "")),
        ("c build", comp.c, lambda c: f"[{c.versions}] {c.repository} {' '.join(c.files)} {' '.join(c.cflags)}"),
        ("debian", comp.deb, lambda d: f"[{d.versions}] {d.package} ({d.suite}) {d.binary} "
                                       f"arches: {' '.join(d.architectures)}"),
        ("distro-based", comp.distro, lambda d: f"[{d.versions}] base {d.base}: {d.reason} Transplant needs: "
                                                + "; ".join(d.transplant_needs)),
        ("contract", comp.contracts, lambda c: f"[{c.versions}] binary {c.binary} entrypoint={_list_or_unset(c.entrypoint)} "
                                               f"cmd={_list_or_unset(c.cmd)} user={c.user or 'root'} "
                                               f"base={c.base} platforms: {' '.join(c.upstream_platforms) or '?'}"),
        ("release assets", comp.releases, lambda r: f"[{r.versions}] {r.url} + {r.checksum_url} "
                                                    f"arches: {' '.join(r.architectures)}"),
        ("other sources", comp.alternatives, lambda a: f"[{a.versions}] {a.image}:{a.tag} has "
                                                       f"{' '.join(a.platforms)}. {a.contract_note}"),
        ("k3s knobs", comp.knobs, lambda k: f"{k.kind} {k.name}: {k.detail}"),
        ("fixups", fixups, lambda f: f"{f.id}: {f.module} {f.bad} -> {f.good or '(procedure)'}: {f.symptom}"),
    ]
    for title, items, fmt in sections:
        if not items:
            continue
        out.print(f"\n[bold]{title}[/]", highlight=False)
        for item in items:
            out.print(f"  {fmt(item)}", highlight=False, markup=False)
            out.print(f"    source: {_mark(item.source)}", highlight=False, markup=False)
    return 0


def _list_or_unset(value) -> str:
    return "unset" if value is None else "[" + ", ".join(value) + "]"
