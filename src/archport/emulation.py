"""qemu-user through binfmt_misc: is a foreign architecture runnable here?

The kernel runs a foreign ELF by handing it to the interpreter registered for
its magic bytes in ``/proc/sys/fs/binfmt_misc`` (kernel docs,
``admin-guide/binfmt-misc.rst``).  For containers the registration needs the
``F`` ("fix binary") flag: the kernel then opens the interpreter once, at
registration, so it is found even inside a container's root filesystem where
``/usr/bin/qemu-riscv64-static`` does not exist.

Debian's ``qemu-user-static`` ships one definition per architecture in
``/usr/share/binfmts/qemu-<arch>`` (update-binfmts format: ``magic``,
``mask``, ``offset``, ``interpreter``, ``fix_binary``…); we register from
those, so magic and mask are exactly the distribution's.

Reading facts (:func:`read_facts`) is separate from deciding
(:func:`diagnose`, pure) and from acting (:func:`register`), so the decision
is tested against fake directories.  Nothing here prints.
"""

from __future__ import annotations

import os
import subprocess
from shutil import which
from dataclasses import dataclass
from pathlib import Path

from .errors import ArchportError
from .platform import Platform, from_uname

BINFMT_DIR = "/proc/sys/fs/binfmt_misc"
DEFINITIONS_DIR = "/usr/share/binfmts"
INSTALL_HINT = "apt-get install qemu-user-static binfmt-support"

# GOARCH -> qemu's name for the architecture (qemu-<name>).
QEMU_ARCH = {
    "riscv64": "riscv64", "arm64": "aarch64", "arm": "arm", "amd64": "x86_64",
    "386": "i386", "ppc64le": "ppc64le", "s390x": "s390x", "loong64": "loongarch64",
    "mips64le": "mips64el",
}


class EmulationError(ArchportError):
    """binfmt_misc could not be set up."""


@dataclass(frozen=True, slots=True)
class Definition:
    """One ``/usr/share/binfmts/qemu-<arch>`` file, parsed."""

    name: str           # qemu-riscv64
    interpreter: str
    magic: bytes
    mask: bytes
    offset: int = 0
    fix_binary: bool = False
    preserve: bool = False
    credentials: bool = False

    def register_line(self, fix_binary: bool = True) -> str:
        """The string written to ``binfmt_misc/register``:
        ``:name:M:offset:magic:mask:interpreter:flags`` with magic and mask
        ``\\x``-escaped (the kernel unescapes them; ':' must never appear raw)."""
        flags = ("P" if self.preserve else "") + ("C" if self.credentials else "") + \
                ("F" if fix_binary or self.fix_binary else "")
        esc = lambda b: "".join(f"\\x{c:02x}" for c in b)  # noqa: E731
        return f":{self.name}:M:{self.offset}:{esc(self.magic)}:{esc(self.mask)}:{self.interpreter}:{flags}"


def _unescape(text: str) -> bytes:
    # update-binfmts writes magic/mask with \xNN escapes (and may use other
    # backslash escapes); decode those, keep everything else as latin-1 bytes.
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def parse_definition(name: str, text: str) -> Definition:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            fields[key] = value.strip()
    if "magic" not in fields or "interpreter" not in fields:
        raise EmulationError(f"binfmt definition {name} has no magic or interpreter")
    magic = _unescape(fields["magic"])
    mask = _unescape(fields["mask"]) if fields.get("mask") else b"\xff" * len(magic)
    yes = lambda k: fields.get(k, "no") == "yes"  # noqa: E731
    return Definition(name, fields["interpreter"], magic, mask, int(fields.get("offset") or 0),
                      yes("fix_binary"), yes("preserve"), yes("credentials"))


@dataclass(frozen=True, slots=True)
class Facts:
    """What the machine looks like, read by :func:`read_facts`."""

    host: Platform
    qemu_name: str | None            # qemu-riscv64, None if qemu has no such target
    mounted: bool                    # binfmt_misc is mounted
    entry: str | None                # text of binfmt_misc/<name>, None if absent
    definition: Definition | None    # the distribution's definition, None if absent
    interpreter_exists: bool         # the definition's interpreter file exists
    is_root: bool = False
    qemu_binary: str | None = None   # qemu-<arch>[-static] on PATH, for the confined fallback


@dataclass(frozen=True, slots=True)
class Status:
    """Whether ``platform`` runs here, and if not, what is missing."""

    platform: Platform
    native: bool
    ready: bool
    missing: str = ""      # one line: what is missing and what to do
    can_fix: bool = False  # register() would fix it (root + definition present)
    flags: str = ""        # flags of the current registration

    def to_dict(self) -> dict:
        return {"platform": str(self.platform), "native": self.native, "ready": self.ready,
                "missing": self.missing, "flags": self.flags}


def _entry_flags(entry: str) -> tuple[bool, str]:
    enabled, flags = False, ""
    for line in entry.splitlines():
        if line.strip() == "enabled":
            enabled = True
        elif line.startswith("flags:"):
            flags = line.split(":", 1)[1].strip()
    return enabled, flags


