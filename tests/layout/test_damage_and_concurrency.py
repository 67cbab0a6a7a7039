"""A damaged destination is not "done"; concurrent runs on one layout keep
every tag; an aborting run removes only what it alone created."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import httpx
import pytest

from archport.copy import copy_image
from archport.layout import INDEX_FILE, LayoutSink, LayoutSource
from archport.oci import Descriptor
from standins import images as I
from tests.support.cli import SRC, archport

from .plaincopy import raw, skopeo


@pytest.fixture
def upstream(tmp_path):
    tagged = {n: I.multiarch(tmp_path, n, platforms=("linux/amd64", "linux/arm64")) for n in ("a", "b", "c", "d")}
    return I.write_layout(tmp_path / "up", tagged), tagged


def _blob(root, digest: str):
    return root / "blobs" / "sha256" / digest.split(":", 1)[1]


def _tags(root) -> set[str]:
    doc = json.loads((root / INDEX_FILE).read_bytes())
    return {e["annotations"]["org.opencontainers.image.ref.name"] for e in doc["manifests"]}


# -- a damaged destination -------------------------------------------------------

@pytest.mark.parametrize("lost", ["child manifest", "layer", "config"])
def test_damaged_layout_is_repaired_not_reported_done(upstream, tmp_path, lost):
    root, tagged = upstream
    top, imgs = tagged["a"]
    dst = tmp_path / "dst"
    assert not copy_image(LayoutSource(root, "a"), LayoutSink(dst, "v1")).unchanged
    assert copy_image(LayoutSource(root, "a"), LayoutSink(dst, "v1")).unchanged   # whole: a no-op
    gone = {"child manifest": imgs[1].manifest, "layer": imgs[0].layers[1], "config": imgs[1].config}[lost]
    _blob(dst, gone.digest).unlink()
    r = copy_image(LayoutSource(root, "a"), LayoutSink(dst, "v1"))
    assert not r.unchanged
    assert _blob(dst, gone.digest).exists()
    # skopeo reads every platform back out of the repaired layout
    skopeo("copy", "--all", "--preserve-digests", f"oci:{dst}:v1", f"oci:{tmp_path / 'check'}:v1")
    assert raw(f"oci:{tmp_path / 'check'}:v1") == top.data


def test_damaged_layout_through_the_cli(upstream, tmp_path):
    root, tagged = upstream
    _, imgs = tagged["b"]
    dst = tmp_path / "dst"
    archport("copy", f"oci:{root}:b", f"oci:{dst}:b")
    assert "nothing to copy" in archport("copy", f"oci:{root}:b", f"oci:{dst}:b").stdout
    _blob(dst, imgs[0].manifest.digest).unlink()
    p = archport("copy", f"oci:{root}:b", f"oci:{dst}:b")
    assert "nothing to copy" not in p.stdout and "1 manifest written" in p.stdout


def test_keep_index_copy_is_whole_with_only_its_platforms(upstream, tmp_path):
    """An index copied with some children left out (airgap's keep_index) is
    complete when the children it was asked for are there."""
    from archport.platform import ARM64
    root, tagged = upstream
    dst = tmp_path / "dst"
    kw = dict(name="x", platforms=[ARM64], keep_index=True)
    copy_image(LayoutSource(root, "c"), LayoutSink(dst), **kw)
    assert copy_image(LayoutSource(root, "c"), LayoutSink(dst), **kw).unchanged


def test_damaged_registry_child_is_pushed_again(upstream, registry_plain):
    root, tagged = upstream
    top, imgs = tagged["d"]
    dst = f"{registry_plain.host}/damage/d:1"
    archport("copy", f"oci:{root}:d", dst)
    assert "nothing to copy" in archport("copy", f"oci:{root}:d", dst).stdout
    # distribution keeps a repository's manifests as links: drop one child's
    link = (registry_plain.storage / "docker/registry/v2/repositories/damage/d/_manifests/revisions/sha256"
            / imgs[1].manifest.digest.split(":", 1)[1] / "link")
    link.unlink()
    url = f"{registry_plain.url}/v2/damage/d/manifests/{imgs[1].manifest.digest}"
    assert httpx.head(url, headers={"Accept": I.OCI_MANIFEST}).status_code == 404
    p = archport("copy", f"oci:{root}:d", dst)
    assert "nothing to copy" not in p.stdout
    assert httpx.head(url, headers={"Accept": I.OCI_MANIFEST}).status_code == 200


# -- concurrent runs ---------------------------------------------------------------

def test_two_processes_copying_different_tags_keep_both(upstream, tmp_path):
    root, _ = upstream
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    for round_ in range(10):
        dst = tmp_path / f"dst{round_}"
        procs = [subprocess.Popen([sys.executable, "-m", "archport.cli.main", "copy", f"oci:{root}:{t}",
                                   f"oci:{dst}:{t}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env) for t in ("a", "b")]
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0 and "Traceback" not in err, err
        assert _tags(dst) == {"a", "b"}, f"round {round_}"
    assert not list(tmp_path.glob("dst*/**/*.tmp-*"))


def test_many_writers_in_one_process_all_land(upstream, tmp_path):
    root, _ = upstream
    dst = tmp_path / "dst"
    tags = [f"t{i}" for i in range(8)]
    sinks = {t: LayoutSink(dst, t) for t in tags}
    from archport.copy import transfer
    for i, t in enumerate(tags):
        transfer(LayoutSource(root, "abcd"[i % 4]), sinks[t])
    ready = threading.Barrier(len(tags))
    errors = []

    def commit(t):
        try:
            ready.wait()
            sinks[t].commit()
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=commit, args=(t,)) for t in tags]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and _tags(dst) == set(tags)


def _write_one_blob(sink: LayoutSink, data: bytes) -> None:
    from contextlib import contextmanager
    from archport.oci.digest import Digest

    @contextmanager
    def opener():
        yield iter((data,))
    sink.put_blob(Descriptor("application/octet-stream", Digest.of(data), len(data)), opener)


def test_aborting_run_never_removes_a_layout_another_committed_into(upstream, tmp_path):
    root, _ = upstream
    dst = tmp_path / "dst"
    first = LayoutSink(dst, "first")
    _write_one_blob(first, b"first run")          # creates the layout
    second = LayoutSink(dst, "b")
    from archport.copy import copy_image
    copy_image(LayoutSource(root, "b"), second)   # commits into it
    first.abort()
    assert _tags(dst) == {"b"}
    assert raw(f"oci:{dst}:b") == LayoutSource(root, "b").resolve().raw


def test_aborting_run_leaves_a_layout_another_is_writing(upstream, tmp_path):
    root, _ = upstream
    dst = tmp_path / "dst"
    first, second = LayoutSink(dst, "x"), LayoutSink(dst, "c")
    _write_one_blob(first, b"one")                # creates the layout
    from archport.copy import transfer
    transfer(LayoutSource(root, "c"), second)     # at work, nothing committed yet
    first.abort()
    assert dst.is_dir()
    second.commit()
    assert _tags(dst) == {"c"}
    assert raw(f"oci:{dst}:c") == LayoutSource(root, "c").resolve().raw


def test_aborting_run_alone_removes_the_layout_it_created(tmp_path):
    dst = tmp_path / "dst"
    sink = LayoutSink(dst, "x")
    _write_one_blob(sink, b"alone")
    sink.abort()
    assert not dst.exists()
