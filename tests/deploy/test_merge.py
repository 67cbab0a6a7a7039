"""registries.yaml merges that keep what the user's file means (pure)."""

from __future__ import annotations

import time

import pytest
from ruamel.yaml import YAML

from archport.deploy.plan import unified_diff
from archport.deploy.registries import Mirror, merge
from archport.errors import BadInput
from tests.support.clients import check_registries_bytes

REG = "10.0.0.5:5000"
OURS = Mirror(f"http://{REG}", REG, ("docker.io",))
PREFIXED = Mirror(f"http://{REG}", REG, ("docker.io",), "riscv")
CACHE = "mirrors:\n  docker.io:\n    endpoint:\n      - https://cache.lab.internal:5000\n"


def load(data: bytes) -> dict:
    return YAML(typ="safe").load(data)


def added_only(before: str, after: bytes) -> list[str]:
    diff = unified_diff("/r.yaml", before.encode(), after)
    removed = [ln for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    assert removed == [], diff
    return [ln[1:] for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]


# -- a prefix never lands on the user's own mirror --------------------------------

def test_a_prefix_is_refused_on_a_mirror_that_lists_the_users_cache():
    m = merge(CACHE.encode(), PREFIXED)
    assert m.after is None and len(m.refusals) == 1
    why = m.refusals[0]
    assert "mirrors.docker.io" in why and "https://cache.lab.internal:5000" in why
    assert "riscv/<repository>" in why and f"--registry {REG}" in why and "move those endpoints" in why


def test_a_prefix_beside_the_users_own_rewrite_is_refused_not_left_ambiguous():
    text = "mirrors:\n  docker.io:\n    endpoint:\n      - http://10.0.0.5:5000\n    rewrite:\n      \"^library/(.*)\": \"hub/$1\"\n"
    m = merge(text.encode(), PREFIXED)
    assert m.after is None and "^library/(.*)" in m.refusals[0] and "not defined" in m.refusals[0]
    # without a prefix the user's rules would rename what our registry is asked for: refused too
    assert merge(text.encode(), OURS).refusals


def test_without_a_prefix_the_users_cache_stays_after_ours_unchanged():
    m = merge(CACHE.encode(), OURS)
    assert m.refusals == ()
    assert load(m.after)["mirrors"]["docker.io"] == {"endpoint": [f"http://{REG}", "https://cache.lab.internal:5000"]}
    check_registries_bytes(m.after)


def test_our_own_earlier_prefix_is_replaced_or_removed_never_doubled():
    first = merge(None, PREFIXED).after
    again = merge(first, Mirror(f"http://{REG}", REG, ("docker.io",), "other")).after
    assert load(again)["mirrors"]["docker.io"]["rewrite"] == {"^(.*)$": "other/$1"}
    plain = merge(first, OURS).after
    assert load(plain)["mirrors"]["docker.io"] == {"endpoint": [f"http://{REG}"]}
    for out in (first, again, plain):
        check_registries_bytes(out)


# -- an alias never carries the change to another entry ----------------------------

def test_a_shared_anchor_is_broken_for_our_entry_only():
    text = ("configs:\n  cache.lab.internal:5000: &tls\n    tls:\n      insecure_skip_verify: true\n"
            f"  other.lab.internal:5000: *tls\n  \"{REG}\": *tls\n")
    after = merge(text.encode(), Mirror(f"https://{REG}", REG, ("docker.io",), ca_file="/ca.crt")).after
    doc = load(after)
    assert doc["configs"][REG] == {"tls": {"insecure_skip_verify": True, "ca_file": "/ca.crt"}}
    assert doc["configs"]["cache.lab.internal:5000"] == {"tls": {"insecure_skip_verify": True}}
    assert doc["configs"]["other.lab.internal:5000"] == {"tls": {"insecure_skip_verify": True}}
    assert "*tls" in after.decode() and "&tls" in after.decode()      # the rest still share it


def test_a_merge_key_is_not_written_through():
    text = ("configs:\n  base: &b\n    tls:\n      insecure_skip_verify: true\n"
            f"  \"{REG}\":\n    <<: *b\n")
    doc = load(merge(text.encode(), Mirror(f"https://{REG}", REG, ("docker.io",), ca_file="/ca.crt")).after)
    assert doc["configs"]["base"] == {"tls": {"insecure_skip_verify": True}}
    assert doc["configs"][REG]["tls"] == {"insecure_skip_verify": True, "ca_file": "/ca.crt"}


def test_shared_mirrors_stay_apart():
    text = "mirrors:\n  quay.io: &m\n    endpoint:\n      - https://cache.lab.internal:5000\n  docker.io: *m\n"
    doc = load(merge(text.encode(), OURS).after)
    assert doc["mirrors"]["quay.io"] == {"endpoint": ["https://cache.lab.internal:5000"]}
    assert doc["mirrors"]["docker.io"]["endpoint"] == [f"http://{REG}", "https://cache.lab.internal:5000"]


# -- values k3s could not read are refused, naming the key --------------------------

@pytest.mark.parametrize("text, key", [
    ("mirrors: hello\n", "'mirrors'"),
    ("mirrors:\n  docker.io:\n    endpoint: https://x:5000\n", "mirrors.docker.io.endpoint"),
    ("configs: [a]\n", "'configs'"),
    ("mirrors:\n  docker.io: [a]\n", "mirrors.docker.io"),
    ("configs:\n  x:5000:\n    auth: yes\n", "configs.x:5000.auth"),
    ("mirrors: [\n", "does not parse as YAML"),
])
def test_type_invalid_values_are_bad_input_naming_the_key(text, key):
    with pytest.raises(BadInput) as e:
        merge(text.encode(), OURS)
    assert key in str(e.value) and "\n" not in str(e.value)


# -- smaller merges ---------------------------------------------------------------

def test_a_trailing_comment_stays_at_the_end():
    text = "mirrors:\n  quay.io:\n    endpoint:\n      - https://q.lab.internal\n# keep me last\n"
    after = merge(text.encode(), OURS).after.decode()
    assert after.endswith("# keep me last\n")
    added_only(text, after.encode())


def test_a_comment_only_file_keeps_its_comment():
    text = "# registries for the lab, see the wiki\n"
    after = merge(text.encode(), OURS).after.decode()
    assert after.startswith(text) and load(after.encode())["mirrors"]["docker.io"]["endpoint"] == [f"http://{REG}"]


def test_crlf_stays_crlf():
    text = "mirrors:\r\n  quay.io:\r\n    endpoint:\r\n      - https://q.lab.internal\r\n"
    after = merge(text.encode(), OURS).after
    assert after.count(b"\r\n") == after.count(b"\n") and after.startswith(text.encode())


@pytest.mark.parametrize("text", [
    "mirrors:\n    quay.io:\n        endpoint:\n            - https://q.lab.internal\n",
    "mirrors:\n    quay.io:\n        endpoint:\n        - https://q.lab.internal\n",
    "mirrors:\n  quay.io:\n    endpoint:\n    - https://q.lab.internal\n",
])
def test_the_users_indentation_is_kept(text):
    added = added_only(text, merge(text.encode(), OURS).after)
    assert added and all(ln.startswith(" ") or ln.endswith(":") for ln in added)


def test_the_old_base64_auth_goes_when_username_and_password_are_written():
    text = f"configs:\n  \"{REG}\":\n    auth:\n      auth: Ym9hcmQ6eA==\n"
    doc = load(merge(text.encode(), Mirror(f"https://{REG}", REG, ("docker.io",), auth=("u", "p"))).after)
    assert doc["configs"][REG]["auth"] == {"username": "u", "password": "p"}


@pytest.mark.parametrize("user, secret", [("no", "on"), ("yes", "12:30:45"), ("null", "0x1F"), ("~", "1e3")])
def test_credentials_read_back_as_strings_in_yaml_1_1(user, secret):
    after = merge(None, Mirror(f"https://{REG}", REG, ("docker.io",), auth=(user, secret))).after
    y = YAML(typ="safe", pure=True)
    y.version = (1, 1)
    assert y.load(after)["configs"][REG]["auth"] == {"username": user, "password": secret}
    check_registries_bytes(after)
    # and written once: the next run leaves them
    assert merge(after, Mirror(f"https://{REG}", REG, ("docker.io",), auth=(user, secret))).after is None


def test_the_diff_masker_hides_values_not_the_next_keys_name():
    before = f"configs:\n  \"{REG}\":\n    auth:\n      username: someone\n".encode()
    after = merge(before, Mirror(f"https://{REG}", REG, ("docker.io",), auth=("boarduser", "Pa55"))).after
    diff = unified_diff("/r.yaml", before, after, ("Pa55",))
    assert "    auth:\n" in diff and 'username: "boarduser"' in diff and "Pa55" not in diff
    assert 'password: <redacted>' in diff


def test_an_alias_bomb_is_refused_quickly():
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    assert len(bomb) < 400
    start = time.monotonic()
    with pytest.raises(BadInput, match="aliases"):
        merge(bomb.encode(), OURS)
    assert time.monotonic() - start < 2


def test_an_upstream_that_went_through_the_users_wildcard_keeps_it_after_ours():
    text = 'mirrors:\n  "*":\n    endpoint:\n      - https://cache.lab.internal:5000\n'
    want = Mirror(f"http://{REG}", REG, ("docker.io",), wildcard=True)
    doc = load(merge(text.encode(), want).after)
    assert doc["mirrors"]["docker.io"]["endpoint"] == [f"http://{REG}", "https://cache.lab.internal:5000"]
    assert doc["mirrors"]["*"] == {"endpoint": ["https://cache.lab.internal:5000"]}
    prefixed = Mirror(f"http://{REG}", REG, ("docker.io",), "riscv", wildcard=True)
    assert merge(text.encode(), prefixed).refusals
