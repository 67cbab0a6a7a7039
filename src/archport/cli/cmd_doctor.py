"""``archport doctor``: name the root cause of every failing pod, with the fix."""

from __future__ import annotations

import os
import re
import sys
import tarfile
import tempfile

from rich.markup import escape

from .. import platform as plat
from ..doctor import analyze, crosscheck, hardware, sv57, text
from ..doctor.report import UNCLASSIFIED
from ..node import collect
from ..node.facts import label as fact_label
from ..node.boards import Board
from ..errors import ArchportError, BadInput
from . import args as argtypes
from . import boards
from .render import table


def add_source_options(p) -> None:
    """Where the facts come from; shared with ``archport collect``."""
    boards.add_options(p, fleet_help="read a board over SSH with the system ssh client (~/.ssh/config, agent, "
                                     "jump hosts work)",
                       local_help="read this machine (the default when no board is named)")
    g = p.add_argument_group("what to read on the node")
    g.add_argument("--root", default="", metavar="DIR",
                   help="read the node's files under DIR instead of / (a mounted image or chroot)")
    g.add_argument("--journal-lines", type=argtypes.positive_int, default=2000, metavar="N",
                   help="how many lines of the k3s journal and containerd.log to read (default 2000)")


def targets(args) -> list[Board]:
    """The boards to read: those named, else this machine; ``--root`` checked
    here when the board is this machine (elsewhere it is the board's path)."""
    found = boards.boards(args, required=False, default_local=True)
    boards.check_root(args, found)
    return found


def register(sub) -> None:
    p = sub.add_parser(
        "doctor", help="explain why pods fail on a k3s node (live, over SSH, or from a dump or pasted text)",
        description="Read pods, events, nodes, crictl, the k3s journal, containerd.log and k3s config; group "
                    "the failures by root cause and print the fix. Exit 0 healthy, 1 problems found, 2 bad input.",
    )
    add_source_options(p)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--from", dest="from_dump", metavar="DIR|FILE",
                     help="read a dump from archport collect (a directory or .tar.gz); any other file, or '-' "
                          "(stdin), is read as pasted text, like --from-text")
    src.add_argument("--from-text", metavar="FILE",
                     help="read pasted text ('-' = stdin): kubectl get pods/events, describe pod, crictl "
                          "pods/ps/images/pull, the k3s journal, containerd.log")
    p.add_argument("--platform", metavar="OS/ARCH[/VARIANT]", type=argtypes.platform,
                   help="the node's platform (default: read from the node)")
    p.add_argument("--no-registry", action="store_true",
                   help="skip the registry cross-check (which platforms each failing image offers, on an "
                        "Sv57 kernel which Go built the images' binaries, and after a SIGILL which of an image's "
                        "binaries need ISA extensions the board lacks)")
    p.set_defaults(run=run)


def gather(args):
    """The facts of what --from/--from-text names, else None (read the boards)."""
    pasted = args.from_text or (args.from_dump if _is_paste(args.from_dump) else "")
    if pasted:
        try:
            data = sys.stdin.read() if pasted == "-" else open(pasted, encoding="utf-8", errors="replace").read()
        except OSError as e:
            raise BadInput(f"{pasted}: {e.strerror}") from None
        return text.parse(data, source=pasted)
    if args.from_dump:
        with tempfile.TemporaryDirectory(prefix="archport-dump-") as tmp:
            return collect.read(args.from_dump, tmp)
    return None


def _is_paste(path: str | None) -> bool:
    """Text that is not a collect archive (by name or by content) is pasted output."""
    if not path or path == "-":
        return bool(path)
    if not os.path.isfile(path) or re.search(r"\.(tar(\.\w+)?|tgz)$", path) or tarfile.is_tarfile(path):
        return False
    with open(path, "rb") as f:
        return b"\0" not in f.read(8192)


def run(args, ctx) -> int:
    named = (args.host or args.inventory or args.local)
    if named and (args.from_dump or args.from_text):
        raise BadInput("--host/--inventory/--local read a live node; they cannot be combined with --from/--from-text")
    facts = gather(args)
    if facts is not None:
        return diagnose(args, ctx, facts)
    found = targets(args)
    if len(found) == 1:
        return diagnose(args, ctx, collect.live(boards.connect(args, found[0]), args.root, args.journal_lines))
    # Several boards: each one's report; one that cannot be read does not stop the others.
    docs, worst = [], 0
    for b in found:
        try:
            facts = collect.live(boards.connect(args, b), args.root, args.journal_lines)
        except ArchportError as e:
            if isinstance(e, BadInput):
                raise
            docs.append({"board": b.name, "healthy": False, "error": str(e)})
            if not ctx.json:
                ctx.console.print(f"[bold red]{escape(b.name)}[/]: not read: {escape(str(e))}", highlight=False)
            worst = 1
            continue
        if not ctx.json:
            ctx.console.print(f"[bold]== {escape(b.name)} ==[/]", highlight=False)
        rc, doc = _report(args, ctx, facts)
        docs.append({"board": b.name, **doc})
        worst = max(worst, rc)
    if ctx.json:
        ctx.emit({"healthy": worst == 0, "boards": docs})
    return worst


