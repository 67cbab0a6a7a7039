"""``/etc/rancher/k3s/registries.yaml``, merged with what the user has.

k3s reads ``mirrors`` (per upstream registry: ``endpoint`` list, tried in
order, then the upstream itself; ``rewrite`` regular expressions applied to
the repository path, k3s ≥ v1.21) and ``configs`` (per registry host:
``auth`` with username/password or identity_token, ``tls`` with ca_file).
The file is read only at k3s start.

The user's own mirrors, configs and comments are kept: the document goes
through ruamel.yaml's round trip, and is rewritten only when what it *says*
differs from what we want, so a second run leaves the bytes alone.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString as Q

from ..errors import ArchportError

IDENTITY_TOKEN_USER = "<token>"
HEADER = ("# k3s private registry configuration, read at k3s start.\n"
          "# Mirrors to the registry that holds the ported images were added by archport deploy.\n")


@dataclass(frozen=True, slots=True)
class Mirror:
    """What the board's containerd should do: pull ``upstreams`` through ``endpoint``."""

    endpoint: str                       # "https://10.0.0.5:5000"
    host: str                           # "10.0.0.5:5000", the key of ``configs``
    upstreams: tuple[str, ...]          # "docker.io", …
    prefix: str = ""                    # images live under endpoint/prefix/…
    ca_file: str | None = None          # a path on the board
    auth: tuple[str, str] | None = None  # (username, secret); "<token>" = identity token


def _plain(node):
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _yaml(indent: int = 2, seq_offset: int = 2) -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=indent, sequence=indent + seq_offset, offset=seq_offset)
    return y


def _child(parent: CommentedMap, key: str) -> CommentedMap:
    node = parent.get(key)
    if not isinstance(node, dict):
        node = CommentedMap()
        parent[key] = node
    return node


def _layout(text: str) -> tuple[int, int]:
    """The user's indentation (mapping indent, dash offset): the one whose
    round trip of the unchanged file reproduces the most of its lines, so a
    merge shows up as added lines only."""
    original = text.splitlines()
    best, best_score = (2, 2), -1
    for indent in (2, 4, 3):
        for offset in (2, 0, 4):
            y = _yaml(indent, offset)
            out = io.StringIO()
            y.dump(y.load(text), out)
            score = len(set(original) & set(out.getvalue().splitlines()))
            if score > best_score:
                best, best_score = (indent, offset), score
            if out.getvalue() == text:
                return indent, offset
    return best


def rewrite_rule(prefix: str) -> tuple[str, str]:
    """Every repository path of the upstream, under ``prefix`` on the mirror
    (the same names ``port`` publishes: ``<registry>/<prefix>/<path>``)."""
    return "^(.*)$", f"{prefix.strip('/')}/$1"


def merge(existing: bytes | None, want: Mirror, origin: str = "registries.yaml") -> bytes | None:
    """The new file, or None when ``existing`` already says all of ``want``."""
    indent, seq_offset = 2, 2
    if existing and existing.strip():
        try:
            indent, seq_offset = _layout(existing.decode("utf-8"))
            doc = _yaml(indent, seq_offset).load(existing.decode("utf-8"))
        except (YAMLError, UnicodeDecodeError) as e:
            raise ArchportError(f"{origin} on the board does not parse as YAML: {str(e).splitlines()[0]}") from None
        if doc is None:
            doc = CommentedMap()
        if not isinstance(doc, dict):
            raise ArchportError(f"{origin} on the board is not a YAML mapping")
        new_file = False
    else:
        doc, new_file = CommentedMap(), True
    before = copy.deepcopy(_plain(doc))

    mirrors = _child(doc, "mirrors")
    for upstream in want.upstreams:
        m = _child(mirrors, upstream)
        eps = m.get("endpoint")
        if not isinstance(eps, list):
            eps = CommentedSeq()
            m["endpoint"] = eps
        if not eps or eps[0] != want.endpoint:
            if want.endpoint in eps:
                eps.remove(want.endpoint)
            eps.insert(0, Q(want.endpoint))
        if want.prefix:
            pattern, repl = rewrite_rule(want.prefix)
            rw = _child(m, "rewrite")
            if rw.get(pattern) != repl:
                rw[Q(pattern)] = Q(repl)
    if want.ca_file or want.auth:
        configs = _child(doc, "configs")
        if want.host not in configs:
            configs[Q(want.host)] = CommentedMap()
        c = _child(configs, want.host)
        if want.ca_file:
            tls = _child(c, "tls")
            if tls.get("ca_file") != want.ca_file:
                tls["ca_file"] = want.ca_file
        if want.auth:
            a = _child(c, "auth")
            user, secret = want.auth
            if user == IDENTITY_TOKEN_USER:
                if a.get("identity_token") != secret:
                    a["identity_token"] = secret
            else:
                for k, v in (("username", user), ("password", secret)):
                    if a.get(k) != v:
                        a[k] = v
    if _plain(doc) == before:
        return None
    out = io.StringIO()
    _yaml(indent, seq_offset).dump(doc, out)
    text = out.getvalue()
    return ((HEADER if new_file else "") + text).encode("utf-8")


def read(data: bytes | None) -> dict:
    """The plain data of a registries.yaml (for audit-like reads and tests)."""
    if not data or not data.strip():
        return {}
    doc = YAML(typ="safe").load(data.decode("utf-8"))
    return doc if isinstance(doc, dict) else {}
