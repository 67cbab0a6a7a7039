"""Extract an image's root filesystem safely, and resolve what it will exec.

Used by ``smoke`` for two things: the ``qemu-<arch> -L ROOTFS`` fallback, and
the architecture guard (a binary the host can run natively would *pass* a
smoke run on the host and still fail on the board with ``exec format error``).

Safety (the extractor runs as root): no entry is written outside ``dest``.
Names with ``..`` components or absolute names are refused; parents are
created only as real directories (a symlink planted by an earlier layer is
never written through); hard links must point inside the root at something
already extracted; device nodes, FIFOs and sockets are skipped; set-id bits
are dropped.  Whiteouts (image-spec ``layer.md``) are applied.  Refused
entries are returned as findings, never followed.
"""

from __future__ import annotations

import gzip
import os
import posixpath
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable

import zstandard

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
HOPS_MAX = 40  # the kernel's MAXSYMLINKS

# e_machine -> GOARCH (ELF spec, include/uapi/linux/elf-em.h)
ELF_MACHINES = {3: "386", 8: "mips", 20: "ppc", 21: "ppc64", 22: "s390x", 40: "arm", 62: "amd64",
                183: "arm64", 243: "riscv64", 258: "loong64"}


def open_layer(f: BinaryIO) -> BinaryIO:
    """A layer blob as an uncompressed tar stream (gzip and zstd by magic)."""
    head = f.read(4)
    f.seek(0)
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f)  # type: ignore[return-value]
    if head == b"\x28\xb5\x2f\xfd":
        return zstandard.ZstdDecompressor().stream_reader(f)  # type: ignore[return-value]
    return f


def _safe_name(name: str) -> str | None:
    """The entry's path relative to the root, or None when it would escape."""
    n = name.replace("\\", "/")
    if n.startswith("/"):
        return None
    parts = [p for p in n.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def _real_parent(dest: Path, rel: str) -> Path | None:
    """Create ``rel``'s parent directories as real directories; None if a
    component is a symlink or a non-directory (we never write through them)."""
    cur = dest
    for part in rel.split("/")[:-1]:
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            cur.mkdir(mode=0o755)
            continue
        if not stat.S_ISDIR(st.st_mode):
            return None
    return cur


def _remove(p: Path) -> None:
    if p.is_symlink() or not p.is_dir():
        p.unlink(missing_ok=True)
    else:
        shutil.rmtree(p)


def extract_layer(f: BinaryIO, dest: Path, findings: list[str]) -> None:
    with tarfile.open(fileobj=open_layer(f), mode="r|") as tar:
        for m in tar:
            rel = _safe_name(m.name)
            if rel is None:
                findings.append(f"refused {m.name!r}: escapes the root")
                continue
            if not rel:
                continue
            base = posixpath.basename(rel)
            parent = _real_parent(dest, rel)
            if parent is None:
                findings.append(f"refused {m.name!r}: a parent is a symlink or a file")
                continue
            if base == OPAQUE:
                for child in parent.iterdir():
                    _remove(child)
                continue
            if base.startswith(WHITEOUT):
                target = parent / base[len(WHITEOUT):]
                if target.exists() or target.is_symlink():
                    _remove(target)
                continue
            target = parent / base
            if (target.exists() or target.is_symlink()) and not (m.isdir() and target.is_dir()
                                                                  and not target.is_symlink()):
                _remove(target)
            mode = m.mode & 0o777  # no set-id, no sticky: we run as root
            if m.isdir():
                target.mkdir(mode=0o755, exist_ok=True)
                os.chmod(target, mode | 0o700)
            elif m.isreg():
                src = tar.extractfile(m)
                with open(target, "wb") as out:
                    if src is not None:
                        shutil.copyfileobj(src, out, 1 << 20)
                os.chmod(target, mode)
            elif m.issym():
                os.symlink(m.linkname, target)
            elif m.islnk():
                link = _safe_name(m.linkname)
                src_path = dest / link if link else None
                if src_path is None or not src_path.is_file() or src_path.is_symlink() \
                        or _real_parent(dest, link) is None:
                    findings.append(f"refused hard link {m.name!r} -> {m.linkname!r}")
                    continue
                os.link(src_path, target)
            else:
                findings.append(f"skipped {m.name!r}: device node, FIFO or socket")


def extract(layers: Iterable[Path], dest: Path) -> list[str]:
    """Apply layer files (compressed or not) in order onto ``dest``."""
    findings: list[str] = []
    dest.mkdir(parents=True, exist_ok=True)
    for path in layers:
        with open(path, "rb") as f:
            extract_layer(f, dest, findings)
    return findings


@dataclass(frozen=True, slots=True)
class Target:
    """What ``argv[0]`` resolves to inside the root."""

    name: str          # as given
    path: str | None   # absolute path inside the image, None if not found
    machine: str = ""  # GOARCH of an ELF; "script" for #!; "" otherwise/unknown


def resolve_path(root: Path, path: str) -> str | None:
    """Follow symlinks the way the kernel does inside a chroot at ``root``."""
    parts = [p for p in path.split("/") if p]
    done: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        cur = root.joinpath(*done, part)
        if cur.is_symlink():
            hops += 1
            if hops > HOPS_MAX:
                return None
            link = os.readlink(cur)
            if link.startswith("/"):
                done = []
            parts = [p for p in link.split("/") if p] + parts
            continue
        if not cur.exists():
            return None
        done.append(part)
    return "/" + "/".join(done)


def find_exec(root: Path, argv0: str, env_path: str, workdir: str = "/") -> Target:
    """Resolve ``argv0`` as runc does (Go's ``exec.LookPath`` over PATH)."""
    if "/" in argv0:
        candidates = [argv0 if argv0.startswith("/") else posixpath.join(workdir or "/", argv0)]
    else:
        candidates = [posixpath.join(d or ".", argv0) for d in env_path.split(":")]
    for c in candidates:
        found = resolve_path(root, c)
        if found is None:
            continue
        host = root / found.lstrip("/")
        if host.is_file() and os.stat(host).st_mode & 0o111:
            return Target(argv0, found, machine_of(host))
    return Target(argv0, None)


def machine_of(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(20)
    if head[:2] == b"#!":
        return "script"
    if head[:4] != b"\x7fELF" or len(head) < 20:
        return ""
    little = head[5] == 1
    em = int.from_bytes(head[18:20], "little" if little else "big")
    arch = ELF_MACHINES.get(em, f"elf-machine-{em}")
    if arch == "ppc64" and little:
        arch = "ppc64le"
    return arch