def diagnose(args, ctx, facts) -> int:
    rc, doc = _report(args, ctx, facts)
    if ctx.json:
        ctx.emit(doc)
    return rc


def _report(args, ctx, facts) -> tuple[int, dict]:
    """One node's report: rendered (without --json), and as a document."""
    from ..catalog import load as load_catalog   # read only when doctor runs, never for --help
    report = analyze.analyze(facts, args.platform, load_catalog())
    if not args.no_registry:
        images = crosscheck.images_to_check(report)
        if images:
            results = crosscheck.lookup_all(images, crosscheck.registry_lookup(ctx.registry()), ctx.jobs * 2)
            crosscheck.cross_check(report, results)
        _sv57(facts, report, ctx)
        _isa(facts, report, ctx)
    elif sv57.applies(facts, plat.parse(report.platform)):
        report.notes.append("Sv57 kernel: the Go versions of the images' binaries were not read (--no-registry)")
    if not ctx.json:
        render(report, ctx.console)
    return (0 if report.healthy else 1), report.to_dict()


def _sv57(facts, report, ctx) -> None:
    """On an Sv57 kernel, read the Go version of every image the pods run."""
    platform = plat.parse(report.platform)
    if not sv57.applies(facts, platform):
        return
    images = sv57.images_in_use(facts, analyze.familiar)
    results = crosscheck.lookup_all(images, sv57.registry_probe(ctx.open_source, platform), ctx.jobs)
    sv57.apply(report, facts, results, analyze.familiar)


def _isa(facts, report, ctx) -> None:
    """On a board whose CPU is known, name the binaries of each image that died with SIGILL."""
    images = hardware.images_to_probe(report)
    if not images or facts.cpu is None:
        return
    probe = hardware.registry_probe(ctx.open_source, plat.parse(report.platform), facts.cpu)
    hardware.apply(report, facts, crosscheck.lookup_all(images, probe, ctx.jobs))


def render(report, console) -> None:
    """A summary table, then one block per root cause.  Commands are printed
    whole (never cropped to the terminal width) so they can be copied."""
    pods = (f"{report.pods_failing} of {report.pods_total} pods failing" if report.pods_total
            else "no pods listed")
    # '-' is stdin: the text pasted there names no node.
    name = {"": "node", "-": "pasted text"}.get(report.source, report.source)
    console.print(f"[bold]{escape(name)}[/] ({report.platform}): {pods}")
    for line in report.node:
        console.print(f"   {escape(line)}", crop=False, overflow="ignore", highlight=False)
    if not report.groups:
        console.print("[green]healthy[/]: no failing pods and no node problems found")
    colors = {"error": "red", "warning": "yellow", "info": "blue"}
    if report.groups:
        t = table("#", "pods", "root cause", wide=("root cause",), right=("#", "pods"))
        for i, g in enumerate(report.groups, 1):
            t.add_row(str(i), str(len(g.pods)) if g.pods else ("-" if g.images or g.cause == UNCLASSIFIED else "node"),
                      f"[{colors[g.severity]}]{escape(g.title)}[/]")
        console.print(t)
    for i, g in enumerate(report.groups, 1):
        console.print(f"\n[bold {colors[g.severity]}]{i}. {escape(g.title)}[/]")
        if g.pods:
            shown = ", ".join(g.pods[:12]) + (f" … and {len(g.pods) - 12} more" if len(g.pods) > 12 else "")
            console.print(f"   pods: {escape(shown)}")
        for e in g.evidence:
            console.print(f"   [dim]evidence:[/] “{escape(_clip(e))}”")
        for k in g.known:
            console.print(f"   catalog: {escape(k)}")
        for image, r in g.platforms.items():
            if "error" in r:
                console.print(f"   registry: {escape(image)}: {escape(r['error'])}")
            else:
                mark = "has" if r["has_node_platform"] else "[red]lacks[/]"
                console.print(f"   registry: {escape(image)} {mark} {report.platform} "
                              f"(offers {escape(', '.join(r['platforms']) or 'nothing')})")
        for f in g.fix:
            console.print(f"   [bold]fix:[/] {escape(f)}", crop=False, overflow="ignore")
        for c in g.consequences:
            console.print(f"   [italic]→ {escape(c)}[/]")
    for n in report.notes:
        console.print(f"[blue]note:[/] {escape(n)}")
    if report.missing:
        # In the user's words (the file or command), not our fact names.
        shown = ", ".join(fact_label(m) for m in report.missing)
        console.print(f"[dim]not available: {escape(shown)}[/]", soft_wrap=True)


def _clip(s: str, n: int = 400) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"
