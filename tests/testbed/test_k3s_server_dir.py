"""The stand-in's start against a plain directory (no node): containerd's
config written, agent/images imported into a real containerd, manifests
staged.  kubectl is not part of this file (the bed tests apply for real)."""

import json
import shutil
import subprocess
import tarfile

import pytest

from testbed.k3s import server
from standins import images, shared


def _board(tmp_path, ctr_prefix=("true",)):
    kubectl = tmp_path / "kubectl-log"
    return server.Board(etc=tmp_path / "etc", var=tmp_path / "var", packaged=shared.MANIFESTS,
                        log=tmp_path / "k3s.log", state=tmp_path / "state.json",
                        kubectl=("sh", "-c", f'echo "$*" >> {kubectl}; cat >/dev/null', "kubectl"),
                        ctr=tuple(ctr_prefix))


def _airgap_tar(tmp_path, name: str) -> bytes:
    imgs = [images.make_image(p, [images.layer_from_files({f"{name}.txt": name.encode()})])
            for p in ("linux/amd64", "linux/riscv64")]
    top = images.make_index(imgs)
    layout = images.write_layout(tmp_path / f"layout-{name}", {"t": (top, imgs)})
    idx = json.loads((layout / "index.json").read_text())
    idx["manifests"][0]["annotations"]["io.containerd.image.name"] = f"docker.io/archport/{name}:1"
    (layout / "index.json").write_text(json.dumps(idx))
    out = tmp_path / f"{name}.tar"
    with tarfile.open(out, "w") as t:
        for p in sorted(layout.rglob("*")):
            t.add(p, arcname=str(p.relative_to(layout)), recursive=False)
    return out.read_bytes()


COMPRESS = {".tar": None, ".tar.gz": ["gzip", "-c"], ".tgz": ["gzip", "-c"], ".tar.zst": ["zstd", "-q", "-c"],
            ".tzst": ["zstd", "-q", "-c"], ".tar.bz2": ["bzip2", "-c"], ".tar.lz4": ["lz4", "-q", "-c"]}


def test_start_on_a_directory(tmp_path, containerd):
    ns = containerd.fresh_namespace()
    b = _board(tmp_path, ("ctr", "--address", containerd.address, "--namespace", ns))
    (b.etc / "config.yaml.d").mkdir(parents=True)
    (b.etc / "config.yaml").write_text("pause-image: 127.0.0.1:15001/pause:9\ndisable: traefik\n")
    (b.etc / "config.yaml.d" / "50-x.yaml").write_text("disable+: [metrics-server]\n")
    (b.etc / "registries.yaml").write_text('mirrors:\n  docker.io:\n    endpoint: ["http://127.0.0.1:15000"]\n')
    b.images_dir.mkdir(parents=True)
    for i, (ext, cmd) in enumerate(COMPRESS.items()):
        raw = _airgap_tar(tmp_path, f"img{i}")
        data = raw if cmd is None else subprocess.run(cmd, input=raw, capture_output=True, check=True).stdout
        (b.images_dir / f"img{i}{ext}").write_bytes(data)
    (b.images_dir / "README.md").write_text("not an image")
    b.manifests_dir.mkdir(parents=True)
    (b.manifests_dir / "traefik.yaml").write_text("left from an earlier start\n")   # disable deletes it
    (b.manifests_dir / "coredns.yaml.skip").write_text("")

    out = server.start(b)

    toml = b.containerd_config.read_text()
    assert 'sandbox_image = "127.0.0.1:15001/pause:9"' in toml and '"http://127.0.0.1:15000"' in toml
    assert sorted(out["imported"]) == sorted(f"img{i}{ext}" for i, ext in enumerate(COMPRESS))
    listed = containerd.ctr("images", "ls", "-q", namespace=ns).stdout.split()
    assert {f"docker.io/archport/img{i}:1" for i in range(len(COMPRESS))} <= set(listed)
    staged = sorted(str(p.relative_to(b.manifests_dir)) for p in b.manifests_dir.rglob("*.yaml"))
    assert staged == ["ccm.yaml", "coredns.yaml", "local-storage.yaml", "rolebindings.yaml"]   # no traefik, no metrics-server
    assert out["plan"].skipped == ("coredns.yaml",)
    assert "Skipping" in b.log.read_text() and "README.md" in b.log.read_text()
    assert json.loads(b.state.read_text())["active"] == "active"


def test_rewrite_refused_at_start_with_one_line(tmp_path):
    b = _board(tmp_path)
    b.etc.mkdir(parents=True)
    (b.etc / "registries.yaml").write_text(
        'mirrors:\n  docker.io:\n    endpoint: ["http://127.0.0.1:1"]\n    rewrite:\n      "(.*)": "x/$1"\n')
    with pytest.raises(server.StandinError) as e:
        server.start(b)
    assert "\n" not in str(e.value)
    assert "level=fatal" in b.log.read_text()
    assert json.loads(b.state.read_text())["active"] == "failed"
