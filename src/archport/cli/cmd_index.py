"""``archport index add TARGET --manifest REF``: append a platform to a tag."""

from __future__ import annotations

from .. import location
from .. import platform as platforms
from ..errors import BadInput
from ..location import RegistryLocation
from . import args as argtypes
from .commands import BY_NAME


def register(sub) -> None:
    p = sub.add_parser("index", help="edit multi-arch indexes in a registry",
                       description="Edit multi-arch indexes in a registry.")
    isub = p.add_subparsers(dest="index_command", metavar="SUBCOMMAND", required=True)
    a = isub.add_parser(
        "add", parents=[sub.common],
        help="add a platform manifest to a multi-arch tag",
        description="Add the platform manifest REF to the index TARGET points at. Existing entries stay "
                    "byte-identical; the old tag is never moved silently (--tag NEWTAG or --overwrite).",
        epilog=BY_NAME["index"].examples,
    )
    a.add_argument("target", metavar="TARGET", help="registry reference with a tag")
    a.add_argument("--manifest", required=True, metavar="REF",
                   help="the platform image to add (any location; an index needs --platform)")
    a.add_argument("--platform", metavar="OS/ARCH[/VARIANT]", type=argtypes.platform, help="which platform of REF to add")
    a.add_argument("--tag", metavar="NEWTAG", help="point a new tag at the result; TARGET's tag stays as it is")
    a.add_argument("--replace", action="store_true", help="replace the platform if the index already has it")
    a.add_argument("--overwrite", action="store_true", help="allow moving an existing tag")
    a.set_defaults(run=run)


def run(args, ctx) -> int:
    from ..publish import index_add    # lazy: `index --help` need not load the copy stack

    target = location.parse(args.target)
    if not isinstance(target, RegistryLocation):
        raise BadInput(f"{args.target}: index add edits a registry tag; TARGET must be a registry reference")
    plat = platforms.parse(args.platform) if args.platform else None
    child = ctx.open_source(args.manifest)
    r = index_add(ctx.registry(), target.ref, child, platform=plat, new_tag=args.tag,
                  replace=args.replace, overwrite=args.overwrite, workers=ctx.jobs)
    if ctx.json:
        ctx.emit(r.to_dict())
        return 0
    out = ctx.console
    out.print(f"added {r.platform} ({r.added}) to {target.ref.repository}:{r.tag}", highlight=False)
    if r.converted_from:
        out.print(f"  the OCI image {r.converted_from} joins a Docker manifest list as a Docker manifest "
                  "over the same blobs", highlight=False)
    out.print(f"  index {r.old_digest} → {r.new_digest}", highlight=False)
    out.print(f"  kept {len(r.kept)} existing entries byte-identical" +
              (f"; replaced {', '.join(r.replaced)}" if r.replaced else ""), highlight=False)
    if args.tag and args.tag != target.ref.tag:
        out.print(f"  {target.ref} still points at {r.old_digest}", highlight=False)
    return 0
