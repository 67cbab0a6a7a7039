"""``archport check IMAGE``: prove statically that an image keeps its contract."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from .. import location
from .. import platform as platforms
from ..check import Contract, Report, check_image
from ..check.isa import Target, highest, target_board, target_isa, target_profile
from ..errors import BadInput
from ..k3s import containers, load_documents, using_image
from ..location import ArchiveLocation, RegistryLocation
from ..node import boards as node_boards
from ..node import collect
from ..node import cpu as node_cpu
from ..node import facts as node_facts
from ..reference import Reference, parse as parse_reference
from . import args as argtypes
from .render import plural


def register(sub) -> None:
    p = sub.add_parser(
        "check", help="prove an image's entrypoint resolves to an executable for the platform",
        description="Resolve what the kubelet will exec in IMAGE (the pod's command/args from --manifests, "
                    "else Entrypoint/Cmd) through PATH, WorkingDir and symlinks in the merged layers, and require "
                    "an ELF of the platform's architecture (with its interpreter and libraries) or a #! script "
                    "whose interpreter resolves the same way. For linux/riscv64, also read what ISA extensions "
                    "every ELF needs (.riscv.attributes, Go's GORISCV64) and name the lowest profile that runs "
                    "the image; with --profile, --isa or --board, a binary that needs an extension the target "
                    "lacks is a violation (it would die with SIGILL). "
                    "Exit 0: fine, 1: violations, 2: bad input.",
    )
    p.add_argument("image", metavar="IMAGE", help="registry reference, oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE")
    p.add_argument("--platform", default="linux/riscv64", metavar="OS/ARCH[/VARIANT]", type=argtypes.platform,
                   help="the platform to check (default linux/riscv64)")
    p.add_argument("--manifests", metavar="DIR|FILE",
                   help="a k3s manifests directory or a pod spec: check the command/args of the containers running IMAGE")
    p.add_argument("--image-name", metavar="REF",
                   help="the name the manifests use for IMAGE (default: IMAGE itself when it is a registry reference)")
    p.add_argument("--container", metavar="NAME", help="only the manifest container with this name")
    p.add_argument("--provenance", action="store_true",
                   help="instead: re-derive what the image shows (its Go binaries' build info, its files' SHA-256) "
                        "and compare it with its attached SBOM and provenance; exit 1 on any mismatch")
    p.add_argument("--key", metavar="PUBKEY", type=argtypes.existing_file,
                   help="with --provenance: the PEM public key the provenance's signature must verify with")
    target = p.add_argument_group("ISA target (riscv64)").add_mutually_exclusive_group()
    target.add_argument("--profile", metavar="rva20|rva22|rva23", choices=("rva20", "rva22", "rva23"),
                        help="fail when a binary needs an extension this RISC-V profile does not mandate")
    target.add_argument("--isa", metavar="STRING",
                        help="fail when a binary needs an extension this ISA string lacks (e.g. rv64gc_zba_zbb)")
    target.add_argument("--board", metavar="[USER@]HOST[:PORT]",
                        help="fail when a binary needs an extension this board lacks (its /proc/cpuinfo, over ssh)")
    ssh = p.add_argument_group("ssh (with --board)")
    ssh.add_argument("-o", "--ssh-option", action="append", default=[], metavar="OPTION",
                     help="extra ssh -o option (repeatable)")
    ssh.add_argument("-F", "--ssh-config", metavar="FILE", help="ssh configuration file (ssh -F)")
    ssh.add_argument("-i", "--identity", metavar="FILE", help="ssh private key (ssh -i)")
    ssh.add_argument("-p", "--port", type=argtypes.port_number, metavar="PORT", help="ssh port")
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


def board_cpu(args) -> node_cpu.Cpu:
    """The board's CPU: the ``cpu`` fact (``/proc/cpuinfo`` and its hwcaps), read over ssh."""
    board = node_boards.from_hosts([args.board])[0]
    opts = node_boards.SshOptions(tuple(args.ssh_option or ()), args.ssh_config, args.port, args.identity)
    raw = collect.run_one(node_boards.connect(board, opts), "cpu", timeout=60)
    if raw.rc != 0 or not raw.text.strip():
        raise BadInput(f"--board {args.board}: /proc/cpuinfo could not be read (exit status {raw.rc})")
    got, missing = node_facts.values({"cpu": raw}, ("cpu",))
    if missing:
        try:
            node_facts.BY_NAME["cpu"].parse(raw.text)
        except ValueError as e:
            raise BadInput(f"--board {args.board}: {e}") from None
    if got.get("cpu") is None:
        raise BadInput(f"--board {args.board}: its /proc/cpuinfo has no 'isa' line: not a RISC-V board")
    return got["cpu"]


