"""Remove secrets from collected text before it is written to a dump.

What can hold a secret in the facts we collect:

* ``registries.yaml`` — ``configs.<host>.auth``: ``username``/``password``,
  ``auth`` (base64 user:password), ``identity_token`` (k3s docs, "Private
  Registry Configuration");
* ``config.yaml`` — ``token``, ``agent-token``, ``datastore-endpoint`` (a DSN
  with a password);
* anything that echoes a kubeconfig (``client-key-data``, ``token``) or a k3s
  join token (``K10<sha256>::<user>:<password>``), or a URL with userinfo.

Structured YAML is redacted by key; every text is then scrubbed by pattern.
The username is kept (it helps debugging and is not a secret).
"""

from __future__ import annotations

import io
import json
import re

from ruamel.yaml import YAML, YAMLError

MASK = "<redacted>"
SECRET_KEYS = {
    "password", "auth", "identity_token", "identitytoken", "token", "agent-token", "agent_token",
    "client-key-data", "client_key_data", "datastore-endpoint", "secret", "access_token",
    "refresh_token", "registry_token",
}

_KEYS = (r"(?:password|passwd|auth|identity_?token|token|agent-token|client-key-data|datastore-endpoint|"
         r"secret|access_token|refresh_token)")
_PATTERNS = (
    # key: value in YAML or in a log line that echoes YAML (a nested map's key has no value: kept)
    (re.compile(r'(?im)(\b' + _KEYS + r'["\']?\s*:[ \t]*)(?![ \t]*$)(?!["\']?' + re.escape(MASK) + r')(\S[^\n]*)$'),
     lambda m: m.group(1) + MASK),
    (re.compile(r'(?i)("(?:password|auth|identitytoken|identity_token|token|client-key-data|'
                r'access_token|refresh_token)"\s*:\s*)"[^"]*"'), lambda m: m.group(1) + f'"{MASK}"'),
    (re.compile(r"(?i)(--(?:token|agent-token|datastore-endpoint)[= ])(\S+)"), lambda m: m.group(1) + MASK),
    (re.compile(r"K10[0-9a-f]{16,}::[^\s:]+:[^\s\"']+"), lambda m: MASK),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), lambda m: m.group(1) + MASK),
    (re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]{8,}"), lambda m: m.group(1) + MASK),
    (re.compile(r"([a-z][a-z0-9+.-]*://[^/\s:@\"']+):[^/\s@\"']+@"), lambda m: m.group(1) + f":{MASK}@"),
)


def scrub(text: str) -> str:
    for rx, repl in _PATTERNS:
        text = rx.sub(repl, text)
    return text


def _walk(node) -> None:
    if isinstance(node, dict):
        for k in list(node.keys()):
            v = node[k]
            if isinstance(k, str) and k.lower() in SECRET_KEYS and v not in (None, "") \
                    and not isinstance(v, (dict, list)):
                node[k] = MASK
            else:
                _walk(node[k])
    elif isinstance(node, list):
        for x in node:
            _walk(x)


def yaml_text(text: str) -> str:
    """Redact a YAML document by key, keeping its layout; fall back to patterns."""
    y = YAML()
    y.preserve_quotes = True
    try:
        doc = y.load(text)
    except YAMLError:
        return scrub(text)
    if doc is None:
        return scrub(text)
    _walk(doc)
    buf = io.StringIO()
    y.dump(doc, buf)
    return scrub(buf.getvalue())


_SECRET_NAME = re.compile(r"(?i)pass|token|secret|key|auth|credential")


def _walk_json(node) -> None:
    _walk(node)
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
