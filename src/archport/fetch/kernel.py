"""A Linux kernel for a platform, from Debian's signed archive: what a smoke
run under full-system emulation boots (:mod:`archport.smoke.vm`).

Debian's ``linux-image-<arch>`` metapackage depends on the current versioned
image package (``linux-image-6.12.…-riscv64``).  That package holds the boot
image and the modules under ``/usr/lib/modules/<release>/kernel/``,
xz-compressed.  No depmod output ships in it (the postinst makes
``modules.dep``), so a module's dependencies are read from its own
``.modinfo`` section, which is where depmod reads them too: ``depends=``,
and ``softdep=pre:`` (libcrc32c asks for the crc32c algorithm that way),
whose names may be aliases (``alias=``); ``modules.builtin`` says which need
no loading.

One pass over the package (verified against the signed index like every
package, :mod:`.debian`) writes the boot image and the networking modules
with what they may depend on (``kernel/net``, ``kernel/lib``,
``kernel/crypto``) into the cache, keyed by the package's SHA-256, then moved
into place whole, with an index of every module's dependencies and aliases
(``modinfo.json``); later runs read only the cache.
"""

from __future__ import annotations

import io
import json
import lzma
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from elftools.elf.elffile import ELFFile

from ..errors import ArchportError
from .debian import Archive, find_package, open_data

_MODULE_DIRS = ("kernel/net/", "kernel/lib/", "kernel/crypto/")
_FIRST_DEP = re.compile(r"\s*([a-z0-9][a-z0-9.+-]*)")


class KernelError(ArchportError):
    """No kernel, or not the modules asked for, in the archive."""


@dataclass(frozen=True, slots=True)
class Kernel:
    release: str                 # what ``uname -r`` says: 6.12.117+deb13-riscv64
    package: str                 # name=version, for the record
    image: Path                  # what qemu's -kernel takes
    modules: tuple[Path, ...]    # uncompressed .ko files, in the order they load


def module_name(path: str) -> str:
    """``…/nf_conntrack.ko.xz`` -> ``nf_conntrack`` (modprobe treats - and _ alike)."""
    base = path.rsplit("/", 1)[-1]
    return base.split(".ko", 1)[0].replace("-", "_")


