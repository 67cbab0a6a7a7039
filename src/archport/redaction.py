"""Credentials out of text that came from outside, before anyone prints it.

A registry's error body, a token server's answer, a URL a user typed or a
log line from a node may carry a secret.  :func:`redact` is the one filter:
:class:`archport.errors.ArchportError` applies it to every message it
carries, and the CLI applies it to anything else it prints on failure.

What it masks (the name or scheme is kept, so the message still says what
was there):

* an echoed ``Authorization:`` / ``Proxy-Authorization:`` header, whole value;
* ``Basic <base64>`` and ``Bearer <token>`` credentials (RFC 9110 §11.6.2,
  RFC 6750 §2.1);
* JSON Web Tokens (three base64url parts, the first starting ``eyJ``);
* ``user:password@`` in a URL (RFC 3986 §3.2.1) or before a bare host, and the query parameters
  that carry secrets in presigned or OAuth2 URLs;
* ``"token": "…"``-style JSON fields and ``password=…``-style pairs;
* a k3s join token (``K10<hash>::<user>:<password>``).

Pure: no imports beyond ``re``.
"""

from __future__ import annotations

import re

MASK = "<redacted>"

_SECRET_WORDS = (r"(?:password|passwd|pass|secret|token|access_token|refresh_token|id_token|identitytoken|"
                 r"identity_token|client_secret|api_key|apikey|x-amz-signature|x-amz-credential|"
                 r"x-amz-security-token|signature|sig)")

# "basic auth", "Bearer realm=…": words after the scheme name that are prose
# or a challenge's parameters, not a credential.
_PROSE = r"(?:auth\w*|realm|challenge|credentials?|token\b|scheme|and|or|the|a)\b"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # An echoed header line, e.g. a debug body "Authorization: Basic dXNlcjpwdw==".
    (re.compile(r"(?i)\b((?:proxy-)?authorization\"?\s*[:=]\s*\"?)(?:[A-Za-z][\w-]*[ \t]+)?[^\s\"',;}]+"),
     r"\1" + MASK),
    (re.compile(r"(?i)\b((?:basic|bearer)\s+)(?!" + _PROSE + r")[A-Za-z0-9+/=._~-]{4,}"), r"\1" + MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@\"'<>]+):[^/\s@\"'<>]+@"), r"\1:" + MASK + "@"),
    (re.compile(r"(?i)([?&;]" + _SECRET_WORDS + r"=)[^&\s\"'<>]+"), r"\1" + MASK),
    (re.compile(r'(?i)("' + _SECRET_WORDS + r'"\s*:\s*)"(?:[^"\\]|\\.)*"'), r'\1"' + MASK + '"'),
    (re.compile(r"(?i)(?<![?&;\w-])(" + _SECRET_WORDS + r"=)(?!" + re.escape(MASK) + r")[^\s&\"',;]+"),
     r"\1" + MASK),
    (re.compile(r"\bK10[0-9a-f]{16,}::[^\s:]+:[^\s\"']+"), MASK),
    # user:password@host without a scheme (a registry written as in a URL);
    # not repo:tag@sha256:… , where the part after "@" is a digest.
    (re.compile(r"(?<![\w:/@.-])([A-Za-z0-9._~%-]+):(?!" + re.escape(MASK) + r")[^\s/@\"':]+@"
                r"(?![A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})(?=[A-Za-z0-9\[])"),
     r"\1:" + MASK + "@"),
)


def redact(text: str) -> str:
    """``text`` with every credential the patterns above know masked."""
    if not text:
        return text
    for rx, repl in _PATTERNS:
        text = rx.sub(repl, text)
    return text
