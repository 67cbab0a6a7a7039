"""The private containerd the suite (and ``archport smoke``) starts."""

from archport.smoke.containerd import Endpoint, overlay_works


def test_private_containerd_answers(containerd):
    assert containerd.address.startswith("/tmp/")
    assert len(containerd.address) < 100  # unix socket path limit
    assert Endpoint(containerd.address).answers()
    out = containerd.ctr("version").stdout
    assert "Server:" in out


def test_snapshotter_matches_overlay_probe(containerd, tmp_path):
    want = "overlayfs" if overlay_works(tmp_path) else "native"
    assert containerd.snapshotter == want
    plugins = containerd.ctr("plugins", "ls").stdout
    assert any(want in line and " ok" in line for line in plugins.splitlines())


def test_nothing_answers_on_a_missing_socket(tmp_path):
    assert not Endpoint(str(tmp_path / "nope.sock")).answers()
