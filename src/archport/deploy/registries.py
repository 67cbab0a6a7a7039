"""``/etc/rancher/k3s/registries.yaml``, merged with what the user has.

k3s reads ``mirrors`` (per upstream registry: ``endpoint`` list, tried in
order, then the upstream itself; ``rewrite`` regular expressions applied to
the repository path, k3s ≥ v1.21) and ``configs`` (per registry host:
``auth`` with username/password or identity_token, ``tls`` with ca_file).
The file is read only at k3s start.

The user's own mirrors, configs and comments are kept: the document goes
through ruamel.yaml's round trip, and is rewritten only when what it *says*
differs from what we want, so a second run leaves the bytes alone.  What the
user wrote keeps its meaning:

* a ``rewrite`` belongs to the whole mirror (k3s copies a mirror's rules to
  every endpoint it renders into ``hosts.toml``), so a prefix is never added
  to a mirror that lists someone else's endpoints, nor beside rules of the
  user's own (two patterns matching one repository: k3s keeps rules in a Go
  map, and which one applies is not defined).  Such a merge is refused with
  the reason and the ways out;
* an entry shared through a YAML anchor is copied before archport changes
  it, so the change reaches only that entry;
* an upstream that had no entry of its own but went through the user's
  ``"*"`` mirror (k3s versions that honour it) keeps those endpoints, after ours;
* the file's line endings, indentation, leading and trailing comments stay.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedBase, CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString as Q

from .. import yamlsafe
from ..errors import BadInput
from ..k3s.registries import check as check_types

IDENTITY_TOKEN_USER = "<token>"
HEADER = ("# k3s private registry configuration, read at k3s start.\n"
          "# Mirrors to the registry that holds the ported images were added by archport deploy.\n")
# The one rule archport writes for a prefix (see rewrite_rule).
_OUR_PATTERN = "^(.*)$"
_OUR_REPLACEMENT = re.compile(r"^[a-z0-9._/-]+/\$1$")


@dataclass(frozen=True, slots=True)
class Mirror:
    """What the board's containerd should do: pull ``upstreams`` through ``endpoint``."""

    endpoint: str                       # "https://10.0.0.5:5000"
    host: str                           # "10.0.0.5:5000", the key of ``configs``
    upstreams: tuple[str, ...]          # "docker.io", …
    prefix: str = ""                    # images live under endpoint/prefix/…
    ca_file: str | None = None          # a path on the board
    auth: tuple[str, str] | None = None  # (username, secret); "<token>" = identity token
    wildcard: bool = False              # the board's k3s honours a "*" mirror


@dataclass(frozen=True, slots=True)
class Merged:
    after: bytes | None                 # None: the file already says all of it
    refusals: tuple[str, ...] = ()      # why it cannot be merged without changing the user's meaning


def _plain(node):
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _yaml(indent: int = 2, seq_indent: int = 4, seq_offset: int = 2) -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=indent, sequence=seq_indent, offset=seq_offset)
    return y


def rewrite_rule(prefix: str) -> tuple[str, str]:
    """Every repository path of the upstream, under ``prefix`` on the mirror
    (the same names ``port`` publishes: ``<registry>/<prefix>/<path>``)."""
    return _OUR_PATTERN, f"{prefix.strip('/')}/$1"


def _ours(pattern: Any, replacement: Any) -> bool:
    return str(pattern) == _OUR_PATTERN and bool(_OUR_REPLACEMENT.match(str(replacement)))


# -- the text around the document ---------------------------------------------

@dataclass(frozen=True, slots=True)
class _Text:
    newline: str            # "\n" or "\r\n", as the file has it
    body: str               # the YAML, "\n" line ends, without the trailing comment block
    head: str = ""          # a comment-only file's comments (they stay first)
    tail: str = ""          # comment lines after the last node (they stay last)


def _split(text: str) -> _Text:
    newline = "\r\n" if "\r\n" in text else "\n"
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    last = max((i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), default=-1)
    if last == -1:
        return _Text(newline, "", head=text if text.endswith("\n") or not text else text + "\n")
    body = "\n".join(lines[:last + 1]) + "\n"
    tail = "\n".join(lines[last + 1:]).rstrip("\n")
    return _Text(newline, body, tail=tail + "\n" if tail.strip() else "")


def _layout(text: str) -> tuple[int, int, int]:
    """The user's indentation (mapping indent, sequence indent, dash offset):
    the one whose round trip of the unchanged file reproduces the most of its
    lines, so a merge shows up as added lines only."""
    original = set(text.splitlines())
    best, best_score = (2, 4, 2), -1
    for indent in (2, 4, 3):
        for offset in (2, 0, 4):
            for seq in dict.fromkeys((indent + offset, offset + 2)):
                y = _yaml(indent, seq, offset)
                out = io.StringIO()
                y.dump(y.load(text), out)
                if out.getvalue() == text:
                    return indent, seq, offset
                score = len(original & set(out.getvalue().splitlines()))
                if score > best_score:
                    best, best_score = (indent, seq, offset), score
    return best


