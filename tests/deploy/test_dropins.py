"""The drop-in archport writes takes effect, or deploy says why not before any restart (pure plans)."""

from __future__ import annotations

from archport.deploy.plan import DROPIN, Desired, make
from archport.node import paths as P
from tests.deploy.test_plan import facts_from

PAUSE = "10.0.0.5:5000/rancher/mirrored-pause:3.6"
USER = f"{P.DROPIN_DIR}/90-user.yaml"


def board(files: dict[str, str], role: str = "server"):
    return facts_from({"version": "v1.28.6+k3s1", "role": role, "files": files})


def test_a_later_drop_in_that_overrides_ours_is_refused_before_any_restart():
    plan = make(board({USER: "pause-image: my.lab.internal/pause:3.9\n"}), Desired(pause_image=PAUSE))
    assert plan.changes == () and plan.restart is False
    (why,) = plan.refusals
    assert why.startswith(f"{USER} sets pause-image: 'my.lab.internal/pause:3.9'")
    assert "would not take effect" in why and "--force" in why and f"edit {USER}" in why


def test_an_appended_key_in_a_later_drop_in_counts_too():
    plan = make(board({USER: "pause-image+: x\n"}), Desired(pause_image=PAUSE))
    assert plan.refusals and USER in plan.refusals[0]


def test_force_writes_a_drop_in_k3s_reads_after_the_users_then_nothing_is_left_to_do():
    files = {USER: "pause-image: my.lab.internal/pause:3.9\n"}
    plan = make(board(files), Desired(pause_image=PAUSE, force=True))
    assert plan.refusals == () and plan.restart is True
    (change,) = plan.changes
    assert change.path == f"{P.DROPIN_DIR}/99-archport.yaml"
    assert f'pause-image: "{PAUSE}"' in change.after.decode()
    after = board({**files, change.path: change.after.decode()})
    assert make(after, Desired(pause_image=PAUSE)).changed is False      # no --force needed any more


def test_force_sorts_after_a_user_file_named_late():
    files = {f"{P.DROPIN_DIR}/99-zz.yaml": "pause-image: x/p:1\n"}
    plan = make(board(files), Desired(pause_image=PAUSE, force=True))
    assert [c.path for c in plan.changes] == [f"{P.DROPIN_DIR}/zz-archport.yaml"]


def test_an_earlier_drop_in_is_overridden_by_ours_as_expected():
    plan = make(board({f"{P.DROPIN_DIR}/10-user.yaml": "pause-image: x/p:1\n"}), Desired(pause_image=PAUSE))
    assert plan.refusals == () and [c.path for c in plan.changes] == [DROPIN]


def test_a_user_drop_in_with_the_same_value_needs_nothing():
    plan = make(board({USER: f"pause-image: {PAUSE}\n"}), Desired(pause_image=PAUSE))
    assert plan.changed is False and plan.refusals == ()


def test_system_default_registry_is_not_written_on_agents():
    want = Desired(registry="10.0.0.5:5000", scheme="http", system_default_registry="10.0.0.5:5000")
    agent = make(board({}, role="agent"), want)
    assert DROPIN not in [c.path for c in agent.changes]
    assert any("system-default-registry" in n and "agent" in n for n in agent.notes)
    server = make(board({}), want)
    assert DROPIN in [c.path for c in server.changes]
