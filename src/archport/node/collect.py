"""How facts reach us: live one at a time, many in one round trip, or from a dump.

* :func:`run_one` runs one fact's command through a connector;
* :func:`gather` runs many in one shell session (one SSH round trip: a
  handshake to a small board costs more than all the commands together).
  Each fact's output is framed by marker lines carrying a fresh nonce, so no
  log line can end a section early; each keeps its own exit status;
* a dump (:class:`Dump`, written by :func:`write`) answers each fact's command
  from the file that holds its output.

A dump is a directory (or a ``.tar.gz`` of one) with one file per dumped fact,
named in :data:`archport.node.facts.FACTS`, plus ``collect.json`` recording
where and when it was collected and each command's exit status.  Everything
written passes through :mod:`.redact` first.
"""

from __future__ import annotations

import json
import secrets
import tarfile
import tempfile
import zlib
from datetime import datetime, timezone
from pathlib import Path

from ..errors import BadInput
from ..remote import Connector, Result, Unreachable
from . import facts as F
from . import redact

META = "collect.json"


class Dump:
    """A saved dump directory: each fact's command is answered from its file."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        if not self.dir.is_dir():
            raise BadInput(f"{directory}: not a dump directory")
        self.name = f"dump:{self.dir}"

    def run_fact(self, fact: F.Fact) -> Result:
        if not fact.file:
            return Result("", f"{fact.name}: read live only, not in a dump", 127)
        p = self.dir / fact.file
        if not p.is_file():
            return Result("", f"{fact.file} not in dump", 127)
        rc_file = self.dir / (fact.file + ".rc")
        rc_text = rc_file.read_text(errors="replace").strip() if rc_file.is_file() else "0"
        rc = int(rc_text) if rc_text.lstrip("-").isdigit() else 1  # an unreadable status: not a success
        return Result(p.read_text(errors="replace"), "", rc)

    def run(self, command: str, timeout: float = 0) -> Result:
        for f in F.FACTS:
            if f.file and command in (f.name, f.render()):
                return self.run_fact(f)
        return Result("", f"{command!r}: not recorded in the dump", 127)

    def put(self, data: bytes, path: str, mode: int = 0o644) -> None:
        raise BadInput("a saved dump is read-only")

    def put_file(self, local: str | Path, path: str, mode: int = 0o644) -> None:
        raise BadInput("a saved dump is read-only")

    def get(self, path: str) -> bytes:
        p = (self.dir / path.lstrip("/")).resolve()
        if self.dir.resolve() not in p.parents:
            raise BadInput(f"{path}: outside the dump")
        return p.read_bytes()


def run_one(conn: Connector, name: str, root: str = "", lines: int = 2000, archive: str = "",
            timeout: float = 120) -> F.Raw:
    """One fact, live (or from a dump)."""
    fact = F.BY_NAME[name]
    if isinstance(conn, Dump):
        return _raw(conn.run_fact(fact))
    r = conn.run(fact.render(root, lines, archive), timeout=timeout)
    return F.Raw(r.stdout + r.stderr if fact.errors else r.stdout, r.rc)


def script(names: tuple[str, ...], nonce: str, root: str = "", lines: int = 2000, archive: str = "") -> str:
    """One shell script that prints every named fact between marker lines."""
    return "".join(
        f"printf '\\n@@{nonce} {n}\\n'; ( {F.BY_NAME[n].render(root, lines, archive)} ) "
        f"{'2>&1' if F.BY_NAME[n].errors else '2>/dev/null'} </dev/null; "
        f"printf '\\n@@{nonce} rc=%d\\n' $?; "
        for n in names)


def gather(conn: Connector, root: str = "", lines: int = 2000, names: tuple[str, ...] = F.DUMPED,
           archive: str = "", timeout: float = 300) -> dict[str, F.Raw]:
    """The named facts in one round trip; a dump answers each from its file."""
    if isinstance(conn, Dump):
        return {n: _raw(conn.run_fact(F.BY_NAME[n])) for n in names}
    nonce = secrets.token_hex(8)
    result = conn.run(script(names, nonce, root, lines, archive), timeout=timeout)
    return split(result.stdout, nonce)


def split(out: str, nonce: str) -> dict[str, F.Raw]:
    """The script's output, fact by fact: each body is exactly what its command printed."""
    raw: dict[str, F.Raw] = {}
    parts = out.split(f"\n@@{nonce} ")
    for part in parts[1:]:
        if part.startswith("rc="):
            continue
        name, _, body = part.partition("\n")
        raw[name] = F.Raw(body, 0)
    # each body is followed by its "rc=N" marker part
    names = [p.partition("\n")[0] for p in parts[1:]]
    for i, n in enumerate(names):
        if n in raw and i + 1 < len(names) and names[i + 1].startswith("rc="):
            raw[n] = F.Raw(raw[n].text, int(names[i + 1][3:] or 0))
    return raw


