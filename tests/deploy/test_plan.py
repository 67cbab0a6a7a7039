"""Plans from facts, as JSON fixtures (pyinfra's operation tests): each case
names the board's facts, the desired state and what the plan must say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from archport.deploy import facts as F
from archport.node import kube
from archport.node import paths as P
from archport.deploy.apply import node_ready, restart_command
from archport.deploy.plan import AirgapFile, Desired, make
from archport.k3s.behaviour import version_of as parse_version

CASES = sorted((Path(__file__).parent / "fixtures" / "plans").glob("*.json"))


def facts_from(d: dict) -> F.Facts:
    files = {P.REGISTRIES: None, P.CONFIG: None}
    files.update({k: v.encode() for k, v in d.get("files", {}).items()})
    pods = tuple(kube.Pod("kube-system", p["name"], containers=_containers(p)) for p in d.get("pods", []))
    return F.Facts(parse_version(d["version"]), d["version"], d.get("hostname", "board"), d.get("init", "systemd"),
                   d.get("role", "server"), files, {}, d.get("airgap_sha256"), pods)


def _containers(p: dict) -> tuple[kube.Container, ...]:
    """One container per image, and one (without an image) per waiting reason."""
    return (tuple(kube.Container(f"c{i}", image) for i, image in enumerate(p["images"]))
            + tuple(kube.Container(f"w{i}", "", state="waiting", reason=r) for i, r in enumerate(p["waiting"])))


def desired_from(d: dict) -> Desired:
    d = dict(d)
    if "airgap" in d:
        d["airgap"] = AirgapFile(**d["airgap"])
    if "auth" in d:
        d["auth"] = tuple(d["auth"])
    return Desired(**d)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_plan_fixture(case):
    c = json.loads(case.read_text())
    plan = make(facts_from(c["facts"]), desired_from(c["desired"]))
    want = c["expect"]
    assert [x.path for x in plan.changes] == want["changes"]
    assert [u.path for u in plan.uploads] == want["uploads"]
    assert plan.restart is want["restart"]
    if want["refusals"]:
        assert len(plan.refusals) == 1
        for words in want["refusals"]:
            assert words in plan.refusals[0]
    else:
        assert plan.refusals == ()
    for note in want.get("notes", []):
        assert any(note in n for n in plan.notes), plan.notes
    for path, text in want.get("after", {}).items():
        assert next(x for x in plan.changes if x.path == path).after.decode() == text
    if "restart_pods" in want:
        assert list(plan.restart_pods) == want["restart_pods"]
    diff = "".join(x.diff() for x in plan.changes)
    for s in want.get("diff_lacks", []):
        assert s not in diff and s not in json.dumps(plan.to_dict())
    for s in want.get("diff_has", []):
        assert s in diff
    if "mirrors" in want:
        doc = YAML(typ="safe").load(plan.changes[0].after)
        assert sorted(doc["mirrors"]) == want["mirrors"]


def test_a_plan_never_writes_manifests_or_config_yaml():
    for case in CASES:
        c = json.loads(case.read_text())
        plan = make(facts_from(c["facts"]), desired_from(c["desired"]))
        for x in plan.changes:
            assert not x.path.startswith(P.MANIFESTS) and x.path != P.CONFIG


def test_unknown_version_is_refused():
    f = F.Facts(None, "sh: k3s: not found", "b", "systemd", "server")
    plan = make(f, Desired(registry="10.0.0.5:5000"))
    assert plan.refusals == ("cannot read the k3s version (k3s --version: sh: k3s: not found)",)


def test_restart_goes_through_the_boards_init_system():
    agent = F.Facts(parse_version("v1.24.2+k3s1"), "", "b", "openrc", "agent")
    server = F.Facts(parse_version("v1.24.2+k3s1"), "", "b", "systemd", "server")
    assert restart_command(agent) == "rc-service k3s-agent restart"
    assert restart_command(server) == "systemctl restart k3s"


def test_node_ready_reads_this_boards_node():
    doc = {"items": [{"metadata": {"name": "a"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
                     {"metadata": {"name": "b"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}]}
    assert node_ready(json.dumps(doc), "b") is True
    assert node_ready(json.dumps(doc), "a") is False
    assert node_ready(json.dumps(doc), "c") is None
    assert node_ready("not json", "a") is None


def test_a_private_ca_is_copied_to_the_board_and_named_in_configs():
    ca = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    want = Desired(registry="reg.lab.internal:5000", scheme="https", prefix="riscv", ca_pem=ca)
    board = facts_from({"version": "v1.28.6+k3s1"})
    plan = make(board, want)
    ca_path = "/etc/rancher/k3s/archport/reg.lab.internal_5000-ca.crt"
    assert [c.path for c in plan.changes] == [ca_path, P.REGISTRIES]
    assert plan.changes[0].after == ca and plan.changes[0].mode == 0o644 and plan.changes[1].mode == 0o600
    doc = YAML(typ="safe").load(plan.changes[1].after)
    assert doc["configs"]["reg.lab.internal:5000"] == {"tls": {"ca_file": ca_path}}
    assert doc["mirrors"]["docker.io"]["endpoint"] == ["https://reg.lab.internal:5000"]
    # the board as it is after apply: nothing left to do
    after = facts_from({"version": "v1.28.6+k3s1",
                        "files": {c.path: c.after.decode() for c in plan.changes}})
    assert make(after, want).changed is False


def test_identity_tokens_go_to_identity_token():
    want = Desired(registry="10.0.0.5:5000", scheme="http", auth=("<token>", "idt-abcdef-123456"))
    plan = make(facts_from({"version": "v1.24.2+k3s1"}), want)
    doc = YAML(typ="safe").load(plan.changes[0].after)
    assert doc["configs"]["10.0.0.5:5000"]["auth"] == {"identity_token": "idt-abcdef-123456"}
    assert "idt-abcdef-123456" not in plan.changes[0].diff() and "idt-abcdef" not in repr(want)
