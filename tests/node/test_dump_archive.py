"""A collect dump opens on Pythons without tarfile's extraction filters
(before 3.11.4: Debian 12's 3.11.2), and a hostile archive is refused there too."""

from __future__ import annotations

import io
import tarfile

import pytest

from archport.errors import BadInput
from archport.node import collect


def _archive(path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture(params=["with filters", "without filters"])
def python(request, monkeypatch):
    if request.param == "without filters" and hasattr(tarfile, "data_filter"):
        monkeypatch.delattr(tarfile, "data_filter")
    return request.param


def test_a_dump_archive_opens(tmp_path, python):
    meta = b'{"source": "ssh:board", "facts": {}}\n'
    _archive(tmp_path / "node.tar.gz", {f"node/{collect.META}": meta, "node/pods.json": b"{}"})
    work = tmp_path / "work"
    work.mkdir()
    _dump, got = collect.open_dump(tmp_path / "node.tar.gz", str(work))
    assert got["source"] == "ssh:board"
    assert (work / "node" / "pods.json").read_bytes() == b"{}"


def test_a_member_outside_the_dump_is_refused(tmp_path, python):
    _archive(tmp_path / "evil.tar.gz", {"../outside": b"x"})
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(BadInput, match="not a readable dump archive"):
        collect.open_dump(tmp_path / "evil.tar.gz", str(work))
    assert not (tmp_path / "outside").exists()
