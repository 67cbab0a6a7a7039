"""What a ported image must keep from its upstream: shared by the strategies
that build an image (release, c, deb) or accept someone else's (mirror).

The upstream image's own config is the authority; when it cannot be read
(the tag is unreachable), the catalog's ``[[contract]]`` for the version
stands in for it: the catalog records the contract so that a port can still
be checked when upstream is unreachable.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..oci.config import ImageConfig
from . import Upstream

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def tag_of(up: Upstream) -> str:
    return up.ref.tag or ""


def blocked(up: Upstream) -> str:
    """"not supported here: …" when the catalog names something a build of
    this tag needs that cannot be had here (``[[blocked]]``), else ""."""
    comp = up.component
    found = comp.blocked_for(tag_of(up)) if comp is not None else ()
    return "; ".join(b.message(comp.name, tag_of(up)) for b in found)


def catalog_contract(up: Upstream):
    comp = up.component
    return comp.contract(tag_of(up)) if comp is not None else None


def reference_config(up: Upstream) -> ImageConfig | Mapping[str, Any] | None:
    """The config whose contract fields the new image keeps."""
    if up.config is not None:
        return up.config
    c = catalog_contract(up)
    if c is None:
        return None
    inner: dict[str, Any] = {"Env": [DEFAULT_PATH]}
    if c.entrypoint is not None:
        inner["Entrypoint"] = list(c.entrypoint)
    if c.cmd is not None:
        inner["Cmd"] = list(c.cmd)
    if c.user:
        inner["User"] = c.user
    if c.working_dir:
        inner["WorkingDir"] = c.working_dir
    if c.exposed_ports:
        inner["ExposedPorts"] = {p: {} for p in c.exposed_ports}
    return {"config": inner}


def binary_path(up: Upstream) -> str | None:
    """Where the program lives in the upstream image: the catalog's contract,
    else an absolute Entrypoint of the upstream config."""
    c = catalog_contract(up)
    if c is not None and c.binary:
        return c.binary
    if up.config is not None and up.config.entrypoint and up.config.entrypoint[0].startswith("/"):
        return up.config.entrypoint[0]
    return None


def _user(u: str) -> str:
    # "", "root", "0" and "0:0" all run as uid 0 (runc resolves names in /etc/passwd).
    return "0" if u in ("", "root", "0", "0:0", "root:root") else u


def _dir(d: str) -> str:
    return d.rstrip("/") or "/"


def differences(want: ImageConfig | Mapping[str, Any], have: ImageConfig) -> list[str]:
    """Contract fields a pod relies on that differ (Entrypoint, Cmd, User,
    WorkingDir), each as ``"User: upstream '0', alternative 'nonroot'"``."""
    if isinstance(want, ImageConfig):
        w = {"Entrypoint": want.entrypoint, "Cmd": want.cmd, "User": want.user, "WorkingDir": want.working_dir}
    else:
        inner = want.get("config") or {}
        w = {"Entrypoint": _tuple(inner.get("Entrypoint")), "Cmd": _tuple(inner.get("Cmd")),
             "User": inner.get("User", ""), "WorkingDir": inner.get("WorkingDir", "")}
    h = {"Entrypoint": have.entrypoint, "Cmd": have.cmd, "User": have.user, "WorkingDir": have.working_dir}
    out = []
    for key, norm in (("Entrypoint", lambda v: tuple(v or ())), ("Cmd", lambda v: tuple(v or ())),
                      ("User", lambda v: _user(v or "")), ("WorkingDir", lambda v: _dir(v or ""))):
        if norm(w[key]) != norm(h[key]):
            out.append(f"{key}: upstream {_show(w[key])}, alternative {_show(h[key])}")
    return out


def _tuple(v) -> tuple[str, ...] | None:
    return tuple(v) if isinstance(v, list) else None


def _show(v) -> str:
    if v in (None, "", ()):
        return "(unset)"
    if isinstance(v, tuple):
        return "[" + ", ".join(repr(x) for x in v) + "]"
    return repr(v)
