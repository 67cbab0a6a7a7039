"""One table of facts, read three ways: one at a time, in one round trip, from a dump.

The board is tests/support/board.py's (a directory and a stand-in k3s); every
other command is the real one, run by the Local connector.
"""

import io
import json
import tarfile

import pytest

from archport.node import collect
from archport.node import facts as F
from archport.remote import Local
from tests.support.board import install_standin, make_root


@pytest.fixture
def board(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    install_standin(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin:/usr/sbin:/sbin")
    return make_root(tmp_path / "board")


def test_the_table_names_each_fact_and_dump_file_once():
    names = [f.name for f in F.FACTS]
    files = [f.file for f in F.FACTS if f.file]
    assert len(names) == len(set(names)) and len(files) == len(set(files))
    assert set(F.DUMPED) == {f.name for f in F.FACTS if f.file} and "files" not in F.DUMPED


def test_one_round_trip_reads_what_one_at_a_time_reads(board):
    together = collect.gather(Local(), str(board))
    assert set(together) == set(F.DUMPED)
    for name in F.DUMPED:
        if name == "clock":
            continue
        alone = collect.run_one(Local(), name, str(board))
        assert (alone.text, alone.rc) == (together[name].text, together[name].rc), name


def test_a_dump_reads_back_through_the_same_parsers(board, tmp_path):
    live = collect.live(Local(), str(board))
    out = collect.write(collect.gather(Local(), str(board)), tmp_path / "dump", "local")
    back = collect.read(out)
    assert back.cluster == live.cluster and back.images == live.images and back.manifests_dir == live.manifests_dir
    assert (back.mmu, back.vxlan, back.k3s_version) == (live.mmu, live.vxlan, live.k3s_version) == \
        ("sv39", "loaded", "v1.24.2+k3s1")
    assert back.registries["configs"]["mirror.example.internal:5000"]["auth"]["username"] == "board"
    meta = json.loads((out / collect.META).read_text())
    assert set(meta["facts"]) == set(F.DUMPED)


def test_a_dump_answers_only_the_facts_it_holds(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "uname.txt").write_text("riscv64\n")
    dump = collect.Dump(tmp_path / "d")
    assert collect.run_one(dump, "uname") == F.Raw("riscv64\n", 0)
    assert collect.run_one(dump, "files").rc == 127 and collect.run_one(dump, "clock").rc == 127


def test_live_only_facts(board):
    (board / "etc/rancher/k3s/config.yaml.d").mkdir()
    (board / "etc/rancher/k3s/config.yaml.d/10-user.yaml").write_bytes(b"pause-image: x/pause:1\n\x00")
    (board / "etc/systemd/system").mkdir(parents=True)
    (board / "etc/systemd/system/k3s-agent.service").write_text("[Service]\n")
    raw = collect.gather(Local(), str(board), names=("files", "service", "image_files", "init", "version"))
    got, missing = F.values(raw, tuple(raw))
    assert not missing and got["role"] == "agent" and got["init"] in ("systemd", "openrc", "unknown")
    assert got["files"]["/etc/rancher/k3s/config.yaml.d/10-user.yaml"] == b"pause-image: x/pause:1\n\x00"
    assert set(got["files"]) == {"/etc/rancher/k3s/config.yaml", "/etc/rancher/k3s/registries.yaml",
                                 "/etc/rancher/k3s/config.yaml.d/10-user.yaml"}
    assert got["image_files"] == {"archport.tar": 0} and got["k3s_version"] == "v1.24.2+k3s1"


def test_the_archives_fact_reads_the_names_an_archive_carries(board):
    index = json.dumps({"manifests": [{"annotations": {"io.containerd.image.name": "docker.io/rancher/a:1"}}]})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("index.json")
        info.size = len(index)
        tar.addfile(info, io.BytesIO(index.encode()))
    (board / "var/lib/rancher/k3s/agent/images/archport.tar").write_bytes(buf.getvalue())
    facts = collect.live(Local(), str(board), extra=("archives",))
    assert facts.archives == {"docker.io/rancher/a:1": "agent/images/archport.tar"}
    assert collect.live(Local(), str(board)).archives == {}


def test_a_section_is_exactly_what_its_command_printed():
    out = ("\n@@n1 a\nno newline at the end\n@@n1 rc=0\n"
           "\n@@n1 b\n@@other c\nline\n\n\n@@n1 rc=3\n")
    assert collect.split(out, "n1") == {"a": F.Raw("no newline at the end", 0), "b": F.Raw("@@other c\nline\n\n", 3)}


def test_stderr_belongs_to_the_version_fact_only(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")          # no k3s here
    raw = collect.gather(Local(), str(tmp_path), names=("version", "uname"))
    assert raw["version"].rc != 0 and "k3s" in raw["version"].text
    assert raw["uname"].rc == 0
