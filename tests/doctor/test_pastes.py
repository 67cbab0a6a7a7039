"""doctor reads whatever is pasted: a corpus of realistic pastes from one
riscv64 board (k3s v1.24.2), each shape alone and all of them mixed.

The board: coredns was hand-built for the wrong architecture (``exec format
error``), local-path-provisioner's image lost its ``PATH`` contract,
metrics-server and klipper-helm have no linux/riscv64 variant.  Every file in
tests/fixtures/doctor/pastes is one paste; EXPECTED says which pod each one
must blame on which root cause ("unknown" where that paste alone cannot tell).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from archport.doctor import analyze, text
from tests.support.cli import archport

PASTES = Path(__file__).resolve().parents[1] / "fixtures" / "doctor" / "pastes"
CORE = "kube-system/coredns-b96499967-7xk9p"
LPP = "kube-system/local-path-provisioner-7b7dc8d6f5-q2m8d"
MS = "kube-system/metrics-server-668d979685-zt5lw"
HELM = "kube-system/helm-install-traefik-j7h4n"
CRD = "kube-system/helm-install-traefik-crd-5k2xq"

EXPECTED: dict[str, dict[str, str]] = {
    "01-describe-with-command.txt": {MS: "no-platform"},
    "02-two-describes.txt": {LPP: "entrypoint", CORE: "unknown"},
    "03-bare-events.txt": {MS: "no-platform", CORE: "unknown", LPP: "unknown"},
    "04-logs-with-command.txt": {CORE: "wrong-arch", MS: "unknown"},
    "05-logs-bare.txt": {CORE: "wrong-arch", LPP: "unknown"},
    "06-get-events.txt": {HELM: "no-platform", MS: "no-platform"},
    "07-journal-cjk.txt": {HELM: "no-platform", MS: "no-platform"},
    "08-crictl-and-containerd.txt": {MS: "no-platform"},
    "09-repeated.txt": {MS: "no-platform", CORE: "unknown", LPP: "unknown"},
    "10-pods-namespaced.txt": {CORE: "unknown", CRD: "unknown"},
    # The kubelet's "start failed in pod NAME_NAMESPACE(UID)" with the spec's Image: no pod= on the line.
    "11-journal-start-failed.txt": {CORE: "wrong-arch"},
}
# All pastes together: the board's whole truth.
BOARD = {CORE: "wrong-arch", LPP: "entrypoint", MS: "no-platform", HELM: "no-platform", CRD: "unknown"}


def causes(paste: str) -> dict[str, str]:
    rep = analyze.analyze(text.parse(paste), "linux/riscv64")
    return {pod: g.cause for g in rep.groups for pod in g.pods}


def test_the_corpus_is_complete():
    assert sorted(p.name for p in PASTES.glob("*.txt")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_paste_blames_each_pod(name):
    assert causes((PASTES / name).read_text()) == EXPECTED[name]


def test_mixed_in_any_order_gives_the_board():
    files = [(PASTES / n).read_text() for n in sorted(EXPECTED)]
    orders = [files, files[::-1]] + [random.Random(seed).sample(files, len(files)) for seed in range(4)]
    for order in orders:
        assert causes("\n".join(order)) == BOARD


def test_pasting_twice_counts_once():
    once = text.parse((PASTES / "01-describe-with-command.txt").read_text())
    twice = text.parse((PASTES / "09-repeated.txt").read_text())
    assert len([e for e in twice.cluster.events if e.object_name.startswith("metrics-server")]) == \
        len([e for e in once.cluster.events])


def test_namespace_comes_from_the_command_line():
    facts = text.parse((PASTES / "10-pods-namespaced.txt").read_text())
    assert {p.namespace for p in facts.cluster.pods} == {"kube-system"}


def test_a_journal_in_any_locale_is_read():
    paste = (PASTES / "07-journal-cjk.txt").read_text()
    for month in ("11月", "nov.", "Nov", "нояб"):
        assert causes(paste.replace("11月", month)) == EXPECTED["07-journal-cjk.txt"]


def test_fixes_never_have_a_gap_where_the_image_should_be():
    for name in EXPECTED:
        rep = analyze.analyze(text.parse((PASTES / name).read_text()), "linux/riscv64")
        for g in rep.groups:
            for line in g.fix:
                assert "  --arch" not in line and not line.rstrip().endswith("check"), (name, line)


def test_cli_reads_the_mixed_paste(tmp_path):
    p = tmp_path / "paste.txt"
    p.write_text("\n".join((PASTES / n).read_text() for n in sorted(EXPECTED)))
    out = archport("doctor", "--no-registry", "--from-text", str(p), expect=1).stdout
    for pod in BOARD:
        assert pod.split("/")[1] in out
    assert "exec format error" in out or "another architecture" in out


def test_stale_upstream_lookups_in_containerd_log_do_not_outrank_the_kubelet():
    """containerd.log keeps the lines from before a mirror was configured (k3s
    appends to it across restarts): an upstream host's old lookup failures are
    history, only the configured mirror's own failures explain more."""
    from archport.node.facts import Facts
    from archport.node import kube

    stale = ('time="2026-11-20T08:00:00Z" level=info msg="trying next host" error="failed to do request: Head '
             '\\"https://upstream.example.invalid/v2/rancher/mirrored-metrics-server/manifests/v0.5.2\\": dial tcp: '
             'lookup upstream.example.invalid: no such host" host=upstream.example.invalid')
    mirror_down = stale.replace("upstream.example.invalid", "127.0.0.1:15001").replace(
        "lookup 127.0.0.1:15001: no such host", "connect: connection refused")
    pod = kube.Pod("kube-system", "metrics-server-668d979685-zt5lw", phase="Pending",
                   containers=(kube.Container("metrics-server", "rancher/mirrored-metrics-server:v0.5.2",
                                              state="waiting", reason="ImagePullBackOff"),))
    event = kube.Event("kube-system", "Pod", pod.name, reason="Failed", type="Warning",
                       message='Failed to pull image "rancher/mirrored-metrics-server:v0.5.2": rpc error: code = '
                               'NotFound desc = failed to pull and unpack image "docker.io/rancher/mirrored-metrics-'
                               'server:v0.5.2": no match for platform in manifest: not found')
    regs = {"mirrors": {"docker.io": {"endpoint": ["http://127.0.0.1:15001"]}}}

    def cause(log):
        facts = Facts(cluster=kube.Cluster((pod,), (event,), ()), containerd_log=(log,), registries=regs)
        return {g.cause for g in analyze.analyze(facts, "linux/riscv64").groups}

    assert cause(stale) == {"no-platform"}
    assert cause(mirror_down) == {"network"}
