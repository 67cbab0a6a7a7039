"""The board's hardware as facts: ``cpu`` (cpuinfo + hwcaps) and ``kernel``
(release + config), live in one round trip, one at a time, and from a dump.

The board is tests/support/board.py's directory, its /proc and /boot files
the recorded ones of tests/fixtures/boards; the commands (cat, od, gzip,
uname, head) are the real ones, run by the Local connector.
"""

from __future__ import annotations

import gzip
import json
import platform
import struct
from pathlib import Path

import pytest

from archport.node import collect
from archport.node import facts as F
from archport.remote import Local
from tests.support.board import install_standin, make_root

BOARDS = Path(__file__).resolve().parents[1] / "fixtures" / "boards"


def auxv(hwcap: int) -> bytes:
    """/proc/self/auxv as the kernel writes it: native (type, value) pairs, AT_NULL last."""
    return struct.pack("=6Q", 6, 4096, 16, hwcap, 0, 0)


def hardware(root: Path, name: str, hwcap: int | None, config: str = "boot") -> Path:
    (root / "proc/cpuinfo").write_text((BOARDS / f"{name}.cpuinfo").read_text())
    if hwcap is not None:
        (root / "proc/self").mkdir(parents=True, exist_ok=True)
        (root / "proc/self/auxv").write_bytes(auxv(hwcap))
    text = (BOARDS / f"{name}.config").read_text()
    if config == "boot":
        (root / "boot").mkdir(exist_ok=True)
        (root / "boot" / f"config-{platform.release()}").write_text(text)
    elif config == "proc":
        (root / "proc/config.gz").write_bytes(gzip.compress(text.encode()))
    return root


@pytest.fixture
def board(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    install_standin(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin:/usr/sbin:/sbin")
    return make_root(tmp_path / "board")


def test_jh7110_cpu_and_kernel_read_live(board):
    hardware(board, "jh7110", 0x112D)
    raw = collect.gather(Local(), str(board), names=("cpu", "kernel"))
    got, missing = F.values(raw, ("cpu", "kernel"))
    assert not missing
    cpu, k = got["cpu"], got["kernel"]
    assert cpu.profile == "rva20u64" and cpu.mmu == "sv39" and cpu.hwcap == 0x112D and not cpu.has_vector
    assert {"zba", "zbb"} <= cpu.extensions and cpu.mvendorid == 0x489
    assert got["kernel_release"] == platform.release()
    assert got["kernel_config"] == f"/boot/config-{platform.release()}"
    assert [g.group for g in k.blocking] == ["seccomp"] and not k.ok


def test_config_gz_is_read_before_boot(board):
    hardware(board, "k1", None, config="proc")
    got, missing = F.values(collect.gather(Local(), str(board), names=("cpu", "kernel")), ("cpu", "kernel"))
    assert not missing and got["kernel_config"] == "/proc/config.gz"
    assert got["cpu"].profile == "rva22u64" and got["cpu"].has_vector and got["cpu"].hwcap is None


def test_the_hwcap_the_kernel_gives_decides_vector(board):
    # The K1's ISA line names v; a kernel that leaves V out of AT_HWCAP does not let programs use it.
    hardware(board, "k1", 0x112D)
    got, _ = F.values(collect.gather(Local(), str(board), names=("cpu",)), ("cpu",))
    assert not got["cpu"].has_vector and any("lacks v" in n for n in got["cpu"].notes)


def test_one_at_a_time_equals_one_round_trip(board):
    hardware(board, "th1520", 0x20112D)
    together = collect.gather(Local(), str(board), names=("cpu", "kernel"))
    for name in ("cpu", "kernel"):
        alone = collect.run_one(Local(), name, str(board))
        assert (alone.text, alone.rc) == (together[name].text, together[name].rc)


def test_a_board_without_config_still_has_its_release(board):
    hardware(board, "jh7110", None, config="none")
    got, missing = F.values(collect.gather(Local(), str(board), names=("kernel",)), ("kernel",))
    assert not missing and got["kernel"] is None and got["kernel_release"] == platform.release()


def test_a_cpu_that_is_not_riscv_is_no_cpu(board):
    (board / "proc/cpuinfo").write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme\n")
    got, missing = F.values(collect.gather(Local(), str(board), names=("cpu",)), ("cpu",))
    assert not missing and got["cpu"] is None


def test_glibc_auxv_text_and_another_machines_hwcap():
    info = (BOARDS / "jh7110.cpuinfo").read_text()
    text = info + "\n" + F.AUXV_MARK + "\n" + (BOARDS / "jh7110.auxv").read_text()
    assert F.BY_NAME["cpu"].parse(text)["cpu"].hwcap == 0x112D
    # x86's AT_HWCAP (cpuid bits) is not a RISC-V letter set: ignored, never turned into letters
    odd = info + "\n" + F.AUXV_MARK + "\n 0000000000000010 00000000178bfbff\n 0000000000000000 0000000000000000\n"
    assert F.BY_NAME["cpu"].parse(odd)["cpu"].hwcap is None


def test_a_broken_config_is_unparseable_not_a_crash():
    raw = {"kernel": F.Raw("release: 6.6.0\n" + F.FILE_MARK + " /proc/config.gz\nnot a config\n")}
    got, missing = F.values(raw, ("kernel",))
    assert missing == ("kernel (unparseable)",)


def test_collect_saves_them_and_the_dump_reads_back_typed(board, tmp_path):
    hardware(board, "jh7110", 0x112D)
    live = collect.live(Local(), str(board))
    out = collect.write(collect.gather(Local(), str(board)), tmp_path / "dump", "local")
    assert (out / "cpuinfo.txt").is_file() and (out / "kernel.txt").is_file()
    back = collect.read(out)
    assert back.cpu == live.cpu and back.kernel == live.kernel and back.kernel_release == live.kernel_release
    hw = back.hardware()
    assert hw["cpu"]["profile"] == "rva20u64" and hw["cpu"]["mvendorid"] == "0x489" and hw["mmu"] == "sv39"
    assert hw["kernel"]["check"]["ok"] is False
    assert hw["kernel"]["check"]["missing"][0] == {
        "group": "seccomp", "level": "required", "options": ["CONFIG_SECCOMP"],
        "explains": "pods fail to start: the runtime's default seccomp profile cannot be loaded", "blocks": True}
    json.dumps(hw)
