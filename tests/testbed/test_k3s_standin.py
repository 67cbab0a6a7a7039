"""The k3s stand-in on the bed honours each file a k3s v1.24.2 board reads,
driven over SSH as a user would (edit a file, ``systemctl restart k3s``)."""
from __future__ import annotations

import json
import re
import subprocess
import tarfile

import pytest

from testbed import paths, ssh, upstream
from standins import images
from tests.testbed import board

MIRRORED_HOST = "registry.invalid"      # never resolves: only a mirror can serve it


@pytest.fixture(scope="module")
def files(bed):
    f = board.Files(bed)
    yield f
    f.restore()


def _riscv64_image(tmp_path, name: str):
    imgs = [images.make_image(p, [images.layer_from_files({f"{name}.txt": f"{name} {p}\n".encode()})])
            for p in ("linux/riscv64", "linux/amd64")]
    return images.make_index(imgs), imgs


def test_a_login_lands_on_the_board(bed):
    out = board.run(bed, "k3s --version").stdout.splitlines()
    assert re.fullmatch(r"k3s version v1\.24\.2\+k3s1 \([0-9a-f]{8}\)", out[0])
    assert "stand-in" in out[2]
    assert board.run(bed, "uname -m").stdout.strip() == "riscv64"
    assert board.run(bed, "test -f /etc/rancher/k3s/k3s.yaml && ls /var/lib/rancher/k3s/server/manifests").stdout \
        .split() == ["ccm.yaml", "coredns.yaml", "local-storage.yaml", "metrics-server", "rolebindings.yaml",
                     upstream.METRICS_RBAC, "traefik.yaml"]       # k3s's own, and the bed's one for its stand-in
    arch = board.run(bed, "k3s kubectl get node board -o jsonpath='{.metadata.labels.kubernetes\\.io/arch}'")
    assert arch.stdout == "riscv64"
    assert board.run(bed, "kubectl get ns kube-system -o name").stdout.strip() == "namespace/kube-system"
    assert "RuntimeName:  containerd" in board.run(bed, "crictl version").stdout
    assert board.run(bed, "ctr version").returncode == 0
    status = board.run(bed, "systemctl status k3s", check=False)
    assert status.returncode == 0 and "Active: active (running)" in status.stdout
    journal = board.run(bed, "journalctl -u k3s -u k3s-agent --no-pager -q -n 20").stdout.splitlines()
    assert len(journal) == 20
    assert all(re.match(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d board k3s\[\d+\]: ", line) for line in journal)


def test_helmchart_is_said_not_faked(bed):
    log = (bed.lay.logs / "k3s.log").read_text()
    if "helm-controller" in log:
        assert "HelmChart kube-system/traefik" in log and "not applied" in log


def test_registries_mirror_redirects_a_pull(bed, files, tmp_path):
    reg = upstream.registry(bed.lay).host
    top, imgs = _riscv64_image(tmp_path, "mirrored")
    layout = images.write_layout(tmp_path / "layout", {"t": (top, imgs)})
    images.push(layout, "t", f"{reg}/archport-test/mirrored:1")
    ref = f"{MIRRORED_HOST}/archport-test/mirrored:1"
    board.run(bed, f"ctr -n k8s.io images rm {ref}", check=False)     # the bed is persistent
    before = board.run(bed, f"crictl pull {ref}", check=False)
    assert before.returncode != 0 and "lookup registry.invalid" in before.stderr
    files.put(bed.lay.etc_k3s / "registries.yaml",
              f'mirrors:\n  "{MIRRORED_HOST}":\n    endpoint:\n      - "http://{reg}"\n')
    board.restart_k3s(bed)
    assert f'[plugins."io.containerd.grpc.v1.cri".registry.mirrors."{MIRRORED_HOST}"]' in \
        bed.lay.containerd_config.read_text()
    board.run(bed, f"crictl pull {ref}")
    assert ref in board.run(bed, "crictl images -o json").stdout


def test_pause_image_changes_the_sandbox_image(bed, files):
    files.put(bed.lay.etc_k3s / "config.yaml.d" / "90-archport-test-pause.yaml",
              f"pause-image: {paths.BED_PAUSE_IMAGE}\n")
    board.restart_k3s(bed)
    assert f'sandbox_image = "{paths.BED_PAUSE_IMAGE}"' in bed.lay.containerd_config.read_text()
    info = json.loads(board.run(bed, "crictl info").stdout)
    assert info["config"]["sandboxImage"] == paths.BED_PAUSE_IMAGE


def test_airgap_tarball_is_imported_at_restart(bed, files, tmp_path):
    name = f"{MIRRORED_HOST}/archport-test/airgap:1"
    top, imgs = _riscv64_image(tmp_path, "airgap")
    layout = images.write_layout(tmp_path / "airgap", {"t": (top, imgs)})
    idx = json.loads((layout / "index.json").read_text())
    idx["manifests"][0]["annotations"]["io.containerd.image.name"] = name
    (layout / "index.json").write_text(json.dumps(idx))
    tar = tmp_path / "airgap.tar"
    with tarfile.open(tar, "w") as t:
        for p in sorted(layout.rglob("*")):
            t.add(p, arcname=str(p.relative_to(layout)), recursive=False)
    zst = subprocess.run(["zstd", "-q", "-c", str(tar)], capture_output=True, check=True).stdout
    board.run(bed, f"ctr -n k8s.io images rm {name}", check=False)    # the bed is persistent
    assert name not in board.run(bed, "ctr -n k8s.io images ls -q").stdout.split()
    files.put(bed.lay.var_k3s / "agent" / "images" / "archport-test.tar.zst", zst)
    board.restart_k3s(bed)
    assert name in board.run(bed, "ctr -n k8s.io images ls -q").stdout.split()
    assert name in board.run(bed, "crictl images -o json").stdout
    assert "Imported images from /var/lib/rancher/k3s/agent/images/archport-test.tar.zst" in \
        (bed.lay.logs / "k3s.log").read_text()


def _configmap(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  a: b\n"


def test_skip_file_keeps_a_manifest_out(bed, files):
    m = bed.lay.var_k3s / "server" / "manifests"
    files.put(m / "archport-test-skipped.yaml", _configmap("archport-test-skipped"))
    files.put(m / "archport-test-skipped.yaml.skip", "")
    files.put(m / "archport-test-applied.yaml", _configmap("archport-test-applied"))
    board.restart_k3s(bed)
    assert bed.kubectl("-n", "default", "get", "configmap", "archport-test-applied", check=False).returncode == 0
    gone = bed.kubectl("-n", "default", "get", "configmap", "archport-test-skipped", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    bed.kubectl("-n", "default", "delete", "configmap", "archport-test-applied", "--ignore-not-found")


def test_disable_removes_a_packaged_manifest_and_its_objects(bed, files):
    m = bed.lay.var_k3s / "server" / "manifests"
    assert bed.kubectl("-n", "kube-system", "get", "deployment", "metrics-server", check=False).returncode == 0
    dropin = files.put(bed.lay.etc_k3s / "config.yaml.d" / "90-archport-test-disable.yaml",
                       "disable:\n  - metrics-server\n")
    board.restart_k3s(bed)
    assert not list((m / "metrics-server").glob("*.yaml"))
    board.wait("metrics-server deployment deleted", lambda: bed.kubectl(
        "-n", "kube-system", "get", "deployment", "metrics-server", check=False).returncode != 0, 60)
    # Enabled again: staged and applied at the next start, as k3s does.
    dropin.unlink()
    files.made.remove(dropin)
    board.restart_k3s(bed)
    assert (m / "metrics-server" / "metrics-server-deployment.yaml").is_file()
    assert bed.kubectl("-n", "kube-system", "get", "deployment", "metrics-server", check=False).returncode == 0


def test_rewrite_is_refused_with_one_line(bed, files):
    files.put(bed.lay.etc_k3s / "registries.yaml",
              'mirrors:\n  "registry.invalid":\n    endpoint: ["http://127.0.0.1:1"]\n'
              '    rewrite:\n      "^(.*)$": "x/$1"\n')
    cp = board.run(bed, "systemctl restart k3s", check=False)
    assert cp.returncode == 1 and "Job for k3s.service failed" in cp.stderr
    status = board.run(bed, "systemctl status k3s", check=False).stdout
    assert "k3s-io/containerd" in status and "refuses rewrite" in status
    files.restore()
    assert "Active: active" in board.run(bed, "systemctl status k3s", check=False).stdout


def test_doors_key_is_pinned(bed):
    d = ssh.door(bed.lay)
    assert d.known_hosts.read_text().startswith(f"[127.0.0.1]:{paths.PORTS.ssh} ssh-ed25519 ")