def diagnose(platform: Platform, facts: Facts, *, need_fix_binary: bool = True) -> Status:
    """Decide whether ``platform`` binaries run here (pure).

    ``need_fix_binary``: the run happens in a container (interpreter must be
    pinned with ``F``); False for smoke's confined fallback, which runs the
    qemu binary itself (copied into the image's root).
    """
    if facts.host.architecture == platform.architecture:
        return Status(platform, native=True, ready=True)
    if facts.qemu_name is None:
        return Status(platform, False, False, f"qemu-user has no emulator for {platform.architecture}")
    name = facts.qemu_name
    fixable = facts.is_root and facts.definition is not None and facts.interpreter_exists
    if not need_fix_binary:
        if facts.qemu_binary:
            return Status(platform, False, True)
        return Status(platform, False, False, f"{name} is not installed: {INSTALL_HINT}")
    if facts.definition is None or not facts.interpreter_exists:
        return Status(platform, False, False, f"{name} emulation is not installed: {INSTALL_HINT}")
    if not facts.mounted:
        return Status(platform, False, False,
                      f"binfmt_misc is not mounted: mount -t binfmt_misc binfmt_misc {BINFMT_DIR}", fixable)
    if facts.entry is None:
        return Status(platform, False, False,
                      f"{name} is not registered in binfmt_misc: update-binfmts --enable {name} "
                      "(or run archport as root to register it)", fixable)
    enabled, flags = _entry_flags(facts.entry)
    if not enabled:
        return Status(platform, False, False,
                      f"{name} is disabled in binfmt_misc: echo 1 > {BINFMT_DIR}/{name}", fixable, flags)
    if "F" not in flags:
        return Status(platform, False, False,
                      f"{name} is registered without the F flag, so containers cannot find the interpreter: "
                      f"{INSTALL_HINT} (its definitions set fix_binary), or run archport as root", fixable, flags)
    return Status(platform, False, True, flags=flags)


def read_facts(platform: Platform, *, binfmt_dir: str = BINFMT_DIR, definitions_dir: str = DEFINITIONS_DIR,
               host_machine: str | None = None, is_root: bool | None = None,
               path_lookup: bool = True) -> Facts:
    """Read the binfmt state for ``platform`` from the (possibly fake) paths."""
    host = from_uname(host_machine or os.uname().machine)
    qemu = QEMU_ARCH.get(platform.architecture)
    name = f"qemu-{qemu}" if qemu else None
    bdir = Path(binfmt_dir)
    mounted = (bdir / "register").exists()
    entry = definition = None
    interpreter_exists = False
    if name:
        try:
            entry = (bdir / name).read_text()
        except OSError:
            entry = None
        try:
            definition = parse_definition(name, (Path(definitions_dir) / name).read_text())
            interpreter_exists = os.path.exists(definition.interpreter)
        except (OSError, EmulationError):
            definition = None
    root = (os.geteuid() == 0) if is_root is None else is_root
    return Facts(host, name, mounted, entry, definition, interpreter_exists, root,
                 qemu_binary(platform) if path_lookup else None)


def status(platform: Platform, *, need_fix_binary: bool = True, binfmt_dir: str = BINFMT_DIR,
           definitions_dir: str = DEFINITIONS_DIR) -> Status:
    return diagnose(platform, read_facts(platform, binfmt_dir=binfmt_dir, definitions_dir=definitions_dir),
                    need_fix_binary=need_fix_binary)


def register(platform: Platform, *, binfmt_dir: str = BINFMT_DIR, definitions_dir: str = DEFINITIONS_DIR) -> Status:
    """Make ``platform`` runnable in containers: mount binfmt_misc if needed,
    (re-)register qemu with the ``F`` flag.  Needs root.  Returns the new
    status; raises :class:`EmulationError` when it cannot."""
    facts = read_facts(platform, binfmt_dir=binfmt_dir, definitions_dir=definitions_dir)
    st = diagnose(platform, facts)
    if st.ready:
        return st
    if not st.can_fix:
        raise EmulationError(st.missing)
    bdir = Path(binfmt_dir)
    if not facts.mounted:
        cp = subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(bdir)], capture_output=True, text=True)
        if cp.returncode != 0:
            raise EmulationError(f"cannot mount binfmt_misc on {bdir}: {cp.stderr.strip()}")
        facts = read_facts(platform, binfmt_dir=binfmt_dir, definitions_dir=definitions_dir)
    if facts.definition is None:
        raise EmulationError(f"{facts.qemu_name} emulation is not installed: {INSTALL_HINT}")
    install(facts.definition, binfmt_dir=binfmt_dir, replace=facts.entry is not None)
    st = status(platform, binfmt_dir=binfmt_dir, definitions_dir=definitions_dir)
    if not st.ready:
        raise EmulationError(st.missing)
    return st


def install(definition: Definition, *, binfmt_dir: str = BINFMT_DIR, replace: bool = False) -> None:
    """Write ``definition`` (with ``F``) to ``binfmt_misc/register``; with
    ``replace``, first remove the existing entry of that name (writing ``-1``
    to it is the only way to change an entry's flags)."""
    bdir = Path(binfmt_dir)
    try:
        if replace:
            (bdir / definition.name).write_text("-1")
        (bdir / "register").write_text(definition.register_line(fix_binary=True))
    except OSError as e:
        raise EmulationError(f"cannot register {definition.name} in binfmt_misc: {e.strerror or e}") from None


def remove(name: str, *, binfmt_dir: str = BINFMT_DIR) -> None:
    try:
        (Path(binfmt_dir) / name).write_text("-1")
    except FileNotFoundError:
        pass
    except OSError as e:
        raise EmulationError(f"cannot remove {name} from binfmt_misc: {e.strerror or e}") from None


def qemu_binary(platform: Platform) -> str | None:
    """The qemu-user executable for ``platform`` (for smoke's confined
    fallback, which needs the statically linked one)."""
    qemu = QEMU_ARCH.get(platform.architecture)
    if not qemu:
        return None
    return which(f"qemu-{qemu}-static") or which(f"qemu-{qemu}")
