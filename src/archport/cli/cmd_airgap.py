"""``archport airgap REF… --out FILE``: the archive k3s imports at start-up."""

from __future__ import annotations

from .. import location
from .. import platform as platforms
from ..copy import transfer
from ..errors import BadInput
from ..location import RegistryLocation
from ..node.paths import IMAGES
from ..reference import normalize
from .render import human_size, reporter_for
from . import args as argtypes


def register(sub) -> None:
    p = sub.add_parser(
        "airgap", help=f"write an image archive for {IMAGES}/",
        description="Write an OCI-layout tarball (with a Docker manifest.json) naming each image by its fully "
                    "qualified name, as k3s's containerd imports it. Compression follows the suffix: "
                    ".tar, .tar.gz/.tgz, .tar.zst/.tzst (zstd window <= 32 MiB). A FILE.sha256 is written beside it. "
                    "A non-registry REF names its image with SRC=NAME, e.g. oci:DIR:3.6=docker.io/rancher/pause:3.6.",
    )
    p.add_argument("refs", nargs="+", metavar="REF")
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--platform", action="append", default=[], metavar="OS/ARCH[/VARIANT]", type=argtypes.platform,
                   help="include only these platforms' blobs (repeatable); images keep their upstream digest")
    p.add_argument("--attestations", action="store_true",
                   help="also carry each included platform's OCI referrers (SBOM, provenance, signatures), "
                        "named REPOSITORY:sha256-<hex> as the referrers tag schema does")
    p.set_defaults(run=run)


def _split(text: str) -> tuple[str, str]:
    """``SRC[=NAME]`` → (source text, fully normalized image name)."""
    src, sep, name = text.rpartition("=") if "=" in text else (text, "", "")
    if not sep:
        src = text
    loc = location.parse(src)
    if name:
        return src, normalize(name)
    if isinstance(loc, RegistryLocation):
        return src, loc.ref.normalized()
    raise BadInput(f"{src!r}: name the image for the archive as {src}=REGISTRY/REPO:TAG")


def run(args, ctx) -> int:
    from ..airgap import AirgapSink    # lazy: the archive writer is heavy; --help need not load it

    wanted = [platforms.parse(p) for p in args.platform] or None
    pairs = [_split(r) for r in args.refs]
    sink = AirgapSink(args.out, referrers=args.attestations)
    results = []
    try:
        with reporter_for(ctx) as rep:
            for src_text, name in pairs:
                source = ctx.open_source(src_text)
                results.append((name, transfer(source, sink, name=name, platforms=wanted, keep_index=True,
                                               workers=ctx.jobs, reporter=rep)))
                if args.attestations:
                    from ..attest.attach import carry
                    carry(source, sink, name, wanted)
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    info = sink.summary()
    named = {i["name"]: i for i in info["images"]}
    images = [{**r.to_dict(), **named[name]} for name, r in results]
    if ctx.json:
        ctx.emit({"out": args.out, "sha256": info.get("sha256"), "size": info.get("size"), "images": images})
        return 0
    out = ctx.console
    for i in images:
        how = {"platform-manifest": " (named by its platform manifest: containerd imports only "
                                    "indexes whose every platform is in the archive)",
               "new-index": " (a new index over the platforms included)"}.get(i.get("narrowed") or "", "")
        out.print(f"  {i['name']}  {i['digest']}  {', '.join(i['platforms']) or 'all platforms'}{how}",
                  highlight=False)
    size = info.get("size")
    out.print(f"wrote {args.out}" + (f" ({human_size(size)})" if size else "") +
              (f", sha256 {info['sha256']}" if info.get("sha256") else ""), highlight=False)
    return 0
