"""``archport audit``: every image a k3s node needs, where it pulls each from,
and whether the node's platform is there."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.markup import escape
from rich.table import Table
from ruamel.yaml.error import YAMLError

from .. import platform as plat
from .. import yamlsafe
from ..audit import run as use
from ..audit.fit import registry_fit
from ..audit.lookup import registry_lookup
from ..catalog import load as load_catalog
from ..errors import BadInput
from ..k3s.manifests import load_documents
from . import args as argtypes
from . import boards
from .k3srelease import add_option as add_releases_url, k3s_release, with_kept
from .render import plural, say_release

# What the "needed by" column says for each kind of reason.
_KIND = {"release": "k3s", "manifest": "manifest", "helmchart": "helm", "helm-job": "helm-job",
         "pause": "pause", "servicelb": "svclb", "pod": "pod"}
_STATUS = {"ok": "[green]yes[/]", "unfit": "[red]SIGILL[/]", "in-store": "[green]imported[/]", "missing": "[red]missing[/]",
           "unknown": "[yellow]?[/]", "not-checked": "[dim]-[/]"}


def register(sub) -> None:
    p = sub.add_parser(
        "audit", help="list every image a k3s node needs, where it pulls each from, and which lack its platform",
        description="Gather the images a node needs (the k3s release's list, its manifests and HelmChart "
                    "values, the pause image, klipper-lb, the running pods), resolve each through "
                    "registries.yaml and system-default-registry, and ask the registry which platforms the "
                    "tag offers. Exit 0: every image has the node's platform; 1: some lack it; 2: bad input.")
    boards.add_options(p, fleet_help="read a node over SSH with the system ssh client",
                       local_help="read this machine as the node (k3s runs here; the same as --host localhost)")
    src = p.add_argument_group("what to audit, when not (only) a board")
    src.add_argument("--from", dest="from_dump", metavar="DIR|FILE.tar.gz", help="read a dump from archport collect")
    src.add_argument("--k3s", metavar="VERSION",
                     help="the k3s release, e.g. 1.33: the newest 1.33 the catalog knows "
                          "(default: the node's k3s --version)")
    add_releases_url(src)
    src.add_argument("--manifests", metavar="DIR|FILE",
                     help="a k3s manifests directory (default: the node's server/manifests)")
    src.add_argument("--config", metavar="FILE", help="a k3s config.yaml to use instead of the node's")
    src.add_argument("--registries", metavar="FILE", help="a registries.yaml to use instead of the node's")
    src.add_argument("--root", default="", metavar="DIR", help="read the node's files under DIR instead of /")
    p.add_argument("--platform", metavar="OS/ARCH[/VARIANT]", type=argtypes.platform,
                   help="the node's platform (default: the node's own, else linux/riscv64)")
    p.add_argument("--no-registry", action="store_true", help="list the images only; ask no registry")
    p.set_defaults(run=run)


def run(args, ctx) -> int:
    nodes = boards.boards(args, required=False)
    if not (nodes or args.from_dump or args.k3s or args.manifests):
        raise BadInput("name what to audit: --host, --inventory, --local, --from, --k3s VERSION or --manifests DIR")
    if nodes and args.from_dump:
        raise BadInput("--host/--inventory/--local and --from each name the node; give one of them")
    boards.check_root(args, nodes)
    if args.manifests and not Path(args.manifests).exists():
        raise BadInput(f"--manifests {args.manifests}: no such file or directory")
    target = plat.parse(args.platform) if args.platform else None
    catalog = load_catalog()
    release, which = k3s_release(ctx, catalog, args) if args.k3s else (None, "")
    catalog = with_kept(catalog, args, ctx)      # a node's own version: a list read from its release first
    given = use.Given(
        catalog, release,
        config=_yaml_file(args.config, "--config"), registries=_yaml_file(args.registries, "--registries"),
        documents=load_documents(args.manifests) if args.manifests else None, target=target,
        lookup=None if args.no_registry else registry_lookup(ctx.registry()), workers=ctx.jobs * 2,
        fit=None if args.no_registry else (lambda cpu: registry_fit(ctx.registry(), cpu)))
    failed: list[use.Failure] = []
    if nodes:
        results, failed = use.boards(nodes, lambda b: boards.connect(args, b), given, args.root)
    elif args.from_dump:
        results = [use.dump(args.from_dump, given)]
    else:
        results = [use.files(given)]
    ok = all(r.ok for r in results) and not failed
    # Named once the inputs were read and audited, so that bad input stays one line.
    say_release(which, ctx)
    if ctx.json:
        docs = [r.to_dict() for r in results] + [f.to_dict() for f in failed]
        ctx.emit(docs[0] if len(docs) == 1 else {"complete": ok, "nodes": docs})
    else:
        for r in results:
            render(ctx.console, r, catalog.about)
        for f in failed:
            ctx.console.print(f"[bold red]{escape(f.source)}[/]: not audited: {escape(f.error)}",
                              highlight=False, soft_wrap=False)
    return 0 if ok else 1


def _yaml_file(path: str | None, flag: str):
    if path is None:
        return None
    try:
        doc = yamlsafe.load(Path(path).read_text(encoding="utf-8"), f"{flag} {path}")
    except OSError as e:
        raise BadInput(f"{flag} {path}: {e.strerror}") from None
    except (YAMLError, UnicodeDecodeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BadInput(f"{flag} {path}: not valid YAML: {first}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise BadInput(f"{flag} {path}: expected a YAML mapping")
    return doc


def render(out, result, about=None) -> None:
    """A table that fits 80 columns; reasons, endpoints and errors under it.
    ``about(image)``: the catalog's line on an image ("" if it does not know it)."""
    inv = result.inventory
    head = f"[bold]{escape(result.source or 'node')}[/] needs {plural(len(result.rows), 'image')} for {result.target}"
    if result.board:
        head += f" (CPU {escape(result.board)})"
    if inv.system_default_registry:
        head += f"; system-default-registry {escape(inv.system_default_registry)}"
    if inv.disabled:
        head += f"; disabled: {escape(', '.join(inv.disabled))}"
    out.print(head, highlight=False, soft_wrap=False)
    out.print(_table(result, out.width), soft_wrap=False)
    details = Table.grid(padding=(0, 1))          # numbered, with a hanging indent
    details.add_column(justify="right")
    details.add_column(overflow="fold")
    for i, r in enumerate(result.rows, 1):
        details.add_row(f"{i}.", escape("\n".join(_details(r, result.target, about))))
    out.print(details, soft_wrap=False)
    for n in inv.notes:
        out.print(f"[blue]note:[/] {escape(n)}", highlight=False, soft_wrap=False)
    bad = result.problems
    if not bad:
        out.print(f"[bold green]every image offers {result.target}[/]"
                  if all(r.looked_up for r in result.rows) else "[dim]registry not asked (--no-registry)[/]",
                  highlight=False)
        return
    lack = [r for r in bad if r.status in ("missing", "unfit")]
    unknown = len(bad) - len(lack)
    unfit = sum(r.status == "unfit" for r in lack)
    of = f" of {plural(len(result.rows), 'image')}"
    said = []
    if lack:
        said.append(f"{len(lack)}{of} lack {result.target}"
                    + (f" or do not fit the board's CPU ({unfit})" if unfit else ""))
    if unknown:
        said.append(f"{unknown}{'' if lack else of} could not be checked")
    out.print(f"[bold red]{', '.join(said)}[/]", highlight=False, soft_wrap=False)
    for u in result.unreached:
        _unreached(out, u)
    if lack:
        # Porting is the next step only for what the registry said lacks the
        # platform: an image it never answered for would fail the same way.
        out.print(f"next: archport port {' '.join(r.need.familiar for r in lack)} --arch "
                  f"{result.target.architecture} --to REGISTRY", highlight=False, soft_wrap=False)


