"""c: build a small C program statically for the target (the pause image).

Source: upstream's files for the version when they can be fetched, else
archport's own program of the same purpose (``archport/data/<name>.c``); the
result's notes say which.  The catalog's ``[[c]]`` table names the files, the
C flags (``{version}`` filled in) and — for fetching — the Go module and
version whose zip carries them (``k8s.io/kubernetes`` carries
``build/pause/linux/pause.c``; the Go module proxy serves it, GOPROXY
honoured) with their SHA-256 when pinned.  A fetched file that does not
match its pinned SHA-256 is refused, not replaced silently.  The build is
staged (prepare → make → finish) so that
:class:`archport.strategies.cached.Cached` keeps the binary by its inputs
(source pins, compiler, flags); a build from archport's own source is not
kept, so the next run tries upstream's again.

The output must be a static ELF for the target (checked with
:func:`archport.binaries.elf.read_elf`); it is placed at the upstream path with
the upstream config (pause: ENTRYPOINT ["/pause"], USER 65535:65535).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..assemble.image import History, assemble, provenance
from ..binaries.elf import read_elf
from ..assemble.layer import FileSpec
from ..errors import ArchportError
from ..platform import Platform, normalize
from ..progress import phase
from ..catalog import riscv
from ..toolchain.compilers import Compiler, find as find_compiler, install_hint
from . import Decision, Env, NotPortable, Outcome, Prepared, Product, Upstream, recorded, require, run_staged
from .contract import binary_path, reference_config, tag_of
from ..fetch.http import http_client
from ..fetch.goproxy import proxy_list, read_member


class C:
    name = "c"

    def __init__(self, prefer: str = "zig") -> None:
        self.prefer = prefer

    def consider(self, up: Upstream, target: Platform, env: Env) -> Decision:
        target = normalize(target)
        comp = up.component
        if comp is None:
            return Decision(False, "the catalog does not know this image, so it names no C source")
        cb = comp.c_build(tag_of(up))
        if cb is None:
            return Decision(False, f"{comp.name} {tag_of(up)} is not a C program in the catalog")
        if target.os != "linux":
            return Decision(False, f"C builds are for linux targets, not {target.os}")
        if binary_path(up) is None:
            return Decision(False, "neither the catalog nor the upstream config says where the binary lives")
        cc = find_compiler(target.architecture, self.prefer)
        if cc is None:
            return Decision(False, f"no C cross compiler for {target.architecture}: {install_hint(target.architecture)}")
        return Decision(True, f"{comp.name} is a small C program; {cc.description} builds it statically", plan=cc)

    def build(self, up: Upstream, target: Platform, env: Env, decision: Decision | None = None) -> Outcome:
        return run_staged(self, up, target, env, decision)

    def prepare(self, up: Upstream, target: Platform, env: Env, decision: Decision | None) -> Prepared:
        target, decision = require(self, up, target, env, decision)
        comp, tag, arch = up.component, tag_of(up), target.architecture
        cb = comp.c_build(tag)
        version = comp.upstream_version(tag)
        cc = decision.plan if isinstance(decision.plan, Compiler) else find_compiler(arch, self.prefer)
        assert cc is not None
        cflags = [_fill(f, version, tag) for f in cb.cflags] + riscv.compiler_flags(cc.kind, env.isa_profile, arch)
        own = resources.files("archport") / "data" / f"{comp.name}.c"
        inputs = {
            "v": 1, "component": comp.name, "version": version, "arch": arch,
            "module": getattr(cb, "module", ""), "module_version": getattr(cb, "module_version", ""),
            "files": list(cb.files), "sha256": sorted(dict(getattr(cb, "sha256", ()) or ()).items()),
            "own": hashlib.sha256(own.read_bytes()).hexdigest() if own.is_file() else "",
            "compiler": cc.identity(env.process_env), "driver": cc.description, "cflags": cflags,
            "epoch": env.process_env.get("SOURCE_DATE_EPOCH", "0"),
        }
        work = Path(env.workdir) / "c" / comp.name / tag / arch
        return Prepared(inputs, _Plan(comp, cb, cc, cflags, work, Path(binary_path(up)).name),
                        f"c: {comp.name} {version} for {arch}")

    def make(self, prepared: Prepared, target: Platform, env: Env) -> Product:
        p: _Plan = prepared.context
        arch = normalize(target).architecture
        p.work.mkdir(parents=True, exist_ok=True)
        sources, origin, notes, upstream = self._sources(p.comp, p.cb, env, p.work)
        out = p.work / p.output
        with phase(env.log, f"c: {p.cc.description} {' '.join(p.cflags)} ({origin})"):
            p.cc.compile(sources, out, p.cflags, env.process_env)
        with open(out, "rb") as fh:
            info = read_elf(fh)
        if info is None or info.goarch != arch or not info.static:
            what = "not ELF" if info is None else f"{info.goarch or info.machine}, {'static' if info.static else 'dynamic'}"
            raise NotPortable(f"{p.cc.description} produced {what}, not a static {arch} program")
        # archport's own source is a fallback: the next run tries upstream's again.
        digests = [[_source_name(p.cb, s, upstream), f"sha256:{hashlib.sha256(s.read_bytes()).hexdigest()}"]
                   for s in sources]
        return Product({"binary": out}, {"origin": origin, "notes": notes, "sources": digests}, keep=upstream)

    def finish(self, up: Upstream, target: Platform, env: Env, prepared: Prepared, product: Product) -> Outcome:
        p: _Plan = prepared.context
        target = normalize(target)
        tag, arch = tag_of(up), target.architecture
        origin, notes = product.record["origin"], tuple(product.record.get("notes", ()))
        path = binary_path(up)
        built = assemble(None, [FileSpec(path, source=str(product.files["binary"]), mode=0o755)], platform=target,
                         family=up.family, reference_config=reference_config(up),
                         annotations={**provenance(source=p.cb.repository, version=p.comp.upstream_version(tag),
                                                   strategy="c",
                                                   changes=[f"built from {origin} with {p.cc.description}"]),
                                      **riscv.annotation(arch, env.isa_profile)},
                         workdir=str(p.work),
                         history=History(env.source_date_epoch, f"archport c: {origin} -> {path}"))
        return Outcome("c", f"built {path} from {origin} with {p.cc.description}, static {arch}",
                       built=built, notes=(*notes, f"source: {origin}"),
                       record=recorded.c_record(product.record.get("sources", ()), prepared.inputs["compiler"]))

    # -- helpers ----------------------------------------------------------------
    def _sources(self, comp, cb, env: Env, work: Path) -> tuple[list[Path], str, list[str], bool]:
        """Upstream files when fetchable, else archport's own; (paths, origin,
        notes, whether upstream's)."""
        module = getattr(cb, "module", "")
        mversion = getattr(cb, "module_version", "")
        pinned = dict(getattr(cb, "sha256", ()) or ())
        notes: list[str] = []
        if module and mversion and cb.files:
            try:
                paths, proxy = self._fetch(cb, module, mversion, pinned, env, work)
            except NotPortable:
                raise                    # a pinned file that does not match: refused, no fallback
            except ArchportError as e:
                notes.append(f"upstream source unavailable ({e})")
            else:
                if not pinned:
                    notes.append("upstream source not pinned by SHA-256 in the catalog; trusted to the proxy's TLS")
                # The proxy is how this run got the files, not what the image
                # is: it goes to the notes, never into the annotations.
                notes.append(f"fetched through {proxy}")
                return paths, f"upstream {', '.join(cb.files)} from {module}@{mversion}", notes, True
        else:
            notes.append("the catalog names no Go module carrying the upstream source for this version")
        own = resources.files("archport") / "data" / f"{comp.name}.c"
        if not own.is_file():
            raise NotPortable(f"no source for {comp.name}: {'; '.join(notes)}, and archport has no own {comp.name}.c")
        dest = work / "src" / f"{comp.name}.c"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(own.read_bytes())
        notes.append(f"used archport's own {comp.name}.c (upstream source unavailable)")
        return [dest], f"archport's own {comp.name}.c", notes, False

    def _fetch(self, cb, module: str, mversion: str, pinned: dict, env: Env, work: Path) -> tuple[list[Path], str]:
        paths, used = [], ""
        with http_client(env.http) as http:
            for f in cb.files:
                data, used = read_member(http, proxy_list(env.go.env), module, mversion, f, work)
                want = pinned.get(f)
                got = hashlib.sha256(data).hexdigest()
                if want and got != want.lower():
                    raise NotPortable(f"{module}@{mversion}/{f} has sha256:{got}, but the catalog pins "
                                      f"sha256:{want}; refused", "check the proxy (GOPROXY) you use")
                dest = work / "src" / f
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
                paths.append(dest)
        return paths, used


@dataclass(frozen=True, slots=True)
class _Plan:
    comp: Any
    cb: Any
    cc: Compiler
    cflags: list[str]
    work: Path
    output: str                      # the file name the compiler writes


def _fill(text: str, version: str, tag: str) -> str:
    values = {"version": version.lstrip("v"), "tag": tag}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def _source_name(cb, path: Path, upstream: bool) -> str:
    """Where a compiled source came from, for the build record."""
    module, version = getattr(cb, "module", ""), getattr(cb, "module_version", "")
    return f"{module}@{version}/{path.name}" if upstream and module else f"archport's own {path.name}"
