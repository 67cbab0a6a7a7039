"""Argument types shared by the commands (argparse ``type=`` functions).

Each one checks a value the moment argparse reads it, so a wrong value is
one line and exit 2 before any network or build work starts, whichever
command takes it.  A type raises :class:`argparse.ArgumentTypeError`;
argparse turns that into ``archport: error: argument --x: …``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
import ssl
from urllib.parse import urlsplit

from ruamel.yaml.error import YAMLError

from .. import platform as platforms
from .. import yamlsafe
from ..errors import BadInput
from ..reference import valid_host

_ASCII_HOST = re.compile(r"^[A-Za-z0-9._:\[\]-]+$")


def _fail(message: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(message)


def positive_int(text: str) -> int:
    """``--jobs N``, ``--journal-lines N``: a whole number of at least 1."""
    try:
        n = int(text, 10)
    except ValueError:
        raise _fail(f"{text!r} is not a whole number") from None
    if n < 1:
        raise _fail(f"{text!r}: must be at least 1")
    return n


def transplant_base(text: str) -> str:
    """``--transplant-onto DIST:RELEASE``: debian:SUITE or alpine:VERSION."""
    if not re.fullmatch(r"(debian:[a-z]+|alpine:(\d+\.\d+|edge))", text):
        raise _fail(f"{text!r}: expected debian:SUITE (e.g. debian:trixie) or alpine:VERSION (e.g. alpine:3.21)")
    return text


def mirror_url(text: str) -> str:
    """``--alpine-mirror URL``: http(s)://HOST[/PATH], no credentials in it."""
    parts = urlsplit(text)
    if parts.username or parts.password or "@" in parts.netloc:
        raise _fail("credentials in a mirror URL are not accepted")       # and never echoed
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise _fail(f"{text!r}: expected http(s)://HOST[/PATH], the directory above v3.20/")
    return text


def archive_url(text: str) -> str:
    """``--debian-archive URL``: http(s)://HOST[:PORT][/PATH], as a ``deb`` line
    of apt's sources.list names an archive; no credentials in it."""
    if "@" in text.partition("://")[2].partition("/")[0]:
        raise _fail("credentials in an archive URL are not accepted")     # and never echoed
    try:
        parts = urlsplit(text)
        valid_host(parts.netloc)
    except ValueError as e:  # an unclosed [IPv6
        raise _fail(f"{text!r}: expected http(s)://HOST[:PORT][/PATH] ({e})") from None
    except BadInput:  # a host name's grammar, a port out of range
        raise _fail(f"{text!r}: expected http(s)://HOST[:PORT][/PATH]; {parts.netloc!r} is not a host[:port]") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise _fail(f"{text!r}: expected http(s)://HOST[:PORT][/PATH], the directory that holds dists/")
    return text


def existing_file(text: str) -> str:
    """A file to read (a keyring): it must be there and be a file."""
    if not os.path.isfile(text):
        raise _fail(f"{text}: no such file")
    if not os.access(text, os.R_OK):
        raise _fail(f"{text}: not readable")
    return text


