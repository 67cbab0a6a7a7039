"""Remove secrets from collected text before it is written to a dump.

What can hold a secret in the facts we collect:

* ``registries.yaml`` — ``configs.<host>.auth``: ``username``/``password``,
  ``auth`` (base64 user:password), ``identity_token`` (k3s docs, "Private
  Registry Configuration");
* k3s's own settings, in ``config.yaml`` and its drop-ins, on command lines
  (the unit's ``ExecStart``, ``ps``) and in the journal: the flags and
  environment variables k3s's CLI defines as secrets, and tokens passed to
  an embedded component with ``kubelet-arg`` and its siblings.  The list is
  data, read from k3s's sources: ``k3s_secrets.toml`` next to this module;
* anything that echoes a kubeconfig (``client-key-data``, ``token``) or a k3s
  join token (``K10<sha256>::<user>:<password>``), a URL with userinfo, or an
  Authorization header (:func:`archport.redaction.redact`).

Structured YAML is redacted by key; every text is then scrubbed by pattern.
The username is kept (it helps debugging and is not a secret).
"""

from __future__ import annotations

import io
import json
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ruamel.yaml import YAML, YAMLError

from .. import yamlsafe
from ..errors import BadInput
from ..redaction import redact

MASK = "<redacted>"


@dataclass(frozen=True, slots=True)
class K3sSecrets:
    """k3s_secrets.toml: which k3s flags and environment variables hold secrets."""

    flags: frozenset[str]
    short_flags: frozenset[str]
    env: frozenset[str]
    component_arg_flags: frozenset[str]
    component_secret_words: tuple[str, ...]
    source: str


@lru_cache(maxsize=1)
def k3s_secrets() -> K3sSecrets:
    doc = tomllib.loads(resources.files(__package__).joinpath("k3s_secrets.toml").read_text())
    return K3sSecrets(frozenset(doc["flags"]), frozenset(doc["short_flags"]), frozenset(doc["env"]),
                      frozenset(doc["component_arg_flags"]), tuple(doc["component_secret_words"]),
                      doc["source"])


def _alternation(names) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


_K3S = k3s_secrets()
SECRET_KEYS = {
    "password", "auth", "identity_token", "identitytoken", "token", "agent-token", "agent_token",
    "client-key-data", "client_key_data", "datastore-endpoint", "secret", "access_token",
    "refresh_token", "registry_token",
} | set(_K3S.flags) | {f.replace("-", "_") for f in _K3S.flags}

_KEYS = (r"(?:password|passwd|auth|identity_?token|token|agent-token|client-key-data|datastore-endpoint|"
         r"secret|access_token|refresh_token|" + _alternation(_K3S.flags) + ")")
# A key named for what it holds, in any spelling a chart uses (adminPassword,
# db_password, clientSecret, apiKey, secret-key): it ends in a secret word.
# ``existingSecret`` names a Secret object (the Helm charts' convention), not its value.
_NAMED = (r"[A-Za-z0-9_.-]*?(?<!existing)(?:password|passwd|passphrase|secret|token|api[-_]?key|access[-_]?key|secret[-_]?key|"
          r"private[-_]?key)")
_ANY_KEY = r"(?:" + _KEYS + "|" + _NAMED + ")"
_JSON_KEYS = (r"(?:password|auth|identitytoken|identity_token|token|client-key-data|access_token|refresh_token|"
              + _alternation(_K3S.flags | _K3S.env) + "|" + _NAMED + ")")
_VALUE = r"""("[^"]*"|'[^']*'|[^\s"']+)"""
_WORDS = "|".join(re.escape(w) for w in _K3S.component_secret_words)
# NAME=VALUE handed to a component, NAME holding a secret word; a NAME
# ending in -file, -path or -dir is a path (kept).
_COMPONENT_ARG = re.compile(
    r"(?im)((?:^|(?<=[\s\"'\[,=]))(?:--?)?[A-Za-z0-9_.-]*(?:" + _WORDS + r")[A-Za-z0-9_.-]*"
    r"(?<!-file)(?<!-path)(?<!-dir)=)(?!" + re.escape(MASK) + r""")([^\s"',\]}]+)""")
# A k3s command line: only there does a short flag mean k3s's flag.
_K3S_COMMAND = re.compile(r"\bk3s\S*\s+(?:server|agent|etcd-snapshot|token)\b")
_SHORT = re.compile(r"(\s-(?:" + _alternation(_K3S.short_flags) + r")(?:=|\s+))(?!" + re.escape(MASK) + r")"
                    + _VALUE)
