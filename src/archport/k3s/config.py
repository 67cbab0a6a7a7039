"""The k3s settings that decide which images a node pulls, from its config files (pure).

k3s reads ``/etc/rancher/k3s/config.yaml`` and then every
``config.yaml.d/*.yaml`` in name order (k3s pkg/configfilearg, "Multiple
Config Files" in the k3s configuration docs): a later file's key replaces an
earlier one, and a key written ``name+`` appends to it instead.  Command-line
flags in the service unit also count; they are not in these files, so a
``--disable`` given only there is not seen here.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from .behaviour import load as _behaviour


def merge(base: Mapping[str, Any] | None, dropins: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """``config.yaml`` then the drop-ins (already in name order), k3s's way."""
    out: dict[str, Any] = {}
    for doc in (base or {}, *dropins):
        for key, value in (doc or {}).items():
            if not isinstance(key, str):
                continue
            if key.endswith("+"):
                name = key[:-1]
                out[name] = _append(out.get(name), value)
            else:
                out[key] = value
    return out


def _append(old: Any, new: Any) -> Any:
    if old is None:
        return new
    if isinstance(old, list) or isinstance(new, list):
        return _as_list(old) + _as_list(new)
    return f"{old},{new}"


def _as_list(v: Any) -> list:
    return list(v) if isinstance(v, list) else [v]


def _names(value: Any) -> list[str]:
    """``disable`` takes a list or a comma-separated string (a string slice flag)."""
    out: list[str] = []
    for item in _as_list(value) if value is not None else []:
        out += [x.strip() for x in str(item).split(",") if x.strip()]
    return out


def disabled(config: Mapping[str, Any]) -> frozenset[str]:
    """Packaged components the node turns off: ``disable`` (and the older
    ``no-deploy``), plus components switched off by their own boolean flag
    (``disable-helm-controller: true``)."""
    names = set(_names(config.get("disable"))) | set(_names(config.get("no-deploy")))
    for c in _behaviour().components:
        if c.flag and _true(config.get(c.flag)):
            names.add(c.name)
    return frozenset(names)


def _true(v: Any) -> bool:
    return v is True or (isinstance(v, str) and v.strip().lower() in ("true", "1", "yes"))


def system_default_registry(config: Mapping[str, Any]) -> str:
    v = config.get("system-default-registry")
    return str(v).strip().strip("/") if v else ""


def with_system_registry(image: str, registry: str) -> str:
    """k3s prepends ``<registry>/`` to the image string as written (pkg/server/server.go
    for the helm job and klipper-lb images)."""
    return f"{registry}/{image}" if registry else image


def pause_image(config: Mapping[str, Any], release_default: str | None) -> tuple[str | None, str]:
    """The sandbox image and where it comes from.  k3s prefixes the system
    default registry to the pause image, explicit or default, unless it
    already starts with it (pkg/agent/config/config.go, "Apply
    SystemDefaultRegistry to PauseImage")."""
    explicit = config.get("pause-image")
    image = str(explicit).strip() if explicit else release_default
    origin = "config.yaml pause-image" if explicit else "the release's default pause image"
    if image is None:
        return None, origin
    sdr = system_default_registry(config)
    if sdr and not image.startswith(sdr):
        image = with_system_registry(image, sdr)
        origin += " + system-default-registry"
    return image, origin


def servicelb_enabled(config: Mapping[str, Any]) -> bool:
    return "servicelb" not in disabled(config)
