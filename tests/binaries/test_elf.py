import io
import random
import struct

import pytest

from archport.binaries.elf import ElfInfo, goarch_of, is_elf, read_elf
from archport.errors import BadInput


def info_of(path) -> ElfInfo:
    with open(path, "rb") as fh:
        info = read_elf(fh)
    assert info is not None
    return info


@pytest.mark.parametrize("name, goarch, machine, cls", [
    ("riscv64", "riscv64", "EM_RISCV", 64),
    ("amd64-trimpath", "amd64", "EM_X86_64", 64),
    ("arm64", "arm64", "EM_AARCH64", 64),
    ("armv7", "arm", "EM_ARM", 32),
    ("go117-386", "386", "EM_386", 32),
    ("go117-s390x", "s390x", "EM_S390", 64),
])
def test_go_binaries_are_static_elf(go_bins, name, goarch, machine, cls):
    info = info_of(go_bins[name])
    assert (info.goarch, info.machine, info.elf_class) == (goarch, machine, cls)
    assert info.endianness == ("big" if goarch == "s390x" else "little")
    assert info.static and info.interpreter is None and info.needed == ()


def test_c_static_and_dynamic(c_bins):
    s = info_of(c_bins["amd64-static"])
    assert s.static and s.goarch == "amd64" and s.needed == ()
    d = info_of(c_bins["amd64-dynamic"])
    assert not d.static
    assert d.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert "libc.so.6" in d.needed
    r = info_of(c_bins["riscv64-static"])
    assert (r.goarch, r.machine, r.static) == ("riscv64", "EM_RISCV", True)
    rd = info_of(c_bins["riscv64-dynamic"])
    assert rd.goarch == "riscv64" and not rd.static
    assert rd.interpreter == "/lib/ld-linux-riscv64-lp64d.so.1"
    assert rd.needed == ("libc.so.6",)


def test_bytes_and_stream_agree_and_stream_position_is_kept(c_bins):
    data = c_bins["amd64-dynamic"].read_bytes()
    stream = io.BytesIO(data)
    stream.seek(100)
    assert read_elf(stream) == read_elf(data)
    assert stream.tell() == 100


def test_not_elf_is_none():
    assert read_elf(b"#!/bin/sh\necho hi\n") is None
    assert read_elf(b"") is None
    assert not is_elf(b"\x7fEL")
    assert is_elf(b"\x7fELF\x02\x01")


def test_goarch_table():
    assert goarch_of("EM_PPC64", 64, "little") == "ppc64le"
    assert goarch_of("EM_PPC64", 64, "big") == "ppc64"
    assert goarch_of("EM_MIPS", 64, "little") == "mips64le"
    assert goarch_of("EM_LOONGARCH", 64, "little") == "loong64"
    assert goarch_of("EM_RISCV", 32, "little") is None
    assert goarch_of("EM_X86_64", 32, "little") is None    # x32
    assert goarch_of("EM_SPARCV9", 64, "big") is None


@pytest.mark.parametrize("cut", [5, 20, 40, 63])
def test_truncated_header_is_bad_input(c_bins, cut):
    data = c_bins["amd64-dynamic"].read_bytes()[:cut]
    with pytest.raises(BadInput, match="malformed ELF"):
        read_elf(data)


def test_program_headers_past_the_end_are_bad_input(c_bins):
    data = bytearray(c_bins["amd64-dynamic"].read_bytes())
    struct.pack_into("<Q", data, 0x20, len(data) + 4096)        # e_phoff
    with pytest.raises(BadInput, match="malformed ELF"):
        read_elf(bytes(data))


def test_dynamic_segment_cut_off_is_bad_input(c_bins):
    data = c_bins["amd64-dynamic"].read_bytes()
    with pytest.raises(BadInput, match="malformed ELF"):
        read_elf(data[:2000])


def test_garbage_section_headers_never_crash(c_bins):
    data = bytearray(c_bins["riscv64-dynamic"].read_bytes())
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    rnd = random.Random(7)
    for i in range(shoff, len(data)):
        data[i] = rnd.randrange(256)
    # pyelftools reads the section-name table when it opens a file, so this
    # is reported as malformed, as a clear error rather than a traceback.
    with pytest.raises(BadInput, match="malformed ELF"):
        read_elf(bytes(data))


def test_fuzzed_files_give_facts_or_bad_input(c_bins, go_bins):
    rnd = random.Random(42)
    for path in (c_bins["amd64-dynamic"], c_bins["riscv64-dynamic"], go_bins["armv7"]):
        original = path.read_bytes()
        for _ in range(150):
            data = bytearray(original)
            for _ in range(rnd.randint(1, 12)):
                lo, hi = rnd.choice([(0, 64), (64, 1024), (0, len(data))])
                data[rnd.randrange(lo, hi)] = rnd.randrange(256)
            if rnd.random() < 0.3:
                data = data[:rnd.randrange(4, len(data))]
            try:
                read_elf(bytes(data))
            except BadInput as e:
                assert str(e).startswith("malformed ELF")