# -- entries shared through anchors --------------------------------------------

def _shared(doc: Any) -> set[int]:
    """The containers reached by more than one path (aliases, merge keys);
    each is walked once, so an alias bomb costs its size, not its expansion."""
    seen: set[int] = set()
    shared: set[int] = set()
    stack = [doc]
    while stack:
        node = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        if id(node) in seen:
            shared.add(id(node))
            continue
        seen.add(id(node))
        if isinstance(node, CommentedBase) and node.anchor.value:
            node.yaml_set_anchor(node.anchor.value, always_dump=True)    # the user's "&name" stays written
        stack.extend(node.values() if isinstance(node, dict) else node)
        for merged in getattr(node, "merge", ()) or ():
            stack.append(merged[1] if isinstance(merged, tuple) else merged)
    return shared


def _unanchored(node: Any) -> Any:
    out = copy.deepcopy(node)
    stack = [out]
    while stack:
        n = stack.pop()
        if isinstance(n, CommentedBase) and n.anchor.value:
            n.anchor.value = None
        if isinstance(n, dict):
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)
    return out


class _Doc:
    """The round-trip document and the containers it shares."""

    def __init__(self, doc: CommentedMap) -> None:
        self.doc = doc
        self.shared = _shared(doc)

    def own(self, parent: CommentedMap, key: str, kind: type = CommentedMap):
        """``parent[key]`` as a container only ``parent`` holds: created when
        missing, copied when an anchor shares it (or a merge key lends it)."""
        node = parent.get(key)
        if not isinstance(node, kind):
            node = kind()
            parent[key] = node
        elif id(node) in self.shared or key not in _own_keys(parent):
            node = _unanchored(node)
            parent[key] = node
        return node


def _own_keys(m: CommentedMap):
    ok = getattr(m, "_ok", None)
    return ok if ok is not None else m.keys()


# -- the merge ---------------------------------------------------------------

def _host(url: str) -> str:
    u = urlsplit(url if "://" in url else f"https://{url}")
    return u.netloc.rpartition("@")[2]


def _conflicts(mirrors: dict, want: Mirror) -> list[str]:
    """Why adding ``want`` to these (plain) mirrors would change what the
    user's entries mean, one reason per upstream."""
    out: list[str] = []
    for upstream in want.upstreams:
        m = _inherited(mirrors, upstream, want) or {}
        others = [e for e in m.get("endpoint") or () if _host(e) != want.host]
        rules = [p for p, r in (m.get("rewrite") or {}).items() if not (_ours(p, r) and not others)]
        where = f"mirrors.{upstream} in registries.yaml"
        if want.prefix and others:
            out.append(f"{where} already lists {', '.join(others)}: k3s applies a mirror's rewrite to every "
                       f"endpoint of it, so the prefix {want.prefix}/ would have those asked for "
                       f"{want.prefix}/<repository> too. Either push the images without a prefix and deploy "
                       f"--registry {want.host}, or move those endpoints out of mirrors.{upstream}")
        elif rules:
            what = (f"the prefix {want.prefix}/ would add a second rule matching the same repositories, and "
                    "which one k3s applies is not defined" if want.prefix else
                    f"they would rename the repositories asked of {want.host} too")
            out.append(f"{where} has rewrite rules of its own ({', '.join(map(str, rules))}): {what}. "
                       f"Remove those rules from mirrors.{upstream}, or point --registry at a registry "
                       "that serves the names they produce")
    return out


def _inherited(mirrors: dict, upstream: str, want: Mirror):
    """The entry containerd uses for ``upstream`` now: its own, or the wildcard's."""
    if upstream in mirrors or not want.wildcard:
        return mirrors.get(upstream)
    return mirrors.get("*")


def _load(existing: bytes, origin: str) -> tuple[_Text, CommentedMap, tuple[int, int, int]]:
    try:
        text = _split(existing.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise BadInput(f"{origin} on the board is not UTF-8 text ({e.reason})") from None
    layout = (2, 4, 2)
    doc: Any = None
    if text.body:
        try:
            yamlsafe.check(text.body, f"{origin} on the board")
            layout = _layout(text.body)
            doc = yamlsafe.load(text.body, f"{origin} on the board", _yaml(*layout))
        except YAMLError as e:
            raise BadInput(f"{origin} on the board does not parse as YAML: {str(e).splitlines()[0]}") from None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, dict):
        raise BadInput(f"{origin} on the board is not a YAML mapping")
    check_types(_plain(doc), f"{origin} on the board")
    return text, doc, layout


