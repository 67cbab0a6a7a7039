"""``archport copy SRC DST``."""

from __future__ import annotations

from dataclasses import replace

from .. import location
from .. import platform as platforms
from ..copy import copy_image
from ..location import ArchiveLocation
from ..oci import Manifest
from .render import human_size, plural, reporter_for, short
from . import args as argtypes


def register(sub) -> None:
    p = sub.add_parser(
        "copy", help="copy an image between registries, OCI layouts and archives",
        description="Copy an image. Locations: a registry reference (rancher/mirrored-pause:3.6), "
                    "oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REF]. "
                    "By default every platform is copied byte for byte (digests preserved).",
    )
    p.add_argument("src", metavar="SRC")
    p.add_argument("dst", metavar="DST")
    sel = p.add_mutually_exclusive_group()
    sel.add_argument("--all", action="store_true", default=True,
                     help="copy the index and every platform byte for byte (default)")
    sel.add_argument("--platform", action="append", default=[], metavar="OS/ARCH[/VARIANT]", type=argtypes.platform,
                     help="copy only these platforms (repeatable); builds a new index")
    p.set_defaults(run=run)


def _is_docker_archive(text: str) -> bool:
    where = location.parse(text)
    return isinstance(where, ArchiveLocation) and where.kind == "docker-archive"


def run(args, ctx) -> int:
    wanted = [platforms.parse(p) for p in args.platform] or None
    source = ctx.open_source(args.src)
    sink = ctx.open_sink(args.dst, source_text=args.src)
    with reporter_for(ctx) as rep:
        result = copy_image(source, sink, platforms=wanted, workers=ctx.jobs, reporter=rep)
    image_id = ""
    if _is_docker_archive(args.dst):
        # A docker archive stores no manifest (manifest.json names the config
        # and layers): the digest a reader gets is that of the manifest it
        # rebuilds from them, not the one sent; docker load names the image
        # by its config digest.  Both are read back from the archive itself.
        back = ctx.open_source(args.dst).resolve()
        if isinstance(back, Manifest):
            result = replace(result, digest=str(back.digest), media_type=back.media_type)
            image_id = str(back.config.digest)
    if ctx.json:
        ctx.emit(result.to_dict() | ({"imageId": image_id} if image_id else {}))
        return 0
    out = ctx.console
    if result.unchanged:
        out.print(f"{result.destination} already is {short(result.digest)}; nothing to copy")
        return 0
    b = result.blobs
    out.print(f"copied {result.source} → {result.destination}")
    out.print(f"  digest    {result.digest}")
    if image_id:
        out.print(f"  image ID  {image_id} (what docker load shows)")
    if result.platforms:
        out.print(f"  platforms {', '.join(result.platforms)}")
    out.print(f"  blobs     {b.get('uploaded', 0)} sent ({human_size(result.bytes_sent)}), "
              f"{b.get('exists', 0)} already there, {b.get('mounted', 0)} mounted; "
              f"{plural(result.manifests_written, 'manifest')} written in {result.seconds:.1f}s")
    if result.new_index:
        out.print("  note: selecting platforms built a new index, so its digest differs from the source's; "
                  "the platform manifests keep theirs")
    return 0
