"""Extract an image's root filesystem onto the host, safely.

Used where a real tree is needed (the smoke run's emulated fallback).  The
extractor usually runs as root, so no entry is written outside ``dest``:
names with ``..`` components or absolute names are refused, and so are
whiteouts that name no file of their directory (``.wh...`` would otherwise
delete ``dest/..``); parents are created only as real directories (a symlink
planted by an earlier layer is never written through); hard links must point
inside the root at something already extracted; device nodes, FIFOs and
sockets are skipped; set-id bits are dropped.  Whiteouts are applied.  An
entry the host refuses (a name longer than ``PATH_MAX``) is skipped.  Refused
entries are returned as findings, never followed.

Bounded: ``max_size`` caps both what one layer may expand to and what the
whole extraction may write, so a compression bomb fails with a clear error
instead of filling the disk.  :func:`remove_tree` removes a tree of any
depth without recursion.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Iterable

from .compression import TooLarge, human
from .layers import entries
from .paths import DELETE, EMPTY, parse_name

_FATAL = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS)
MAX_FINDINGS = 20
_PATH_MAX = 4096          # linux/limits.h, with the terminating NUL


def _real_parent(dest: Path, rel: str, owner: tuple[int, int] | None, known: set[str]) -> Path | None:
    """Create ``rel``'s parent directories as real directories; None if a
    component is a symlink or a non-directory (we never write through them).
    ``known`` holds the directories already checked or made in this
    extraction (emptied whenever anything is removed), so a deep tree costs
    one check per entry rather than one per component."""
    parts = rel.split("/")[:-1]
    if not parts:
        return dest
    if "/".join(parts) in known:
        return dest.joinpath(*parts)
    base = str(dest)
    key = ""
    for part in parts:
        key = f"{key}/{part}" if key else part
        if key in known:
            continue
        full = f"{base}/{key}"
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            os.mkdir(full, 0o755)
            if owner is not None:
                os.lchown(full, *owner)
            known.add(key)
            continue
        if not stat.S_ISDIR(st.st_mode):
            return None
        known.add(key)
    return dest.joinpath(*parts)


def _remove(p: Path, known: set[str]) -> None:
    known.clear()
    if p.is_symlink() or not p.is_dir():
        p.unlink(missing_ok=True)
    else:
        remove_tree(p)


class _Budget:
    """What the extraction may still write, and the directories it knows."""

    def __init__(self, limit: int | None) -> None:
        self.limit, self.used = limit, 0
        self.known: set[str] = set()

    def take(self, n: int) -> None:
        self.used += n
        if self.limit is not None and self.used > self.limit:
            raise TooLarge(f"extraction would write more than {human(self.limit)}", self.limit)


def extract_layer(chunks: Iterable[bytes], dest: Path, findings: list[str], *, max_size: int | None = None,
                  owner: tuple[int, int] | None = None, _budget: _Budget | None = None) -> None:
    """Apply one layer blob (compressed or not) onto ``dest``.  ``owner``:
    (uid, gid) to give every entry (for a tree that an unprivileged user
    namespace will own), else the extractor's own."""
    budget = _budget or _Budget(max_size)
    for tar, m in entries(chunks, max_size):
        name = parse_name(m.name.replace("\\", "/"))
        if name.refused or name.dotdot or name.absolute:
            findings.append(f"refused {m.name!r}: {name.refused or 'escapes the root'}")
            continue
        rel = "/".join(name.comps)
        if not rel and name.kind != EMPTY:
            continue
        if len(os.fsencode(str(dest))) + 1 + len(os.fsencode(rel)) >= _PATH_MAX:
            findings.append(f"refused {m.name[:80]!r}…: File name too long (over the host's PATH_MAX)")
            continue
        try:
            _entry(tar, m, name, rel, dest, findings, budget, owner)
        except OSError as e:
            if e.errno in _FATAL:
                raise
            findings.append(f"refused {m.name!r}: {e.strerror or e}")