_PATTERNS = (
    # key: value in YAML (a manifest, a chart's valuesContent) or in a log line
    # that echoes YAML; a nested map's key has no value and is kept.  A quoted
    # key is JSON's and is left to the next two rules, which look at its value.
    (re.compile(r'(?im)((?<![\w."\'\\-])(?=[a-z0-9_])' + _ANY_KEY + r'\s*:[ \t]*)(?![ \t]*$)(?!["\']?' + re.escape(MASK)
                + r')(\S[^\n]*)$'),
     lambda m: m.group(1) + MASK),
    # "key": "value" in JSON.  Only a string is a credential: a number under
    # "token" is a count (a rate limiter's token bucket), kept.
    (re.compile(r'(?i)("' + _JSON_KEYS + r'"\s*:\s*)"(?!' + re.escape(MASK) + r'")(?:[^"\\]|\\.)+"'),
     lambda m: m.group(1) + f'"{MASK}"'),
    # The same inside a string that holds JSON, its quotes escaped: containerd
    # logs its CRI config so at start ("starting cri plugin" config="{\"registry\":…}"),
    # registry auth included (username, password, auth, identitytoken).
    (re.compile(r'(?i)(\\"' + _JSON_KEYS + r'\\"\s*:\s*)\\"(?!' + re.escape(MASK) + r'\\")(?:(?!\\").)+\\"'),
     lambda m: m.group(1) + f'\\"{MASK}\\"'),
    # --flag=value and --flag value, for every secret flag k3s defines
    (re.compile(r"(?i)(--(?:" + _alternation(_K3S.flags) + r")(?:=|[ \t]+))(?!" + re.escape(MASK) + r")" + _VALUE),
     lambda m: m.group(1) + MASK),
    # NAME=value for the environment variables those flags read
    (re.compile(r"\b((?:" + _alternation(_K3S.env) + r")=)(?!" + re.escape(MASK) + r")" + _VALUE),
     lambda m: m.group(1) + MASK),
    (_COMPONENT_ARG, lambda m: m.group(1) + MASK),
    (re.compile(r"K10[0-9a-f]{16,}::[^\s:]+:[^\s\"']+"), lambda m: MASK),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), lambda m: m.group(1) + MASK),
    (re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]{8,}"), lambda m: m.group(1) + MASK),
    (re.compile(r"([a-z][a-z0-9+.-]*://[^/\s:@\"']+):[^/\s@\"']+@"), lambda m: m.group(1) + f":{MASK}@"),
)


def _short_flags(line: str) -> str:
    m = _K3S_COMMAND.search(line)
    if not m:
        return line
    return line[:m.end()] + _SHORT.sub(lambda x: x.group(1) + MASK, line[m.end():])


def scrub(text: str) -> str:
    for rx, repl in _PATTERNS:
        text = rx.sub(repl, text)
    if "-" in text and _K3S_COMMAND.search(text):
        text = "\n".join(_short_flags(line) for line in text.split("\n"))
    return redact(text)


def _walk(node, strings_only: bool = False) -> None:
    """Mask the values of secret keys.  ``strings_only``: JSON, where a
    number under ``token`` is a count, not a credential (k3s's YAML takes
    ``token: 123456`` as a string, so there every value is masked)."""
    if isinstance(node, dict):
        for k in list(node.keys()):
            v = node[k]
            if isinstance(k, str) and k.lower() in SECRET_KEYS and v not in (None, "") \
                    and not isinstance(v, (dict, list)) and not (strings_only and not isinstance(v, str)):
                node[k] = MASK
            else:
                _walk(node[k], strings_only)
    elif isinstance(node, list):
        for x in node:
            _walk(x, strings_only)


def yaml_text(text: str) -> str:
    """Redact a YAML document by key, keeping its layout; fall back to patterns."""
    y = YAML()
    y.preserve_quotes = True
    try:
        doc = yamlsafe.load(text, "YAML", y)
    except (YAMLError, BadInput):  # malformed, too deep, an alias bomb: patterns still apply
        return scrub(text)
    if doc is None:
        return scrub(text)
    _walk(doc)
    buf = io.StringIO()
    y.dump(doc, buf)
    return scrub(buf.getvalue())


_SECRET_NAME = re.compile(r"(?i)pass|token|secret|key|auth|credential")


def _walk_json(node) -> None:
    _walk(node, strings_only=True)
    # Kubernetes env entries: {"name": "DB_PASSWORD", "value": "…"}
    if isinstance(node, dict):
        if isinstance(node.get("name"), str) and "value" in node and _SECRET_NAME.search(node["name"]):
            node["value"] = MASK
        for v in node.values():
            _walk_json(v)
    elif isinstance(node, list):
        for x in node:
            _walk_json(x)


def json_text(text: str) -> str:
    """Redact a JSON document by key, so it stays valid JSON."""
    try:
        doc = json.loads(text)
    except ValueError:
        return scrub(text)
    _walk_json(doc)
    return json.dumps(doc, indent=2) + "\n"


def fact_text(name: str, text: str) -> str:
    if name in ("registries", "config"):
        return yaml_text(text)
    if name in ("cluster", "sandboxes", "images"):
        return json_text(text)
    return scrub(text)
