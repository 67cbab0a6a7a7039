"""The ordered rule table: error text → root cause.  First match wins.

Order matters and is the point of the table: specific before general.

* ``no match for platform in manifest: not found`` ends in ``not found`` but is
  a missing platform, so ``no-platform`` comes before ``not-found``.
* ``certificate has expired or is not yet valid`` is an x509 error, but on a
  board without an RTC it means the clock is wrong: ``clock`` before ``tls``.
* ``exec: "x": executable file not found in $PATH`` says ``not found`` too:
  ``entrypoint`` before ``not-found``.
* ``net/http: TLS handshake timeout`` is the network, not a certificate.

A rule matches on normalized text (see :mod:`.normalize`), optionally on the
gRPC code the runtime returned, or on the kubelet's *reason* (``InvalidImageName``,
``ErrImageNeverPull``) when the message itself is empty.  Rules are data; the
fix texts live in :mod:`.fixes` keyed by rule id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .normalize import Message, normalize


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    summary: str                       # "has no {platform} variant" — completes "image X …"
    patterns: tuple[re.Pattern, ...] = ()
    reasons: tuple[str, ...] = ()      # kubelet reasons (lower case) that imply the rule
    codes: tuple[str, ...] = ()        # gRPC codes that imply it (with a pull context)
    weight: int = 50                   # report order: higher first


def _rx(*parts: str) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p) for p in parts)


RULES: tuple[Rule, ...] = (
    # containerd images.go / platforms: "no match for platform in manifest";
    # docker: "no matching manifest for linux/riscv64 in the manifest list entries".
    Rule("no-platform", "has no {platform} variant",
         _rx(r"no match for platform in manifest", r"no matching manifest for \S+ in the manifest list",
             r"does not match the specified platform"), weight=90),
    Rule("clock", "cannot be verified because the node's clock is wrong",
         _rx(r"certificate has expired or is not yet valid"), weight=85),
    Rule("never-pull", "is not present under the name the kubelet asks for",
         _rx(r"is not present with pull policy of never", r"errimageneverpull"),
         reasons=("errimageneverpull",), weight=70),
    Rule("invalid-name", "is not a valid image reference",
         _rx(r"failed to apply default image tag", r"invalid reference format", r"invalidimagename",
             r"couldn't parse image (?:name|reference)"),
         reasons=("invalidimagename",), weight=60),
    Rule("disk-full", "cannot be unpacked: the disk is full",
         _rx(r"no space left on device", r"the node was low on resource: ephemeral-storage",
             r"diskpressure"), weight=80),
    Rule("rate-limit", "is rate-limited by the registry",
         _rx(r"toomanyrequests", r"429 too many requests", r"pull rate limit"), weight=65),
    Rule("tls-scheme", "is served over plain HTTP but pulled over HTTPS",
         _rx(r"server gave http response to https client",
             r"first record does not look like a tls handshake"), weight=75),
    Rule("tls-cert", "is served with a certificate the node does not trust",
         _rx(r"x509: ", r"tls: failed to verify certificate", r"certificate signed by unknown authority"),
         weight=74),
    # runc libcontainer: exec format error ("exec user process caused: exec format error"
    # from standard_init_linux.go in runc < 1.1, "exec /x: exec format error" since).
    Rule("wrong-arch", "contains binaries for another architecture",
         _rx(r"exec format error"), weight=78),
    # Go <= 1.19 on an Sv57 kernel: the runtime packs heap pointers into 48 bits and
    # throws at the first GC (golang/go#54104, fixed in Go 1.20):
    # "runtime: lfstack.push invalid packing: node=… cnt=0x1 packed=… -> node=…", "fatal error: lfstack.push".
    Rule("go-sv57", "crashes in the Go runtime: its binaries were built with Go ≤ 1.19, which cannot run on "
         "an Sv57 kernel", _rx(r"lfstack\.push invalid packing", r"fatal error: lfstack\.push"), weight=79),
    # A program executed an instruction the CPU does not have: the kernel sends
    # SIGILL, the container exits with 128 + 4 = 132 (runc reports the signal as
    # the exit status the way a shell does); Go's runtime prints "SIGILL: illegal
    # instruction", a shell "Illegal instruction (core dumped)", Go's os/exec
    # (helm-install, k3s's own children) "signal: illegal instruction".
    # On RISC-V boards it is an image built for a higher ISA profile than the CPU's.
    Rule("sigill", "dies with SIGILL (illegal instruction): a program in it uses an instruction the CPU lacks",
         _rx(r"signal: illegal instruction", r"\billegal instruction\b", r"\bsigill\b",
             r"exit(?:ed with)? code:? 132\b"), weight=81),
    # runc: 'exec: "local-path-provisioner": executable file not found in $PATH';
    # containerd: "failed to create containerd task: … no such file or directory".
    Rule("entrypoint", "does not contain the program the pod runs",
         _rx(r"executable file not found in \$path",
             r"exec: \"?[^\"]*\"?: (?:stat [^:]+: )?no such file or directory",
             r"exec /\S+: no such file or directory"), weight=77),
    Rule("unauthorized", "requires credentials the node does not have",
         _rx(r"401 unauthorized", r"403 forbidden", r"no basic auth credentials",
             r"authorization failed", r"insufficient_scope", r"unauthorized: "), weight=55),
    Rule("not-found", "does not exist (or is private)",
         _rx(r"pull access denied", r"repository does not exist", r"manifest unknown",
             r"404 not found", r": not found$", r"not found: not found"), weight=50),
    # crictl run without k3s's endpoint tries the default sockets (cri-tools: "image connect
    # using default endpoints"); k3s's containerd listens on /run/k3s/containerd/containerd.sock.
    # A gRPC Unavailable, but nothing to do with the registry: before network.
    Rule("cri-socket", "was not pulled: crictl did not reach k3s's containerd",
         _rx(r"dial unix \S+\.sock: connect: (?:no such file or directory|connection refused|permission denied)",
             r"unknown service runtime\.v1(?:alpha2)?\.imageservice"), weight=40),
    Rule("network", "cannot be reached from the node",
         _rx(r"dial tcp", r"i/o timeout", r"no such host", r"connection refused", r"connection reset by peer",
             r"context deadline exceeded", r"network is unreachable", r"no route to host",
             r"tls handshake timeout", r"temporary failure in name resolution", r"failed to do request"),
         codes=("deadlineexceeded", "unavailable"), weight=68),
    # The kubelet says that a pull failed but not why: its back-off event (type Normal,
    # 'Back-off pulling image "x"') and the "Error: ErrImagePull" / "Error: ImagePullBackOff"
    # events (pkg/kubelet/images/image_manager.go).  Last: any message that says why wins.
    Rule("pull-failed", "cannot be pulled (the lines show the kubelet retrying, not the registry's answer)",
         _rx(r"^back-off pulling image ", r"^error: (?:errimagepull|imagepullbackoff)$"), weight=45),
)

# Symptoms that are consequences of another problem, never a cause of their own.
SECONDARY: tuple[tuple[str, re.Pattern], ...] = (
    ("metrics-api", re.compile(r"metrics\.k8s\.io/v1beta1: the server is currently unable to handle the request")),
    ("coredns-503", re.compile(r"readiness probe failed: http probe failed with statuscode: 503")),
    ("coredns-service", re.compile(r"services? \"kube-dns\" not found|endpoints \"kube-dns\" not found")),
)

BY_ID = {r.id: r for r in RULES}

_SANDBOX = re.compile(r"failed to get sandbox image|failedcreatepodsandbox|failed to create pod sandbox"
                      r"|createpodsandbox|failed to create sandbox")
_IMAGE = re.compile(r'image "([^"]+)"', re.IGNORECASE)
# The host of a URL skips any userinfo: ``https://bob:pw@reg:5000/`` names reg:5000.
_HOST = re.compile(r'https?://(?:[^/\s"@]*@)?([^/\s"@]+)/|lookup ([^\s:]+)(?: on [^:]+)?: no such host|dial tcp ([^\s:]+):\d+')


@dataclass(frozen=True, slots=True)
class Match:
    rule: Rule | None
    message: Message
    sandbox: bool            # the failure is the pod sandbox (pause image)
    image: str               # the image named in the message, if any
    host: str                # the registry host the request went to, if any

    @property
    def cause(self) -> str:
        if self.rule is None:
            return "sandbox" if self.sandbox else "unknown"
        return self.rule.id


@lru_cache(maxsize=65536)
def classify(text: str, reason: str = "") -> Match:
    """Classify one message (and the kubelet reason that came with it).
    Cached: the same message repeats across pods and events."""
    msg = normalize(text)
    t = msg.text
    rule = None
    for r in RULES:
        if any(p.search(t) for p in r.patterns):
            rule = r
            break
        if reason and reason.lower() in r.reasons:
            rule = r
            break
    if rule is None and ("pull" in t or "image" in t):
        # A message cut short still carries the gRPC code (k3s issue 10926).
        codes = {c.lower() for c in msg.codes}
        rule = next((r for r in RULES if codes & set(r.codes)), None)
    unesc = msg.original.replace('\\"', '"').replace("\\", "")
    m = _IMAGE.search(unesc)
    h = _HOST.search(unesc)
    host = next((g for g in h.groups() if g), "") if h else ""
    return Match(rule, msg, bool(_SANDBOX.search(t) or reason.lower() == "failedcreatepodsandbox"),
                 m.group(1) if m else "", host)


_SECONDARY_HINTS = ("metrics.k8s.io", "503", "kube-dns")


def secondary(text: str) -> str:
    low = text.lower()
    if not any(h in low for h in _SECONDARY_HINTS):   # cheap pre-filter: most messages are not these
        return ""
    t = normalize(text).text
    for sid, rx in SECONDARY:
        if rx.search(t):
            return sid
    return ""


def rank(match: Match) -> tuple[int, int]:
    """Which of several messages about one pod is the best evidence: a matched
    rule beats none, and an earlier rule beats a later one."""
    if match.rule is None:
        return (1 if match.sandbox else 0, 0)
    return (2, len(RULES) - RULES.index(match.rule))
