"""The build information the Go linker embeds in every binary (pure Python).

Where it lives (Go's ``debug/buildinfo`` and ``cmd/link``): a 32-byte header
in the ``.go.buildinfo`` section (or, if section headers are gone, 16-byte
aligned near the start of the first writable PT_LOAD segment)::

    0   "\\xff Go buildinf:"  (14 bytes)
    14  pointer size (4 or 8)
    15  flags: bit 0 = big-endian, bit 1 = strings inline (Go >= 1.18)

* Go 1.18 and later: from offset 32, two varint-length-prefixed strings,
  the Go version and the module info.
* Go 1.13 to 1.17: at offset 16, two pointers (virtual addresses) to Go
  string headers ``{data pointer, length}`` for ``runtime.buildVersion`` and
  ``runtime.modinfo``; addresses are mapped to file offsets through the
  PT_LOAD segments.

The module info is framed by two 16-byte sentinels (cmd/go's ``infoStart`` /
``infoEnd``) and is a tab-separated text (``runtime/debug.ParseBuildInfo``)::

    path    example.com/hello
    mod     example.com/hello   (devel)
    dep     golang.org/x/text   v0.3.0  h1:…
    =>      ../text             (devel)          (replaces the dep above)
    build   -ldflags="-X main.version=1.2.3"     (Go >= 1.18 only)
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import BinaryIO

from elftools.elf.elffile import ELFFile

from ..errors import BadInput
from .elf import with_elf

MAGIC = b"\xff Go buildinf:"
_HEADER = 32
_SEARCH = 64 * 1024           # how far into the data segment the header may sit
_MAX_STRING = 16 * 1024 * 1024  # a module list of this size is not real
_INFO_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
_INFO_END = bytes.fromhex("f932433186182072008242104116d8f2")


@dataclass(frozen=True, slots=True)
class Module:
    path: str
    version: str
    sum: str = ""
    replace: "Module | None" = None


@dataclass(frozen=True, slots=True)
class BuildInfo:
    go_version: str
    path: str
    main: Module
    deps: tuple[Module, ...]
    settings: tuple[tuple[str, str], ...]

    def setting(self, key: str, default: str = "") -> str:
        for k, v in self.settings:
            if k == key:
                return v
        return default

    @property
    def ldflags(self) -> str:
        return self.setting("-ldflags")

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(t for t in self.setting("-tags").split(",") if t)

    @property
    def cgo_enabled(self) -> bool | None:
        v = self.setting("CGO_ENABLED")
        return None if v == "" else v == "1"

    @property
    def goos(self) -> str:
        return self.setting("GOOS")

    @property
    def goarch(self) -> str:
        return self.setting("GOARCH")

    @property
    def goarm(self) -> str:
        return self.setting("GOARM")

    @property
    def goriscv64(self) -> str:
        return self.setting("GORISCV64")

    @property
    def trimpath(self) -> bool:
        return self.setting("-trimpath") == "true"

    def x_values(self) -> dict[str, str]:
        """``-X importpath.name=value`` pairs from ``-ldflags``."""
        try:
            words = shlex.split(self.ldflags)
        except ValueError:
            raise BadInput(f"unparseable -ldflags in Go build info: {self.ldflags!r}") from None
        out: dict[str, str] = {}
        i = 0
        while i < len(words):
            w = words[i]
            arg = None
            if w in ("-X", "--X") and i + 1 < len(words):
                arg, i = words[i + 1], i + 1
            elif w.startswith(("-X=", "--X=")):
                arg = w.split("=", 1)[1]
            if arg is not None and "=" in arg:
                k, v = arg.split("=", 1)
                out[k] = v
            i += 1
        return out


def read_buildinfo(data: bytes | BinaryIO) -> BuildInfo | None:
    """The Go build info of an ELF binary; ``None`` if it is not a Go binary.

    Raises ``BadInput`` when the header is there but what it points at is not
    (truncated file, bad pointers, garbled module text).
    """
    def strings(elf: ELFFile, stream: BinaryIO) -> tuple[str, str] | None:
        found = _find_header(elf, stream)
        return None if found is None else _strings(elf, stream, found)

    texts = with_elf(data, strings)
    return None if texts is None else _parse(*texts)


def _find_header(elf: ELFFile, stream: BinaryIO) -> tuple[int, bytes] | None:
    """File offset and bytes of the 32-byte header, or None."""
    sec = elf.get_section_by_name(".go.buildinfo") if elf.num_sections() else None
    if sec is not None and sec["sh_type"] != "SHT_NOBITS":
        stream.seek(sec["sh_offset"])
        head = stream.read(_HEADER)
        if head.startswith(MAGIC):
            return sec["sh_offset"], head
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_LOAD" and seg["p_flags"] & 0x6 == 0x6:   # PF_W|PF_R
            stream.seek(seg["p_offset"])
            blob = stream.read(min(seg["p_filesz"], _SEARCH))
            pos = blob.find(MAGIC)
            while pos != -1 and pos % 16:
                pos = blob.find(MAGIC, pos + 1)
            if pos != -1:
                head = blob[pos:pos + _HEADER]
                if len(head) < _HEADER:
                    raise BadInput("malformed Go build info: truncated header")
                return seg["p_offset"] + pos, head
            break
    return None


def _strings(elf: ELFFile, stream: BinaryIO, found: tuple[int, bytes]) -> tuple[str, str]:
    pos, head = found
    if len(head) < _HEADER:
        raise BadInput("malformed Go build info: truncated header")
    ptr_size, flags = head[14], head[15]
    if flags & 2:
        # Go >= 1.18: the strings follow the header.
        stream.seek(pos + _HEADER)
        version = _read_varstring(stream)
        modinfo = _read_varstring(stream)
    else:
        if ptr_size not in (4, 8):
            raise BadInput(f"malformed Go build info: pointer size {ptr_size}")
        order = "big" if flags & 1 else "little"

        def ptr(b: bytes, i: int) -> int:
            return int.from_bytes(b[i:i + ptr_size], order)

        version = _read_gostring(elf, stream, ptr(head, 16), ptr_size, order)
        modinfo = _read_gostring(elf, stream, ptr(head, 16 + ptr_size), ptr_size, order)
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        modinfo = modinfo[16:-16]
    return version, modinfo


def _read_varstring(stream: BinaryIO) -> str:
    n, shift = 0, 0
    while True:
        b = stream.read(1)
        if not b:
            raise BadInput("malformed Go build info: truncated length")
        n |= (b[0] & 0x7F) << shift
        if not b[0] & 0x80:
            break
        shift += 7
        if shift > 63:
            raise BadInput("malformed Go build info: overlong length")
    if n > _MAX_STRING:
        raise BadInput(f"malformed Go build info: string of {n} bytes")
    s = stream.read(n)
    if len(s) != n:
        raise BadInput("malformed Go build info: truncated string")
    return s.decode("utf-8", "replace")


def _vaddr_to_offset(elf: ELFFile, addr: int, size: int) -> int:
    for seg in elf.iter_segments():
        if seg["p_type"] != "PT_LOAD":
            continue
        lo = seg["p_vaddr"]
        if lo <= addr and addr + size <= lo + seg["p_filesz"]:
            return seg["p_offset"] + (addr - lo)
    raise BadInput(f"malformed Go build info: address {addr:#x} is not in the file")


def _read_gostring(elf: ELFFile, stream: BinaryIO, addr: int, ptr_size: int, order: str) -> str:
    """A Go string header ``{data, len}`` at ``addr``, then its bytes."""
    stream.seek(_vaddr_to_offset(elf, addr, 2 * ptr_size))
    hdr = stream.read(2 * ptr_size)
    if len(hdr) != 2 * ptr_size:
        raise BadInput("malformed Go build info: truncated string header")
    data = int.from_bytes(hdr[:ptr_size], order)
    n = int.from_bytes(hdr[ptr_size:], order)
    if n == 0:
        return ""
    if n > _MAX_STRING:
        raise BadInput(f"malformed Go build info: string of {n} bytes")
    stream.seek(_vaddr_to_offset(elf, data, n))
    s = stream.read(n)
    if len(s) != n:
        raise BadInput("malformed Go build info: truncated string")
    return s.decode("utf-8", "replace")


# --- the module text --------------------------------------------------------

def _parse(go_version: str, text: str) -> BuildInfo:
    if not go_version.startswith("go") and not go_version.startswith("devel"):
        raise BadInput(f"malformed Go build info: version {go_version[:40]!r}")
    path = ""
    main = Module("", "")
    deps: list[Module] = []
    settings: list[tuple[str, str]] = []
    last: str | None = None       # what a "=>" line replaces: "mod" or "dep"
    for n, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        key, _, rest = line.partition("\t")
        if key == "go":
            pass                  # the header's version is authoritative
        elif key == "path":
            path = rest
        elif key in ("mod", "dep"):
            m = _module(rest, n)
            if key == "mod":
                main = m
            else:
                deps.append(m)
            last = key
        elif key == "=>":
            if last is None:
                raise BadInput(f"malformed Go build info: line {n}: replacement without a module")
            r = _module(rest, n)
            if last == "mod":
                main = Module(main.path, main.version, main.sum, r)
            else:
                d = deps[-1]
                deps[-1] = Module(d.path, d.version, d.sum, r)
            last = None
        elif key == "build":
            settings.append(_setting(rest, n))
        else:
            raise BadInput(f"malformed Go build info: line {n}: unknown key {key[:40]!r}")
    return BuildInfo(go_version, path, main, tuple(deps), tuple(settings))


def _module(rest: str, n: int) -> Module:
    f = rest.split("\t")
    if len(f) < 2 or not f[0]:
        raise BadInput(f"malformed Go build info: line {n}: module needs a path and a version")
    return Module(f[0], f[1], f[2] if len(f) > 2 else "")


def _setting(rest: str, n: int) -> tuple[str, str]:
    # debug.BuildInfo.String quotes keys and values that contain separators.
    if rest.startswith('"'):
        key, rest = _unquote_prefix(rest, n)
        if not rest.startswith("="):
            raise BadInput(f"malformed Go build info: line {n}: setting lacks '='")
        value = rest[1:]
    else:
        key, sep, value = rest.partition("=")
        if not sep or not key:
            raise BadInput(f"malformed Go build info: line {n}: setting lacks '='")
    if value.startswith('"') or value.startswith("`"):
        value, tail = _unquote_prefix(value, n)
        if tail:
            raise BadInput(f"malformed Go build info: line {n}: text after a quoted value")
    return key, value


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\", '"': '"', "'": "'"}


def _unquote_prefix(s: str, n: int) -> tuple[str, str]:
    """Decode the Go string literal at the start of ``s`` (strconv.Unquote);
    return it and what follows."""
    bad = BadInput(f"malformed Go build info: line {n}: bad quoted string")
    if s[0] == "`":
        end = s.find("`", 1)
        if end == -1:
            raise bad
        return s[1:end], s[end + 1:]
    out: list[str] = []
    raw = bytearray()                 # \x and octal escapes are bytes, not runes
    i = 1

    def flush() -> None:
        if raw:
            out.append(raw.decode("utf-8", "replace"))
            raw.clear()

    while i < len(s):
        c = s[i]
        if c == '"':
            flush()
            return "".join(out), s[i + 1:]
        if c != "\\":
            flush()
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(s):
            raise bad
        e = s[i + 1]
        try:
            if e in _ESCAPES:
                flush()
                out.append(_ESCAPES[e])
                i += 2
            elif e == "x":
                raw.append(int(s[i + 2:i + 4], 16))
                i += 4
            elif e in "01234567":
                raw.append(int(s[i + 1:i + 4], 8))
                i += 4
            elif e in "uU":
                width = 4 if e == "u" else 8
                flush()
                out.append(chr(int(s[i + 2:i + 2 + width], 16)))
                i += 2 + width
            else:
                raise bad
        except ValueError:
            raise bad from None
    raise bad
