"""config.yaml + config.yaml.d merged as k3s pkg/configfilearg does."""

import pytest

from testbed.k3s import config as C


def test_dropins_are_yaml_and_yml_in_name_order():
    assert C.dropins(["b.yml", "a.yaml", "c.json", "0.txt", "10-x.yaml"]) == ["10-x.yaml", "a.yaml", "b.yml"]


def test_later_file_replaces_a_key_and_plus_appends():
    merged = C.merge([
        ("config.yaml", "disable: traefik\npause-image: a/pause:1\nnode-label: [x=1]\n"),
        ("config.yaml.d/10.yaml", "pause-image: b/pause:2\ndisable+: [servicelb]\n"),
        ("config.yaml.d/20.yaml", "node-label+: y=2\n"),
    ])
    assert merged == {"disable": ["traefik", "servicelb"], "pause-image": "b/pause:2", "node-label": ["x=1", "y=2"]}
    assert list(merged) == ["disable", "pause-image", "node-label"]     # first-seen order


def test_plus_on_a_new_key_is_a_plain_set():
    assert C.merge([("a", "disable+: traefik\n")]) == {"disable": "traefik"}


def test_flags_repeat_list_items_and_use_go_spellings():
    assert C.as_flags({"disable": ["a", "b"], "selinux": True, "v": 2}) == \
        ["--disable=a", "--disable=b", "--selinux=true", "-v=2"]


def test_disable_splits_commas_and_trims():
    s = C.settings(C.merge([("c", "disable: 'traefik, metrics-server'\n"), ("d", "disable+: [local-storage]\n")]))
    assert s.disable == {"traefik", "metrics-server", "local-storage"}


def test_defaults_are_k3s_defaults():
    s = C.settings({})
    assert s.pause_image == "rancher/mirrored-pause:3.6"
    assert (s.cluster_dns, s.cluster_domain) == ("10.43.0.10", "cluster.local")
    assert s.default_local_storage_path == "/var/lib/rancher/k3s/storage"


def test_system_default_registry_prefixes_the_pause_image_once():
    s = C.settings({"system-default-registry": "127.0.0.1:15001"})
    assert s.pause_image == "127.0.0.1:15001/rancher/mirrored-pause:3.6"
    s = C.settings({"system-default-registry": "127.0.0.1:15001", "pause-image": "127.0.0.1:15001/p:1"})
    assert s.pause_image == "127.0.0.1:15001/p:1"


def test_unhandled_keys_are_listed():
    assert C.settings({"node-name": "x", "disable": "a"}).unhandled == ("node-name",)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "a: [\n"])
def test_a_non_mapping_is_refused(text):
    with pytest.raises(C.ConfigError):
        C.merge([("config.yaml", text)])
