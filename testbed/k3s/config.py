"""config.yaml and config.yaml.d merged as k3s v1.24.2 merges them, and the
settings the stand-in acts on.  Pure: file names and texts in, values out.

k3s pkg/configfilearg/parser.go (readConfigFile, dotDFiles, toSlice):

* the files are ``config.yaml`` then every regular file of ``config.yaml.d/``
  whose name ends in ``.yaml`` or ``.yml``, in ``os.ReadDir`` order (sorted by
  name); a missing ``config.yaml`` is fine when drop-ins exist;
* each file is a YAML mapping read key by key; a later file's key replaces the
  earlier value, except a key written ``name+``, whose value is appended to
  the earlier one (a scalar counts as a one-item list);
* every key becomes ``--key=value`` (a list: one flag per item), in the order
  keys were first seen; string-slice flags then split each value on commas
  (urfave/cli StringSlice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError


class ConfigError(ValueError):
    """A config file k3s itself would refuse (not a YAML mapping)."""


def dropins(names: Iterable[str]) -> list[str]:
    """The ``config.yaml.d`` entries k3s reads, in its order (dotDFiles).
    ``names`` are the directory's regular files."""
    return sorted(n for n in names if n.endswith((".yaml", ".yml")))


def _to_list(v: Any) -> list:
    if isinstance(v, list):
        return list(v)
    if isinstance(v, str):
        return [v]
    s = _scalar(v).strip()
    return [s] if s else []


def _scalar(v: Any) -> str:
    # rancher/wrangler convert.ToString: booleans and numbers in Go's spelling.
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def merge(files: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Merge ``(name, text)`` pairs, first to last, into one ordered mapping
    (insertion order = the order keys were first seen)."""
    values: dict[str, Any] = {}
    for name, text in files:
        try:
            doc = YAML(typ="safe").load(text) if text.strip() else {}
        except YAMLError as e:
            raise ConfigError(f"{name}: not YAML: {str(e).splitlines()[0]}") from None
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            raise ConfigError(f"{name}: not a YAML mapping")
        for raw_key, v in doc.items():
            key = str(raw_key)
            append = key.endswith("+")
            key = key.removesuffix("+")
            if append and key in values:
                values[key] = _to_list(values[key]) + _to_list(v)
            else:
                values[key] = v
    return values


def as_flags(values: dict[str, Any]) -> list[str]:
    """The command line k3s builds from the merged values (for the log)."""
    out = []
    for k, v in values.items():
        prefix = "-" if len(k) == 1 else "--"
        for item in (v if isinstance(v, list) else [v]):
            out.append(f"{prefix}{k}={_scalar(item)}")
    return out


def string_slice(values: dict[str, Any], key: str) -> tuple[str, ...]:
    """A StringSlice flag's items: one per list item, each split on commas.
    k3s server.go then trims each ``--disable`` item (strings.TrimSpace)."""
    v = values.get(key)
    if v is None:
        return ()
    items = []
    for item in (v if isinstance(v, list) else [v]):
        items += [p.strip() for p in _scalar(item).split(",") if p.strip()]
    return tuple(items)


# k3s pkg/cli/cmds/agent.go: the --pause-image flag's default.
DEFAULT_PAUSE_IMAGE = "rancher/mirrored-pause:3.6"
# k3s pkg/cli/cmds/server.go defaults; --default-local-storage-path defaults
# to <data-dir>/storage (pkg/cli/server/server.go).
DEFAULT_DATA_DIR = "/var/lib/rancher/k3s"


@dataclass(frozen=True, slots=True)
class Settings:
    """What the stand-in acts on, after k3s's own defaulting."""

    pause_image: str = DEFAULT_PAUSE_IMAGE
    system_default_registry: str = ""
    disable: frozenset[str] = frozenset()
    cluster_dns: str = "10.43.0.10"
    cluster_domain: str = "cluster.local"
    default_local_storage_path: str = DEFAULT_DATA_DIR + "/storage"
    flags: tuple[str, ...] = ()
    # Keys the stand-in reads but does not act on (said in its log, never ignored silently).
    unhandled: tuple[str, ...] = ()


# Keys whose effect is the bed's own fixed node set-up (named in the log as
# "fixed by the bed"), and keys the stand-in acts on.
HANDLED = {"pause-image", "system-default-registry", "disable", "cluster-dns", "cluster-domain",
           "default-local-storage-path", "write-kubeconfig-mode", "write-kubeconfig"}


def settings(values: dict[str, Any]) -> Settings:
    registry = _scalar(values.get("system-default-registry", "")).strip()
    pause = _scalar(values.get("pause-image", "")).strip() or DEFAULT_PAUSE_IMAGE
    # pkg/agent/config/config.go (get): the system default registry is put in
    # front of the pause image unless the image already starts with it.
    if registry and not pause.startswith(registry):
        pause = f"{registry}/{pause}"
    dns = string_slice(values, "cluster-dns")
    return Settings(
        pause_image=pause,
        system_default_registry=registry,
        disable=frozenset(string_slice(values, "disable")),
        cluster_dns=dns[0] if dns else "10.43.0.10",
        cluster_domain=_scalar(values.get("cluster-domain", "")).strip() or "cluster.local",
        default_local_storage_path=(_scalar(values.get("default-local-storage-path", "")).strip()
                                    or DEFAULT_DATA_DIR + "/storage"),
        flags=tuple(as_flags(values)),
        unhandled=tuple(k for k in values if k not in HANDLED),
    )
