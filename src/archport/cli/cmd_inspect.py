"""``archport inspect REF``: which platforms a tag offers, and each one's contract."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor

from .. import platform as platforms
from ..oci import Index, Manifest
from ..oci.config import read_config
from . import args as argtypes
from .render import human_size


def register(sub) -> None:
    p = sub.add_parser(
        "inspect", help="list the platforms a tag offers and each platform's config contract",
        description="Show the platforms an image offers (os/arch/variant, digest, size) and, per platform, "
                    "Entrypoint, Cmd, User, WorkingDir and PATH. Exit 0 when the image was read (whatever "
                    "platforms it offers); 1 when it could not be, or --require-platform is missing.",
    )
    p.add_argument("ref", metavar="REF")
    p.add_argument("--platform", default="linux/riscv64", metavar="OS/ARCH[/VARIANT]", type=argtypes.platform,
                   help="the platform to report on (default linux/riscv64)")
    p.add_argument("--require-platform", metavar="OS/ARCH[/VARIANT]", type=argtypes.platform,
                   help="exit 1 when the image does not offer this platform (like archport audit for one image)")
    p.add_argument("--raw", action="store_true", help="print the top manifest's raw bytes and exit")
    p.add_argument("--files", action="store_true", help="also list each platform's ELF binaries (Go build info)")
    p.add_argument("--provenance", action="store_true",
                   help="also show, per platform, who built it, how, from what, with which fixups and "
                        "substitutions (its attached SLSA provenance and SBOM, read as OCI referrers)")
    p.set_defaults(run=run)


def _contract(source, m: Manifest) -> dict:
    cfg = read_config(source, m)
    return {
        "os": cfg.os, "architecture": cfg.architecture, "variant": cfg.variant,
        "entrypoint": list(cfg.entrypoint) if cfg.entrypoint is not None else None,
        "cmd": list(cfg.cmd) if cfg.cmd is not None else None,
        "user": cfg.user, "workingDir": cfg.working_dir, "path": cfg.path,
        "layers": len(m.layers), "size": m.config.size + sum(l.size for l in m.layers),
    }


def inspect(source, wanted, jobs: int = 4, files: bool = False) -> dict:
    top = source.resolve()
    entries = []
    if isinstance(top, Index):
        descs = [d for d in top.manifests]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            children = list(pool.map(source.manifest, descs))
        for d, m in zip(descs, children):
            e = {"platform": str(d.platform) if d.platform else None, "digest": str(d.digest),
                 "mediaType": d.media_type, "manifestSize": d.size}
            if isinstance(m, Manifest):
                e["config"] = _contract(source, m)
                if files:
                    e["files"] = _files(source, m)
            entries.append(e)
    else:
        c = _contract(source, top)
        e = {"platform": str(platforms.normalize(platforms.Platform(c["os"], c["architecture"], c["variant"]))),
             "digest": str(top.digest), "mediaType": top.media_type, "manifestSize": len(top.raw), "config": c}
        if files:
            e["files"] = _files(source, top)
        entries.append(e)
    offered = [platforms.parse(e["platform"]) for e in entries if e["platform"] and "unknown" not in e["platform"]]
    has = any(p.matches(wanted) for p in offered)
    return {
        "reference": source.name, "digest": str(top.digest), "mediaType": top.media_type,
        "multiPlatform": isinstance(top, Index), "platforms": entries,
        "wanted": str(wanted), "hasWanted": has,
    }


def _files(source, m: Manifest) -> list[dict]:
    from ..check.listing import list_binaries   # lazy: only --files reads ELF files (start-up time)
    return list_binaries(source, m)


def run(args, ctx) -> int:
    wanted = platforms.parse(args.require_platform or args.platform)
    required = args.require_platform is not None
    source = ctx.open_source(args.ref)
    if args.raw:
        top = source.resolve()
        sys.stdout.buffer.write(top.raw)
        sys.stdout.flush()
        return 0
    doc = inspect(source, wanted, ctx.jobs, files=args.files)
    if args.provenance:
        _add_provenance(source, doc)
    if ctx.json:
        ctx.emit(doc)
        return 0 if doc["hasWanted"] or not required else 1
    out = ctx.console
    kind = "multi-platform index" if doc["multiPlatform"] else "single-platform manifest"
    out.print(f"[bold]{doc['reference']}[/]  {kind}  {doc['digest']}", highlight=False)
    # One block per platform: readable at any terminal width, and in a pipe.
    for e in doc["platforms"]:
        c = e.get("config") or {}
        out.print(f"  [bold]{e['platform'] or '-'}[/]  {e['digest']}"
                  + (f"  {human_size(c['size'])}" if c else ""), highlight=False)
        if c:
            out.print(f"    entrypoint {json.dumps(c.get('entrypoint'))}  cmd {json.dumps(c.get('cmd'))}  "
                      f"user {c.get('user') or '-'}  workdir {c.get('workingDir') or '-'}", highlight=False)
            out.print(f"    PATH {c.get('path') or '(unset)'}", highlight=False, markup=False)
    for e in doc["platforms"]:
        for f in e.get("files") or []:
            out.print(f"  {e['platform']}  {f.get('path')}  {f.get('summary', '')}", highlight=False)
    if args.provenance:
        _render_provenance(out, doc)
    if doc["hasWanted"]:
        out.print(f"[green]{doc['wanted']} is present[/]")
        return 0
    out.print(f"[bold {'red' if required else 'yellow'}]{doc['wanted']} is missing[/]: this tag offers "
              f"{', '.join(e['platform'] or '?' for e in doc['platforms'])}", highlight=False)
    return 1 if required else 0


def _add_provenance(source, doc: dict) -> None:
    """Each image platform's referrers and what its provenance says (``provenance``: None when none is attached)."""
    from ..attest import read     # lazy: only --provenance reads referrers (start-up time)
    from ..oci import Descriptor
    from ..oci.digest import Digest
    for e in doc["platforms"]:
        if not e.get("config") or "unknown" in (e["platform"] or "unknown"):
            continue
        subject = Descriptor(e["mediaType"], Digest.parse(e["digest"]), e["manifestSize"])
        found, how = read.attachments(source, subject)
        stmt, sbom = read.statement(found), read.sbom(found)
        e["referrers"] = {"listing": how, "attachments": [
            {"artifactType": f.artifact_type, "digest": str(f.entry.digest), "size": len(f.data)} for f in found]}
        e["provenance"] = read.provenance(stmt) if stmt is not None else None
        e["sbom"] = {"packages": len(sbom.get("packages") or []), "files": len(sbom.get("files") or [])} \
            if sbom is not None else None
        e["signed"] = read.signature(found) is not None


