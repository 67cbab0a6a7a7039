"""cache: a content-addressed store of build outputs, keyed by their inputs."""

from __future__ import annotations

import json
import os
import stat

from archport.cache import Cache, key_of


def test_key_is_canonical_json_hash():
    a = key_of({"module": "m", "version": "v1", "tags": ["a", "b"]})
    assert a == key_of({"tags": ["a", "b"], "version": "v1", "module": "m"})   # key order does not matter
    assert a != key_of({"module": "m", "version": "v2", "tags": ["a", "b"]})
    assert a != key_of({"module": "m", "version": "v1", "tags": ["b", "a"]})   # list order does
    assert len(a) == 64 and int(a, 16) >= 0


def test_put_then_get_gives_the_files_and_the_record(tmp_path):
    out = tmp_path / "binary"
    out.write_bytes(b"\x7fELF...")
    os.chmod(out, 0o755)
    cache = Cache(tmp_path / "cache", "go")
    inputs = {"module": "example.test/hello", "version": "v1.2.3"}
    assert cache.get(inputs) is None
    entry = cache.put(inputs, {"binary": out}, {"steps": [{"fixup": "x"}]})
    assert entry is not None and entry.path == tmp_path / "cache" / "go" / key_of(inputs)
    assert entry.file("binary").read_bytes() == b"\x7fELF..."
    assert stat.S_IMODE(entry.file("binary").stat().st_mode) == 0o755
    again = Cache(tmp_path / "cache", "go").get(dict(reversed(list(inputs.items()))))
    assert again is not None and again.meta["steps"] == [{"fixup": "x"}]
    assert again.meta["inputs"] == inputs and again.meta["files"] == ["binary"]
    # Kinds do not share entries.
    assert Cache(tmp_path / "cache", "c").get(inputs) is None


def test_an_incomplete_or_unreadable_entry_is_a_miss(tmp_path):
    src = tmp_path / "f"
    src.write_text("x")
    cache = Cache(tmp_path, "k")
    entry = cache.put({"a": 1}, {"f": src})
    entry.file("f").unlink()
    assert cache.get({"a": 1}) is None
    entry = cache.put({"a": 2}, {"f": src})
    (entry.path / "meta.json").write_text("{not json")
    assert cache.get({"a": 2}) is None
    # Putting again repairs it.
    assert cache.put({"a": 2}, {"f": src}).file("f").read_text() == "x"


def test_no_root_disables_caching(tmp_path):
    src = tmp_path / "f"
    src.write_text("x")
    cache = Cache(None, "go")
    assert cache.put({"a": 1}, {"f": src}) is None
    assert cache.get({"a": 1}) is None
    cache.note({"a": 1}, {"v": 1})
    assert cache.recall({"a": 1}) is None


def test_no_temporary_directory_is_left_behind(tmp_path):
    src = tmp_path / "f"
    src.write_text("x")
    cache = Cache(tmp_path / "c", "k")
    cache.put({"a": 1}, {"f": src})
    cache.put({"a": 1}, {"f": src})          # a second run putting the same entry
    assert sorted(p.name for p in (tmp_path / "c" / "k").iterdir()) == [key_of({"a": 1})]


def test_note_and_recall_small_records(tmp_path):
    cache = Cache(tmp_path, "done")
    key = {"dest": "oci:/d:x:1", "platform": "linux/riscv64"}
    assert cache.recall(key) is None
    cache.note(key, {"digest": "sha256:" + "a" * 64})
    assert cache.recall(key) == {"digest": "sha256:" + "a" * 64}
    cache.note(key, {"digest": "sha256:" + "b" * 64})       # replaced, atomically
    assert cache.recall(key)["digest"].endswith("b" * 64)
    assert json.loads((tmp_path / "done" / f"{key_of(key)}.json").read_text())["digest"].endswith("b" * 64)
    (tmp_path / "done" / f"{key_of(key)}.json").write_text("garbage")
    assert cache.recall(key) is None