def _unreached(out, u) -> None:
    """One registry this machine cannot reach: said once, with every image it
    left unchecked and the flag that gets an answer anyway."""
    what = f"the node's mirror {u.registry} (for {u.mirror_of})" if u.mirror_of else f"registry {u.registry}"
    cause = u.cause if u.cause.startswith("cannot reach") else f"cannot reach {what}: {u.cause}"
    out.print(f"[red]{escape(cause)}[/]; not checked: {plural(len(u.images), 'image')} "
              f"({escape(', '.join(u.images))})", highlight=False, soft_wrap=False)
    if u.mirror_of:
        # The node's own endpoint: the node may reach it where this machine does not.
        out.print(f"next: audit on the node (--host [USER@]HOST[:PORT]) or where {escape(u.registry)} answers; "
                  "--no-registry lists the images without asking any registry", highlight=False, soft_wrap=False)
        return
    out.print(f"next: audit again with --mirror {escape(u.registry)}=HOST, a registry this machine reaches "
              f"that holds the same images (--plain-http HOST if it speaks plain HTTP), or where "
              f"{escape(u.registry)} answers; --no-registry lists the images without asking any registry",
              highlight=False, soft_wrap=False)


def _table(result, width: int) -> Table:
    """One row per image: what needs it, what its tag offers, and the verdict."""
    cells = []
    for i, r in enumerate(result.rows, 1):
        offers = "?" if r.platforms is None else " ".join(_arch(p) for p in r.platforms) or "nothing"
        cells.append((str(i), r.need.familiar, " ".join(dict.fromkeys(_KIND[k] for k in r.need.kinds)),
                      offers if r.looked_up else "-", r.status))
    # Fixed widths that add up to the console's: the image name gets what the
    # short columns leave (rich would otherwise squeeze the status column).
    arch = result.target.architecture
    w = [max([len(c[k]) for c in cells] + [len(h)]) for k, h in enumerate(("#", "image", "needed by", "offers"))]
    w[2], w[3] = min(w[2], 12), min(w[3], 6)
    status_w = max(len(arch), 8)
    w[1] = max(16, min(w[1], width - (w[0] + w[2] + w[3] + status_w) - 12))   # 4 dividers, 8 padding
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    t.add_column("#", justify="right", width=w[0])
    t.add_column("image", overflow="fold", width=w[1])
    t.add_column("needed by", overflow="fold", width=w[2])
    t.add_column("offers", overflow="fold", width=w[3])
    t.add_column(arch, no_wrap=True, width=status_w)
    for (n, image, why, offers, status), r in zip(cells, result.rows):
        mark = "[green]airgap[/]" if r.supplied_by.startswith("agent/") else _STATUS[status]
        t.add_row(n, escape(image), escape(why), escape(offers), mark)
    return t