def load_order(wanted: tuple[str, ...], depends: Callable[[str], tuple[str, ...] | None],
               builtin: set[str]) -> list[str]:
    """``wanted`` and everything they depend on, each after its dependencies
    (what ``modprobe`` would insert).  ``depends(name)`` is None for a module
    the kernel does not have; built-in modules are left out."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        name = name.replace("-", "_")
        if name in builtin or state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise KernelError(f"kernel modules depend on each other in a cycle: {' -> '.join(chain + (name,))}")
        deps = depends(name)
        if deps is None:
            raise KernelError(f"the kernel has no module {name}" +
                              (f" (needed by {chain[-1]})" if chain else ""))
        state[name] = "visiting"
        for d in deps:
            visit(d, chain + (name,))
        state[name] = "done"
        order.append(name)

    for w in wanted:
        visit(w, ())
    return order


def modinfo(ko: bytes) -> dict[str, list[str]]:
    """A module's ``depends``, ``softdep`` ``pre:`` names and ``alias`` list,
    from its ``.modinfo`` section (NUL-separated ``key=value`` strings)."""
    out: dict[str, list[str]] = {"depends": [], "pre": [], "alias": []}
    sec = ELFFile(io.BytesIO(ko)).get_section_by_name(".modinfo")
    if sec is None:
        return out
    for field in sec.data().split(b"\0"):
        key, _, value = field.decode("utf-8", "replace").partition("=")
        if key == "depends":
            out["depends"] += [d for d in value.split(",") if d]
        elif key == "alias":
            out["alias"].append(value)
        elif key == "softdep":
            # "pre: a b post: c" (modprobe.d(5)'s softdep syntax)
            part = None
            for word in value.split():
                if word in ("pre:", "post:"):
                    part = word
                elif part == "pre:":
                    out["pre"].append(word)
    return out


def dependencies(index: dict[str, dict[str, list[str]]]) -> Callable[[str], tuple[str, ...] | None]:
    """``depends(name)`` for :func:`load_order` over a ``modinfo.json`` index:
    hard dependencies, then the ``pre:`` soft ones the kernel has (by module
    name or alias; one it lacks is skipped, as modprobe skips it)."""
    aliases = {a.replace("-", "_"): n for n, info in index.items() for a in info["alias"]}

    def depends(name: str) -> tuple[str, ...] | None:
        info = index.get(name)
        if info is None:
            return None
        soft = [n if n in index else aliases.get(n) for n in (p.replace("-", "_") for p in info["pre"])]
        return tuple(info["depends"]) + tuple(n for n in soft if n and n != name)
    return depends


def image_package(index: bytes, metapackage: str) -> dict[str, str]:
    """The versioned image package a metapackage (``linux-image-riscv64``) names first."""
    meta = find_package(index, metapackage)
    if meta is None:
        raise KernelError(f"the archive has no {metapackage}")
    m = _FIRST_DEP.match(meta.get("Depends", ""))
    pkg = find_package(index, m.group(1)) if m else None
    if pkg is None:
        raise KernelError(f"{metapackage} {meta.get('Version', '')} names no image package the index has")
    return pkg


def unpack(archive: Archive, stanza: dict[str, str], image_pattern: str) -> Path:
    """The cache directory with ``image``, ``release``, ``builtin``,
    ``modinfo.json`` and ``modules/<name>.ko.xz`` for the package
    ``stanza``; written once."""
    dest = Path(archive.cache_dir) / "kernels" / stanza["SHA256"]
    if (dest / "release").is_file():
        return dest
    deb = archive.deb(stanza)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest.parent))
    try:
        (tmp / "modules").mkdir()
        release, builtin, index = "", b"", {}
        with open(deb, "rb") as fh, open_data(fh) as tar:
            for ti in tar:
                name = ti.name.removeprefix("./")
                if not ti.isfile():
                    continue
                m = re.fullmatch(r"usr/lib/modules/([^/]+)/(.*)", name)
                if m and m.group(2) == "modules.builtin":
                    release, builtin = m.group(1), tar.extractfile(ti).read()
                elif m and m.group(2).startswith(_MODULE_DIRS) and ".ko" in m.group(2):
                    data = tar.extractfile(ti).read()
                    (tmp / "modules" / (module_name(name) + ".ko.xz")).write_bytes(data)
                    index[module_name(name)] = modinfo(_decompress(data))
                elif re.fullmatch(image_pattern.replace("{release}", r"[^/]+"), name):
                    with open(tmp / "image", "wb") as out:
                        shutil.copyfileobj(tar.extractfile(ti), out, 1 << 20)
        if not (tmp / "image").is_file() or not release:
            raise KernelError(f"{stanza['Package']} {stanza.get('Version', '')} has no "
                              f"{image_pattern} or modules.builtin")
        (tmp / "builtin").write_bytes(b"\n".join(module_name(n.decode()).encode() for n in builtin.split()))
        (tmp / "modinfo.json").write_text(json.dumps(index, sort_keys=True))
        (tmp / "release").write_text(release)
        if dest.exists():           # another run unpacked it meanwhile
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def prepare(archive: Archive, index: bytes, metapackage: str, image_pattern: str,
            modules: tuple[str, ...]) -> Kernel:
    """The kernel ``metapackage`` names in ``index`` (a suite's Packages for
    one architecture, the caller's: it needs the same index for more), with
    ``modules`` and their dependencies uncompressed in load order."""
    stanza = image_package(index, metapackage)
    d = unpack(archive, stanza, image_pattern)
    builtin = set((d / "builtin").read_text().split())
    order = load_order(modules, dependencies(json.loads((d / "modinfo.json").read_text())), builtin)
    for name in order:
        plain = d / "modules" / f"{name}.ko"
        if not plain.is_file():
            part = plain.with_suffix(".part")
            part.write_bytes(_decompress((d / "modules" / f"{name}.ko.xz").read_bytes()))
            os.replace(part, plain)
    return Kernel((d / "release").read_text(), f"{stanza['Package']}={stanza.get('Version', '')}", d / "image",
                  tuple(d / "modules" / f"{n}.ko" for n in order))


def _decompress(data: bytes) -> bytes:
    # Debian compresses modules with xz (CONFIG_MODULE_COMPRESS_XZ); the
    # kernel can load them so too, but an uncompressed module needs no
    # decompressor in the kernel or in busybox's insmod.
    return lzma.decompress(data) if data[:6] == b"\xfd7zXZ\x00" else data


__all__ = ["Kernel", "KernelError", "dependencies", "image_package", "load_order", "modinfo", "module_name",
           "prepare", "unpack"]
