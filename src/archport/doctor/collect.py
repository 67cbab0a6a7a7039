"""Gather facts through a connector, and write or read them as a dump.

A dump is a directory (or a ``.tar.gz`` of one) with one file per fact, named
in :data:`archport.doctor.facts.FACTS`, plus ``collect.json`` recording where
and when it was collected and each command's exit status.  Everything written
passes through :mod:`.redact` first.
"""

from __future__ import annotations

import json
import secrets
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from ..errors import BadInput
from . import facts as F
from . import redact
from .connect import Dump, Unreachable

META = "collect.json"


def gather(conn, root: str = "", lines: int = 2000) -> dict[str, F.Raw]:
    """Run every fact's command in one shell session (one SSH round trip:
    a handshake to a small board costs more than all the commands together)."""
    if isinstance(conn, Dump):
        return {f.name: _raw(conn.run_fact(f)) for f in F.FACTS}
    nonce = secrets.token_hex(8)
    script = "".join(
        f"printf '\\n@@{nonce} {f.name}\\n'; ( {f.render(root, lines)} ) 2>/dev/null </dev/null; "
        f"printf '\\n@@{nonce} rc=%d\\n' $?; "
        for f in F.FACTS)
    result = conn.run(script, timeout=300)
    return _split(result.stdout, nonce)


def _split(out: str, nonce: str) -> dict[str, F.Raw]:
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


def _raw(r) -> F.Raw:
    return F.Raw(r.stdout, r.rc)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write(raw: dict[str, F.Raw], out: str | Path, source: str) -> Path:
    """Write a redacted dump to ``out`` (a directory, or ``*.tar.gz``)."""
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
    for f in F.FACTS:
        r = raw.get(f.name)
        if r is None:
            continue
        (d / f.file).write_text(redact.fact_text(f.name, r.text))
        meta["facts"][f.name] = {"file": f.file, "rc": r.rc, "command": f.command}
    (d / META).write_text(json.dumps(meta, indent=2) + "\n")


def open_dump(path: str | Path, workdir: str | None = None) -> tuple[Dump, dict]:
    """Open a dump directory or ``.tar.gz``; returns the connector and its metadata."""
    p = Path(path)
    if p.is_file() and p.name.endswith((".tar.gz", ".tgz", ".tar")):
        if workdir is None:
            raise BadInput("extracting a dump archive needs a work directory")
        try:
            with tarfile.open(p) as tar:
                tar.extractall(workdir, filter="data")
        except tarfile.TarError:
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
        except json.JSONDecodeError:
            meta = {}
    conn = Dump(p)
    return conn, meta


def read(path: str | Path, workdir: str | None = None) -> F.Facts:
    conn, meta = open_dump(path, workdir)
    raw = gather(conn)
    rcs = {k: v.get("rc", 0) for k, v in (meta.get("facts") or {}).items()}
    raw = {k: F.Raw(v.text, rcs.get(k, v.rc)) for k, v in raw.items()}
    if not any(r.ok for r in raw.values()):
        raise BadInput(f"{path}: no readable facts in this dump")
    return F.parse(raw, source=meta.get("source", str(path)), collected_at=meta.get("collected_at", ""))


def live(conn, root: str = "", lines: int = 2000) -> F.Facts:
    raw = gather(conn, root, lines)
    if not any(r.ok for r in raw.values()):
        raise Unreachable(f"{conn.name}: none of the facts could be read (is this a k3s node?)")
    return F.parse(raw, source=conn.name, collected_at=now())
