"""binfmt_misc facts and decisions, against fake directories and the real one."""

from pathlib import Path

import pytest

from archport import emulation
from archport.platform import AMD64, ARM64, RISCV64, Platform

# As Debian's qemu-user-static ships it (update-binfmts format).
DEFINITION = """package qemu-user-static
interpreter {interp}
magic \\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xf3\\x00
offset 0
mask \\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff
credentials no
fix_binary yes
preserve yes
"""

ENTRY = """enabled
interpreter /usr/libexec/qemu-binfmt/riscv64-binfmt-P
flags: {flags}
offset 0
magic 7f454c460201010000000000000000000200f300
mask ffffffffffffff00fffffffffffffffffeffffff
"""


def fake(tmp_path: Path, *, mounted=True, entry_flags=None, definition=True, interpreter=True, enabled=True):
    proc = tmp_path / "binfmt_misc"
    defs = tmp_path / "binfmts"
    proc.mkdir()
    defs.mkdir()
    if mounted:
        (proc / "register").write_text("")
        (proc / "status").write_text("enabled\n")
    interp = tmp_path / "qemu-riscv64-static"
    if interpreter:
        interp.write_text("")
    if definition:
        (defs / "qemu-riscv64").write_text(DEFINITION.format(interp=interp))
    if entry_flags is not None:
        text = ENTRY.format(flags=entry_flags)
        (proc / "qemu-riscv64").write_text(text if enabled else text.replace("enabled", "disabled", 1))
    return str(proc), str(defs)


def facts(tmp_path, root=False, **kw):
    proc, defs = fake(tmp_path, **kw)
    return emulation.read_facts(RISCV64, binfmt_dir=proc, definitions_dir=defs, host_machine="x86_64",
                                is_root=root, path_lookup=False)


def test_registered_with_fix_binary_is_ready(tmp_path):
    st = emulation.diagnose(RISCV64, facts(tmp_path, entry_flags="PF"))
    assert st.ready and not st.native and st.flags == "PF" and st.missing == ""


def test_native_platform_needs_nothing(tmp_path):
    f = facts(tmp_path, mounted=False, definition=False, interpreter=False)
    assert emulation.diagnose(AMD64, f).native
    assert emulation.diagnose(AMD64, f).ready


@pytest.mark.parametrize("kw, words", [
    (dict(definition=False, interpreter=False), ["apt-get install qemu-user-static binfmt-support"]),
    (dict(interpreter=False), ["apt-get install qemu-user-static"]),
    (dict(mounted=False), ["mount -t binfmt_misc"]),
    (dict(), ["not registered", "update-binfmts --enable qemu-riscv64"]),
    (dict(entry_flags="P"), ["without the F flag"]),
    (dict(entry_flags="PF", enabled=False), ["disabled"]),
])
def test_what_is_missing_is_one_line(tmp_path, kw, words):
    st = emulation.diagnose(RISCV64, facts(tmp_path, **kw))
    assert not st.ready
    assert "\n" not in st.missing
    for w in words:
        assert w in st.missing


def test_root_with_definitions_can_fix(tmp_path):
    assert emulation.diagnose(RISCV64, facts(tmp_path, root=True)).can_fix


def test_non_root_cannot_fix(tmp_path):
    assert not emulation.diagnose(RISCV64, facts(tmp_path, root=False)).can_fix


def test_without_definitions_even_root_cannot_fix(tmp_path):
    st = emulation.diagnose(RISCV64, facts(tmp_path, root=True, definition=False))
    assert not st.can_fix


def test_qemu_L_path_needs_only_the_binary(tmp_path):
    f = facts(tmp_path, mounted=False, definition=False)
    assert not emulation.diagnose(RISCV64, f, need_fix_binary=False).ready
    f2 = emulation.Facts(f.host, f.qemu_name, False, None, None, False, False, "/usr/bin/qemu-riscv64-static")
    assert emulation.diagnose(RISCV64, f2, need_fix_binary=False).ready


def test_unknown_architecture():
    f = emulation.read_facts(Platform("linux", "sparc64"), host_machine="x86_64", path_lookup=False)
    st = emulation.diagnose(Platform("linux", "sparc64"), f)
    assert not st.ready and "no emulator" in st.missing


def test_definition_parses_to_the_kernel_register_line(tmp_path):
    d = emulation.parse_definition("qemu-riscv64", DEFINITION.format(interp="/q"))
    assert d.magic[:4] == b"\x7fELF" and d.magic[18:20] == b"\xf3\x00"  # EM_RISCV = 243
    assert len(d.mask) == len(d.magic) == 20
    line = d.register_line()
    assert line.startswith(":qemu-riscv64:M:0:\\x7f\\x45\\x4c\\x46")
    assert line.endswith(":/q:PF")
    # ':' separates fields; it must never appear inside the escaped magic/mask.
    assert line.count(":") == 7


def test_register_on_fake_proc_writes_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(emulation.os, "geteuid", lambda: 0)
    proc, defs = fake(tmp_path, entry_flags="P")
    # register() reads the facts itself; a fake dir is "mounted" and writable.
    with pytest.raises(emulation.EmulationError):
        # not registered as F afterwards (the fake kernel does not react) -> error
        emulation.register(RISCV64, binfmt_dir=proc, definitions_dir=defs)
    written = (Path(proc) / "register").read_text()
    assert written.startswith(":qemu-riscv64:M:") and written.endswith(":PF")
    assert (Path(proc) / "qemu-riscv64").read_text() == "-1"  # old entry removed first


def test_real_machine_riscv64_ready_after_register(binfmt_riscv64):
    assert emulation.status(RISCV64).ready
    assert "F" in emulation.status(RISCV64).flags
    assert emulation.qemu_binary(RISCV64)
    assert emulation.status(ARM64, need_fix_binary=False).platform == ARM64


def test_kernel_accepts_our_register_line(tmp_path):
    """A throw-away entry with a magic no real file has, registered through
    the real binfmt_misc with F, then removed (the real qemu entries are
    shared with the whole machine, so they are left alone)."""
    import uuid
    interp = tmp_path / "interp"
    interp.write_bytes(b"#!/bin/sh\n")
    interp.chmod(0o755)
    name = "archport-test-" + uuid.uuid4().hex[:8]
    d = emulation.Definition(name, str(interp), b"\x7fARCHPORT:" + uuid.uuid4().bytes[:4], b"\xff" * 14,
                             preserve=True)
    emulation.install(d)
    try:
        entry = (Path(emulation.BINFMT_DIR) / name).read_text()
        assert "enabled" in entry and "flags: PF" in entry
        assert f"interpreter {interp}" in entry
        assert "7f41524348504f52543a" in entry  # ':' in the magic survived, escaped
    finally:
        emulation.remove(name)
    assert not (Path(emulation.BINFMT_DIR) / name).exists()
