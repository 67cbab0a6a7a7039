"""Turn an error message as users see it into one the rules can match.

Messages reach us through several layers of quoting: the kubelet wraps the
runtime's gRPC error (``rpc error: code = NotFound desc = …``), klog quotes it
again inside ``err="…"`` and journald shows the result, so a quote becomes
``\\\\\\"`` after two rounds.  We strip the gRPC prefix (keeping the code, which
carries meaning: ``DeadlineExceeded`` is a timeout), undo the escaping and fold
case.  The original text is kept for quoting back to the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# google.golang.org/grpc status.Error: "rpc error: code = %s desc = %s"
_RPC = re.compile(r"rpc error: code = (\w+) desc = ", re.IGNORECASE)
_ESCAPED_QUOTE = re.compile(r'\\+"')


@dataclass(frozen=True, slots=True)
class Message:
    original: str
    text: str           # unescaped, gRPC prefixes removed, lower case
    codes: tuple[str, ...] = ()   # gRPC codes found, outermost first

    @property
    def code(self) -> str:
        return self.codes[0] if self.codes else ""


def unescape(text: str) -> str:
    """``\\\\\\"`` and ``\\"`` → ``"`` (any depth of backslash-quoting)."""
    text = _ESCAPED_QUOTE.sub('"', text)
    return text.replace("\\n", " ").replace("\\t", " ")


def normalize(text: str) -> Message:
    plain = unescape(text)
    codes = tuple(m.group(1) for m in _RPC.finditer(plain))
    plain = _RPC.sub("", plain)
    plain = " ".join(plain.split())
    return Message(text, plain.lower(), codes)