def merge(existing: bytes | None, want: Mirror, origin: str = "registries.yaml") -> Merged:
    """The new file (None when ``existing`` already says all of ``want``), or
    the reasons it cannot be written without changing the user's meaning.
    A file k3s could not read either (bad YAML, a string where a list
    belongs) is :class:`BadInput`, naming the key."""
    if existing is not None and existing.strip():
        text, doc, layout = _load(existing, origin)
        new_file = False
    else:
        text, doc, layout, new_file = _Text("\n", ""), CommentedMap(), (2, 4, 2), True
    before = copy.deepcopy(_plain(doc))
    refusals = _conflicts(before.get("mirrors") or {}, want)
    if refusals:
        return Merged(None, tuple(refusals))
    d = _Doc(doc)
    mirrors = d.own(doc, "mirrors")
    for upstream in want.upstreams:
        seed = _inherited(mirrors, upstream, want)
        if upstream not in mirrors and isinstance(seed, dict):
            mirrors[upstream] = _unanchored(seed)     # "*" no longer applies to it: keep what it said
        _mirror(d, d.own(mirrors, upstream), want)
    if want.ca_file or want.auth:
        configs = d.own(doc, "configs")
        if want.host not in configs:
            configs[Q(want.host)] = CommentedMap()
        _config(d, d.own(configs, want.host), want)
    if _plain(doc) == before:
        return Merged(None)
    out = io.StringIO()
    _yaml(*layout).dump(doc, out)
    body = (HEADER if new_file else "") + text.head + out.getvalue() + text.tail
    return Merged(body.replace("\n", text.newline).encode("utf-8"))


def _mirror(d: _Doc, m: CommentedMap, want: Mirror) -> None:
    eps = m.get("endpoint")
    if not (isinstance(eps, list) and eps and eps[0] == want.endpoint
            and not any(_host(e) == want.host for e in eps[1:])):
        eps = d.own(m, "endpoint", CommentedSeq)
        for e in [e for e in eps if _host(e) == want.host]:
            eps.remove(e)
        eps.insert(0, Q(want.endpoint))
    rules = m.get("rewrite")
    if want.prefix:
        pattern, repl = rewrite_rule(want.prefix)
        if not (isinstance(rules, dict) and rules.get(pattern) == repl):
            d.own(m, "rewrite")[Q(pattern)] = Q(repl)
    elif isinstance(rules, dict) and any(_ours(p, r) for p, r in rules.items()):
        # A prefix of an earlier deploy: our own rule, nothing else uses this mirror.
        rules = d.own(m, "rewrite")
        for p in [p for p, r in rules.items() if _ours(p, r)]:
            del rules[p]
        if not rules:
            del m["rewrite"]


def _config(d: _Doc, c: CommentedMap, want: Mirror) -> None:
    if want.ca_file:
        tls = c.get("tls")
        if not (isinstance(tls, dict) and tls.get("ca_file") == want.ca_file):
            d.own(c, "tls")["ca_file"] = Q(want.ca_file)
    if not want.auth:
        return
    user, secret = want.auth
    wanted = {"identity_token": secret} if user == IDENTITY_TOKEN_USER else {"username": user, "password": secret}
    a = c.get("auth")
    # Whatever else names credentials would compete with these: containerd
    # decodes ``auth`` (base64 user:password) over username/password, and an
    # identity token wins over both.
    if isinstance(a, dict) and _plain(a) == wanted and all(_reads_back(a[k]) for k in wanted):
        return
    a = d.own(c, "auth")
    for k in [k for k in a if k in ("username", "password", "auth", "identity_token") and k not in wanted]:
        del a[k]
    for k, v in wanted.items():
        if a.get(k) != v or not _reads_back(a[k]):
            a[k] = Q(v)     # quoted: "no", "on", "12:30:45" stay strings for YAML 1.1 readers


def _reads_back(value: Any) -> bool:
    """Whether a YAML 1.1 reader (the one k3s's older parsers follow) reads
    ``value`` as written back as the same string: quoted, or a plain
    scalar that is not ``no``, ``on``, ``12:30:45`` or another 1.1 boolean,
    number or null."""
    if not isinstance(value, str):
        return False
    if type(value) is not str:          # quoted in the file (ruamel keeps the style)
        return True
    y = YAML(typ="safe", pure=True)
    y.version = (1, 1)
    try:
        return y.load(f"v: {value}\n") == {"v": value}
    except YAMLError:
        return False


def read(data: bytes | None) -> dict:
    """The plain data of a registries.yaml (for audit-like reads and tests)."""
    if not data or not data.strip():
        return {}
    doc = yamlsafe.load(data.decode("utf-8"), "registries.yaml")
    return doc if isinstance(doc, dict) else {}
