"""Connectors: where commands run.  Three primitives, as in pyinfra: run, put, get.

:class:`Local`, :class:`SSH`, :class:`Result` and :class:`Unreachable` live in
:mod:`archport.remote` (deploy uses them too) and are re-exported here.

* :class:`Dump`   — a directory written by ``archport collect``: ``run`` answers
  a fact's command from the file that holds its output.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BadInput
from ..remote import SSH, Local, Result, Unreachable
from . import facts as _facts

__all__ = ["SSH", "Dump", "Local", "Result", "Unreachable"]


class Dump:
    """A saved dump directory: each fact's command is answered from its file."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        if not self.dir.is_dir():
            raise BadInput(f"{directory}: not a dump directory")
        self.name = f"dump:{self.dir}"

    def run_fact(self, fact: _facts.Fact) -> Result:
        p = self.dir / fact.file
        if not p.is_file():
            return Result("", f"{fact.file} not in dump", 127)
        rc_file = self.dir / (fact.file + ".rc")
        rc = int(rc_file.read_text().strip() or 0) if rc_file.is_file() else 0
        return Result(p.read_text(errors="replace"), "", rc)

    def run(self, command: str, timeout: float = 0) -> Result:
        for f in _facts.FACTS:
            if command in (f.name, f.render()):
                return self.run_fact(f)
        return Result("", f"{command!r}: not recorded in the dump", 127)

    def put(self, data: bytes, path: str, mode: int = 0o644) -> None:
        raise BadInput("a saved dump is read-only")

    def get(self, path: str) -> bytes:
        p = (self.dir / path.lstrip("/")).resolve()
        if self.dir.resolve() not in p.parents:
            raise BadInput(f"{path}: outside the dump")
        return p.read_bytes()
