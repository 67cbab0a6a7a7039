"""RISC-V programs built for different ISA profiles, and qemu-user to run them.

``isa_programs`` (session) builds, with the real toolchains:

* ``go-rva20u64``, ``go-rva22u64``, ``go-rva23u64`` — tests/fixtures/go/isaprobe
  with ``GORISCV64`` set (Go records it in the build info);
* ``c-rv64gc``, ``c-rv64gcv`` — tests/fixtures/c/isa_vector.c, static, with
  ``riscv64-linux-gnu-gcc -march=…`` (the vector build executes RVV 1.0).

:func:`run_on` runs one under ``qemu-riscv64-static -cpu MODEL`` and returns
its exit status the way a shell (and a container runtime) reports it: 128 +
the signal for a program killed by one, so SIGILL is 132.

What Debian's qemu-user 7.2 (7.2+dfsg-7+deb12u18) does with them, measured:

* ``-cpu sifive-u54``, and ``-cpu rv64,v=false,zba=false,zbb=false,zbs=false``:
  go-rva20u64 and c-rv64gc exit 0; go-rva22u64, go-rva23u64 and c-rv64gcv
  die with SIGILL (132).  Its AT_HWCAP there is 0x112d (imafdc).
* no ``-cpu`` (7.2's default rv64 has no V): c-rv64gcv dies with SIGILL too.
* ``-cpu rv64,v=true,zba=true,zbb=true,zbs=true``: c-rv64gcv runs and prints
  ``vector 2 4 6 8`` (qemu warns on stderr that it defaults to vector 1.0);
  go-rva22u64 and go-rva23u64 run as well: this probe executes none of the
  RVA23 extensions 7.2 lacks (Zicond, Zfa, Zcb…), so "no 7.2 CPU model runs
  an rva23u64 binary" holds only for programs that reach such code.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VECTOR_C = REPO / "tests" / "fixtures" / "c" / "isa_vector.c"
GO_PROBE = "tests/fixtures/go/isaprobe"
CC = "riscv64-linux-gnu-gcc"
QEMU = "qemu-riscv64-static"

# CPU models of Debian's qemu-user 7.2: sifive-u54 is RV64GC (no Zba/Zbb/Zbs,
# no V); the generic rv64 with the bit-manipulation and vector properties off
# is the same set; with V on it runs the vector build.
RV64GC_CPUS = ("sifive-u54", "rv64,v=false,zba=false,zbb=false,zbs=false")
VECTOR_CPU = "rv64,v=true,zba=true,zbb=true,zbs=true"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed (scripts/test-deps.sh installs it)")
    return found


def build_c(out: Path, march: str) -> Path:
    subprocess.run([tool(CC), "-static", "-O2", f"-march={march}", "-mabi=lp64d", "-o", str(out), str(VECTOR_C)],
                   check=True, capture_output=True, text=True, timeout=300)
    return out


def run_on(program: Path, cpu: str, timeout: float = 120) -> tuple[int, str]:
    """(exit status as a shell reports it, stdout) of ``program`` under qemu-user ``-cpu cpu``."""
    cp = subprocess.run([tool(QEMU), "-cpu", cpu, str(program)], capture_output=True, text=True, timeout=timeout)
    rc = cp.returncode if cp.returncode >= 0 else 128 - cp.returncode
    return rc, cp.stdout


@pytest.fixture(scope="session")
def isa_programs(gobuild, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("isa")
    progs = {f"go-{p}": gobuild(GO_PROBE, "riscv64", extra_env={"GORISCV64": p})
             for p in ("rva20u64", "rva22u64", "rva23u64")}
    progs["c-rv64gc"] = build_c(out / "c-rv64gc", "rv64gc")
    progs["c-rv64gcv"] = build_c(out / "c-rv64gcv", "rv64gcv")
    return progs
