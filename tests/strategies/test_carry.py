"""The go strategy's carry step reads layers through imagefs: whiteouts,
opaque directories and hostile whiteouts are judged as everywhere else."""

from __future__ import annotations

from archport.layout import LayoutSource
from archport.oci import Index
from archport.strategies.carry import carry
from standins.images import layer_from_files, make_image, make_index, write_layout

ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x02\x00\x3e\x00" + b"\0" * 40


def test_carry_applies_whiteouts_and_leaves_elf_behind(tmp_path):
    l1 = layer_from_files({"etc/ssl/certs/ca.pem": b"CERT", "etc/gone": b"x", "dir/old": b"x",
                           "bin/app": (ELF, 0o755), "usr/lib/libx.so.1": ELF, "etc/link": "->ssl/certs/ca.pem"})
    l2 = layer_from_files({"etc/.wh.gone": b"", "dir/.wh..wh..opq": b"", "dir/new": b"N", ".wh...": b"",
                           "etc/ssl/.wh...": b""})
    img = make_image("linux/amd64", [l1, l2])
    src = LayoutSource(str(write_layout(tmp_path / "layout", {"v1": (make_index([img]), [img])})), "v1")
    top = src.resolve()
    assert isinstance(top, Index)
    m = src.manifest(top.manifests[0])
    work = tmp_path / "work"
    work.mkdir()
    files, elf = carry(src, m, work, skip="/bin/app")
    by_path = {f.path: f for f in files}
    assert "/etc/gone" not in by_path and "/dir/old" not in by_path
    assert open(by_path["/etc/ssl/certs/ca.pem"].source, "rb").read() == b"CERT"
    assert open(by_path["/dir/new"].source, "rb").read() == b"N"
    assert by_path["/etc/link"].target == "ssl/certs/ca.pem"
    assert "/etc" in by_path and "/etc/ssl" in by_path          # the hostile whiteouts deleted nothing
    assert elf == ["/usr/lib/libx.so.1"]
