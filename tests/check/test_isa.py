"""check reads what every riscv64 binary needs of the ISA and holds it against
a target: real Go (GORISCV64) and gcc (-march) binaries in OCI layouts."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from archport.check import Contract, check_image
from archport.check.image import select
from archport.check.isa import target_board, target_isa, target_profile
from archport.check.listing import list_binaries
from archport.cli.main import main
from archport.node.cpu import parse_cpuinfo
from archport.platform import RISCV64
from tests.support import sshd

from .images import files, layout

BOARDS = Path(__file__).resolve().parents[1] / "fixtures" / "boards"


def image(tmp_path, isa_programs, *names, name="img"):
    """An image whose /usr/bin holds the named programs; Cmd runs the first."""
    layer = files({f"usr/bin/{n}": (isa_programs[n].read_bytes(), 0o755) for n in names})
    return layout(tmp_path, [layer], {"Cmd": [names[0]]}, name=name)


def errors(report):
    return [f for f in report.all_findings() if f.is_error]


def test_without_a_target_the_profile_is_reported_and_above_rva20_warns(tmp_path, isa_programs):
    base = check_image(image(tmp_path, isa_programs, "go-rva20u64", "c-rv64gc", name="base"), RISCV64)
    assert base.ok and base.needs == "rva20u64" and not base.all_findings()
    assert {r.path: r.profile for r in base.requirements} == {"/usr/bin/go-rva20u64": "rva20u64",
                                                              "/usr/bin/c-rv64gc": "rva20u64"}
    high = check_image(image(tmp_path, isa_programs, "go-rva22u64", "c-rv64gcv", name="high"), RISCV64)
    assert high.ok and high.needs == "rva23u64"       # a warning, not a failure
    warned = {f.path: f for f in high.all_findings() if f.code == "isa-profile"}
    assert set(warned) == {"/usr/bin/go-rva22u64", "/usr/bin/c-rv64gcv"}
    assert "GORISCV64=rva22u64" in warned["/usr/bin/go-rva22u64"].message
    assert "v beyond RVA20U64" in warned["/usr/bin/c-rv64gcv"].message
    assert "Tag_RISCV_arch rv64i" in warned["/usr/bin/c-rv64gcv"].message


@pytest.mark.parametrize("target,failing", [
    (target_profile("rva20"), {"go-rva22u64", "go-rva23u64", "c-rv64gcv"}),
    (target_profile("rva22"), {"go-rva23u64", "c-rv64gcv"}),
    (target_profile("rva23"), set()),
    (target_isa("rv64imafdc_zba_zbb"), {"go-rva22u64", "go-rva23u64", "c-rv64gcv"}),
    (target_isa("rv64gcv"), {"go-rva22u64", "go-rva23u64"}),
])
def test_a_target_fails_the_binaries_that_need_more(tmp_path, isa_programs, target, failing):
    names = ("go-rva20u64", "go-rva22u64", "go-rva23u64", "c-rv64gc", "c-rv64gcv")
    report = check_image(image(tmp_path, isa_programs, *names), RISCV64, isa=target)
    bad = {f.path.rsplit("/", 1)[1] for f in errors(report)}
    assert bad == failing and report.ok == (not failing)
    for f in errors(report):
        assert f.code == "isa-mismatch" and target.name in f.message
        assert f.runtime_error.startswith("Illegal instruction (SIGILL)") and "132" in f.effect


def test_the_mismatch_names_path_extensions_and_origin(tmp_path, isa_programs):
    report = check_image(image(tmp_path, isa_programs, "go-rva22u64", "c-rv64gcv"), RISCV64,
                         isa=target_isa("rv64imafdc_zba_zbb"))
    by = {f.path: f.message for f in errors(report)}
    assert by["/usr/bin/go-rva22u64"].startswith("/usr/bin/go-rva22u64 needs zbs, zfhmin, zicbom, zicboz,")
    assert "GORISCV64=rva22u64" in by["/usr/bin/go-rva22u64"]
    assert by["/usr/bin/c-rv64gcv"].startswith("/usr/bin/c-rv64gcv needs v, which ISA rv64imafdc_zba_zbb lacks")
    assert "GCC: " in by["/usr/bin/c-rv64gcv"]
    doc = report.to_dict()["isa"]
    assert doc["needs"] == "rva23u64" and doc["binaries"] == 2
    req = {r["path"]: r for r in doc["requirements"]}
    gcv = req["/usr/bin/c-rv64gcv"]
    assert gcv["profile"] == "rva23u64" and gcv["missing"] == ["v"] and gcv["beyond_baseline"] == ["v"]
    assert gcv["built_by"][0]["kind"] == "attributes" and gcv["built_by"][0]["producer"].startswith("GCC:")
    go = req["/usr/bin/go-rva22u64"]["built_by"][0]
    assert go == {"kind": "go", "go_version": go["go_version"], "goriscv64": "rva22u64"}


def test_a_board_target_from_its_cpu(tmp_path, isa_programs):
    k1 = parse_cpuinfo((BOARDS / "k1.cpuinfo").read_text())
    report = check_image(image(tmp_path, isa_programs, "go-rva22u64", "c-rv64gcv", "go-rva23u64"), RISCV64,
                         isa=target_board("bpi-f3", k1.extensions, k1.profile))
    # an RVA22 board with RVV 1.0 runs the vector and rva22 builds, not the rva23 one
    assert [f.path for f in errors(report)] == ["/usr/bin/go-rva23u64"]


def test_contracts_and_resolution_steps_are_typed(tmp_path, isa_programs):
    report = check_image(image(tmp_path, isa_programs, "c-rv64gc"), RISCV64, [Contract()])
    (o,) = report.to_dict()["contracts"]
    kinds = [s["kind"] for s in o["resolution"]]
    assert kinds == ["path-lookup", "elf"]
    assert o["resolution"][0]["entry"] == "/usr/bin"
    assert o["resolution"][1]["linkage"] == "static" and o["resolution"][1]["arch"] == "riscv64"


# --- the CLI ----------------------------------------------------------------------------

def run(capsys, *argv):
    code = main(["check", *argv])
    out = capsys.readouterr().out
    return code, (json.loads(out) if "--json" in argv else out)


def test_cli_profile_and_isa(tmp_path, capsys, isa_programs):
    image(tmp_path, isa_programs, "go-rva22u64", name="g22")
    ref = f"oci:{tmp_path / 'g22'}:v1"
    code, text = run(capsys, ref)
    assert code == 0 and "ISA: needs RVA22U64" in text and "GORISCV64=rva22u64" in text
    code, text = run(capsys, ref, "--profile", "rva20")
    assert code == 1 and "/usr/bin/go-rva22u64 needs" in text and "RVA20U64 lacks" in text
    assert run(capsys, ref, "--profile", "rva22")[0] == 0
    code, doc = run(capsys, ref, "--isa", "rv64gc", "--json")
    assert code == 1 and doc["isa"]["target"]["name"] == "ISA rv64gc"
    assert doc["isa"]["requirements"][0]["missing"][:2] == ["zba", "zbb"]


def test_cli_bad_targets_are_bad_input(tmp_path, capsys, isa_programs):
    image(tmp_path, isa_programs, "c-rv64gc", name="c")
    ref = f"oci:{tmp_path / 'c'}:v1"
    assert main(["check", ref, "--isa", "x86-64-v3"]) == 2
    assert main(["check", ref, "--isa", "rv32imac"]) == 2
    assert main(["check", ref, "--profile", "rva20", "--platform", "linux/amd64"]) == 2
    assert main(["check", ref, "--profile", "rva21"]) == 2
    assert "--isa 'x86-64-v3': not a RISC-V ISA string" in capsys.readouterr().err


CAT = """#!/bin/sh
# Stand-in cat: the board's /proc/cpuinfo and auxv are a recorded board's.
case "$1" in
  /proc/cpuinfo) exec /bin/cat {cpuinfo} ;;
  /proc/self/auxv) exec /bin/cat {auxv} ;;
