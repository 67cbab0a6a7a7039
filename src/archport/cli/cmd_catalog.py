"""``archport catalog list|show|release``: print what archport knows, with sources."""

from __future__ import annotations

from rich.markup import escape

from .. import reference
from ..catalog import load
from ..errors import BadInput
from .render import Notes, first_sentence, paragraph, table


def register(sub) -> None:
    p = sub.add_parser(
        "catalog", help="show what archport knows about k3s releases and their system images",
        description="Print the catalog: k3s releases and their image lists, and per component how it is built "
                    "upstream, its image contract, other sources of missing platforms, k3s knobs and fixups. "
                    "Every fact is printed with its source; unverified facts are marked.",
    )
    actions = p.add_subparsers(dest="catalog_action", metavar="ACTION")
    actions.add_parser("list", parents=[sub.common], help="list known releases and components",
                       epilog="  archport catalog list\n  archport --json catalog list")
    show = actions.add_parser("show", parents=[sub.common], help="everything known about one component",
                              epilog="  archport catalog show klipper-helm\n"
                                     "  archport catalog show rancher/mirrored-pause")
    show.add_argument("component", metavar="COMPONENT|IMAGE")
    rel = actions.add_parser("release", parents=[sub.common], help="the images of one k3s release",
                             description="The images of one k3s release. VERSION is a release (v1.33.7+k3s1), "
                                         "a Kubernetes version (v1.33.7: its k3s revision whose image list was "
                                         "read, else the newest) or a minor version (1.33: the newest release "
                                         "the catalog knows).",
                             epilog="  archport catalog release 1.33\n  archport catalog release v1.33.7+k3s1")
    rel.add_argument("version", metavar="VERSION")
    p.set_defaults(run=run)


def run(args, ctx) -> int:
    catalog = load()
    action = getattr(args, "catalog_action", None)
    if action == "list":
        return _list(catalog, ctx)
    if action == "show":
        return _show(catalog.component(args.component), catalog, ctx)
    if action == "release":
        return _release(*catalog.resolve_release(args.version), catalog, ctx)
    raise BadInput("archport catalog: name an action: list, show COMPONENT or release VERSION")


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


def _release(release, chosen_because: str, catalog, ctx) -> int:
    rows = []
    for image in release.images:
        comp = catalog.component(image)
        rows.append({"image": image, "reference": release.references()[release.images.index(image)],
                     "component": comp.name, "kind": comp.kind})
    if ctx.json:
        ctx.emit(release.to_dict() | {"resolved": rows, "chosen": chosen_because})
        return 0
    if chosen_because:
        ctx.err.print(chosen_because, markup=False, highlight=False, soft_wrap=True)
    t = table("image", "component", "kind", wide=("image",),
              title=f"k3s {release.version} (Kubernetes {release.kubernetes})")
    for row in rows:
        # The familiar name (as docker prints it) keeps the row on one line.
        t.add_row(escape(reference.parse(row["reference"]).familiar()), escape(row["component"]), row["kind"])
    ctx.console.print(t)
    ctx.console.print(f"source: {_mark(release.source)}", highlight=False)
    if release.source.note:
        paragraph(ctx.console, f"note: {release.source.note}", "      ")
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
