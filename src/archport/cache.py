"""A content-addressed store of build outputs, keyed by their inputs.

A build's *inputs* (module@version, the fixups knowledge, the Go version,
the target, the flags) are written as canonical JSON and hashed; the hash
names a directory holding the output files and a ``meta.json``.  Equal
inputs give the same key, so a repeated port finds the binary it built last
time without downloading or compiling anything.

Entries are written to a temporary directory and renamed into place, so a
reader never sees half an entry and two runs racing both end with a whole one.
Layout::

    CACHE_DIR/<kind>/<sha256 of inputs>/meta.json   inputs + what the build recorded
    CACHE_DIR/<kind>/<sha256 of inputs>/<files>     the outputs
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


def key_of(inputs: Mapping[str, Any]) -> str:
    """The hex SHA-256 of the inputs' canonical JSON."""
    raw = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    path: Path
    meta: Mapping[str, Any]

    def file(self, name: str) -> Path:
        return self.path / name


class Cache:
    """``get``/``put`` by inputs under ``root/kind``.  ``root=None`` disables caching."""

    def __init__(self, root: str | os.PathLike | None, kind: str) -> None:
        self.root = Path(root) / kind if root is not None else None

    def get(self, inputs: Mapping[str, Any]) -> Entry | None:
        if self.root is None:
            return None
        d = self.root / key_of(inputs)
        try:
            meta = json.loads((d / "meta.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError, NotADirectoryError):
            return None
        files = meta.get("files", [])
        if not all((d / f).is_file() for f in files):
            return None
        return Entry(d, meta)

    def put(self, inputs: Mapping[str, Any], files: Mapping[str, str | os.PathLike],
            record: Mapping[str, Any] | None = None) -> Entry | None:
        """Copy ``files`` (name -> host path) into the entry for ``inputs``."""
        if self.root is None:
            return None
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / key_of(inputs)
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            for name, src in files.items():
                shutil.copyfile(src, tmp / name)
                shutil.copymode(src, tmp / name)
            meta = {"inputs": dict(inputs), "files": sorted(files), **(record or {})}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True, default=str))
            if final.exists():
                shutil.rmtree(final, ignore_errors=True)
            try:
                os.replace(tmp, final)
            except OSError:      # another run put the same entry first: keep theirs
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return self.get(inputs)

    # -- small records (e.g. "this destination tag already holds the platform") --

    def note(self, inputs: Mapping[str, Any], value: Mapping[str, Any]) -> None:
        if self.root is None:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{key_of(inputs)}.json"
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        tmp.write_text(json.dumps(dict(value), sort_keys=True))
        os.replace(tmp, path)

    def recall(self, inputs: Mapping[str, Any]) -> Mapping[str, Any] | None:
        if self.root is None:
            return None
        try:
            return json.loads((self.root / f"{key_of(inputs)}.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None


__all__ = ["Cache", "Entry", "key_of"]