def _details(r, target, about=None) -> list[str]:
    """Why one image is needed, where it is pulled from, and what went wrong."""
    lines = [f"needed by: {'; '.join(why for _, why in r.need.reasons)}"]
    a = r.answered
    if a is not None and not a.endpoint.default:
        how = f"registries.yaml mirror {a.endpoint.mirror}" + (", rewritten" if a.endpoint.rewritten else "")
        lines.append(f"pulled from {a.endpoint.reference} ({how})")
    elif a is None and r.resolution.endpoints and not r.resolution.endpoints[0].default:
        lines.append("endpoints: " + ", ".join(str(e.reference) for e in r.resolution.endpoints))
    if r.status == "missing":
        lines.append(f"lacks {target}: offers {', '.join(str(p) for p in r.platforms) or 'nothing'}")
        known = about(r.need.familiar) if about else ""
        if "not supported here:" in known:
            # port would stop at it (k3s's upgrade images, klipper-helm's EOL
            # lines): say what it is and why now, not after a port run.
            lines.append(f"archport cannot build it here: {known}")
    if r.fit is not None and r.fit.error:
        lines.append(f"its binaries could not be read: {r.fit.error}")
    elif r.fit is not None and r.fit.lacking:
        b = r.fit.lacking[0]
        more = f" (and {len(r.fit.lacking) - 1} more binaries)" if len(r.fit.lacking) > 1 else ""
        lines.append(f"does not fit the board's CPU: {b.path} needs {', '.join(b.lacking)} ({b.built_by}){more}; "
                     f"it dies with SIGILL: archport port {r.need.familiar} --arch {target.architecture} --rebuild "
                     f"--profile {r.fit.profile or '<board profile>'} --to REGISTRY")
    if r.in_store:
        lines.append(f"supplied by the node's {r.supplied_by}: no pull needed"
                     + (f" (the registry lacks {target})" if r.has_platform is False else ""))
    if r.error and (r.status == "unknown" or a is None):
        said = [x for x in r.attempts if x.error and not x.unreachable]
        gone = list(dict.fromkeys(x.unreachable for x in r.attempts if x.unreachable))
        if gone:   # said once for every image, under the notes
            lines.append(f"not checked: cannot reach {' or '.join(gone)} (below)")
        if said:
            lines.append("error: " + "; ".join(f"{x.endpoint.url}: {x.error}" for x in said))
    return lines + list(r.resolution.notes)


def _arch(p) -> str:
    return f"{p.architecture}/{p.variant}" if p.variant else p.architecture
