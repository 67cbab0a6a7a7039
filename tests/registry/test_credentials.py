"""Credentials: config.json auths/credsStore/credHelpers, REGISTRY_AUTH_FILE."""

import base64
import json

import pytest

from archport.errors import BadInput
from archport.registry.credentials import load_credentials, normalize_key


def b64(s):
    return base64.b64encode(s.encode()).decode()


def test_normalize_key():
    assert normalize_key("https://index.docker.io/v1/") == "docker.io"
    assert normalize_key("index.docker.io") == "docker.io"
    assert normalize_key("http://reg.example.test:5000/v2/") == "reg.example.test:5000"
    assert normalize_key("reg.example.test/team") == "reg.example.test/team"


def test_auths_base64_and_docker_io_key(docker_config):
    d = docker_config({"auths": {
        "https://index.docker.io/v1/": {"auth": b64("hubuser:hubpass")},
        "reg.example.test:5000": {"auth": b64("u:p:with:colons")},
        "other.example.test": {"username": "x", "password": "y"},
    }})
    c = load_credentials(d, None)
    assert c.lookup("docker.io") == ("hubuser", "hubpass")
    assert c.lookup("reg.example.test:5000") == ("u", "p:with:colons")
    assert c.lookup("other.example.test") == ("x", "y")
    assert c.lookup("nothing.example.test") is None
    assert "hubpass" not in repr(c.lookup("docker.io"))


def test_identity_token(docker_config):
    d = docker_config({"auths": {"reg.example.test": {"auth": b64("u:ignored"), "identitytoken": "idt"}}})
    cred = load_credentials(d, None).lookup("reg.example.test")
    assert cred.is_identity_token and cred.secret == "idt"


def test_creds_store_and_helpers(docker_config):
    d = docker_config(
        {"auths": {"reg.example.test": {}}, "credsStore": "test",
         "credHelpers": {"helped.example.test": "test"}},
        {"https://index.docker.io/v1/": ("hub", "hubsecret"),
         "reg.example.test": ("store-user", "store-secret"),
         "helped.example.test": ("<token>", "helper-idtoken")})
    c = load_credentials(d, None)
    assert c.lookup("reg.example.test") == ("store-user", "store-secret")
    assert c.lookup("docker.io") == ("hub", "hubsecret")
    assert c.lookup("helped.example.test").is_identity_token
    assert c.lookup("unknown.example.test") is None   # helper says "not found"


def test_registry_auth_file_first_and_namespaces(docker_config, tmp_path):
    d = docker_config({"auths": {"reg.example.test": {"auth": b64("docker:cfg")}}})
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps({"auths": {
        "reg.example.test/team": {"auth": b64("team:secret")},
        "reg.example.test": {"auth": b64("podman:file")}}}))
    c = load_credentials(d, str(auth_file))
    assert c.lookup("reg.example.test") == ("podman", "file")
    assert c.lookup("reg.example.test", "team/app") == ("team", "secret")
    assert load_credentials(d, None).lookup("reg.example.test") == ("docker", "cfg")


def test_missing_files_are_fine_and_bad_entries_say_where_not_what(tmp_path):
    assert load_credentials(str(tmp_path / "none"), str(tmp_path / "nope.json")).lookup("x.test") is None
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"reg.example.test": {"auth": "%%%not-b64-secretvalue"}}}))
    with pytest.raises(BadInput) as e:
        load_credentials(str(tmp_path), None).lookup("reg.example.test")
    assert "secretvalue" not in str(e.value) and "reg.example.test" in str(e.value)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(BadInput, match="not valid JSON"):
        load_credentials(str(tmp_path), None)
