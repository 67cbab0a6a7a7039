"""A smoke recipe's files and writable directories, in the container.

Under containerd the files are written to a directory of ours and bind-mounted
read-only, and each writable directory is a tmpfs (what a pod's ``emptyDir``
gives); under the confined fallback both are placed in the extracted root.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import ArchportError, BadInput


def mount_args(files: tuple[tuple[str, str], ...], writable: tuple[str, ...], mounts: Path | None) -> list[str]:
    """``ctr run --mount`` for the recipe's files (read-only binds of what
    :func:`stage_files` wrote) and its writable directories (tmpfs, like the
    emptyDir a pod mounts there)."""
    out = []
    for path, _ in files:
        assert mounts is not None
        out += ["--mount", f"type=bind,src={mounts / path.lstrip('/')},dst={path},options=rbind:ro"]
    for path in writable:
        out += ["--mount", f"type=tmpfs,src=tmpfs,dst={path},options=nosuid:nodev:mode=1777"]
    return out


def stage_files(files: tuple[tuple[str, str], ...], root: Path, dirs: tuple[str, ...] = ()) -> None:
    """Write the recipe's files under ``root`` (world-readable: the program
    may run as any user) and make ``dirs`` (mode 1777).

    ``root`` may be an extracted image: a symlink the image planted on the
    way is refused, never followed, so nothing lands outside ``root``."""
    if files or dirs:
        root.mkdir(mode=0o755, exist_ok=True)
    for path, text in files:
        parent = _real_dirs(root, Path(path).parent)
        fd = os.open(parent / Path(path).name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(parent / Path(path).name, 0o644, follow_symlinks=False)
    for d in dirs:
        os.chmod(_real_dirs(root, Path(d)), 0o1777)


def _real_dirs(root: Path, inside: Path) -> Path:
    """``root``/``inside`` as real directories (made when absent, 0755)."""
    at = root
    for part in inside.parts[1:] if inside.is_absolute() else inside.parts:
        if part in ("", ".", ".."):
            raise BadInput(f"smoke path {str(inside)!r}: absolute, without . or .. components")
        at = at / part
        try:
            st = os.lstat(at)
        except FileNotFoundError:
            os.mkdir(at, 0o755)
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise ArchportError(f"the image has {'a symlink' if stat.S_ISLNK(st.st_mode) else 'a file'} at "
                                f"/{at.relative_to(root)}, where the smoke recipe needs a directory")
    return at
