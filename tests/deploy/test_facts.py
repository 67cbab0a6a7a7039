"""Facts: the one script, run for real (Local) against a board directory."""

from __future__ import annotations

import json

import pytest

from archport.deploy import facts as F
from archport.node import paths as P
from archport.k3s.behaviour import load as behaviour, version_of as parse_version
from archport.errors import BadInput
from archport.remote import Local

from tests.support.board import PODS

STANDIN_K3S = """#!/bin/sh
# Stand-in for k3s (facts test): a version and the kube-system pods.
case "$*" in
  --version) echo "k3s version v1.27.10+k3s2 (abcdef12)"; echo "go version go1.20.13" ;;
  "kubectl get pods -n kube-system -o json") cat {pods} ;;
  *) exit 1 ;;
esac
"""


@pytest.fixture
def agent_root(tmp_path, monkeypatch):
    root = tmp_path / "root"
    files = {"etc/init.d/k3s-agent": "#!/sbin/openrc-run\n", "etc/rancher/k3s/config.yaml": "server: https://s:6443\n",
             "etc/rancher/k3s/config.yaml.d/10-user.yaml": "pause-image: x/pause:1\n",
             "etc/rancher/k3s/registries.yaml": "mirrors: {}\n\x00binary-safe\n",
             "var/lib/rancher/k3s/agent/images/old.tar": "12345"}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (tmp_path / "pods.json").write_text(json.dumps({"items": PODS}))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "k3s").write_text(STANDIN_K3S.format(pods=tmp_path / "pods.json"))
    (bin_dir / "k3s").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin:/usr/sbin:/sbin")
    return root


def test_gather_reads_every_fact(agent_root):
    f = F.gather(Local(), str(agent_root), "old.tar")
    assert str(f.version) == "v1.27.10+k3s2" and f.role == "agent" and f.service == "k3s-agent"
    assert f.files[P.REGISTRIES] == b"mirrors: {}\n\x00binary-safe\n"
    assert f.files[P.CONFIG] == b"server: https://s:6443\n"
    assert f.files[P.DROPIN_DIR + "/10-user.yaml"] == b"pause-image: x/pause:1\n"
    assert f.images == {"old.tar": 5}
    assert f.airgap_sha256 == "5994471abb01112afcc18159f6cc74b4f511b99806da59b3caf5a9c173cacfc5"
    assert [p.name for p in f.pods if p.pull_failing] == ["coredns-b96499967-x2x8b", "metrics-server-668d979685-9szb9"]


def test_missing_files_and_kubectl_are_facts_too(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")      # no k3s there
    f = F.gather(Local(), str(tmp_path))
    assert f.version is None and f.pods is None
    assert f.files == {P.REGISTRIES: None, P.CONFIG: None} and f.images == {}


@pytest.mark.parametrize("text, want", [
    ("k3s version v1.24.2+k3s1 (f4c4de8e)\ngo version go1.18.1", "v1.24.2+k3s1"),
    ("v1.29.1+k3s2", "v1.29.1+k3s2"),
    ("k3s version v1.21.0-rc1+k3s1 (x)", "v1.21.0+k3s1"),
])
def test_versions(text, want):
    assert str(parse_version(text)) == want


def test_not_a_version():
    with pytest.raises(BadInput):
        parse_version("k3s: command not found")


@pytest.mark.parametrize("rule, version, holds", [
    ("registry-hosts-toml", "v1.26.12+k3s1", False),
    ("registry-hosts-toml", "v1.26.13+k3s1", True),
    ("registry-hosts-toml", "v1.28.5+k3s1", False),
    ("registry-hosts-toml", "v1.25.16+k3s4", False),
    ("registry-hosts-toml", "v1.30.0+k3s1", True),
    ("images-live-import", "v1.32.0+k3s1", False),
    ("images-live-import", "v1.32.1+k3s1", True),
    ("images-live-import", "v1.33.0+k3s1", True),
    ("registry-rewrite", "v1.20.15+k3s1", False),
    ("registry-rewrite", "v1.21.0+k3s1", True),
    ("config-dropins", "v1.21.1+k3s1", True),
    ("config-file", "v1.18.20+k3s1", False),
    ("config-file", "v1.19.1+k3s1", True),
])
def test_version_rules(rule, version, holds):
    assert behaviour().supports(rule, parse_version(version)) is holds


def test_every_rule_names_its_source():
    assert all(f.source and f.since for f in behaviour().features)
