"""Shared bits for the strategy tests: an Upstream/Env maker, tiny ELF files,
a loopback HTTP server for fake release assets, and layer unpacking."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import json
import os
import struct
import tarfile
import threading
from pathlib import Path

from archport.catalog.loader import load
from archport.oci import mediatypes as mt
from archport.oci.config import parse_config
from archport.oci.manifest import build_index
from archport.reference import parse as parse_ref
from archport.strategies import Env, Upstream
from archport.strategies.options import AlpineOptions, DebianOptions, ReleaseOptions, TransplantOptions
from archport.toolchain.gocompile import GoOptions

EM = {"riscv64": 243, "amd64": 62, "arm64": 183}


def tiny_elf(arch: str = "riscv64") -> bytes:
    """A 64-bit little-endian ELF header with no segments: static, for ``arch``."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, EM[arch], 1, 0x10000, 0, 0, 0, 64, 56, 0, 64, 0, 0)
    return header + b"\x00" * 64


def config(**inner) -> bytes:
    doc = {"architecture": "amd64", "os": "linux", "config": inner,
           "rootfs": {"type": "layers", "diff_ids": []}}
    return json.dumps(doc).encode()


def upstream(ref: str, component: str | None, inner: dict | None, catalog=None):
    catalog = catalog or load()
    comp = catalog.component(component) if isinstance(component, str) else component
    cfg = parse_config(config(**inner)) if inner is not None else None
    return Upstream(ref=parse_ref(ref), source=None, top=build_index(mt.OCI_INDEX, []),
                    platforms=(), config=cfg, component=comp)


# The flags' names, as the tests give them, and the options record each goes
# to (Env holds one record per strategy).
_OPTIONS = {"go_env": ("go", "env"), "go_version": ("go", "version"), "substitutes": ("go", "substitutes"),
            "debian_archive": ("debian", "archive"), "debian_keyring": ("debian", "keyring"),
            "debian_suite": ("debian", "suite"), "alpine_mirror": ("alpine", "mirror"), "alpine_keys": ("alpine", "keys"),
            "transplant_onto": ("transplant", "onto"), "iptables_backend": ("transplant", "iptables_backend"),
            "allow_unverified": ("release", "allow_unverified")}
_RECORDS = {"go": GoOptions, "debian": DebianOptions, "alpine": AlpineOptions, "transplant": TransplantOptions,
            "release": ReleaseOptions}


def options(**flags) -> dict:
    """``Env`` keyword arguments from flat option names (``go_env=…``, ``debian_suite=…``)."""
    grouped: dict[str, dict] = {}
    for name, value in flags.items():
        record, field = _OPTIONS[name]
        grouped.setdefault(record, {})[field] = value
    return {record: _RECORDS[record](**fields) for record, fields in grouped.items()}


def env(tmp: Path, **kw) -> Env:
    (tmp / "work").mkdir(parents=True, exist_ok=True)
    (tmp / "cache").mkdir(parents=True, exist_ok=True)
    kw.setdefault("catalog", load())
    kw.setdefault("process_env", dict(os.environ))      # what the CLI passes the compilers
    kw.update(options(**{k: kw.pop(k) for k in list(kw) if k in _OPTIONS}))
    return Env(workdir=tmp / "work", cache_dir=tmp / "cache", **kw)


def with_tables(component, **tables):
    """The catalog component with some fact tables replaced (tests' catalog)."""
    return dataclasses.replace(component, **tables)


def unpack(built, dest: Path) -> Path:
    """Unpack the built image's new layer into ``dest`` (a rootfs)."""
    dest.mkdir(parents=True, exist_ok=True)
    (blob,) = built.layers
    with tarfile.open(blob.path, "r:gz") as tar:
        tar.extractall(dest, filter="tar")
    return dest


def layer_members(built) -> dict[str, tarfile.TarInfo]:
    (blob,) = built.layers
    with tarfile.open(blob.path, "r:gz") as tar:
        return {ti.name: ti for ti in tar}


class Server:
    """``python -m http.server`` on 127.0.0.1 in a thread, serving ``root``;
    ``requests`` lists the paths asked for, in order."""

    def __init__(self, root: Path) -> None:
        self.requests: list[str] = []
        handler = functools.partial(_Quiet, directory=str(root), seen=self.requests)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, seen: list[str], **kw) -> None:
        self.seen = seen
        super().__init__(*args, **kw)

    def send_head(self):
        self.seen.append(self.path)
        return super().send_head()

    def log_message(self, *args) -> None:
        pass


def check_built(built, tmp: Path, contracts=None):
    """Write ``built`` to an OCI layout (archport.layout) and run ``check`` on it."""
    from archport.check import Contract, check_image
    from archport.layout import LayoutSink, LayoutSource
    sink = LayoutSink(tmp / "layout", "t")
    built.write(sink, "t")
    sink.commit()
    return check_image(LayoutSource(tmp / "layout", "t"), built.platform, contracts or (Contract(),))
