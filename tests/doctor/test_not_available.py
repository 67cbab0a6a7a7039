"""doctor's "not available" line names what a user knows (the file or the
command a fact reads), never archport's internal fact names."""

from pathlib import Path

from archport.cli.main import main
from archport.node import facts as F
from archport.node import paths as P

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"


def test_every_fact_has_a_label_in_the_users_words():
    assert set(F.LABELS) == set(F.BY_NAME)
    for name, label in F.LABELS.items():
        assert label and "_" not in label.replace("/proc/sys/net/ipv4/ip_forward", ""), (name, label)
    assert F.label("config_d") == f"{P.DROPIN_DIR}/*.yaml"
    assert F.label("sandboxes (unparseable)") == "k3s crictl pods (unparseable)"
    assert F.label("pods table") == "pods table"        # a paste's missing part is already words


def test_the_not_available_line_shows_files_and_commands(tmp_path, capsys):
    d = tmp_path / "partial"
    d.mkdir()
    (d / "kubectl.json").write_text((FIX / "pause-missing" / "kubectl.json").read_text())
    (d / "crictl-pods.json").write_text("{not json")
    rc = main(["doctor", "--no-registry", "--from", str(d)])
    out = capsys.readouterr().out
    assert rc == 1
    line = next(x for x in out.splitlines() if x.startswith("not available:"))
    for internal in ("config_d", "manifests_dir", "images_dir", "containerd_log", "sandboxes"):
        assert internal not in line, line
    for shown in (f"{P.DROPIN_DIR}/*.yaml", P.CONTAINERD_LOG, "k3s crictl pods (unparseable)", "k3s --version",
                  f"the list of {P.MANIFESTS}"):
        assert shown in line, line
