"""Smoke recipes: how to prove a component's image runs, as reviewed data.

A component's ``[[smoke]]`` table says what a smoke run passes and what it
waits for::

    [[smoke]]
    versions = ">=1.9.0"
    args = ["-conf", "/etc/coredns/Corefile", "-dns.port", "1053"]   # a pod's args: replace Cmd
    files = { "/etc/coredns/Corefile" = ". {\\n    hosts {\\n ... }\\n}\\n" }
    writable = ["/tmp"]          # empty directories mounted there (a pod's emptyDir)
    ready = "dns"                # exit | output | http | https | dns | running
    port = 1053
    query = "archport.test"      # dns: the name asked (A)
    answer = "10.43.0.10"        # dns: the address it must answer
    path = "/healthz"            # http/https: the path asked (any 2xx is ready)
    expect = "regex"             # exit/output: over stdout+stderr ({tag}, {version} filled)
    seconds = 5                  # running: still running after this long counts as up
    source = "https://…"         # where the arguments and the signal are stated

The readiness signal is what proves the program works, and a smoke run ends
as soon as it is seen: ``exit`` — the program exits 0 (and ``expect``
matches); ``output`` — ``expect`` appears in its output; ``http``/``https`` —
a GET of ``path`` on the container's loopback ``port`` answers 2xx; ``dns`` —
an A query for ``query`` on its loopback ``port`` answers ``answer``;
``running`` — still running after ``seconds`` (a program that by design only
blocks, e.g. holding iptables rules until its pod is deleted).

A ``[smoke.kernel]`` table says the program needs what user-mode emulation
cannot give: qemu-user translates system calls, not netfilter's binary
socket options or its netlink family, so a riscv64 ``iptables`` under it
fails however the host is set up.  Such a recipe runs under full-system
emulation with the target's own Linux kernel (:mod:`archport.smoke.vm`):
its modules loaded, its sysctls set as the pod's would be, and ``then``'s
commands run in the image after the signal, their output judged by
``expect``.  Its signal is ``exit`` or ``running``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ..errors import ArchportError
from . import versions
from .model import _fill, _values
from .provenance import Provenance
from .versions import Range

SIGNALS = ("exit", "output", "http", "https", "dns", "running")
_KEYS = {"versions", "args", "files", "writable", "ready", "port", "path", "query", "answer", "expect", "seconds",
         "env", "kernel"}
_KERNEL_KEYS = {"modules", "sysctls", "then", "expect"}
_MODULE = re.compile(r"[A-Za-z0-9_-]+")
_SYSCTL = re.compile(r"[a-z0-9_]+(\.[A-Za-z0-9_-]+)+")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Signal:
    """What a smoke run waits for (see the module docstring)."""

    kind: str                       # one of SIGNALS
    expect: str | None = None       # regex over stdout+stderr (exit: also required; output: the signal)
    port: int = 0                   # http/https/dns: on the container's loopback
    path: str = "/"                 # http/https
    query: str = ""                 # dns: the name asked
    answer: str = ""                # dns: the A record it must answer
    seconds: float = 0              # running: how long it must stay up

    @property
    def network(self) -> bool:
        return self.kind in ("http", "https", "dns")

    def describe(self) -> str:
        if self.kind in ("http", "https"):
            return f"{self.kind.upper()} GET 127.0.0.1:{self.port}{self.path} answers 2xx"
        if self.kind == "dns":
            return f"DNS A {self.query} on 127.0.0.1:{self.port} answers {self.answer}"
        if self.kind == "output":
            return f"output matches {self.expect!r}"
        if self.kind == "running":
            return f"still running after {self.seconds:g}s"
        return "exit 0" + (f" and output matches {self.expect!r}" if self.expect else "")


@dataclass(frozen=True, slots=True)
class KernelRun:
    """What a recipe needs from the target's own kernel (``[smoke.kernel]``)."""

    modules: tuple[str, ...]                  # module names, as modprobe takes them
    sysctls: tuple[tuple[str, str], ...]      # dotted name -> value, set before the program starts
    then: tuple[tuple[str, ...], ...]         # argv of each command run once the signal is seen
    expect: tuple[str, ...]                   # regexes that must each match the commands' output

    def describe(self) -> str:
        cmds = "; ".join(" ".join(c) for c in self.then)
        return f"then {cmds} shows {len(self.expect)} expected line{'s' if len(self.expect) != 1 else ''}" \
            if self.then else ""


@dataclass(frozen=True, slots=True)
class Recipe:
    """One component's smoke run for a range of image tags."""

    versions: Range
    args: tuple[str, ...] | None          # None: the image's own Cmd
    files: tuple[tuple[str, str], ...]    # absolute path in the container -> text (read-only)
    writable: tuple[str, ...]             # absolute directories mounted empty and writable
    signal: Signal
    source: Provenance
    env: tuple[tuple[str, str], ...] = ()      # name -> value, over the image's Env
    kernel: KernelRun | None = None            # None: user-mode emulation is enough

    def for_tag(self, tag: str, built_as: str | None = None) -> Recipe:
        """The recipe with ``{tag}``/``{version}`` filled in ``expect`` (escaped
        as regex text).  ``built_as``: the version the program was rebuilt at
        when it is not the tag's (a Go module whose build info names another
        version, or a substitute): the program prints that one."""
        if self.signal.expect is None:
            return self
        values = {k: re.escape(v) for k, v in _values(built_as or tag).items()}
        filled = _fill(self.signal.expect, values)
        return dataclasses.replace(self, signal=dataclasses.replace(self.signal, expect=filled))


