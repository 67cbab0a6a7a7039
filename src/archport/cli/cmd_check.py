"""``archport check IMAGE``: prove statically that an image keeps its contract."""

from __future__ import annotations

from rich.markup import escape

from .. import location
from .. import platform as platforms
from ..check import Contract, Report, check_image
from ..errors import BadInput
from ..k3s import containers, load_documents, using_image
from ..location import ArchiveLocation, RegistryLocation
from ..reference import Reference, parse as parse_reference
from . import args as argtypes


def register(sub) -> None:
    p = sub.add_parser(
        "check", help="prove an image's entrypoint resolves to an executable for the platform",
        description="Resolve what the kubelet will exec in IMAGE (the pod's command/args from --manifests, "
                    "else Entrypoint/Cmd) through PATH, WorkingDir and symlinks in the merged layers, and require "
                    "an ELF of the platform's architecture (with its interpreter and libraries) or a #! script "
                    "whose interpreter resolves the same way. Exit 0: fine, 1: violations, 2: bad input.",
    )
    p.add_argument("image", metavar="IMAGE", help="registry reference, oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE")
    p.add_argument("--platform", default="linux/riscv64", metavar="OS/ARCH[/VARIANT]", type=argtypes.platform,
                   help="the platform to check (default linux/riscv64)")
    p.add_argument("--manifests", metavar="DIR|FILE",
                   help="a k3s manifests directory or a pod spec: check the command/args of the containers running IMAGE")
    p.add_argument("--image-name", metavar="REF",
                   help="the name the manifests use for IMAGE (default: IMAGE itself when it is a registry reference)")
    p.add_argument("--container", metavar="NAME", help="only the manifest container with this name")
    p.set_defaults(run=run)


def _image_name(args) -> Reference | None:
    if args.image_name:
        return parse_reference(args.image_name)
    loc = location.parse(args.image)
    if isinstance(loc, RegistryLocation):
        return loc.ref
    if isinstance(loc, ArchiveLocation) and loc.kind == "docker-archive" and loc.name:
        return parse_reference(loc.name)
    return None


def contracts_from_manifests(args) -> list[Contract]:
    found = containers(load_documents(args.manifests))
    name = _image_name(args)
    if name is not None:
        chosen = using_image(found, name)
    elif args.container:
        chosen = list(found)
    else:
        raise BadInput(f"cannot tell which containers in {args.manifests} run {args.image}; "
                       "pass --image-name REF (the image: value the manifests use) or --container NAME")
    if args.container:
        chosen = [c for c in chosen if c.name == args.container]
    if not chosen:
        images = sorted({c.image for c in found})
        wanted = name.normalized() if name is not None else f"container {args.container!r}"
        raise BadInput(f"no container in {args.manifests} runs {wanted}; images there: {', '.join(images) or 'none'}")
    return [Contract(c.describe(), c.command, c.args, c.working_dir, c.env) for c in chosen]


def run(args, ctx) -> int:
    platform = platforms.parse(args.platform)
    contracts = contracts_from_manifests(args) if args.manifests else [Contract()]
    source = ctx.open_source(args.image)
    report = check_image(source, platform, contracts)
    if ctx.json:
        ctx.emit(report.to_dict())
    else:
        render(ctx.console, report)
    return 0 if report.ok else 1


def _finding_lines(console, f, indent: str) -> None:
    colour = "red" if f.is_error else "yellow"
    console.print(f"{indent}[{colour}]{f.severity}[/] {escape(f.message)}", highlight=False)
    if f.runtime_error:
        console.print(f"{indent}  on the node: [bold]{escape(f.runtime_error)}[/]"
                      + (f" ({escape(f.effect)})" if f.effect else ""), highlight=False)


def render(console, report: Report) -> None:
    status = "[green]ok[/]" if report.ok else "[red]violations[/]"
    console.print(f"{escape(report.image)} for {report.platform}: {status}"
                  + (f"  ({report.layers} layers, {report.files} paths)" if report.layers else ""), highlight=False)
    for f in report.findings:
        _finding_lines(console, f, "  ")
    for o in report.outcomes:
        mark = "[green]✓[/]" if o.ok else "[red]✗[/]"
        console.print(f"  {mark} {escape(o.contract.source)}: exec {escape(str(list(o.argv)))}", highlight=False)
        for s in o.steps:
            console.print(f"      {escape(s.path)}  [dim]{escape(s.note)}[/]", highlight=False)
        for f in o.findings:
            _finding_lines(console, f, "    ")
