import struct
import subprocess

import pytest

from archport.binaries.buildinfo import MAGIC, Module, _parse, read_buildinfo
from archport.errors import BadInput


def info_of(path):
    with open(path, "rb") as fh:
        bi = read_buildinfo(fh)
    assert bi is not None
    return bi


GREET = Module("example.com/greet", "v0.1.0", "", Module("../greet", "(devel)"))


def test_current_format_riscv64_with_tags_and_ldflags(go_bins):
    bi = info_of(go_bins["riscv64"])
    assert bi.go_version.startswith("go1.")
    assert bi.path == "example.com/hello"
    assert bi.main == Module("example.com/hello", "(devel)")
    assert bi.deps == (GREET,)
    assert (bi.goos, bi.goarch, bi.cgo_enabled) == ("linux", "riscv64", False)
    assert bi.goriscv64 == "rva20u64"        # Go >= 1.23 records the default profile
    assert bi.tags == ("fixture",)
    assert bi.ldflags == "-X main.version=1.2.3"
    assert bi.x_values() == {"main.version": "1.2.3"}
    assert not bi.trimpath
    assert ("-compiler", "gc") in bi.settings


def test_current_format_trimpath_amd64(go_bins):
    bi = info_of(go_bins["amd64-trimpath"])
    assert bi.trimpath and bi.goarch == "amd64"
    assert bi.tags == ()
    # cmd/go leaves -ldflags out under -trimpath, as they may hold host paths
    # (go.dev/issue/52372): the -X values of such a binary are not knowable.
    assert bi.ldflags == "" and bi.x_values() == {}


def test_current_format_goarm(go_bins):
    bi = info_of(go_bins["armv7"])
    assert (bi.goarch, bi.goarm) == ("arm", "7")
    assert bi.tags == ("fixture",) and bi.ldflags == ""


def test_pre_118_format_from_a_real_go117(go_bins):
    bi = info_of(go_bins["go117-arm64"])
    assert bi.go_version == "go1.17.13"
    assert bi.path == "example.com/hello"
    assert bi.main == Module("example.com/hello", "(devel)")
    # go1.17 writes a replacement by directory with an empty version.
    assert bi.deps == (Module("example.com/greet", "v0.1.0", "", Module("../greet", "")),)
    assert bi.settings == ()          # build settings were added in Go 1.18


@pytest.mark.parametrize("name", ["go117-386", "go117-s390x"])
def test_pre_118_format_32bit_and_big_endian_pointers(go_bins, name):
    bi = info_of(go_bins[name])
    assert bi.go_version == "go1.17.13" and bi.path == "example.com/hello"


@pytest.mark.parametrize("name", ["riscv64", "go117-arm64", "go117-386"])
def test_found_without_section_headers(go_bins, name, tmp_path):
    """sstrip-like binaries: the header is searched in the writable segment."""
    data = bytearray(go_bins[name].read_bytes())
    if data[4] == 2:      # ELFCLASS64: e_shoff at 0x28, e_shnum/e_shstrndx at 0x3c/0x3e
        struct.pack_into("<Q", data, 0x28, 0)
        struct.pack_into("<HH", data, 0x3C, 0, 0)
    else:                 # ELFCLASS32: e_shoff at 0x20, e_shnum/e_shstrndx at 0x30/0x32
        struct.pack_into("<I", data, 0x20, 0)
        struct.pack_into("<HH", data, 0x30, 0, 0)
    assert read_buildinfo(bytes(data)) == info_of(go_bins[name])


def test_the_fixture_really_runs_what_the_build_info_says(go_bins):
    out = subprocess.run(["qemu-riscv64-static", str(go_bins["riscv64"])], capture_output=True, text=True, check=True)
    assert out.stdout == "hello 1.2.3 tagged riscv\n"


def test_not_go_is_none(c_bins):
    assert read_buildinfo(c_bins["amd64-static"].read_bytes()) is None
    assert read_buildinfo(b"not an elf") is None


def test_truncated_go_binary_is_bad_input(go_bins):
    data = go_bins["riscv64"].read_bytes()
    pos = data.find(MAGIC)
    with pytest.raises(BadInput, match="malformed"):
        read_buildinfo(data[:pos + 40])


def test_pre_118_pointer_outside_the_file_is_bad_input(go_bins):
    data = bytearray(go_bins["go117-arm64"].read_bytes())
    pos = data.find(MAGIC)
    struct.pack_into("<Q", data, pos + 16, 0xDEAD0000DEAD)
    with pytest.raises(BadInput, match="not in the file"):
        read_buildinfo(bytes(data))


def test_garbled_length_is_bad_input(go_bins):
    data = bytearray(go_bins["riscv64"].read_bytes())
    pos = data.find(MAGIC)
    data[pos + 32:pos + 42] = b"\xff" * 10          # a varint that never ends
    with pytest.raises(BadInput, match="malformed Go build info"):
        read_buildinfo(bytes(data))


def test_module_text_with_quoted_settings_and_sums():
    text = (
        "path\texample.com/x/cmd/x\n"
        "mod\texample.com/x\tv1.4.0\th1:abc=\n"
        "dep\tgolang.org/x/net\tv0.0.1\th1:def=\n"
        "dep\tgithub.com/a/b\tv1.0.0\n"
        "=>\tgithub.com/c/b\tv1.0.2\th1:ghi=\n"
        "build\t-ldflags=\"-s -w -X 'example.com/x/pkg.Version=v1.4.0' -X=main.commit=abc\"\n"
        'build\t"we\\tird"="tab\\x41\\u00e9"\n'
        "build\tvcs.revision=0123abcd\n"
    )
    bi = _parse("go1.22.1", text)
    assert bi.main == Module("example.com/x", "v1.4.0", "h1:abc=")
    assert bi.deps[1].replace == Module("github.com/c/b", "v1.0.2", "h1:ghi=")
    assert bi.x_values() == {"example.com/x/pkg.Version": "v1.4.0", "main.commit": "abc"}
    assert bi.setting("we\tird") == "tabAé"
    assert bi.setting("vcs.revision") == "0123abcd"


@pytest.mark.parametrize("text, msg", [
    ("frob\tx\n", "unknown key"),
    ("dep\tonly-a-path\n", "needs a path and a version"),
    ("=>\tx\tv1\n", "replacement without a module"),
    ("build\tno-equals\n", "lacks '='"),
    ('build\t-ldflags="unterminated\n', "bad quoted string"),
])
def test_malformed_module_text(text, msg):
    with pytest.raises(BadInput, match=msg):
        _parse("go1.22.0", text)


def test_malformed_version_string():
    with pytest.raises(BadInput, match="version"):
        _parse("\x00\x01garbage", "")
