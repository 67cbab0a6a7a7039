"""Image configs (image-spec ``config.md``): the contract a container runs by."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..platform import Platform
from .manifest import load_object


@dataclass(frozen=True, slots=True)
class ImageConfig:
    raw: bytes
    os: str
    architecture: str
    variant: str = ""
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()
    user: str = ""
    working_dir: str = ""
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    diff_ids: tuple[str, ...] = ()

    @property
    def platform(self) -> Platform:
        return Platform(self.os, self.architecture, self.variant)

    @property
    def path(self) -> str:
        """The container's PATH (what the kubelet's exec resolves a bare name by)."""
        for e in self.env:
            if e.startswith("PATH="):
                return e[5:]
        return ""

    def document(self) -> dict[str, Any]:
        return json.loads(self.raw)


def parse_config(raw: bytes) -> ImageConfig:
    doc = load_object(raw, "image config")
    c = doc.get("config") or {}
    rootfs = doc.get("rootfs") or {}

    def seq(v) -> tuple[str, ...] | None:
        return tuple(v) if isinstance(v, list) else None

    return ImageConfig(
        raw=raw,
        os=doc.get("os", ""),
        architecture=doc.get("architecture", ""),
        variant=doc.get("variant", "") or "",
        entrypoint=seq(c.get("Entrypoint")),
        cmd=seq(c.get("Cmd")),
        env=tuple(c.get("Env") or ()),
        user=c.get("User", "") or "",
        working_dir=c.get("WorkingDir", "") or "",
        exposed_ports=tuple(sorted((c.get("ExposedPorts") or {}).keys())),
        volumes=tuple(sorted((c.get("Volumes") or {}).keys())),
        labels=dict(c.get("Labels") or {}),
        stop_signal=c.get("StopSignal", "") or "",
        diff_ids=tuple(rootfs.get("diff_ids") or ()),
    )


def read_config(source, manifest) -> ImageConfig:
    """The config of ``manifest``, read (and digest-verified) from ``source``,
    anything with ``open_blob`` (a :class:`archport.store.Source`)."""
    with source.open_blob(manifest.config) as chunks:
        return parse_config(b"".join(chunks))
