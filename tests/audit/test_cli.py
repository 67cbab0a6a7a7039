"""archport audit end to end: real registries on loopback, a real sshd, a real dump."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from archport.cli.main import main
from tests.support.board import install_standin
from tests.support.cli import archport
from standins.shared import MANIFESTS

from .conftest import PORTED, PREFIX, UPSTREAM_IMAGES, WHOAMI


def run_json(capsys, *args):
    rc = main(["audit", "--json", *args])
    out = capsys.readouterr().out
    return rc, json.loads(out)


def through(up):
    """This machine reaches 'docker.io' only through the loopback upstream."""
    return ["--mirror", f"docker.io={up.host}", "--mirror-only"]


def by_image(doc):
    return {i["image"]: i for i in doc["images"]}


def test_k3s_release_images_lack_riscv64(audit_registries, capsys):
    up, _ = audit_registries
    rc, doc = run_json(capsys, "--k3s", "v1.24.2+k3s1", *through(up))
    assert rc == 1 and doc["complete"] is False and doc["platform"] == "linux/riscv64"
    rows = by_image(doc)
    assert set(rows) == {f"docker.io/{i}" for i in UPSTREAM_IMAGES}
    for name, row in rows.items():
        assert row["platforms"] == ["linux/amd64", "linux/arm64"], name
        assert row["has_node_platform"] is False and row["status"] == "missing"
        assert row["pull_from"]["default"] is True
    kinds = {name: {n["kind"] for n in row["needed_by"]} for name, row in rows.items()}
    assert kinds["docker.io/rancher/mirrored-pause:3.6"] == {"pause"}
    assert kinds["docker.io/rancher/klipper-lb:v0.3.5"] == {"servicelb"}
    assert kinds["docker.io/rancher/mirrored-coredns-coredns:1.9.1"] == {"release"}
    assert sorted(doc["missing"]) == sorted(rows)


def test_table_fits_80_columns_and_each_row_says_missing(audit_registries):
    up, _ = audit_registries
    p = archport("audit", "--k3s", "v1.24.2", *through(up), env={"COLUMNS": "80"}, expect=1)
    lines = p.stdout.splitlines()
    assert max(len(x) for x in lines) <= 80, p.stdout
    rows = [x for x in lines if re.match(r"\d+ {2,}", x)]    # a folded image name continues indented
    assert len(rows) == 8 and all(x.rstrip().endswith("missing") for x in rows), p.stdout
    assert "lacks linux/riscv64: offers linux/amd64, linux/arm64" in p.stdout
    assert "8 of 8 images lack linux/riscv64" in p.stdout


def test_manifests_directory_lists_helmchart_and_helper_pod_images(capsys):
    rc, doc = run_json(capsys, "--manifests", str(MANIFESTS), "--no-registry")
    assert rc == 0
    rows = by_image(doc)
    traefik = rows["docker.io/rancher/mirrored-library-traefik:2.6.2"]
    assert [n["kind"] for n in traefik["needed_by"]] == ["helmchart"]
    assert "HelmChart kube-system/traefik values image" in traefik["needed_by"][0]["why"]
    busybox = rows["docker.io/rancher/mirrored-library-busybox:1.34.1"]
    assert "ConfigMap local-path-config, helperPod.yaml" in busybox["needed_by"][0]["why"]
    assert {"docker.io/rancher/mirrored-coredns-coredns:1.9.1", "docker.io/rancher/local-path-provisioner:v0.0.21",
            "docker.io/rancher/mirrored-metrics-server:v0.5.2"} <= set(rows)
    assert all(r["status"] == "not-checked" for r in doc["images"])


def test_manifests_with_the_release_add_pause_klipper_and_the_helm_job(capsys):
    rc, doc = run_json(capsys, "--manifests", str(MANIFESTS), "--k3s", "v1.24.2+k3s1", "--no-registry")
    rows = by_image(doc)
    job = rows["docker.io/rancher/klipper-helm:v0.7.3-build20220613"]
    assert {n["kind"] for n in job["needed_by"]} == {"release", "helm-job"}
    assert len(rows) == 8


def test_registries_yaml_mirror_and_rewrite_decide_the_source(audit_registries, tmp_path, capsys):
    up, ported = audit_registries
    regs = tmp_path / "registries.yaml"
    regs.write_text(f'mirrors:\n  docker.io:\n    endpoint:\n      - "http://{ported.host}"\n'
                    f'    rewrite:\n      "^rancher/(.*)": "{PREFIX}/rancher/$1"\n')
    rc, doc = run_json(capsys, "--k3s", "v1.24.2+k3s1", "--registries", str(regs), *through(up))
    rows = by_image(doc)
    for name in PORTED:
        row = rows[f"docker.io/{name}"]
        assert row["status"] == "ok" and "linux/riscv64" in row["platforms"]
        assert row["pull_from"] == {"url": f"http://{ported.host}", "reference": f"{ported.host}/{PREFIX}/{name}",
                                    "default": False, "rewritten": True, "mirror": "docker.io"}
    # the mirror lacks the others: containerd falls back to the default endpoint, which lacks riscv64
    lb = rows["docker.io/rancher/klipper-lb:v0.3.5"]
    assert lb["status"] == "missing" and lb["pull_from"]["default"] is True
    assert "MANIFEST_UNKNOWN" in lb["attempts"][0]["error"] or "not found" in lb["attempts"][0]["error"].lower()
    assert rc == 1 and len(doc["missing"]) == 6


def test_system_default_registry_renames_the_system_images(audit_registries, tmp_path, capsys):
    up, ported = audit_registries
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"system-default-registry: {ported.host}/{PREFIX}\ndisable: [traefik, servicelb]\n")
    rc, doc = run_json(capsys, "--k3s", "v1.24.2+k3s1", "--config", str(cfg), *through(up))
    rows = by_image(doc)
    assert doc["system_default_registry"] == f"{ported.host}/{PREFIX}"
    assert f"{ported.host}/{PREFIX}/rancher/mirrored-pause:3.6" in rows
    assert rows[f"{ported.host}/{PREFIX}/rancher/mirrored-coredns-coredns:1.9.1"]["status"] == "ok"
    assert not any("traefik" in r or "klipper" in r for r in rows)       # disabled
    assert rc == 1          # local-path-provisioner, busybox, metrics-server are not in the ported registry


@pytest.fixture()
def node_root(tmp_path, audit_registries):
    """A k3s node's files: config.yaml plus a drop-in, registries.yaml with a
    loopback mirror and rewrite, the packaged manifests."""
    _, ported = audit_registries
    root = tmp_path / "node"
    etc = root / "etc/rancher/k3s"
    (etc / "config.yaml.d").mkdir(parents=True)
    (etc / "config.yaml").write_text("write-kubeconfig-mode: '0644'\ntoken: s3cret-token\n")
    (etc / "config.yaml.d/50-archport.yaml").write_text("disable: servicelb\n")
    (etc / "registries.yaml").write_text(
        f'mirrors:\n  docker.io:\n    endpoint: ["http://{ported.host}"]\n'
        f'    rewrite: {{"^rancher/(.*)": "{PREFIX}/rancher/$1"}}\n')
    manifests = root / "var/lib/rancher/k3s/server/manifests"
    manifests.mkdir(parents=True)
    for f in MANIFESTS.rglob("*.yaml"):
        dest = manifests / f.relative_to(MANIFESTS)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(f.read_text())
    images = root / "var/lib/rancher/k3s/agent/images"
    images.mkdir(parents=True)
    # An OCI archive (names in index.json) and a compressed docker archive
    # (RepoTags): only these members are read, so they carry nothing else.
    _archive(images / "metrics.tar", {"index.json": {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + "0" * 64, "size": 1,
         "annotations": {"io.containerd.image.name": "docker.io/rancher/mirrored-metrics-server:v0.5.2",
                         "org.opencontainers.image.ref.name": "v0.5.2"}}]}})
    _archive(images / "busybox.tar.gz", {"manifest.json": [
        {"Config": "x.json", "RepoTags": ["rancher/mirrored-library-busybox:1.34.1"], "Layers": []}]}, "w:gz")
    (images / "prepull.txt").write_text("docker.io/rancher/mirrored-library-traefik:2.6.2\n")
    os.chmod(tmp_path, 0o755)
    return root


def _archive(path, members, mode="w"):
    import io
    import tarfile
    with tarfile.open(path, mode) as tar:
        for name, doc in members.items():
            data = json.dumps(doc).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def check_node_audit(doc, ported_host, archives_read):
    rows = by_image(doc)
    assert doc["k3s_version"] == "v1.24.2+k3s1" and doc["platform"] == "linux/riscv64"
    assert doc["disabled"] == ["servicelb"]
    assert "docker.io/rancher/klipper-lb:v0.3.5" not in rows                 # ServiceLB disabled in the drop-in
    # the pods' own images (the stand-in's kubectl output), an airgap/earlier import, the mirror
    assert {n["kind"] for n in rows[f"docker.io/{WHOAMI}"]["needed_by"]} == {"pod"}
    whoami = rows[f"docker.io/{WHOAMI}"]
    assert whoami["status"] == "in-store" and whoami["has_node_platform"] is False and whoami["in_image_store"]
    assert rows["docker.io/rancher/local-path-provisioner:v0.0.21"]["status"] == "in-store"
    traefik_missing = ["docker.io/rancher/mirrored-library-traefik:2.6.2"]     # a .txt list supplies nothing
    if archives_read:           # over SSH audit reads the agent/images archives' names
        ms = rows["docker.io/rancher/mirrored-metrics-server:v0.5.2"]
        assert ms["status"] == "in-store" and ms["supplied_by"] == "agent/images/metrics.tar"
        bb = rows["docker.io/rancher/mirrored-library-busybox:1.34.1"]
        assert bb["supplied_by"] == "agent/images/busybox.tar.gz"
        assert doc["missing"] == traefik_missing
    else:                       # a dump has only the file names
        assert rows["docker.io/rancher/mirrored-metrics-server:v0.5.2"]["status"] == "missing"
        assert sorted(doc["missing"]) == ["docker.io/rancher/mirrored-library-busybox:1.34.1", *traefik_missing,
                                          "docker.io/rancher/mirrored-metrics-server:v0.5.2"]
    pause = rows["docker.io/rancher/mirrored-pause:3.6"]
    assert pause["status"] == "ok" and pause["pull_from"]["reference"].startswith(f"{ported_host}/{PREFIX}/")
    traefik = rows["docker.io/rancher/mirrored-library-traefik:2.6.2"]
    assert {n["kind"] for n in traefik["needed_by"]} == {"release", "helmchart"}
    busybox = rows["docker.io/rancher/mirrored-library-busybox:1.34.1"]
    assert {n["kind"] for n in busybox["needed_by"]} == {"release", "manifest"}


def test_from_a_collected_dump(audit_registries, node_root, tmp_path, monkeypatch, capsys):
    up, ported = audit_registries
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    install_standin(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    dump = tmp_path / "dump.tar.gz"
    assert main(["collect", "--root", str(node_root), "--out", str(dump)]) == 0
    capsys.readouterr()
    # uname -m is this machine's (the stand-in only answers for k3s): name the board's platform
    rc, doc = run_json(capsys, "--from", str(dump), "--platform", "linux/riscv64", *through(up))
    assert rc == 1, json.dumps(doc, indent=1)
    check_node_audit(doc, ported.host, archives_read=False)


def test_local_node_reads_its_archives_too(audit_registries, node_root, tmp_path, monkeypatch, capsys):
    up, ported = audit_registries
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    install_standin(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    rc, doc = run_json(capsys, "--local", "--root", str(node_root), "--platform", "linux/riscv64", *through(up))
    assert rc == 1 and doc["source"] == "local"
    check_node_audit(doc, ported.host, archives_read=True)


def test_over_ssh(audit_registries, node_root, sshd_server, capsys):
    up, ported = audit_registries
    install_standin(sshd_server.bin_dir)
    opts = [x for o in sshd_server.ssh_options() if not o.startswith("Port=") for x in ("-o", o)]
    rc, doc = run_json(capsys, "--host", f"ssh://{sshd_server.user}@127.0.0.1:{sshd_server.port}", *opts,
                       "--root", str(node_root), "--platform", "linux/riscv64", *through(up))
    assert rc == 1, doc
    assert doc["source"] == f"ssh:{sshd_server.user}@127.0.0.1"
    check_node_audit(doc, ported.host, archives_read=True)


def test_several_hosts_give_one_document_with_a_node_each(node_root, sshd_server, capsys):
    install_standin(sshd_server.bin_dir)
    opts = [x for o in sshd_server.ssh_options() for x in ("-o", o)]
    host = f"{sshd_server.user}@127.0.0.1"
    rc, doc = run_json(capsys, "--host", host, "--host", host, *opts, "--root", str(node_root), "--no-registry")
    assert rc == 0 and doc["complete"] is True and len(doc["nodes"]) == 2
    assert all(n["k3s_version"] == "v1.24.2+k3s1" for n in doc["nodes"])
    # one board out of reach: the others are still audited, and the run exits 1
    opts = [x for o in sshd_server.ssh_options() if not o.startswith("Port=") for x in ("-o", o)]
    rc, doc = run_json(capsys, "--host", f"{host}:{sshd_server.port}", "--host", "root@127.0.0.1:1", *opts,
                       "--root", str(node_root), "--no-registry")
    assert rc == 1 and doc["complete"] is False
    assert doc["nodes"][0]["k3s_version"] == "v1.24.2+k3s1"
    assert doc["nodes"][1]["source"] == "ssh:root@127.0.0.1" and "cannot connect" in doc["nodes"][1]["error"]


@pytest.mark.parametrize("args, message", [
    ([], "name what to audit"),
    (["--host", "bad host"], "--host 'bad host'"),
    (["--host", "ssh://a/b"], "a path has no meaning"),
    (["--k3s", "v9.9.9"], "unknown k3s release"),
    (["--manifests", "/nonexistent/dir"], "no such file"),
    (["--k3s", "v1.24.2", "--platform", "riscv64/linux"], "invalid platform"),
    (["--k3s", "v1.24.2", "--registries", str(MANIFESTS / "coredns.yaml")], "--registries"),
    (["--k3s", "v1.24.2", "--config", "/nonexistent.yaml"], "--config"),
    (["--host", "x", "--from", "y"], "give one of them"),
    (["--inventory", "/nonexistent.ini"], "--inventory"),
    (["--host", "a:99999"], "port 99999"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    p = archport("audit", "--no-registry", *args, expect=2)
    assert p.stdout == "" and len(p.stderr.strip().splitlines()) == 1 and message in p.stderr, p.stderr


def test_registries_yaml_of_the_wrong_shape_is_exit_2(tmp_path):
    regs = tmp_path / "registries.yaml"
    regs.write_text("mirrors:\n  - docker.io\n")
    p = archport("audit", "--k3s", "v1.24.2", "--registries", str(regs), "--no-registry", expect=2)
    assert p.stderr.strip() == "error: registries.yaml: 'mirrors' must be a mapping of registry name to endpoints"


def test_unreachable_host_is_exit_1(sshd_server):
    p = archport("audit", "--no-registry", "--host", "127.0.0.1:1", "-o", "ConnectTimeout=3", expect=1)
    assert len(p.stderr.strip().splitlines()) == 1 and "cannot connect" in p.stderr


def test_an_image_archport_cannot_build_here_says_so_before_any_port(audit_registries, tmp_path):
    """k3s's automated upgrades: the catalog knows system-upgrade-controller
    and why it cannot be built here, so audit says it beside the image."""
    up, _ = audit_registries
    image = "rancher/system-upgrade-controller:v0.16.0"
    subprocess.run(["skopeo", "copy", "--all", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
                    f"docker://{up.host}/{UPSTREAM_IMAGES[0]}", f"docker://{up.host}/{image}"], check=True)
    (tmp_path / "suc.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: system-upgrade-controller, namespace: system-upgrade}\n"
        "spec:\n  selector: {matchLabels: {app: suc}}\n  template:\n    metadata: {labels: {app: suc}}\n"
        f"    spec:\n      containers:\n      - name: suc\n        image: {image}\n")
    p = archport("audit", "--manifests", str(tmp_path), *through(up), env={"COLUMNS": "200"}, expect=1)
    assert "archport cannot build it here: system-upgrade-controller: " in p.stdout, p.stdout
    assert "not supported here: system-upgrade-controller v0.16.0" in p.stdout, p.stdout
    # An image the catalog can build gets no such line.
    p = archport("audit", "--k3s", "v1.24.2", *through(up), env={"COLUMNS": "200"}, expect=1)
    assert "cannot build it here" not in p.stdout, p.stdout
