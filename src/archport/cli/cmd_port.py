"""``archport port IMAGE… | --k3s VERSION --arch ARCH --to DEST``: build and publish missing platforms."""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path
from types import MappingProxyType

from rich.markup import escape
from rich.table import Table

from .. import platform as platforms
from ..errors import BadInput
from ..port import Options, Session, parse_destination, port_all
from ..strategies import Env

STRATEGIES = ("auto", "mirror", "go", "release", "c", "deb")
# Passed through to the go command (issue 4): the user's proxy, checksum DB and
# privacy settings, plus what the go command needs to find its caches.
GO_ENV = ("PATH", "HOME", "USER", "TMPDIR", "GOPROXY", "GOSUMDB", "GOFLAGS", "GOPRIVATE", "GONOSUMDB",
          "GONOPROXY", "GOINSECURE", "GOPATH", "GOMODCACHE", "GOCACHE", "GOTOOLCHAIN", "GORISCV64",
          "GOENV", "GOROOT", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
          "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "NETRC")


def register(sub) -> None:
    p = sub.add_parser(
        "port", help="give images (or a whole k3s release) the platform their tags lack",
        description="For each IMAGE (or every image of --k3s VERSION): choose a strategy (present, mirror, go, "
                    "release, c, deb), build the missing platform, prove it with check and smoke, then push the "
                    "upstream platforms digest-preserved plus the new one under DEST. Exit 0: everything ported, "
                    "1: a partial port, 2: bad input.")
    p.add_argument("images", nargs="*", metavar="IMAGE")
    p.add_argument("--k3s", metavar="VERSION", help="port every image of this k3s release (e.g. v1.24.2)")
    p.add_argument("--arch", default="riscv64", metavar="ARCH", help="target architecture (default riscv64)")
    p.add_argument("--to", dest="dest", metavar="DEST",
                   help="REGISTRY[/PREFIX] (images keep their repository path and tag under it) or oci:DIR")
    p.add_argument("--airgap", metavar="FILE", help="also write an airgap archive (.tar, .tar.gz, .tar.zst) "
                                                    "with the target platform of every image")
    p.add_argument("--strategy", choices=STRATEGIES, default="auto", help="restrict to one strategy (default auto)")
    p.add_argument("--explain", action="store_true", help="print each strategy's decision and reason; build nothing")
    p.add_argument("--rebuild", action="store_true",
                   help="build the platform even when the tag has it, and replace it in the destination's index "
                        "(e.g. binaries from Go <= 1.19, which crash on Sv57 kernels); other platforms stay "
                        "byte for byte")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a destination tag that holds something other than the upstream images (by "
                        "default port refuses to move a tag it did not make)")
    p.add_argument("--go-version", metavar="V", help="build with this Go toolchain (through GOTOOLCHAIN)")
    p.add_argument("--allow-unverified", action="store_true",
                   help="accept release assets without a published checksum")
    p.add_argument("--catalog", action="append", default=[], metavar="EXTRA.toml",
                   help="extra catalog entries (components, fixups)")
    p.add_argument("--debian-archive", metavar="URL",
                   help="Debian archive for the deb strategy (default: the first deb URI of this machine's apt sources)")
    p.add_argument("--debian-keyring", metavar="FILE", help="keyring that signs that archive's InRelease")
    p.add_argument("--debian-suite", metavar="SUITE",
                   help="Debian suite for the deb strategy (default: the catalog's, e.g. trixie); another suite "
                        "helps when a mirror is caught mid-sync")
    p.add_argument("--cache-dir", metavar="DIR", help="build cache (default ~/.cache/archport)")
    p.add_argument("--manifests", metavar="DIR|FILE",
                   help="k3s manifests: also check the command/args of the containers running each image")
    p.add_argument("--smoke-args", metavar="ARGS", help="arguments for the smoke run (one shell-quoted string, e.g. "
                                                        "'--help'): they replace the Cmd when the image has an "
                                                        "Entrypoint, else follow the Cmd's program")
    p.add_argument("--smoke-timeout", type=float, default=60, metavar="S",
                   help="a smoke run still going after S seconds counts as a running server (default 60)")
    p.add_argument("--no-smoke", action="store_true", help="skip the emulated run (check still runs)")
    p.set_defaults(run=run)


def _catalog(args):
    from ..catalog import load
    cat = load()
    if args.catalog:
        from ..port.catalog_extra import with_extras
        cat = with_extras(cat, args.catalog)
    return cat


def run(args, ctx) -> int:
    if bool(args.images) == bool(args.k3s):
        raise BadInput("name IMAGE… or --k3s VERSION (one of them)")
    if not args.dest:
        raise BadInput("--to DEST is required: REGISTRY[/PREFIX] or oci:DIR")
    if args.rebuild and args.strategy == "mirror":
        raise BadInput("--rebuild builds the platform again; --strategy mirror copies someone else's build")
    dest = parse_destination(args.dest)
    target = platforms.parse(f"linux/{args.arch}" if "/" not in args.arch else args.arch)
    catalog = _catalog(args)
    images = list(args.images)
    if args.k3s:
        images = list(catalog.release(args.k3s).images)
    cache_dir = Path(args.cache_dir or os.path.join(ctx.env.get("HOME") or os.path.expanduser("~"), ".cache",
                                                     "archport"))
    go_env = {k: v for k, v in ctx.env.items() if k in GO_ENV}
    say = (lambda m: None) if ctx.json else (lambda m: ctx.err.print(f"[dim]{escape(m)}…[/]", highlight=False))
    opts = Options(target=target, strategies=None if args.strategy == "auto" else (args.strategy,),
                   explain=args.explain, rebuild=args.rebuild, overwrite=args.overwrite,
                   manifests=args.manifests, smoke=not args.no_smoke,
                   smoke_args=tuple(shlex.split(args.smoke_args)) if args.smoke_args else None,
                   smoke_timeout=args.smoke_timeout, workers=ctx.jobs)
    airgap = None
    if args.airgap and not args.explain:
        from ..airgap import AirgapSink
        airgap = AirgapSink(args.airgap)
    import httpx
    with tempfile.TemporaryDirectory(prefix="archport-port-") as work, \
            httpx.Client(timeout=60, follow_redirects=True) as http:
        env = Env(workdir=Path(work), cache_dir=cache_dir, catalog=catalog,
                  registry=ctx.registry(), http=http, go_env=MappingProxyType(go_env), go_version=args.go_version,
                  allow_unverified=args.allow_unverified, debian_archive=args.debian_archive,
                  debian_keyring=args.debian_keyring, debian_suite=args.debian_suite, log=say)
        session = Session(env=env, dest=dest, open_source=ctx.open_source,
                          registry=None if dest.layout else ctx.registry(), airgap=airgap, progress=say)
        try:
            results = port_all(session, images, opts, from_release=bool(args.k3s))
            if airgap is not None:
                airgap.commit()
        except BaseException:
            if airgap is not None:
                airgap.abort()
            raise
    ok = all(r.ok for r in results)
    if ctx.json:
        ctx.emit({"target": str(target), "destination": args.dest, "complete": ok,
                  "airgap": args.airgap, "images": [r.to_dict() for r in results]})
    else:
        render(ctx, results, ok, args)
    return 0 if ok else 1


def render(ctx, results, ok: bool, args) -> None:
    out = ctx.console
    if args.explain:
        for r in results:
            out.print(f"[bold]{escape(r.image)}[/]", highlight=False)
            for name, applies, reason in r.decisions:
                mark = "[green]applies[/]" if applies else "[dim]no[/]"
                out.print(f"  {name:8} {mark}  {escape(reason)}", highlight=False)
            if not r.decisions:
                out.print(f"  {escape(r.reason)}", highlight=False)
        return
    t = Table(show_lines=False)
    for col in ("image", "status", "strategy / why", "fixups", "check", "smoke", "digest", "time"):
        t.add_column(col, overflow="fold")
    for r in results:
        colour = "green" if r.ok else "red"
        t.add_row(escape(r.image), f"[{colour}]{r.status}[/]",
                  escape(f"{r.strategy}: {r.reason}" if r.strategy else r.reason.splitlines()[0] if r.reason else ""),
                  escape("\n".join(r.fixups)), escape(r.check), escape(r.smoke),
                  escape(r.digest[:19] if r.digest else ""), f"{r.seconds:.1f}s")
    out.print(t)
    for r in results:
        if not r.ok:
            out.print(f"[red]{escape(r.image)}[/]: {escape(r.reason)}", highlight=False)
            if r.next_step:
                out.print(f"  next: {escape(r.next_step)}", highlight=False)
    done = sum(r.ok for r in results)
    if ok:
        out.print(f"[bold green]all {done} image(s) have {args.arch} at {escape(args.dest)}[/]", highlight=False)
    else:
        out.print(f"[bold red]partial port: {done} of {len(results)} images done; rerun to continue[/]",
                  highlight=False)
