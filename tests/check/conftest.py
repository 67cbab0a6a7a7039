import shutil
import subprocess
from pathlib import Path

import pytest

HELLO_C = Path(__file__).resolve().parents[1] / "fixtures" / "c" / "hello.c"


@pytest.fixture(scope="session")
def hello(gobuild):
    """Static Go programs for riscv64 and amd64, built with the real toolchain."""
    return {arch: gobuild("tests/fixtures/go/smokehello", arch).read_bytes() for arch in ("riscv64", "amd64")}


@pytest.fixture(scope="session")
def dynamic_amd64(tmp_path_factory) -> bytes:
    """A dynamically linked amd64 ELF from the host gcc (PT_INTERP + libc.so.6)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is required by tests/check (it never skips)")
    out = tmp_path_factory.mktemp("cc") / "hello-dyn"
    subprocess.run([gcc, "-O1", "-o", str(out), str(HELLO_C)], check=True, capture_output=True, text=True)
    return out.read_bytes()
