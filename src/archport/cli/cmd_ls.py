"""``archport ls REPO``: the tags of a repository, as ``crane ls`` and ``skopeo list-tags`` print them."""

from __future__ import annotations

from ..errors import BadInput
from ..location import RegistryLocation, parse


def register(sub) -> None:
    p = sub.add_parser(
        "ls", help="list the tags of a registry repository",
        description="Print every tag of REPO (following the registry's pagination), one per line. "
                    "REPO is a registry repository, with or without a tag (rancher/mirrored-pause, "
                    "127.0.0.1:5000/rancher/klipper-lb).",
    )
    p.add_argument("repo", metavar="REPO")
    p.set_defaults(run=run)


def run(args, ctx) -> int:
    where = parse(args.repo)
    if not isinstance(where, RegistryLocation):
        raise BadInput(f"{args.repo}: ls lists a registry repository's tags; "
                       "for oci:, oci-archive: or docker-archive: use archport inspect")
    ref = where.ref
    if ref.digest:
        raise BadInput(f"{args.repo}: name a repository, not a digest")
    tags = sorted(ctx.registry().list_tags(ref))
    if ctx.json:
        ctx.emit({"repository": f"{ref.domain}/{ref.path}", "tags": tags})
    else:
        for t in tags:
            ctx.console.print(t, markup=False, highlight=False, soft_wrap=True)
    return 0
