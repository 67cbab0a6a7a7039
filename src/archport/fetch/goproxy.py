"""The Go module proxy: one file out of a module zip, or a whole module.

The proxy protocol (https://go.dev/ref/mod#goproxy-protocol) serves
``$GOPROXY/<escaped module>/@v/<version>.zip`` whose entries are all named
``<module>@<version>/<path>``.  Zip keeps its directory at the end, so with
HTTP range requests a single small file of a large module (pause.c in
``k8s.io/kubernetes``) costs a few hundred kilobytes, not the whole zip.
``file://`` proxies (the tests' fixture proxy) are read directly.

Whole modules go through ``go mod download`` instead, so that the go command
checks them against go.sum and the checksum database (GOSUMDB) as a build
would.  A version's ``.info`` (its commit time and, from proxies that record
it, the commit: ``Origin``, Go 1.19+) comes through ``go list -m -json``,
which fetches the ``.info`` and ``.mod`` but not the zip.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
import tempfile
import zipfile
from pathlib import Path
from typing import Mapping
from urllib.parse import unquote, urlsplit

import httpx

from ..errors import ArchportError, FetchError
from .http import DownloadError, RangeFile, fetch

MAX_MEMBER = 4 << 20          # a source file; bigger means the wrong member


def escape(module: str) -> str:
    """Module path escaping: an upper-case letter becomes ``!`` + lower case."""
    return "".join("!" + c.lower() if c.isupper() else c for c in module)


def proxy_list(go_env: Mapping[str, str]) -> list[str]:
    """The GOPROXY entries that are proxies (``direct``/``off`` end the list).
    When GOPROXY is not given, asks ``go env GOPROXY`` (the user's go config),
    with ``go_env`` as the whole environment (its PATH finds ``go``)."""
    text = go_env.get("GOPROXY")
    if text is None:
        try:
            text = subprocess.run(["go", "env", "GOPROXY"], capture_output=True, text=True,
                                  timeout=30, env=dict(go_env)).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            text = ""
    out = []
    for entry in text.replace("|", ",").split(","):
        entry = entry.strip()
        if entry in ("direct", "off"):
            break
        if entry:
            out.append(entry.rstrip("/"))
    return out


def read_member(http: httpx.Client, proxies: list[str], module: str, version: str, path: str,
                scratch: Path) -> tuple[bytes, str]:
    """``path`` from ``module@version``'s zip; returns (bytes, the proxy used).
    Tries each proxy in order; raises :class:`ArchportError` naming every failure."""
    if not proxies:
        raise ArchportError("no Go module proxy configured (GOPROXY is empty, off or direct)")
    name = f"{module}@{version}/{path.strip('/')}"
    failures = []
    for proxy in proxies:
        url = f"{proxy}/{escape(module)}/@v/{version}.zip"
        try:
            return _from_zip(http, url, name, scratch), proxy
        except (ArchportError, zipfile.BadZipFile, KeyError, OSError) as e:
            failures.append(f"{_label(proxy)}: {_why(e)}")
    raise ArchportError(f"{module}@{version}: {path} not fetched ({'; '.join(failures)})")


def _label(proxy: str) -> str:
    p = urlsplit(proxy)
    return f"{p.scheme}://{p.hostname or ''}{p.path}" if p.scheme != "file" else proxy


def _why(e: BaseException) -> str:
    if isinstance(e, KeyError):
        return "no such file in the module zip"
    if isinstance(e, DownloadError) and e.status in (404, 410):
        return f"HTTP {e.status} (the proxy does not have this version)"
    return str(e) or type(e).__name__


def _from_zip(http: httpx.Client, url: str, name: str, scratch: Path) -> bytes:
    if url.startswith("file://"):
        with zipfile.ZipFile(unquote(urlsplit(url).path)) as z:
            return _read(z, name)
    remote = RangeFile.open(http, url)
    if remote is not None:
        with zipfile.ZipFile(remote) as z:
            return _read(z, name)
    # No range support: the whole zip, once, to a temporary file.
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        local = Path(tmp) / "module.zip"
        fetch(http, url, local)
        with zipfile.ZipFile(local) as z:
            return _read(z, name)


def _read(z: zipfile.ZipFile, name: str) -> bytes:
    info = z.getinfo(name)
    if info.file_size > MAX_MEMBER:
        raise ArchportError(f"{name} is {info.file_size} bytes, more than a source file should be")
    return z.read(info)


class ModuleUnavailable(FetchError):
    """``go mod download`` could not give the module (the proxy refused it,
    the checksum database disagreed, the network failed)."""


def _go_json(cmd: list[str], go_env: Mapping[str, str], scratch: Path, timeout: float) -> dict:
    """Run a go module command that prints JSON, in an empty directory under
    ``scratch``; its document, or ``{"Error": …}`` with the last lines it said."""
    # GOFLAGS such as -mod=vendor are for builds and make the module commands refuse.
    env = {k: v for k, v in go_env.items() if k != "GOFLAGS"}
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="archport-gomod-", dir=scratch) as d:
        try:
            cp = subprocess.run(cmd, cwd=d, env=env, capture_output=True, text=True, timeout=timeout)
            out, err = cp.stdout, cp.stderr
        except subprocess.TimeoutExpired:
            out, err = "", f"{' '.join(cmd)} timed out after {timeout:g}s"
        except OSError as e:
            out, err = "", str(e)
    try:
        doc = json.loads(out)
    except json.JSONDecodeError:
        lines = [ln for ln in (out + err).strip().splitlines() if ln.strip()]
        return {"Error": "\n".join(lines[-5:]) or "no output"}
    return doc if isinstance(doc, dict) else {"Error": "not a JSON object"}


def download_module(go: str, go_env: Mapping[str, str], module: str, version: str, scratch: Path,
                    timeout: float = 900) -> Path:
    """``module@version`` into the module cache through ``go`` (the proxy and
    checksum settings of ``go_env`` apply); returns its read-only directory."""
    doc = _go_json([go, "mod", "download", "-json", f"{module}@{version}"], go_env, scratch, timeout)
    if doc.get("Error") or not doc.get("Dir"):
        raise ModuleUnavailable(f"go mod download {module}@{version}: {doc.get('Error') or 'no Dir'}")
    return Path(doc["Dir"])


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """A version's ``.info`` (go.dev/ref/mod#goproxy-protocol): ``Time`` is the
    commit time; ``Origin.Hash`` the commit, when the proxy recorded one."""

    version: str
    time: str = ""                   # RFC 3339 UTC, seconds: 2022-01-31T12:00:00Z ("" when absent)
    commit: str = ""                 # full VCS hash ("" when the proxy gave no Origin)


def parse_info(doc: Mapping) -> ModuleInfo:
    """A :class:`ModuleInfo` from a parsed ``.info`` (or ``go list -m -json``) document."""
    origin = doc.get("Origin") or {}
    return ModuleInfo(str(doc.get("Version") or ""), _utc(str(doc.get("Time") or "")),
                      str(origin.get("Hash") or "") if isinstance(origin, Mapping) else "")


def _utc(text: str) -> str:
    # The proxy may give an offset or fractional seconds; builds stamp
    # dates as `date -u +%Y-%m-%dT%H:%M:%SZ` (RFC 3339, UTC, whole seconds).
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def module_info(go: str, go_env: Mapping[str, str], module: str, version: str, scratch: Path,
                timeout: float = 300) -> ModuleInfo:
    """``module@version``'s ``.info`` through ``go list -m -json`` (the proxy
    settings of ``go_env`` apply; the module cache keeps it for later runs)."""
    doc = _go_json([go, "list", "-m", "-json", f"{module}@{version}"], go_env, scratch, timeout)
    error = doc.get("Error")
    if isinstance(error, Mapping):
        error = error.get("Err")
    if error:
        raise ModuleUnavailable(f"go list -m {module}@{version}: {error}")
    return parse_info(doc)