def kernel_module(text: str) -> str:
    """``--module NAME``: a module name as modprobe takes it."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", text):
        raise _fail(f"{text!r}: expected a kernel module name such as iptable_nat")
    return text


def sysctl(text: str) -> str:
    """``--sysctl NAME=VALUE``: a dotted sysctl name and a value without spaces."""
    if not re.fullmatch(r"[a-z0-9_]+(\.[A-Za-z0-9_-]+)+=[^\s]+", text):
        raise _fail(f"{text!r}: expected NAME=VALUE such as net.ipv4.ip_forward=1")
    return text


def port_number(text: str) -> int:
    """A TCP port, 1–65535."""
    try:
        n = int(text, 10)
    except ValueError:
        raise _fail(f"{text!r} is not a port number") from None
    if not 1 <= n <= 65535:
        raise _fail(f"port {text}: must be between 1 and 65535")
    return n


def seconds(text: str) -> float:
    """A timeout: a finite number of seconds above zero (``nan``, ``inf`` and
    ``1e309``, which float() accepts, are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise _fail(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise _fail(f"{text!r}: must be a finite number of seconds above 0")
    return value


def registry_host(text: str) -> str:
    """``HOST[:PORT]`` as ``--plain-http`` and ``--mirror`` name a registry."""
    host = text.strip()
    if not host:
        raise _fail("empty registry host; expected HOST[:PORT], e.g. 192.168.1.10:5000")
    if "@" in host:
        # Never echoed: the part before "@" may be user:password.
        raise _fail("a registry host does not carry credentials (USER:PASSWORD@); "
                    "they come from docker login / config.json")
    if "://" in host or "/" in host or not _ASCII_HOST.fullmatch(host):
        raise _fail(f"{text!r}: expected HOST[:PORT], e.g. 192.168.1.10:5000")
    try:
        valid_host(host)
    except BadInput as e:
        raise _fail(str(e)) from None
    return host


def mirror(text: str) -> str:
    """``REGISTRY=HOST[:PORT]`` (a scheme on HOST is allowed and dropped later)."""
    registry, sep, host = text.partition("=")
    if not sep or not registry or not host:
        raise _fail(f"{text!r}: expected REGISTRY=HOST, e.g. docker.io=192.168.1.10:6000")
    registry_host(registry)
    registry_host(host.removeprefix("https://").removeprefix("http://").rstrip("/"))
    return text


def ca_file(text: str) -> str:
    """A PEM file of CA certificates that OpenSSL can load."""
    if not os.path.isfile(text):
        raise _fail(f"{text}: no such file")
    try:
        ssl.create_default_context().load_verify_locations(cafile=text)
    except (ssl.SSLError, ValueError, UnicodeDecodeError):
        raise _fail(f"{text}: no PEM certificate in it (expected a CA certificate file)") from None
    except OSError as e:
        raise _fail(f"{text}: {e.strerror or e}") from None
    return text


def existing_dir(text: str) -> str:
    if not text or not os.path.isdir(text):
        raise _fail(f"{text!r}: no such directory")
    return text


def text_file(text: str) -> str:
    """A file that is UTF-8 text (a TOML catalog, not its .gz)."""
    try:
        with open(text, "rb") as f:
            f.read().decode("utf-8")
    except FileNotFoundError:
        raise _fail(f"{text}: no such file") from None
    except UnicodeDecodeError:
        raise _fail(f"{text}: not a UTF-8 text file (compressed? give the .toml itself)") from None
    except OSError as e:
        raise _fail(f"{text}: {e.strerror or e}") from None
    return text


def kubeconfig(text: str) -> str:
    """``--kubeconfig FILE``: a kubeconfig names at least one cluster (its
    ``clusters`` list, each entry a ``cluster`` with a ``server``); anything
    else is refused here rather than handed to kubectl to retry until the timeout."""
    text_file(text)
    try:
        with open(text, encoding="utf-8") as f:
            doc = yamlsafe.load(f.read(), text)
    except YAMLError as e:
        raise _fail(f"{text}: not a kubeconfig (not YAML: {str(e).strip().splitlines()[0]})") from None
    except BadInput as e:
        raise _fail(str(e)) from None
    clusters = doc.get("clusters") if isinstance(doc, dict) else None
    if not isinstance(clusters, list) or not any(
            isinstance(c, dict) and isinstance(c.get("cluster"), dict) and c["cluster"].get("server")
            for c in clusters):
        raise _fail(f"{text}: not a kubeconfig (no clusters entry with a server)")
    return text


def new_path(text: str) -> str:
    """Somewhere to write: its parent directory must exist (never created)."""
    if not text:
        raise _fail("empty path")
    parent = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(parent):
        raise _fail(f"{text}: directory {parent} does not exist")
    return text


def ssh_host(text: str) -> str:
    """``[USER@]HOST[:PORT]`` for ssh (:func:`archport.node.boards.parse_host`); kept as text."""
    from ..node.boards import parse_host   # lazy: every command parses with this module (start-up time)
    try:
        parse_host(text)
    except BadInput as e:
        raise _fail(str(e)) from None
    return text


def shell_words(text: str) -> str:
    """One shell-quoted string; kept as text, split by the command."""
    try:
        shlex.split(text)
    except ValueError as e:
        raise _fail(f"{text!r}: {e} (one shell-quoted string, e.g. '--help')") from None
    return text


def platform(text: str) -> str:
    """``OS/ARCH[/VARIANT]`` (checked by :func:`archport.platform.parse`); kept as text."""
    try:
        platforms.parse(text)
    except BadInput as e:
        raise _fail(str(e)) from None
    return text


# The linux ports of the Go toolchain (``go tool dist list``): what port's
# strategies can build for.  Anything else (``sparc``) is a typo or a
# platform no strategy can produce, refused before any work starts.
TARGET_ARCHES = ("386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle", "ppc64",
                 "ppc64le", "riscv64", "s390x")


def target_platform(text: str) -> str:
    """port's ``--platform OS/ARCH[/VARIANT]``: a linux platform archport can build for."""
    try:
        p = platforms.normalize(platforms.parse(text))
    except BadInput as e:
        raise _fail(str(e)) from None
    if p.os != "linux":
        raise _fail(f"{text}: port builds linux images (k3s runs on linux); e.g. linux/riscv64")
    if p.architecture not in TARGET_ARCHES:
        raise _fail(f"{text}: no strategy can build for {p.architecture}; known: {', '.join(TARGET_ARCHES)}")
    return text


def target_arch(text: str) -> str:
    """port's ``--arch ARCH``: short for ``--platform linux/ARCH`` (``OS/ARCH`` also taken)."""
    target_platform(text if "/" in text else f"linux/{text}")
    return text


def destination(text: str) -> str:
    """port's ``--to``: ``REGISTRY[/PREFIX]`` or ``oci:DIR``, checked before any work starts."""
    from ..port import parse_destination   # lazy: port's package is heavy; only `port --to` needs it
    try:
        dest = parse_destination(text)
        if getattr(dest, "domain", None):
            valid_host(dest.domain)
    except BadInput as e:
        raise _fail(str(e)) from None
    return text
