"""The composition root: flags and environment in, clients and sinks out."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rich.console import Console
from rich.markup import escape

from .. import location
from ..errors import BadInput
from ..location import LayoutLocation, RegistryLocation
from ..reference import DEFAULT_DOMAIN, Reference
from ..store import Sink, Source


def _parse_mirrors(items: list[str]) -> dict[str, tuple[str, ...]]:
    mirrors: dict[str, list[str]] = {}
    for item in items:
        registry, sep, host = item.partition("=")
        if not sep or not registry or not host:
            raise BadInput(f"--mirror {item!r}: expected REGISTRY=HOST, e.g. docker.io=192.168.1.10:6000")
        host = host.removeprefix("https://").removeprefix("http://").rstrip("/")
        if registry.count(".") > 1 and registry.endswith("." + DEFAULT_DOMAIN):
            registry = DEFAULT_DOMAIN  # docker's legacy and API host names of docker.io
        mirrors.setdefault(registry, []).append(host)
    return {k: tuple(v) for k, v in mirrors.items()}


@dataclass
class Context:
    json: bool = False
    debug: bool = False
    plain_http: tuple[str, ...] = ()
    ca_file: str | None = None
    mirrors: dict[str, tuple[str, ...]] = field(default_factory=dict)  # --mirror, parsed
    mirror_only: bool = False
    jobs: int = 4
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    console: Console = field(default_factory=lambda: Console(soft_wrap=True, emoji=False))
    err: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=True, emoji=False))
    _client: Any = None

    @classmethod
    def from_args(cls, args) -> "Context":
        ctx = cls(
            json=getattr(args, "json", False),
            debug=getattr(args, "debug", False),
            plain_http=tuple(getattr(args, "plain_http", []) or []),
            ca_file=getattr(args, "ca_file", None),
            jobs=max(1, getattr(args, "jobs", 4) or 4),
        )
        ctx.mirrors = _parse_mirrors(list(getattr(args, "mirror", []) or []))
        ctx.mirror_only = bool(getattr(args, "mirror_only", False))
        if ctx.mirror_only and not ctx.mirrors:
            raise BadInput("--mirror-only needs at least one --mirror REGISTRY=HOST")
        return ctx

    # -- output -------------------------------------------------------------
    def emit(self, doc: dict) -> None:
        """The one JSON document a ``--json`` run prints."""
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False) + "\n")
        sys.stdout.flush()

    def fail(self, message: str, code: int = 1) -> None:
        if self.json:
            self.emit({"error": message, "exitCode": code})
        else:
            self.err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)

    @property
    def interactive(self) -> bool:
        return not self.json and self.err.is_terminal

    # -- clients --------------------------------------------------------------
    def registry(self):
        """One shared registry client (thread-safe; copies use a pool)."""
        if self._client is None:
            from ..registry.client import Client
            from ..registry.credentials import load_credentials
            from ..registry.hosts import HostOptions

            _tune_http_reads()
            if self.ca_file and not os.path.isfile(self.ca_file):
                raise BadInput(f"--ca-file {self.ca_file}: no such file")
            options = HostOptions(
                plain_http=frozenset(self.plain_http),
                ca_file=self.ca_file,
                mirrors=MappingProxyType(dict(self.mirrors)),
                mirror_only=self.mirror_only,
            )
            docker_config = self.env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
            creds = load_credentials(docker_config, self.env.get("REGISTRY_AUTH_FILE"))
            self._client = Client(options, creds, max_connections=max(8, self.jobs * 2))
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- locations ------------------------------------------------------------
    def open_source(self, text: str) -> Source:
        loc = location.parse(text)
        if isinstance(loc, RegistryLocation):
            from ..registry.store import RegistrySource
            return RegistrySource(self.registry(), loc.ref)
        if isinstance(loc, LayoutLocation):
            from ..layout import LayoutSource
            return LayoutSource(loc.path, loc.tag)
        if loc.kind == "oci-archive":
            from ..archive import OciArchiveSource
            return OciArchiveSource(loc.path, loc.name)
        from ..archive import DockerArchiveSource
        return DockerArchiveSource(loc.path, loc.name)

    def open_sink(self, text: str, source_text: str | None = None) -> Sink:
        loc = location.parse(text)
        if isinstance(loc, RegistryLocation):
            from ..registry.store import RegistrySink
            mount_from = None
            if source_text:
                src = location.parse(source_text)
                if isinstance(src, RegistryLocation) and src.ref.domain == loc.ref.domain \
                        and src.ref.path != loc.ref.path:
                    mount_from = src.ref
            return RegistrySink(self.registry(), loc.ref, mount_from=mount_from)
        if isinstance(loc, LayoutLocation):
            from ..layout import LayoutSink
            return LayoutSink(loc.path, loc.tag)
        if loc.kind == "oci-archive":
            from ..archive import OciArchiveSink
            return OciArchiveSink(loc.path, loc.name)
        from ..archive import DockerArchiveSink
        name = loc.name
        if name is None and source_text:
            src = location.parse(source_text)
            if isinstance(src, RegistryLocation):
                name = src.ref.normalized()
        return DockerArchiveSink(loc.path, name)


def _tune_http_reads() -> None:
    """httpcore reads response bodies 64 KiB per recv(); blobs are streamed
    in 1 MiB pieces, and larger reads cut the per-byte Python work of a copy
    by about a tenth (bench/bench_copy.py).  A process-wide setting, so it is
    made here, in the composition root, not inside the library."""
    try:
        from httpcore._sync.http11 import HTTP11Connection
    except ImportError:  # a future httpcore without this knob: keep its default
        return
    HTTP11Connection.READ_NUM_BYTES = max(HTTP11Connection.READ_NUM_BYTES, 1 << 20)


def reference_of(text: str) -> Reference | None:
    loc = location.parse(text)
    return loc.ref if isinstance(loc, RegistryLocation) else None
