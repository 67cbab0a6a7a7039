"""A file-based GOPROXY made from the fixture modules in tests/fixtures/gomod.

Layout per the Go module proxy protocol (go.dev/ref/mod#goproxy-protocol):
``<module>/@v/list``, ``<v>.info``, ``<v>.mod``, ``<v>.zip`` whose entries are
prefixed ``<module>@<v>/``.  Served to ``go`` as ``GOPROXY=file://DIR``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gomod"
PREFIX = "example.test/"


def build(dest: Path, fixtures: Path = FIXTURES) -> Path:
    versions: dict[str, list[str]] = {}
    for d in sorted(p for p in fixtures.iterdir() if p.is_dir() and "@" in p.name):
        name, version = d.name.split("@", 1)
        module = PREFIX + name
        vdir = dest / module / "@v"
        vdir.mkdir(parents=True, exist_ok=True)
        (vdir / f"{version}.mod").write_bytes((d / "go.mod").read_bytes())
        (vdir / f"{version}.info").write_text(json.dumps({"Version": version, "Time": "2022-01-01T00:00:00Z"}))
        with zipfile.ZipFile(vdir / f"{version}.zip", "w") as z:
            for f in sorted(d.rglob("*")):
                if f.is_file():
                    info = zipfile.ZipInfo(f"{module}@{version}/{f.relative_to(d).as_posix()}", (2022, 1, 1, 0, 0, 0))
                    z.writestr(info, f.read_bytes())
        versions.setdefault(module, []).append(version)
    for module, vs in versions.items():
        (dest / module / "@v" / "list").write_text("\n".join(vs) + "\n")
    return dest


def env(proxy_dir: Path) -> dict[str, str]:
    """Environment for ``go`` to use only the fixture proxy (no checksum
    database for the private example.test modules, as GOPRIVATE would do)."""
    return {"GOPROXY": f"file://{proxy_dir}", "GONOSUMDB": "example.test", "GOPRIVATE": "example.test",
            "GOFLAGS": "-mod=mod"}