def isa_target(args) -> tuple[Target | None, node_cpu.Cpu | None]:
    if args.profile:
        return target_profile(args.profile), None
    if args.isa:
        return target_isa(args.isa), None
    if args.board:
        c = board_cpu(args)
        return target_board(f"{args.board} ({c.profile.upper() if c.profile else 'below RVA20U64'}, "
                            f"isa {c.isa})", c.extensions, c.profile), c
    return None, None


def run(args, ctx) -> int:
    platform = platforms.parse(args.platform)
    if args.key and not args.provenance:
        raise BadInput("--key goes with --provenance")
    if args.provenance:
        return provenance(args, ctx, platform)
    target, cpu = isa_target(args)
    if target is not None and platform.architecture != "riscv64":
        raise BadInput(f"--profile, --isa and --board are RISC-V targets; the platform is {platform}")
    contracts = contracts_from_manifests(args) if args.manifests else [Contract()]
    source = ctx.open_source(args.image)
    report = check_image(source, platform, contracts, isa=target)
    if ctx.json:
        doc = report.to_dict()
        if cpu is not None:
            doc["board"] = {"host": args.board, "cpu": cpu.to_dict()}
        ctx.emit(doc)
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
                  + (f"  ({plural(report.layers, 'layer')}, {plural(report.files, 'path')})" if report.layers else ""), highlight=False)
    if report.platform.architecture == "riscv64" and report.layers:
        console.print("  " + escape(isa_summary(report)), highlight=False)
    for f in report.findings:
        _finding_lines(console, f, "  ")
    for o in report.outcomes:
        mark = "[green]✓[/]" if o.ok else "[red]✗[/]"
        console.print(f"  {mark} {escape(o.contract.source)}: exec {escape(str(list(o.argv)))}", highlight=False)
        for s in o.steps:
            console.print(f"      {escape(s.path)}  [dim]{escape(s.note)}[/]", highlight=False)
        for f in o.findings:
            _finding_lines(console, f, "    ")


def isa_summary(report: Report) -> str:
    """One line: the profile the image needs, and against what it was checked."""
    need, beyond = highest(report.requirements)
    n = len(report.requirements)
    if not n:
        text = "ISA: no RISC-V binary says what it needs (none, or none readable)"
    elif beyond:
        text = f"ISA: some of its {n} RISC-V binaries need more than any RVA profile"
    else:
        text = f"ISA: needs {need.upper() if need else '?'} ({n} RISC-V binar{'y' if n == 1 else 'ies'} read)"
    if report.target is not None:
        text += f"; checked against {report.target.name}"
    return text


def provenance(args, ctx, platform) -> int:
    from ..attest.rederive import verify     # only --provenance walks every file (start-up time)
    key = Path(args.key).read_bytes() if args.key else None
    v = verify(ctx.open_source(args.image), platform, key)
    if ctx.json:
        ctx.emit(v.to_dict())
        return 0 if v.ok else 1
    out = ctx.console
    status = "[green]matches its attachments[/]" if v.ok else "[red]does not match its attachments[/]"
    out.print(f"{escape(v.image)} {v.platform} {v.digest}: {status}", highlight=False)
    out.print(f"  referrers ({escape(v.listing)}): "
              + (", ".join(escape(a) for a, _ in v.attachments) or "none"), highlight=False)
    if v.signature:
        out.print(f"  signature: {v.signature}", highlight=False)
    for p in v.problems:
        out.print(f"  [red]mismatch[/] {escape(p)}", highlight=False)
    return 0 if v.ok else 1
