import gzip
import hashlib
import io
import subprocess
import tarfile

import pytest

from archport.assemble.layer import FileSpec, build_layer, plan_entries
from archport.errors import BadInput

FILES = [
    FileSpec("/usr/bin/hello", data=b"\x7fELF fake", mode=0o755),
    FileSpec("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n", uid=0, gid=0),
    FileSpec("/bin", kind="symlink", target="usr/bin"),
    FileSpec("usr/local/bin/hi", kind="hardlink", target="/usr/bin/hello"),
    FileSpec("/data", kind="dir", mode=0o700, uid=65534, gid=65534),
    FileSpec("data/note", data=b"x" * 5000, mode=0o600, uid=65534, gid=65534),
]


def build(files, **kw):
    out = io.BytesIO()
    res = build_layer(files, out, **kw)
    return res, out.getvalue()


def test_same_inputs_same_bytes_in_any_order():
    r1, b1 = build(FILES)
    r2, b2 = build(list(reversed(FILES)))
    assert b1 == b2 and r1 == r2


def test_digest_diff_id_and_size_are_over_the_right_bytes():
    res, blob = build(FILES)
    assert str(res.digest) == "sha256:" + hashlib.sha256(blob).hexdigest()
    tar = gzip.decompress(blob)
    assert str(res.diff_id) == "sha256:" + hashlib.sha256(tar).hexdigest()
    assert (res.size, res.tar_size) == (len(blob), len(tar))


def test_gzip_header_records_no_time_and_no_name():
    _, blob = build(FILES)
    assert blob[:3] == b"\x1f\x8b\x08"
    assert blob[3] & 0x08 == 0                # FNAME flag (RFC 1952)
    assert blob[4:8] == b"\0\0\0\0"           # MTIME


def test_entries_sorted_parents_implied_metadata_pinned():
    _, blob = build(FILES, mtime=1700000000)
    with tarfile.open(fileobj=io.BytesIO(blob)) as t:
        members = t.getmembers()
    names = [m.name for m in members]
    assert names == ["bin", "data", "data/note", "etc", "etc/passwd", "usr", "usr/bin",
                     "usr/bin/hello", "usr/local", "usr/local/bin", "usr/local/bin/hi"]
    by = {m.name: m for m in members}
    assert all(m.mtime == 1700000000 and m.uname == "" and m.gname == "" for m in members)
    assert by["usr"].isdir() and by["usr"].mode == 0o755 and by["usr"].uid == 0
    assert by["data"].mode == 0o700 and (by["data"].uid, by["data"].gid) == (65534, 65534)
    assert by["usr/bin/hello"].mode == 0o755
    assert by["bin"].issym() and by["bin"].linkname == "usr/bin"
    assert by["usr/local/bin/hi"].islnk() and by["usr/local/bin/hi"].linkname == "usr/bin/hello"


def test_hardlinks_follow_their_targets():
    files = [FileSpec("a/link", kind="hardlink", target="z/file"), FileSpec("z/file", data=b"1")]
    assert [e.path for e in plan_entries(files)] == ["a", "z", "z/file", "a/link"]


def test_source_files_are_streamed_and_gnu_tar_agrees(tmp_path):
    src = tmp_path / "big"
    src.write_bytes(bytes(range(256)) * 40000)
    res, blob = build([FileSpec("/opt/big", source=str(src), mode=0o755), *FILES])
    (tmp_path / "layer.tgz").write_bytes(blob)
    root = tmp_path / "root"
    root.mkdir()
    subprocess.run(["tar", "-xzf", str(tmp_path / "layer.tgz"), "-C", str(root)], check=True)
    assert (root / "opt/big").read_bytes() == src.read_bytes()
    assert (root / "bin").readlink().as_posix() == "usr/bin"
    assert (root / "usr/local/bin/hi").stat().st_ino == (root / "usr/bin/hello").stat().st_ino


def test_long_paths_are_deterministic():
    deep = "/".join(["d" * 60] * 4) + "/file"
    r1, _ = build([FileSpec(deep, data=b"x")], mtime=5)
    r2, _ = build([FileSpec(deep, data=b"x")], mtime=5)
    assert r1 == r2


@pytest.mark.parametrize("files, msg", [
    ([FileSpec("../etc/passwd", data=b"")], r"'\.\.'"),
    ([FileSpec("/", kind="dir")], "names the root"),
    ([FileSpec("a", data=b"1"), FileSpec("/a", data=b"2")], "given twice"),
    ([FileSpec("a")], "exactly one of data or source"),
    ([FileSpec("a", data=b"1", source="/etc/hostname")], "exactly one of data or source"),
    ([FileSpec("a", kind="dir", data=b"1")], "has no content"),
    ([FileSpec("a", kind="symlink")], "needs a target"),
    ([FileSpec("a", kind="fifo")], "unknown kind"),
    ([FileSpec("a", data=b"1"), FileSpec("a/b", data=b"2")], "to be a directory"),
    ([FileSpec("a", kind="hardlink", target="missing")], "must point at a regular file"),
])
def test_bad_specs(files, msg):
    with pytest.raises(BadInput, match=msg):
        build(files)


def test_missing_source_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        build([FileSpec("a", source=str(tmp_path / "nope"))])
