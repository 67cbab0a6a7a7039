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
from ..errors import ArchportError, BadInput
from ..images import open_sink, open_source
from ..location import RegistryLocation
from ..reference import DEFAULT_DOMAIN
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
    verify_blobs: bool = False    # --verify-blobs: hash blobs a registry already had or mounted
    stall_timeout: float | None = None   # --stall-timeout: None = the client's default
    verify_mounts: bool = True    # read back blobs a copy mounts (off only with --no-verify-blobs)
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
            verify_blobs=bool(getattr(args, "verify_blobs_default", False)
                              if getattr(args, "verify_blobs", None) is None else args.verify_blobs),
            stall_timeout=getattr(args, "stall_timeout", None),
            verify_mounts=getattr(args, "verify_blobs", None) is not False,
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

    def fail(self, message: str, code: int = 1, next_step: str = "") -> None:
        if self.json:
            self.emit({"error": message, "exitCode": code, **({"nextStep": next_step} if next_step else {})})
        else:
            self.err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)
            if next_step:
                self.err.print(f"  next: {escape(next_step)}", markup=True, highlight=False)

    def cache_dir(self) -> str:
        """archport's per-user cache: ``$XDG_CACHE_HOME/archport`` (XDG Base
        Directory spec; ``~/.cache`` when unset or not absolute), created
        0700 and kept 0700: it holds build outputs a later run trusts."""
        base = self.env.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):
            base = os.path.join(self.env.get("HOME") or os.path.expanduser("~"), ".cache")
        path = os.path.join(base, "archport")
        return private_dir(path)

    @property
    def interactive(self) -> bool:
        """Someone watches stderr, so progress is drawn there: a real
        terminal, not just colour asked for (rich's ``is_terminal`` also
        honours FORCE_COLOR and TTY_COMPATIBLE, which CI logs set), nor
        TERM=dumb; never under ``--json``."""
        if self.json or self.err.is_dumb_terminal:
            return False
        try:
            return self.err.file.isatty() and self.err.is_terminal
        except (AttributeError, ValueError):      # no file, or closed
            return False

    # -- clients --------------------------------------------------------------
    def registry(self):
        """One shared registry client (thread-safe; copies use a pool)."""
        if self._client is None:
            # lazy: only a registry location loads httpx and the registry stack (start-up time)
            from ..registry.client import Client, Transfer
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
            stall = {} if self.stall_timeout is None else {"stall_timeout": self.stall_timeout}
            transfer = Transfer(max_connections=max(8, self.jobs * 2), verify_blobs=self.verify_blobs,
                                verify_mounts=self.verify_mounts, **stall)
            self._client = Client(options, creds, transfer=transfer)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- locations ------------------------------------------------------------
    def open_source(self, text: str) -> Source:
        return open_source(text, self._registry_if_needed(text))

    def open_sink(self, text: str, source_text: str | None = None) -> Sink:
        return open_sink(text, self._registry_if_needed(text), source=source_text)

    def _registry_if_needed(self, text: str):
        # Build the client only for a registry location: a copy between
        # layouts and archives never reads credentials or opens a pool.
        return self.registry() if isinstance(location.parse(text), RegistryLocation) else None


def private_dir(path: str) -> str:
    """Create ``path`` (and its parents) readable by its owner only, or make
    an existing one so; refuse a directory another user owns, whose builds
    this run would otherwise trust."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.stat(path)
        if st.st_uid != os.getuid():
            raise BadInput(f"cache directory {path} belongs to another user (uid {st.st_uid}); "
                           f"set XDG_CACHE_HOME or --cache-dir to a directory of your own")
        if st.st_mode & 0o077:
            os.chmod(path, 0o700)
    except OSError as e:
        raise ArchportError(f"cache directory {path}: {e.strerror or e}") from None
    return path


def _tune_http_reads() -> None:
    """httpcore reads response bodies 64 KiB per recv(); blobs are streamed
    in 1 MiB pieces, and larger reads cut the per-byte Python work of a copy
    by about a tenth (bench/bench_copy.py).  A process-wide setting, so it is
    made here, in the composition root, not inside the library."""
    # Here, not at the top: a private module of httpcore (it may move), loaded with the registry stack.
    try:
        from httpcore._sync.http11 import HTTP11Connection
    except ImportError:  # a future httpcore without this knob: keep its default
        return
    HTTP11Connection.READ_NUM_BYTES = max(HTTP11Connection.READ_NUM_BYTES, 1 << 20)

