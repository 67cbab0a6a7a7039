"""The containerd configuration k3s generates: its sandbox image and where
containerd reads registry hosts (pure).

k3s writes ``agent/etc/containerd/config.toml`` at every start from its
template (pkg/agent/templates).  Where a setting lives depends on the file's
schema version, which follows containerd's major version:

* version 3 (containerd 2.x, k3s releases from 2025 on): the CRI plugin is
  split in two, and the pause image is
  ``[plugins.'io.containerd.cri.v1.images'.pinned_images] sandbox``; registry
  hosts come from ``[plugins.'io.containerd.cri.v1.images'.registry]
  config_path`` (one ``hosts.toml`` per registry under it);
* version 2 (containerd 1.5 to 1.7): ``[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image``, and ``…cri".registry`` holds ``config_path`` or, in k3s
  releases before January 2024, the mirrors themselves
  (``registry.mirrors."HOST".endpoint``);
* version 1 or none (containerd 1.4 and older): ``[plugins.cri]`` with the
  same keys as version 2.

containerd documents both schemas (docs/cri/config.md, "CRI Plugin Config
Guide", and docs/PLUGINS.md for version 3's plugin names).  A copy that keeps
an older schema's keys under a newer version loses them silently, so the
keys are read where the file's own version puts them, and a key left in the
other place is named.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import BadInput

# The CRI image settings' table, per schema version.
_IMAGES = {3: ("io.containerd.cri.v1.images",), 2: ("io.containerd.grpc.v1.cri",), 1: ("cri",)}


@dataclass(frozen=True, slots=True)
class ContainerdConfig:
    version: int                        # the file's schema version (1 when it has none)
    sandbox_image: str                  # "" when the file does not set one
    sandbox_key: str                    # where it was read: "plugins.'io.containerd.cri.v1.images'.pinned_images.sandbox"
    config_path: str                    # registry hosts directory ("" when none)
    mirrors: tuple[str, ...] = ()       # registries configured inline (version 1 and 2 only)
    notes: tuple[str, ...] = ()         # keys an older or newer schema would read, found in the wrong place


def parse(text: str, origin: str = "config.toml") -> ContainerdConfig:
    """``text`` (a containerd ``config.toml``) read as its own version reads it;
    :class:`BadInput` naming ``origin`` when it is not TOML."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"{origin}: not a TOML file: {e}") from None
    version = doc.get("version", 1)
    if not isinstance(version, int) or version not in _IMAGES:
        raise BadInput(f"{origin}: containerd config version {version!r} is not 1, 2 or 3")
    plugins = doc.get("plugins") if isinstance(doc.get("plugins"), dict) else {}
    (table,) = _IMAGES[version]
    images = _table(plugins, table)
    if version == 3:
        sandbox, key = _str(_table(images, "pinned_images"), "sandbox"), f"plugins.'{table}'.pinned_images.sandbox"
    else:
        sandbox, key = _str(images, "sandbox_image"), f'plugins."{table}".sandbox_image'
    registry = _table(images, "registry")
    mirrors = tuple(sorted(_table(registry, "mirrors"))) if version < 3 else ()
    return ContainerdConfig(version, sandbox, key if sandbox else "", _str(registry, "config_path"), mirrors,
                            _misplaced(plugins, version))


def _misplaced(plugins: Mapping[str, Any], version: int) -> tuple[str, ...]:
    """Sandbox settings written where this version does not read them."""
    out = []
    if version == 3 and _str(_table(plugins, "io.containerd.grpc.v1.cri"), "sandbox_image"):
        out.append("sandbox_image under plugins.\"io.containerd.grpc.v1.cri\" is a version 2 key: containerd 2.x "
                   "reads the pause image from plugins.'io.containerd.cri.v1.images'.pinned_images.sandbox")
    if version < 3 and _str(_table(_table(plugins, "io.containerd.cri.v1.images"), "pinned_images"), "sandbox"):
        out.append(f"pinned_images.sandbox is a version 3 key: this version {version} file reads the pause image "
                   f"from sandbox_image")
    return tuple(out)


def _table(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    v = doc.get(key)
    return v if isinstance(v, dict) else {}


def _str(doc: Mapping[str, Any], key: str) -> str:
    v = doc.get(key)
    return v.strip() if isinstance(v, str) else ""