def _render_provenance(out, doc: dict) -> None:
    for e in doc["platforms"]:
        if "referrers" not in e:
            continue
        p = e.get("provenance")
        if p is None:
            out.print(f"  {e['platform']}  no provenance attached ({e['referrers']['listing']})", highlight=False,
                      markup=False)
            continue
        out.print(f"  {e['platform']}  built by {p['builder']} "
                  f"{' '.join(f'{k} {v}' for k, v in sorted(p['builderVersion'].items()))}", highlight=False,
                  markup=False)
        out.print(f"    how: {p['buildType']}" + (f", profile {p['profile']}" if p['profile'] else ""),
                  highlight=False, markup=False)
        out.print(f"    from: {p['upstream'] or '-'}" + (f" (catalog {p['catalogEntry']})" if p['catalogEntry'] else ""),
                  highlight=False, markup=False)
        for f in p["fixups"]:
            f = f if isinstance(f, dict) else {"entry": str(f)}
            out.print(f"    fixup: {f.get('entry')} {' '.join(f.get('modules') or [])}".rstrip(), highlight=False,
                      markup=False)
        for sub in p["substitutions"]:
            sub = sub if isinstance(sub, dict) else {"name": str(sub)}
            out.print(f"    substitution: {sub.get('name')} {sub.get('wanted', '?')} -> {sub.get('used', '?')}"
                      + (f" ({sub['why']})" if sub.get("why") else ""), highlight=False, markup=False)
        out.print(f"    inputs: {len(p['dependencies'])} by digest; SBOM: "
                  + (f"{e['sbom']['packages']} packages, {e['sbom']['files']} files" if e.get("sbom") else "none")
                  + ("; signed" if e.get("signed") else ""), highlight=False, markup=False)