def _entry(tar, m, name, rel: str, dest: Path, findings: list[str], budget: _Budget,
           owner: tuple[int, int] | None) -> None:
    known = budget.known
    if name.kind == EMPTY:
        parent = _real_parent(dest, rel + "/x", owner, known) if rel else dest
        if parent is None:
            findings.append(f"refused {m.name!r}: a parent is a symlink or a file")
            return
        for child in parent.iterdir():
            _remove(child, known)
        return
    parent = _real_parent(dest, rel, owner, known)
    if parent is None:
        findings.append(f"refused {m.name!r}: a parent is a symlink or a file")
        return
    target = parent / name.comps[-1]
    if name.kind == DELETE:
        if target.exists() or target.is_symlink():
            _remove(target, known)
        return
    if (target.exists() or target.is_symlink()) and not (m.isdir() and target.is_dir() and not target.is_symlink()):
        _remove(target, known)
    mode = m.mode & 0o777  # no set-id, no sticky: we run as root
    if m.isdir():
        target.mkdir(mode=0o755, exist_ok=True)
        os.chmod(target, mode | 0o700)
        known.add(rel)
    elif m.isreg():
        budget.take(m.size)
        src = tar.extractfile(m)
        with open(target, "wb") as out:
            while src is not None and (chunk := src.read(1 << 20)):
                out.write(chunk)
        os.chmod(target, mode)
    elif m.issym():
        os.symlink(m.linkname, target)
    elif m.islnk():
        link = parse_name(m.linkname)
        src_path = dest / "/".join(link.comps) if link.comps and not (link.dotdot or link.absolute) else None
        if src_path is None or not src_path.is_file() or src_path.is_symlink() \
                or _real_parent(dest, "/".join(link.comps), owner, known) is None:
            findings.append(f"refused hard link {m.name!r} -> {m.linkname!r}")
            return
        os.link(src_path, target)
        return
    else:
        findings.append(f"skipped {m.name!r}: device node, FIFO or socket")
        return
    if owner is not None:
        os.lchown(target, *owner)


def _file_chunks(path: Path) -> Iterable[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            yield chunk


def extract(layers: Iterable[Path], dest: Path, *, max_size: int | None = None,
            owner: tuple[int, int] | None = None) -> list[str]:
    """Apply layer files (compressed or not) in order onto ``dest``; the
    findings name each refused entry.  Raises :class:`TooLarge` past
    ``max_size`` (one layer's expansion, or all layers' writes)."""
    findings: list[str] = []
    dest.mkdir(parents=True, exist_ok=True)
    if owner is not None:
        os.lchown(dest, *owner)
    budget = _Budget(max_size)
    for i, path in enumerate(layers):
        try:
            extract_layer(_file_chunks(path), dest, findings, max_size=max_size, owner=owner, _budget=budget)
        except TooLarge as e:
            raise TooLarge(f"layer {i + 1}: {e}", e.limit) from None
    if len(findings) > MAX_FINDINGS:     # a hostile layer may hold a million of them
        findings[MAX_FINDINGS:] = [f"… and {len(findings) - MAX_FINDINGS} more entries refused or skipped"]
    return findings


def remove_tree(path: Path | str) -> None:
    """Remove ``path`` and everything under it, at any depth: one directory
    descriptor open at a time, climbing back with ``..``, never recursing
    (``shutil.rmtree`` recurses once per level).  Errors are ignored, as a
    clean-up must not hide the error that led to it."""
    path = str(path)
    try:
        st = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISDIR(st.st_mode):
        _quiet(os.unlink, path)
        return
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    names: list[str] = []      # the directories below ``path`` we are in
    try:
        while True:
            sub = None
            try:
                with os.scandir(fd) as it:
                    for e in it:
                        if e.is_dir(follow_symlinks=False):
                            sub = e.name
                            break
                        _quiet(os.unlink, e.name, dir_fd=fd)
            except OSError:
                pass
            if sub is not None:
                try:
                    child = os.open(sub, flags, dir_fd=fd)
                except OSError:
                    _quiet(os.chmod, sub, 0o700, dir_fd=fd, follow_symlinks=False)
                    try:
                        child = os.open(sub, flags, dir_fd=fd)
                    except OSError:
                        return          # cannot enter it: leave the rest rather than loop
                os.close(fd)
                fd = child
                names.append(sub)
                continue
            if not names:
                break
            parent = os.open("..", flags, dir_fd=fd)
            os.close(fd)
            fd = parent
            try:
                os.rmdir(names.pop(), dir_fd=fd)
            except OSError:
                return                  # not empty after all, or not ours: do not loop
    finally:
        os.close(fd)
    _quiet(os.rmdir, path)


def _quiet(fn, *args, **kw) -> None:
    try:
        fn(*args, **kw)
    except OSError:
        pass
