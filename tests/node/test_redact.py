"""Redaction of secrets before anything is written to a dump."""

import json

from archport.node import redact

REGISTRIES = """\
mirrors:
  docker.io:
    endpoint:
      - "https://board:hunter2-in-url@mirror.example.internal:5000"
configs:
  "mirror.example.internal:5000":
    auth:
      username: board
      password: "hunter2"
      auth: Ym9hcmQ6aHVudGVyMg==
      identity_token: idtok-123456
    tls:
      ca_file: /etc/ssl/ca.pem
"""


def test_registries_yaml():
    out = redact.yaml_text(REGISTRIES)
    for s in ("hunter2", "Ym9hcmQ6aHVudGVyMg==", "idtok-123456"):
        assert s not in out
    assert "username: board" in out and "ca_file: /etc/ssl/ca.pem" in out and "auth:\n" in out


def test_kubeconfig_and_tokens_in_free_text():
    text = ("users:\n- name: default\n  user:\n    client-certificate-data: Q0VSVA==\n"
            "    client-key-data: S0VZS0VZS0VZ\n    token: abcdef0123456789\n"
            "k3s[1]: starting with --token K10deadbeefdeadbeef::server:cafe1234 --agent-token=zzz999\n"
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig\n")
    out = redact.scrub(text)
    for s in ("S0VZS0VZS0VZ", "abcdef0123456789", "cafe1234", "zzz999", "eyJhbGciOiJIUzI1NiJ9"):
        assert s not in out
    assert "client-certificate-data: Q0VSVA==" in out   # a certificate is public


def test_json_facts_stay_valid_json():
    doc = {"items": [{"spec": {"containers": [{"env": [{"name": "DB_PASSWORD", "value": "pw-1"},
                                                       {"name": "MODE", "value": "prod"}]}]},
                      "metadata": {"annotations": {"token": "t-2"}}}]}
    out = json.loads(redact.fact_text("cluster", json.dumps(doc)))
    env = out["items"][0]["spec"]["containers"][0]["env"]
    assert env[0]["value"] == redact.MASK and env[1]["value"] == "prod"
    assert out["items"][0]["metadata"]["annotations"]["token"] == redact.MASK


def test_idempotent():
    once = redact.yaml_text(REGISTRIES)
    assert redact.yaml_text(once) == once


def test_yaml_too_deep_or_an_alias_bomb_is_scrubbed_by_pattern_quickly():
    import time
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) + "password: pw-9\n"
    deep = "[" * 5000 + "]" * 5000 + "\n"
    for text in (bomb, deep, "k: " + "{a: " * 3000 + "1" + "}" * 3000 + "\npassword: pw-9\n"):
        t0 = time.monotonic()
        out = redact.yaml_text(text)
        assert time.monotonic() - t0 < 5 and "pw-9" not in out


def test_a_number_under_token_in_json_is_a_count_and_kept():
    doc = {"items": [{"metadata": {"annotations": {"token": "t-3"}},
                      "status": {"rateLimiter": {"token": 17, "tokens": 4}}}]}
    out = json.loads(redact.fact_text("cluster", json.dumps(doc)))
    assert out["items"][0]["metadata"]["annotations"]["token"] == redact.MASK
    assert out["items"][0]["status"]["rateLimiter"] == {"token": 17, "tokens": 4}
    assert "123456" not in redact.yaml_text("token: 123456\n")    # in k3s's YAML a number is still the token
