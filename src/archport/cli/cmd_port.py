"""``archport port IMAGE… | --k3s VERSION --arch ARCH --to DEST``: build and publish missing platforms."""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path
from types import MappingProxyType

from rich.markup import escape

from .. import platform as platforms, reference
from ..catalog import load as load_catalog
from ..catalog import riscv
from ..errors import BadInput
from . import args as argtypes
from .k3srelease import add_option as add_releases_url, k3s_release
from .render import Notes, activity_for, plural, say_release, seconds, table, unfinished

STRATEGIES = ("auto", "mirror", "go", "release", "c", "deb", "transplant")
# Passed through to the go command: the user's proxy, checksum DB and
# privacy settings, plus what the go command needs to find its caches.
GO_ENV = ("PATH", "HOME", "USER", "TMPDIR", "GOPROXY", "GOSUMDB", "GOFLAGS", "GOPRIVATE", "GONOSUMDB",
          "GONOPROXY", "GOINSECURE", "GOPATH", "GOMODCACHE", "GOCACHE", "GOTOOLCHAIN", "GORISCV64",
          "GOENV", "GOROOT", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
          "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "NETRC")


def register(sub) -> None:
    p = sub.add_parser(
        "port", help="give images (or a whole k3s release) the platform their tags lack",
        description="For each IMAGE (or every image of --k3s VERSION): choose a strategy (present, mirror, go, "
                    "release, c, deb, transplant), build the missing platform, prove it with check and smoke, "
                    "then push the upstream platforms digest-preserved plus the new one under DEST. Exit 0: "
                    "everything ported, "
                    "1: a partial port, 2: bad input.")
    _add_images_and_destination(p)
    _add_choices(p)
    _add_strategy_options(p)
    p.add_argument("--cache-dir", metavar="DIR", help="build cache (default $XDG_CACHE_HOME/archport, else "
                                                      "~/.cache/archport; created 0700)")
    _add_proof(p)
    # Blobs a registry already holds are read back and hashed (--no-verify-blobs to skip).
    p.set_defaults(run=run, verify_blobs_default=True)


def _add_images_and_destination(p) -> None:
    p.add_argument("images", nargs="*", metavar="IMAGE")
    p.add_argument("--k3s", metavar="VERSION",
                   help="port every image of this k3s release: v1.33.7+k3s1, v1.33.7, or 1.33 "
                        "(the newest 1.33 the catalog knows)")
    add_releases_url(p)
    p.add_argument("--arch", metavar="ARCH", type=argtypes.target_arch,
                   help="target architecture, short for --platform linux/ARCH (default riscv64)")
    p.add_argument("--platform", metavar="OS/ARCH[/VARIANT]", type=argtypes.target_platform,
                   help="target platform (default linux/riscv64)")
    p.add_argument("--to", dest="dest", metavar="DEST", type=argtypes.destination,
                   help="REGISTRY[/PREFIX] (images keep their repository path and tag under it) or oci:DIR")
    p.add_argument("--airgap", metavar="FILE", help="also write an airgap archive (.tar, .tar.gz, .tar.zst) "
                                                    "with the target platform of every image")
    p.add_argument("--airgap-attest", action="store_true",
                   help="also put each platform's SBOM and provenance (its OCI referrers) into the --airgap archive")
    p.add_argument("--no-attest", action="store_true",
                   help="do not attach the SBOM and provenance (OCI 1.1 referrers of each ported platform)")
    p.add_argument("--sign", metavar="KEYFILE", type=argtypes.existing_file,
                   help="also sign the provenance with this ECDSA P-256 PEM key (a sigstore bundle, attached as a "
                        "referrer; verify offline with the public key)")


def _add_choices(p) -> None:
    """Which strategy, and what to do: build, explain, rebuild, overwrite."""
    p.add_argument("--strategy", choices=STRATEGIES, default="auto", help="restrict to one strategy (default auto)")
    p.add_argument("--explain", action="store_true",
                   help="print each strategy's decision and reason, which one wins, and what DEST (without --to: "
                        "each kind of destination) would get; build nothing")
    p.add_argument("--rebuild", action="store_true",
                   help="build the platform even when the tag has it, and replace it in the destination's index "
                        "(e.g. binaries from Go <= 1.19, which crash on Sv57 kernels); other platforms stay "
                        "byte for byte")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a destination tag that holds something other than the upstream images (by "
                        "default port refuses to move a tag it did not make)")
    p.add_argument("--profile", choices=("rva20", "rva22", "rva23"), default="rva20",
                   help="riscv64: the RISC-V profile to build for (Go's GORISCV64, the C compilers' -march) and "
                        "that mirrored images must fit; default rva20, which every RV64GC board runs. Raise it "
                        "only for boards that have the profile: such binaries die with SIGILL on the others")


def _add_strategy_options(p) -> None:
    """Each strategy's options (the records :func:`_env` builds)."""
    p.add_argument("--go-version", metavar="V", help="build with this Go toolchain (through GOTOOLCHAIN)")
    p.add_argument("--allow-unverified", action="store_true",
                   help="accept release assets without a published checksum")
    p.add_argument("--catalog", action="append", default=[], metavar="EXTRA.toml", type=argtypes.text_file,
                   help="extra catalog entries (components, fixups)")
    p.add_argument("--debian-archive", metavar="URL", type=argtypes.archive_url,
                   help="Debian archive for the deb strategy (default: the first deb URI of this machine's apt sources)")
    p.add_argument("--debian-keyring", metavar="FILE", type=argtypes.existing_file,
                   help="keyring that signs that archive's InRelease")
    p.add_argument("--debian-suite", metavar="SUITE",
                   help="Debian suite for the deb strategy (default: the catalog's, e.g. trixie); another suite "
                        "helps when a mirror is caught mid-sync")
    p.add_argument("--transplant-onto", metavar="DIST:RELEASE", type=argtypes.transplant_base,
                   help="transplant: the distribution the packages come from (default: the catalog's bases in "
                        "order: alpine:3.22 when a mirror and keys are configured and it answers, else "
                        "debian:trixie); alpine:VERSION takes the upstream image's Alpine packages by name "
                        "(riscv64 from alpine:3.20)")
    p.add_argument("--alpine-mirror", metavar="URL", type=argtypes.mirror_url,
                   help="Alpine mirror for --transplant-onto alpine:VERSION, the directory above v3.20/ (default: "
                        "this machine's /etc/apk/repositories); every file is checked against the signed index")
    p.add_argument("--alpine-keys", metavar="DIR", type=argtypes.existing_dir,
                   help="the *.rsa.pub keys that sign that mirror's indexes (default: /etc/apk/keys)")
    p.add_argument("--iptables-backend", choices=("legacy", "nft"),
                   help="transplant: which iptables the iptables command runs (default: the upstream image's)")
    p.add_argument("--substitute", action="append", default=[], metavar="NAME=VERSION",
                   help="build VERSION when NAME's exact version cannot be fetched (NAME: a Go module path, its "
                        "last element, or the binary's name); recorded in the result and the image annotations")


def _add_proof(p) -> None:
    """What proves an image before it is pushed (check, smoke)."""
    p.add_argument("--manifests", metavar="DIR|FILE",
                   help="k3s manifests: with no IMAGE, port every image they run (workloads, the local-path "
                        "helper pod, HelmChart values); always check the command/args of the containers "
                        "running each image")
    p.add_argument("--smoke-args", metavar="ARGS", type=argtypes.shell_words, help="arguments for the smoke run (one shell-quoted string, e.g. "
                                                        "'--help'): they replace the catalog's smoke recipe, and the Cmd when the "
                                                        "image has an Entrypoint, else follow the Cmd's program")
    p.add_argument("--smoke-timeout", type=argtypes.seconds, default=60, metavar="S",
                   help="the longest a smoke run may take (default 60); it ends as soon as the catalog recipe's "
                        "readiness signal is seen, and without a signal a run still going then counts as a "
                        "running server")
    p.add_argument("--no-smoke", action="store_true", help="skip the emulated run (check still runs)")


def _catalog(args):
    from ..port.catalog_extra import with_extras   # port's modules load when it runs: port --help stays fast
    cat = load_catalog()
    return with_extras(cat, args.catalog) if args.catalog else cat


def _substitutes(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, version = item.partition("=")
        if not sep or not name.strip() or not version.strip() or any(c.isspace() for c in item):
            raise BadInput(f"--substitute {item!r}: expected NAME=VERSION, e.g. traefik=v2.10.4")
        out[name] = version
    return out


def _checked(args):
    """The flags that contradict each other refused (bad input), and the
    destination and the target platform parsed."""
    from ..port import parse_destination   # port's modules load when it runs: port --help stays fast
    if args.images and args.k3s:
        raise BadInput("name IMAGE… or --k3s VERSION, not both")
    if not (args.images or args.k3s or args.manifests):
        raise BadInput("name IMAGE…, --k3s VERSION, or --manifests DIR (the images its manifests run)")
    if not args.dest and not args.explain:
        raise BadInput("--to DEST is required: REGISTRY[/PREFIX] or oci:DIR")
    onto = args.transplant_onto or ""
    if onto.startswith("debian:") and args.debian_suite and args.debian_suite != onto.split(":", 1)[1]:
        raise BadInput(f"--transplant-onto {onto} and --debian-suite {args.debian_suite} name two suites: give one")
    if args.rebuild and args.strategy == "mirror":
        raise BadInput("--rebuild builds the platform again; --strategy mirror copies someone else's build")
    # --explain without --to says what would happen at each kind of destination.
    dest = parse_destination(args.dest) if args.dest else None
    if args.arch and args.platform:
        raise BadInput("--arch ARCH is short for --platform linux/ARCH: give one of them")
    wanted = args.platform or args.arch or "riscv64"
    return dest, platforms.parse(f"linux/{wanted}" if "/" not in wanted else wanted)


def _image_names(args, ctx, catalog) -> list[str]:
    if args.k3s:
        release, which = k3s_release(ctx, catalog, args)     # the release's own list when readable
        say_release(which, ctx)
        return list(release.images)
    if args.images:
        return list(args.images)
    # The images the manifests run, as `archport audit --manifests` lists them.
    # Imported here: audit and the manifest reader would slow every `archport --help`.
    from ..audit import manifest_images
    from ..k3s.manifests import load_documents
    names = manifest_images(load_documents(args.manifests))
    if not names:
        raise BadInput(f"--manifests {args.manifests}: no container images found")
    return names


def _options(args, target, workers: int) -> Options:
    from ..port import Options   # port's modules load when it runs: port --help stays fast
    return Options(target=target, strategies=None if args.strategy == "auto" else (args.strategy,),
                   explain=args.explain, rebuild=args.rebuild, overwrite=args.overwrite,
                   manifests=args.manifests, smoke=not args.no_smoke,
                   smoke_args=tuple(shlex.split(args.smoke_args)) if args.smoke_args else None,
                   smoke_timeout=args.smoke_timeout, workers=workers,
                   profile=riscv.profile(args.profile).name, attest=not args.no_attest)


def _env(args, ctx, catalog, cache_dir: Path, work: Path, http, log) -> Env:
    """The strategies' services and each one's options, from the flags and
    the environment the CLI read (the library reads neither)."""
    from ..strategies import Env   # port's modules load when it runs: port --help stays fast
    from ..strategies.options import AlpineOptions, DebianOptions, ReleaseOptions, TransplantOptions
    from ..toolchain.gocompile import GoOptions
    profile = riscv.profile(args.profile)
    go_env = {k: v for k, v in ctx.env.items() if k in GO_ENV}
    # The baseline, explicitly: --profile decides GORISCV64, not the caller's environment.
    go_env["GORISCV64"] = riscv.goriscv64_for(profile)
    go = GoOptions(env=MappingProxyType(go_env),
                   version=args.go_version, substitutes=MappingProxyType(_substitutes(args.substitute)))
    return Env(workdir=work, cache_dir=cache_dir, catalog=catalog,
               registry=ctx.registry(), http=http, go=go,
               debian=DebianOptions(args.debian_archive, args.debian_keyring, args.debian_suite),
               alpine=AlpineOptions(args.alpine_mirror, args.alpine_keys),
               transplant=TransplantOptions(args.transplant_onto, args.iptables_backend),
               release=ReleaseOptions(args.allow_unverified), isa_profile=profile.name,
               process_env=MappingProxyType(dict(ctx.env)), log=log)


def run(args, ctx) -> int:
    # Imported here, not at the top: `archport port --help` needs none of them.
    import httpx

    from ..port import Session, port_all   # port's modules load when it runs: port --help stays fast
    dest, target = _checked(args)
    if args.sign and args.no_attest:
        raise BadInput("--sign signs the attached provenance: it cannot go with --no-attest")
    if args.airgap_attest and not args.airgap:
        raise BadInput("--airgap-attest goes with --airgap FILE")
    args.arch = str(target)
    catalog = _catalog(args)
    images = [reference.parse(i) for i in _image_names(args, ctx, catalog)]
    cache_dir = Path(args.cache_dir or ctx.cache_dir())
    # Phases (go mod download, go build, check, smoke) and pushes, live on a
    # terminal's stderr; nothing under --json or in a pipe.
    activity = activity_for(ctx)
    opts = _options(args, target, ctx.jobs)
    signer = None
    if args.sign and not args.explain:
        from ..attest.sign import KeySigner
        signer = KeySigner.from_file(args.sign)
    airgap = None
    if args.airgap and not args.explain:
        from ..airgap import AirgapSink      # here: the archive writers would slow every `archport --help`
        airgap = AirgapSink(args.airgap, referrers=args.airgap_attest and not args.no_attest)
    with tempfile.TemporaryDirectory(prefix="archport-port-") as work, \
            httpx.Client(timeout=60, follow_redirects=True) as http, activity:
        env = _env(args, ctx, catalog, cache_dir, Path(work), http, activity.log)
        session = Session(env=env, dest=dest, airgap=airgap, reporter=activity, signer=signer)
        try:
            results = port_all(session, images, opts, from_release=bool(args.k3s))
            _finish_airgap(ctx, args, airgap)
        except BaseException:
            if airgap is not None:
                airgap.abort()
            raise
    ok = all(r.ok for r in results)
    if ctx.json:
        ctx.emit({"target": str(target), "destination": args.dest, "complete": ok,
                  "airgap": args.airgap if airgap is not None and airgap.images else None,
                  "airgapImages": airgap.images if airgap is not None else [],
                  "images": [r.to_dict() for r in results]})
    else:
        render(ctx, results, ok, args)
    return 0 if ok else 1


def _finish_airgap(ctx, args, airgap) -> None:
    """An airgap file exists only when it holds an image: none ported means
    no file (and no .sha256) rather than an empty archive."""
    if airgap is None:
        return
    if airgap.images:
        airgap.commit()
        if not ctx.json:
            ctx.err.print(f"airgap: wrote {escape(args.airgap)} with {plural(len(airgap.images), 'image')}: "
                          f"{escape(', '.join(airgap.images))}", highlight=False)
    else:
        airgap.abort()
        if not ctx.json:
            ctx.err.print(f"airgap: {escape(args.airgap)} not written: it would hold no image", highlight=False)


# Notes that repeat for every image when they repeat at all.
ONCE = ("upstream unreachable",)


def render(ctx, results, ok: bool, args) -> None:
    out = ctx.console
    if args.explain:
        said: set[str] = set()
        for r in results:
            out.print(f"[bold]{escape(r.image)}[/]", highlight=False)
            for name, applies, reason in r.decisions:
                mark = {True: "[green]applies[/]", None: "[yellow]unknown[/]"}.get(applies, "[dim]no     [/]")
                out.print(f"  {name:10} {mark}  {escape(reason)}", highlight=False)
            if r.status != "explained":
                colour = "green" if r.ok else "red"
                out.print(f"  [{colour}]{r.status}[/]: {escape(r.reason)}", highlight=False)
                if r.next_step:
                    out.print(f"  next: {escape(r.next_step)}", highlight=False)
            for note in r.notes:
                if note.startswith(ONCE):
                    # The same unreachable upstream for every image: said once.
                    if note in said:
                        continue
                    said.add(note)
                out.print(f"  {escape(note)}", highlight=False)
        return
    # At 80 columns the table keeps to short cells; reasons, fixups, the
    # smoke's details and notes go under it as numbered notes.
    notes = Notes()
    t = table("image", "status", "strategy", "time", wide=("image",))
    for r in results:
        colour = "green" if r.ok else "red"
        mark = notes.mark(_details(r))
        t.add_row(escape(r.image), f"[{colour}]{escape(r.status)}[/]" + (f" {mark}" if mark else ""),
                  escape(r.strategy or "-"), seconds(r.seconds))
    out.print(t)
    notes.print(out)
    # Errors go to stderr, once per distinct failure: eight images failing
    # the same way (a registry this machine cannot reach) say it once.
    failures: dict[tuple[str, str], list[str]] = {}
    for r in results:
        if not r.ok:
            failures.setdefault((r.reason, r.next_step), []).append(r.image)
    for (reason, next_step), names in failures.items():
        who = names[0] if len(names) == 1 else f"{len(names)} images ({', '.join(names)})"
        ctx.err.print(f"[red]{escape(who)}[/]: {escape(reason)}", highlight=False)
        if next_step:
            ctx.err.print(f"  next: {escape(next_step)}", highlight=False)
    done = sum(r.ok for r in results)
    # "Rerun" only when a rerun can help: not for an image no strategy
    # supports, nor for a registry this machine cannot reach.
    rerun = any("run the same command again" in (r.next_step or "") for r in results if not r.ok)
    if ok:
        have = "the image has" if done == 1 else f"all {done} images have"
        out.print(f"[bold green]{have} {args.arch} at {escape(args.dest)}[/]", highlight=False)
    else:
        out.print(f"[bold red]{escape(unfinished([(r.ok, r.status, r.reason) for r in results], rerun))}[/]",
                  highlight=False)


def _details(r) -> str:
    """What a row's note says: why (the strategy's reason, or the first line
    of the failure, whose whole text goes to stderr), then what was done."""
    lines = []
    if r.ok:
        lines.append(f"{r.strategy}: {r.reason}" if r.strategy and r.reason else r.reason)
    elif r.reason:
        lines.append(f"{r.reason.splitlines()[0]} (details on stderr)")
    if r.fixups:
        lines.append("fixups: " + "; ".join(r.fixups))
    if r.check:
        lines.append(f"check: {r.check}; smoke: {r.smoke or '-'}")
    lines += r.notes
    if r.digest:
        lines.append(r.digest)
    return "\n".join(x for x in lines if x)
