import json

from archport.cli.main import main


def test_show_human(capsys):
    assert main(["catalog", "show", "coredns"]) == 0
    out = capsys.readouterr().out
    assert "github.com/coredns/coredns" in out and "source: https://" in out
    assert "x-net-linkname-recvmsg" in out


def test_show_by_image_json(capsys):
    assert main(["catalog", "show", "rancher/local-path-provisioner:v0.0.21", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["name"] == "local-path-provisioner"
    assert doc["go"][0]["module"] == "github.com/rancher/local-path-provisioner"
    assert doc["go"][0]["versions"] == ">=0.0.21"
    assert {f["id"] for f in doc["fixups"]} >= {"reflect2-go118", "vendor-consistency"}


def test_list_json(capsys):
    assert main(["--json", "catalog", "list"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "v1.24.2+k3s1" in [r["version"] for r in doc["releases"]]
    assert "pause" in [c["name"] for c in doc["components"]]


def test_list_human(capsys):
    assert main(["catalog", "list"]) == 0
    assert "v1.24.6+k3s1" in capsys.readouterr().out


def test_release_json(capsys):
    assert main(["catalog", "release", "1.24.2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["resolved"]) == 8
    assert {r["component"] for r in doc["resolved"]} >= {"pause", "coredns", "traefik"}


def test_unknown_component_exit_2(capsys):
    assert main(["catalog", "show", "nginx"]) == 2
    assert "unknown component" in capsys.readouterr().err


def test_unknown_release_exit_2(capsys):
    assert main(["catalog", "release", "v9.9.9", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["exitCode"] == 2


def test_no_action_exit_2(capsys):
    assert main(["catalog"]) == 2


def test_release_by_minor_version_is_the_newest_and_says_which(capsys):
    assert main(["catalog", "release", "1.24"]) == 0
    cap = capsys.readouterr()
    assert "k3s v1.24.6+k3s1" in cap.out
    assert cap.err.strip() == "k3s 1.24: v1.24.6+k3s1, the newest 1.24 release the catalog knows"


def test_release_note_names_no_path_a_user_lacks(capsys):
    for version in ("v1.24.2+k3s1", "v1.24.2+k3s2", "1.37"):
        assert main(["catalog", "release", version]) == 0
        out = capsys.readouterr().out
        assert "shared/" not in out and "project's" not in out, out


def test_an_unknown_release_suggests_the_nearest(capsys):
    assert main(["catalog", "release", "v1.34.11"]) == 2
    err = capsys.readouterr().err
    assert "the nearest the catalog knows is v1.34.9+k3s1" in err and len(err.strip().splitlines()) == 1, err


def test_release_note_is_wrapped_without_trailing_spaces(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["catalog", "release", "v1.24.6+k3s1"]) == 0
    out = capsys.readouterr().out
    note = out[out.index("note: "):].splitlines()
    assert len(note) > 1 and all(line == line.rstrip() and len(line) <= 80 for line in note), note
