"""Reading YAML the user gave us, within bounds: one reader for every YAML input.

A YAML document can cost far more to read than its size suggests, in two ways:

* **Depth.**  ruamel.yaml's parser is a state machine, but its composer and
  constructor recurse once per nesting level, so 5,000 nested ``[`` raise
  Python's ``RecursionError`` (an "internal error", not an answer).
* **Aliases.**  An alias inside the node it names makes a cycle (``&a [*a]``),
  which no walk of the result ends.  And an anchor may be referred to many times, and an anchored node
  may itself hold aliases, so a few hundred bytes name billions of nodes (the
  "billion laughs" shape, YAML 1.2 section 3.2.2.2 on anchors and aliases).
  The safe constructor shares the objects, but anything that walks the result
  (redaction, a manifest walk, a round-trip dump) visits every expansion.

So before composing, :func:`check` walks the event stream, which the parser
gives without recursion, counting nesting and the nodes aliases add; a
document beyond :data:`MAX_DEPTH` levels or :data:`MAX_ALIAS_NODES` expanded
nodes is refused as :class:`~archport.errors.BadInput`, one line that names
where it came from.  Syntax errors are left to the loader the caller chose,
so its messages stay as they were.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    NodeEvent,
)

from .errors import BadInput

# Kubernetes objects and k3s files nest a few tens of levels at most; the
# bound leaves room for that and keeps the composer far from the recursion limit.
MAX_DEPTH = 100
# Nodes that aliases add to a document when expanded (the nodes written out
# in the text are bounded by its size and not counted here).
MAX_ALIAS_NODES = 100_000


def _safe() -> YAML:
    return YAML(typ="safe", pure=True)


# A run of "[" longer than the bound.  The scanner looks ahead over a whole
# run before it hands out the first token (each "[" may start a simple key,
# YAML 1.2 section 7.4.2), and that lookahead costs the square of the run's
# length: 5,000 of them take seconds.
_LONG_RUN = re.compile(r"\[(?:\s*\[){%d}" % MAX_DEPTH)


def check(text: str, origin: str) -> None:
    """Refuse ``text`` if a document nests deeper than :data:`MAX_DEPTH` or its
    aliases expand to more than :data:`MAX_ALIAS_NODES` nodes.  A syntax error
    ends the check quietly: the loader reports it, at the same place."""
    run = _LONG_RUN.search(text)
    if run:
        # The text up to the run's bound first: if those "[" open collections,
        # the depth shows there at once; if they sit in a string or a comment,
        # the whole text is walked below as usual.
        _quiet_walk(text[:run.end()], origin)
    _quiet_walk(text, origin)


def _quiet_walk(text: str, origin: str) -> None:
    try:
        _walk(_safe().parse(text), origin)
    except YAMLError:
        return


def _walk(events: Any, origin: str) -> None:
    sizes: dict[str, int] = {}      # anchor -> nodes it stands for, expanded
    stack: list[list[Any]] = []     # open collections: [anchor, nodes so far]
    added = 0
    for ev in events:
        if isinstance(ev, DocumentStartEvent):
            sizes, stack, added = {}, [], 0
        elif isinstance(ev, CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise BadInput(f"{origin}: YAML nested more than {MAX_DEPTH} levels deep (the limit archport reads)")
            stack.append([ev.anchor, 1])
        elif isinstance(ev, CollectionEndEvent):
            anchor, n = stack.pop()
            _close(anchor, n, sizes, stack)
        elif isinstance(ev, AliasEvent):
            if any(a == ev.anchor for a, _ in stack):
                # a node inside itself (&a [*a]): the loader builds a cycle, every walk of it recurses forever
                raise BadInput(f"{origin}: YAML alias *{ev.anchor} refers to a node that contains it")
            n = sizes.get(ev.anchor, 1)
            added += n
            if added > MAX_ALIAS_NODES:
                raise BadInput(f"{origin}: YAML aliases expand to more than {MAX_ALIAS_NODES} nodes (the limit archport reads)")
            if stack:
                stack[-1][1] += n
        elif isinstance(ev, NodeEvent):  # a scalar
            _close(ev.anchor, 1, sizes, stack)


def _close(anchor: str | None, n: int, sizes: dict[str, int], stack: list[list[Any]]) -> None:
    if anchor is not None:
        sizes[anchor] = n
    if stack:
        stack[-1][1] += n


def load(text: str, origin: str, yaml: YAML | None = None) -> Any:
    """The one document in ``text``, read by ``yaml`` (safe and pure unless
    the caller passes its own, e.g. a round-trip reader) after :func:`check`.
    ``YAMLError`` still reaches the caller, which words its own message."""
    check(text, origin)
    try:
        return (yaml or _safe()).load(text)
    except RecursionError:  # the check bounds depth; this is the last guard
        raise BadInput(f"{origin}: YAML nested too deep to read") from None


def load_all(text: str, origin: str, yaml: YAML | None = None) -> list[Any]:
    """Every document in ``text`` (``---`` separated), as :func:`load` does."""
    check(text, origin)
    try:
        return list((yaml or _safe()).load_all(text))
    except RecursionError:
        raise BadInput(f"{origin}: YAML nested too deep to read") from None
