"""server/manifests staging and the deploy controller's choices (k3s pkg/deploy)."""

import pytest

from testbed.k3s import config as C
from testbed.k3s import manifests as M
from standins import shared


def _packaged():
    root = shared.MANIFESTS
    return {str(p.relative_to(root)): M.templatize(str(p.relative_to(root)), p.read_text())
            for p in sorted(root.rglob("*.yaml"))}


def test_templatize_then_default_render_gives_shared_back_byte_for_byte():
    variables = M.template_vars(C.settings({}))
    for name, text in _packaged().items():
        assert M.render(text, variables) == (shared.MANIFESTS / name).read_text(), name


def test_system_default_registry_reaches_every_system_image():
    s = C.settings({"system-default-registry": "127.0.0.1:15001"})
    staged = M.stage(_packaged(), M.template_vars(s), s.disable)
    assert "image: 127.0.0.1:15001/rancher/mirrored-coredns-coredns:1.9.1" in staged["coredns.yaml"]
    assert "image: 127.0.0.1:15001/rancher/local-path-provisioner:v0.0.21" in staged["local-storage.yaml"]
    assert "image: 127.0.0.1:15001/rancher/mirrored-library-busybox:1.34.1" in staged["local-storage.yaml"]
    assert "127.0.0.1:15001/rancher/mirrored-metrics-server" in staged["metrics-server/metrics-server-deployment.yaml"]
    assert 'global.systemDefaultRegistry: "127.0.0.1:15001"' in staged["traefik.yaml"]
    assert "%{" not in "".join(staged.values())


def test_templatize_notices_a_changed_input():
    with pytest.raises(M.TemplateError):
        M.templatize("coredns.yaml", "nothing here")


def test_disable_keeps_files_and_directories_from_staging():
    packaged = {"coredns.yaml": "a", "traefik.yaml": "b", "metrics-server/x.yaml": "c", "ccm.yaml": "d"}
    assert set(M.stage(packaged, {}, frozenset({"traefik", "metrics-server", "ccm.yaml"}))) == {"coredns.yaml"}


def test_plan_skip_disable_and_ignore():
    files = ["coredns.yaml", "coredns.yaml.skip", "traefik.yaml", "metrics-server/a.yaml", "metrics-server/b.yaml",
             ".hidden.yaml", "notes.txt", "custom/extra.yml", "x.json"]
    p = M.plan(files, frozenset({"traefik", "metrics-server"}))
    assert p.apply == ("custom/extra.yml", "x.json")
    assert p.delete == ("metrics-server/a.yaml", "metrics-server/b.yaml", "traefik.yaml")
    assert p.skipped == ("coredns.yaml",)
    assert ".hidden.yaml" in p.ignored and "notes.txt" in p.ignored and "coredns.yaml.skip" in p.ignored


def test_skip_is_keyed_by_base_name_anywhere_in_the_tree():
    p = M.plan(["sub/coredns.yaml", "coredns.yaml.skip"], frozenset())
    assert p.skipped == ("sub/coredns.yaml",)


def test_addon_name_stops_at_the_first_dot():
    assert M.addon_name("metrics-server/metrics-server-deployment.yaml") == "metrics-server-deployment"
    assert M.addon_name("a.b.yaml") == "a"


def test_split_documents_drops_empty_and_comment_only():
    assert M.split_documents("---\n# c\n---\na: 1\n---\n\n") == ["a: 1\n"]