class RecipeError(ArchportError):
    """A ``[[smoke]]`` table is malformed (the loader reports it as a catalog error)."""


def parse(t: dict, where: str, source: Provenance) -> Recipe:
    """One ``[[smoke]]`` table (provenance keys already read by the caller)."""
    extra = set(t) - _KEYS - {"source", "verified", "note"}
    if extra:
        raise RecipeError(f"catalog {where}: unknown keys {sorted(extra)}")
    kind = t.get("ready", "exit")
    if kind not in SIGNALS:
        raise RecipeError(f"catalog {where}: ready must be one of {', '.join(SIGNALS)}")
    args = _strs(t, "args", where) if "args" in t else None
    files = t.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(k, str) and k.startswith("/") and isinstance(v, str)
                                              for k, v in files.items()):
        raise RecipeError(f"catalog {where}: files maps absolute paths to their text")
    writable = _strs(t, "writable", where)
    if any(not w.startswith("/") or w == "/" for w in writable):
        raise RecipeError(f"catalog {where}: writable lists absolute directories other than /")
    expect = t.get("expect")
    if expect is not None:
        if not isinstance(expect, str):
            raise RecipeError(f"catalog {where}: expect must be a string")
        try:
            re.compile(_fill(expect, _values("0.0.0")))
        except re.error as e:
            raise RecipeError(f"catalog {where}: expect is not a regular expression: {e}") from None
    port = t.get("port", 0)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port < 65536:
        raise RecipeError(f"catalog {where}: port must be a TCP/UDP port number")
    seconds = t.get("seconds", 0)
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        raise RecipeError(f"catalog {where}: seconds must be a number of seconds")
    if (kind == "running") != bool(seconds):
        raise RecipeError(f"catalog {where}: seconds goes with ready = \"running\", and it needs them")
    signal = Signal(kind, expect, port, _str(t, "path", where, "/"), _str(t, "query", where, ""),
                    _str(t, "answer", where, ""), float(seconds))
    if kind == "output" and not expect:
        raise RecipeError(f"catalog {where}: ready = \"output\" needs expect")
    if signal.network and not port:
        raise RecipeError(f"catalog {where}: ready = {kind!r} needs port")
    if kind in ("http", "https") and not signal.path.startswith("/"):
        raise RecipeError(f"catalog {where}: path must start with /")
    if kind == "dns" and not (signal.query and signal.answer):
        raise RecipeError(f"catalog {where}: ready = \"dns\" needs query and answer")
    env = t.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(k, str) and _ENV.fullmatch(k) and isinstance(v, str)
                                            for k, v in env.items()):
        raise RecipeError(f"catalog {where}: env maps variable names to strings")
    kernel = _kernel(t["kernel"], where) if "kernel" in t else None
    if kernel is not None and kind not in ("exit", "running"):
        raise RecipeError(f"catalog {where}: a kernel run waits for ready = \"exit\" or \"running\"")
    return Recipe(versions.parse_range(_str(t, "versions", where, "")), args, tuple(sorted(files.items())),
                  writable, signal, source, tuple(sorted(env.items())), kernel)


def _kernel(t: object, where: str) -> KernelRun:
    if not isinstance(t, dict):
        raise RecipeError(f"catalog {where}: kernel must be a table")
    extra = set(t) - _KERNEL_KEYS
    if extra:
        raise RecipeError(f"catalog {where}: unknown keys in kernel {sorted(extra)}")
    modules = _strs(t, "modules", where)
    if not all(_MODULE.fullmatch(m) for m in modules):
        raise RecipeError(f"catalog {where}: kernel modules are module names (e.g. iptable_nat)")
    sysctls = t.get("sysctls", {})
    if not isinstance(sysctls, dict) or not all(isinstance(k, str) and _SYSCTL.fullmatch(k) and isinstance(v, str)
                                                and v and "\n" not in v for k, v in sysctls.items()):
        raise RecipeError(f"catalog {where}: kernel sysctls map dotted names to values (strings)")
    then = t.get("then", [])
    if not isinstance(then, list) or not all(isinstance(c, list) and c and all(isinstance(a, str) for a in c)
                                             for c in then):
        raise RecipeError(f"catalog {where}: kernel then is a list of commands, each a list of strings")
    expect = _strs(t, "expect", where)
    for e in expect:
        try:
            re.compile(e)
        except re.error as err:
            raise RecipeError(f"catalog {where}: kernel expect {e!r} is not a regular expression: {err}") from None
    if expect and not then:
        raise RecipeError(f"catalog {where}: kernel expect judges the output of then, which is empty")
    return KernelRun(modules, tuple(sorted(sysctls.items())), tuple(tuple(c) for c in then), expect)


def _str(t: dict, key: str, where: str, default: str) -> str:
    v = t.get(key, default)
    if not isinstance(v, str):
        raise RecipeError(f"catalog {where}: {key} must be a string")
    return v


def _strs(t: dict, key: str, where: str) -> tuple[str, ...]:
    v = t.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise RecipeError(f"catalog {where}: {key} must be a list of strings")
    return tuple(v)


__all__ = ["KernelRun", "Recipe", "RecipeError", "SIGNALS", "Signal", "parse"]