def _raw(r: Result) -> F.Raw:
    return F.Raw(r.stdout, r.rc)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def live(conn: Connector, root: str = "", lines: int = 2000, extra: tuple[str, ...] = (),
         timeout: float = 300) -> F.Facts:
    """The dumped facts (and ``extra`` ones) of a live board, parsed."""
    raw = gather(conn, root, lines, F.DUMPED + tuple(extra), timeout=timeout)
    if not any(raw.get(n, F.Raw("", 1)).ok for n in F.DUMPED):
        raise Unreachable(f"{conn.name}: none of the facts could be read (is this a k3s node?)")
    return F.parse(raw, source=conn.name, collected_at=now())


def write(raw: dict[str, F.Raw], out: str | Path, source: str) -> Path:
    """Write a redacted dump of the dumped facts to ``out`` (a directory, or ``*.tar.gz``)."""
    out = Path(out)
    if out.name.endswith((".tar.gz", ".tgz")):
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp) / out.name.removesuffix(".tar.gz").removesuffix(".tgz")
            _write_dir(raw, d, source)
            with tarfile.open(out, "w:gz") as tar:
                tar.add(d, arcname=d.name)
        return out
    _write_dir(raw, out, source)
    return out


def _write_dir(raw: dict[str, F.Raw], d: Path, source: str) -> None:
    if d.exists() and any(d.iterdir()):
        raise BadInput(f"{d}: exists and is not empty")
    d.mkdir(exist_ok=True)        # never its parents: a mistyped path is the user's to fix
    meta = {"archport_dump": 1, "source": redact.scrub(source), "collected_at": now(), "facts": {}}
    for name in F.DUMPED:
        f, r = F.BY_NAME[name], raw.get(name)
        if r is None:
            continue
        (d / f.file).write_text(redact.fact_text(f.name, r.text))
        meta["facts"][f.name] = {"file": f.file, "rc": r.rc, "command": f.command}
    (d / META).write_text(json.dumps(meta, indent=2) + "\n")


def _extract(tar: tarfile.TarFile, workdir: str) -> None:
    """A dump holds directories and regular files only.  tarfile's ``data``
    filter (PEP 706) refuses everything else, but Python before 3.11.4 (Debian
    12 ships 3.11.2) has no filters: there the same rule is applied by hand."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(workdir, filter="data")
        return
    members = tar.getmembers()
    for m in members:
        parts = Path(m.name).parts
        if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in parts:
            raise tarfile.TarError(f"{m.name}: not a file of a dump")
        m.mode = (m.mode & 0o755) | (0o700 if m.isdir() else 0o600)   # no set-id bits, owner can read
    tar.extractall(workdir, members=members)


def open_dump(path: str | Path, workdir: str | None = None) -> tuple[Dump, dict]:
    """Open a dump directory or ``.tar.gz``; returns the connector and its metadata."""
    p = Path(path)
    if p.is_file() and p.name.endswith((".tar.gz", ".tgz", ".tar")):
        if workdir is None:
            raise BadInput("extracting a dump archive needs a work directory")
        try:
            with tarfile.open(p) as tar:
                _extract(tar, workdir)
        except (tarfile.TarError, EOFError, zlib.error):
            # Truncated or corrupt compression ends in EOFError or zlib.error, not a TarError.
            # tarfile's own message lists every compression it tried, one per line.
            raise BadInput(f"{path}: not a readable dump archive (expected a .tar or .tar.gz "
                           f"written by archport collect)") from None
        except OSError as e:
            raise BadInput(f"{path}: not a readable dump archive ({e.strerror or e})") from None
        subdirs = [x for x in Path(workdir).iterdir() if x.is_dir()]
        p = subdirs[0] if len(subdirs) == 1 and not (Path(workdir) / META).exists() else Path(workdir)
    if not p.is_dir():
        raise BadInput(f"{path}: no such dump directory or archive")
    meta = {}
    if (p / META).is_file():
        try:
            meta = json.loads((p / META).read_text())
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past the parser's stack
            meta = {}
        meta = meta if isinstance(meta, dict) else {}
    return Dump(p), meta


def read(path: str | Path, workdir: str | None = None) -> F.Facts:
    """A dump's facts, through the same parsers as a live board's."""
    conn, meta = open_dump(path, workdir)
    raw = gather(conn)
    rcs = {k: v.get("rc", 0) for k, v in (meta.get("facts") or {}).items()}
    raw = {k: F.Raw(v.text, rcs.get(k, v.rc)) for k, v in raw.items()}
    if not any(r.ok for r in raw.values()):
        raise BadInput(f"{path}: no readable facts in this dump")
    return F.parse(raw, source=meta.get("source", str(path)), collected_at=meta.get("collected_at", ""))