esac
exec /bin/cat "$@"
"""


@pytest.fixture
def jh7110_board(tmp_path):
    """A real sshd whose sessions see a JH7110's /proc/cpuinfo and hwcaps."""
    server = sshd.start(tmp_path / "sshd")
    auxv = tmp_path / "auxv"
    auxv.write_bytes(struct.pack("<6Q", 6, 4096, 16, 0x112D, 0, 0))
    cat = server.bin_dir / "cat"
    cat.write_text(CAT.format(cpuinfo=BOARDS / "jh7110.cpuinfo", auxv=auxv))
    cat.chmod(0o755)
    try:
        yield server
    finally:
        server.stop()


def test_cli_board_reads_the_cpu_over_ssh(tmp_path, capsys, isa_programs, jh7110_board):
    image(tmp_path, isa_programs, "go-rva20u64", "go-rva22u64", name="b")
    ssh = []
    for o in jh7110_board.ssh_options():
        ssh += ["-o", o]
    code, doc = run(capsys, f"oci:{tmp_path / 'b'}:v1", "--board", jh7110_board.destination,
                    "-p", str(jh7110_board.port), *ssh, "--json")
    assert code == 1
    assert doc["board"]["cpu"]["profile"] == "rva20u64" and doc["board"]["cpu"]["hwcap"] == "0x112d"
    assert doc["isa"]["target"]["profile"] == "rva20u64"
    (f,) = [f for f in doc["findings"] if f["severity"] == "error"]
    assert f["code"] == "isa-mismatch" and f["path"] == "/usr/bin/go-rva22u64"
    # the JH7110 has Zba and Zbb: what it lacks of RVA22U64 is the rest
    assert f["message"].startswith("/usr/bin/go-rva22u64 needs zbs, zfhmin, zicbom, zicboz, which board ")


def test_inspect_files_lists_each_binarys_need(tmp_path, isa_programs):
    src = image(tmp_path, isa_programs, "go-rva23u64", "c-rv64gc", name="listed")
    m, _ = select(src, RISCV64)
    by = {e["path"]: e for e in list_binaries(src, m)}
    assert by["/usr/bin/go-rva23u64"]["isa"]["profile"] == "rva23u64"
    assert "static, needs RVA23U64" in by["/usr/bin/go-rva23u64"]["summary"]
    assert by["/usr/bin/c-rv64gc"]["isa"]["built_by"][0]["kind"] == "attributes"
    assert "needs RVA20U64" in by["/usr/bin/c-rv64gc"]["summary"]
