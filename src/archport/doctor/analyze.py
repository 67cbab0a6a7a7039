"""Facts in, report out: the pure heart of doctor.

For each pod that is not healthy, every message about it is classified — the
container's waiting/terminated message, the pod's events, journal lines naming
it — and the best-explained one is its finding (:func:`rules.rank`).  Then:

* with registry mirrors configured, the kubelet's message shows only the
  *last* endpoint containerd tried; the mirror's own error is in
  containerd.log ``trying next host`` lines, so those win when they explain
  more (containerd remotes/docker/resolver.go logs them);
* an image present in ``crictl images`` only under an unqualified name, while
  the kubelet asks for ``docker.io/…``, is the cause whatever the pull said
  (k3s issue 7015);
* side effects are attached as consequences to the group that causes them;
* a failure line no pod claims (a pasted ``crictl pull``, a journal or
  containerd.log line; :data:`~.report.UNOWNED` events) is classified alone
  and reported by the image it names, or as unclassified with its lines;
* pods whose failure the facts do not explain, when they are k3s's own,
  get what the catalog knows about their images (:mod:`.system`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING

from .. import platform as plat
from .. import reference
from ..errors import BadInput
from ..redaction import redact
from . import fixes, hardware, node, rules, system
from ..node.facts import Facts
from ..node.kube import Pod
from .report import UNCLASSIFIED, UNOWNED, Finding, Group, Report, group, title

if TYPE_CHECKING:   # the catalog is passed in; importing it is the caller's cost
    from ..catalog import Catalog

_KLOG_POD = re.compile(r'pod="([^"/]+)/([^"]+)"')
_TRYING = re.compile(r'trying next host.*?error="((?:[^"\\]|\\.)*)".*?host="?([^"\s]+)"?', re.IGNORECASE)
EXTRA_WEIGHT = {"unqualified": 72, "sandbox": 60}
SIGILL_EXIT = 132
DEFAULT_PAUSE = "rancher/mirrored-pause:3.6"   # k3s v1.24 default (pkg/cli/cmds/agent.go)
PULL_CAUSES = {"no-platform", "network", "tls-scheme", "tls-cert", "rate-limit", "unauthorized", "not-found",
               "clock", "unknown", "sandbox", "wrong-arch", "entrypoint", "pull-failed"}


def node_platform(facts: Facts, override: str | None = None) -> plat.Platform:
    if override:
        return plat.parse(override)
    for n in facts.cluster.nodes:
        if n.architecture:
            return plat.normalize(plat.Platform(n.os or "linux", n.architecture))
    if facts.arch:
        try:
            return plat.from_uname(facts.arch)
        except BadInput:
            pass
    return plat.RISCV64


def pause_image(facts: Facts) -> str:
    img = str(facts.config.get("pause-image") or "") or DEFAULT_PAUSE
    sdr = str(facts.config.get("system-default-registry") or "")
    if sdr and not facts.config.get("pause-image"):
        img = f"{sdr.rstrip('/')}/{img}"
    return img


@lru_cache(maxsize=16384)
def _ref(image: str) -> reference.Reference | None:
    """Parsed once per distinct image: thousands of pods share a few images."""
    try:
        return reference.parse(image)
    except BadInput:
        return None


def _norm(image: str) -> str:
    r = _ref(image)
    return r.normalized() if r else image


def familiar(image: str) -> str:
    r = _ref(image)
    return r.familiar() if r else image


def _candidates(pod: Pod, events, journal) -> list[tuple[str, str]]:
    out = []
    for c in pod.containers:
        if c.message:
            out.append((c.message, c.reason))
        elif c.reason and c.state == "waiting" and c.reason not in ("ContainerCreating", "PodInitializing"):
            out.append((c.reason, c.reason))
        if c.last_message:
            out.append((c.last_message, c.last_reason))
        # A terminated container's status carries no message, only its exit
        # code: 132 is 128 + SIGILL (a runtime reports a signal the way a shell does).
        for code, reason in ((c.exit_code, c.reason), (c.last_exit_code, c.last_reason)):
            if code == SIGILL_EXIT:
                out.append((f"container {c.name} exited with code 132 (128 + SIGILL)", reason))
    for e in events:
        # The kubelet's pull back-off is a Normal event, yet says the pull failed.
        if e.type != "Normal" or e.reason == "BackOff":
            out.append((e.message, e.reason))
    for line in journal:
        out.append((line, ""))
    if pod.status_text and not out:
        out.append((pod.status_text, pod.status_text))
    return out


def _mirror_errors(facts: Facts) -> list[tuple[str, str]]:
    """(error, host) for every containerd ``trying next host`` line."""
    out = []
    for line in facts.containerd_log:
        if "trying next host" not in line.lower():
            continue
        m = _TRYING.search(line.replace('\\\\"', '\\"'))
        if m:
            out.append((m.group(1).replace('\\"', '"'), without_userinfo(m.group(2))))
    return out


def _mirrors_for(facts: Facts, image: str) -> list[str]:
    mirrors = facts.registries.get("mirrors") or {}
    r = _ref(image)
    if r is None:
        return []
    domain = r.domain
    conf = mirrors.get(domain) or mirrors.get("*") or {}
    return [without_userinfo(str(e)) for e in (conf.get("endpoint") or [])] if isinstance(conf, dict) else []


def _local_unqualified(facts: Facts, image: str) -> str:
    """The name an image is present under locally, if only unqualified."""
    want = _norm(image)
    tags = [t for img in facts.images for t in img.tags]
    if want in tags:
        return ""
    for t in tags:
        if t != want and _norm(t) == want:
            return t
    return ""


def explain_pod(pod: Pod, events, journal, facts: Facts, mirror_errors) -> Finding:
    best = None
    for text, reason in _candidates(pod, events, journal):
        m = rules.classify(text, reason)
        if best is None or rules.rank(m) > rules.rank(best):
            best = m
    if best is None:
        return Finding(pod.key, pod.status, "unknown")
    cause, image, host, mirror = best.cause, best.image, best.host, ""
    evidence = [best.message.original.strip()]
    if best.sandbox and not image:
        image = pause_image(facts)
    if not image:
        waiting = [c.image for c in pod.containers if c.state == "waiting" or not c.ready]
        image = waiting[0] if waiting else (pod.images[0] if pod.images else "")
    if cause in PULL_CAUSES and cause not in ("wrong-arch", "entrypoint") and image:
        endpoints = _mirrors_for(facts, image)
        if endpoints:
            path = "/v2/" + _ref(image).path + "/" if _ref(image) else ""
            for err, h in mirror_errors:
                if path and path not in err:
                    continue
                # Only a configured mirror's own failure explains more than the
                # kubelet's message: containerd.log keeps lines from before the
                # mirror existed (the upstream host's lookups), and those are history.
                if not any(h in e for e in endpoints):
                    continue
                mm = rules.classify(err)
                if mm.rule is not None and (best.rule is None or mm.rule.id != best.rule.id):
                    cause, host, mirror = mm.rule.id, h, next((e for e in endpoints if h in e), h)
                    evidence.append(f"containerd.log (trying next host, {h}): {err}")
                    break
        local = _local_unqualified(facts, image)
        if local:
            cause = "unqualified"
            evidence.append(f"crictl images: present only as {local!r}, the kubelet asks for {_norm(image)!r}")
    if cause == "never-pull":
        local = _local_unqualified(facts, image)
        if local:
            evidence.append(f"crictl images: present only as {local!r}, the kubelet asks for {_norm(image)!r}")
    return Finding(pod.key, pod.status, cause, familiar(image) if image else "", host,
                   best.sandbox, tuple(evidence), mirror)


def analyze(facts: Facts, platform_override: str | None = None, catalog: Catalog | None = None) -> Report:
    """``catalog``, when given, says which images k3s's own pods run and
    which of them lack the node's platform, for pods nothing else explains."""
    platform = node_platform(facts, platform_override)
    cl = facts.cluster
    rep = Report(str(platform), facts.source, missing=list(facts.missing), pods_total=len(cl.pods))
    events_by_pod = defaultdict(list)
    for e in cl.events:
        if e.object_kind in ("Pod", ""):
            events_by_pod[f"{e.namespace}/{e.object_name}"].append(e)
    journal_by_pod = defaultdict(list)
    for line in facts.journal:
        m = _KLOG_POD.search(line.replace('\\"', '"'))
        if m:
            journal_by_pod[f"{m.group(1)}/{m.group(2)}"].append(line)
    mirror_errors = _mirror_errors(facts)
    findings = [explain_pod(p, events_by_pod[p.key], journal_by_pod[p.key][-20:], facts, mirror_errors)
                for p in cl.pods if not p.healthy]
    rep.pods_failing = len(findings)
    for fs in group(_without_retries(findings, unowned(facts))).values():
        rep.groups.append(_group(fs, facts, platform, catalog))
    if "cluster" in facts.missing and not cl.pods:
        # Without pods and events nothing can be called healthy.
        rep.groups.append(Group("no-cluster-state", "pods, events and nodes could not be read "
                                "(k3s kubectl get pods,events,nodes -A -o json failed or is missing)", "warning",
                                fix=["run doctor as root on a k3s server node, or check that k3s is running "
                                     "(systemctl status k3s)"], weight=100))
    _secondary(facts, rep)
    rep.groups.extend(node.findings(facts, platform))
    hardware.diagnose_isa(rep, facts, board(facts))
    rep.groups.extend(hardware.kernel_findings(rep, facts))
    rep.node = hardware.summary(facts)
    rep.hardware = facts.hardware()
    rep.notes.extend(node.sandbox_notes(facts))
    _redact(rep)
    rep.sort()
    return rep


def unowned(facts: Facts) -> list[Finding]:
    """One finding per failure line no pod claims, by the image it names."""
    out = []
    for e in facts.cluster.events:
        if e.object_kind != UNOWNED:
            continue
        m = rules.classify(e.message, e.reason)
        image = m.image or e.object_name
        if m.sandbox and not image:
            image = pause_image(facts)
        cause = m.rule.id if m.rule else ("sandbox" if m.sandbox else UNCLASSIFIED)
        out.append(Finding("", "", cause, familiar(image) if image else "", m.host, m.sandbox,
                           (e.message.strip(),)))
    return out


def board(facts: Facts) -> str:
    """The board as doctor reached it over SSH (a live run's source is ``ssh:DEST``), else ""."""
    return facts.source.removeprefix("ssh:") if facts.source.startswith("ssh:") else ""


def _without_retries(pods: list[Finding], lines: list[Finding]) -> list[Finding]:
    """Pod findings, then the failure lines no pod claims, less the kubelet's
    retry notices ("Error: ErrImagePull", a back-off) where another line
    already says why that image (or, naming none, any image) failed.  A line
    that names no image joins a finding of the same cause that names one
    (crictl's ``FATA[…]`` after the klog line that named the image)."""
    explained = {f.image for f in pods + lines if f.cause != "pull-failed"}
    lines = [f for f in lines if f.cause != "pull-failed" or (f.image not in explained if f.image
                                                             else not explained)]
    named = {(f.cause, f.sandbox): f.image for f in pods + lines if f.image}
    return pods + [f if f.image else replace(f, image=named.get((f.cause, f.sandbox), "")) for f in lines]


def _group(fs: list[Finding], facts: Facts, platform: plat.Platform, catalog: Catalog | None) -> Group:
    """One group of findings that share a cause and a subject, with its fix."""
    f0 = fs[0]
    pods = sorted(f.pod for f in fs if f.pod)
    images = sorted({f.image for f in fs if f.image})
    rule = rules.BY_ID.get(f0.cause)
    g = Group(f0.cause, title(f0, len(pods), str(platform), images), "error", pods, images,
              _evidence(fs, 5 if f0.cause == UNCLASSIFIED else 3), sandbox=f0.sandbox, host=f0.host,
              mirror=f0.mirror, weight=(rule.weight if rule else EXTRA_WEIGHT.get(f0.cause, 40))
              + (100 if f0.sandbox else 0))
    g.fix = fixes.render(f0.cause if f0.cause != "unqualified" else "never-pull", f0.sandbox,
                         image=f0.image, images=" ".join(images), platform=str(platform), host=f0.host or "?",
                         mirror=f0.mirror or f0.host or "?", clock=facts.clock or "wrong",
                         local=_local_unqualified(facts, f0.image) or f0.image, normalized=_norm(f0.image),
                         slug=re.sub(r"[^a-z0-9]+", "-", f0.image.lower()).strip("-"), board=board(facts))
    if f0.cause == "no-platform" and facts.k3s_version:
        g.fix.append(f"or port every system image of this k3s at once: archport port --k3s {facts.k3s_version} "
                     f"--arch {platform.architecture} --to <your-registry>/<prefix>")
    if f0.cause == "unknown" and all(f.evidence in ((), (f.status,)) for f in fs):
        _unexplained(g, facts, platform, catalog)
    return g


def _unexplained(g: Group, facts: Facts, platform: plat.Platform, catalog: Catalog | None) -> None:
    """Pods whose status is all the facts say (a bare ``kubectl get pods``):
    say where the reason is, and, for k3s's own pods, what the catalog knows."""
    first = g.pods[0].split("/", 1)
    g.known = system.known(catalog, g.pods, str(platform), facts.k3s_version) if catalog else []
    g.fix = [f"nothing here says why: kubectl -n {first[0]} describe pod {first[1]}    # its Events name the cause"]
    if g.known:
        version, host = facts.k3s_version or "<k3s-version>", board(facts) or "<board>"
        g.fix.append(f"archport audit --host {host}    # every image this k3s needs, where it pulls each from, "
                     f"and which lack {platform}")
    if len(g.known) > 1:                # some of their images lack the platform
        g.fix.append(f"archport port --k3s {version} --arch {platform.architecture} --to <your-registry>/<prefix>"
                     f"    # build the missing {platform} variants of the system images")


def _redact(rep: Report) -> None:
    """Everything a report shows was read from the node, whose messages may
    quote a URL with a password in it: masked once here, before any output."""
    for g in rep.groups:
        g.title = redact(g.title)
        g.evidence = [redact(e) for e in g.evidence]
        g.fix = [redact(f) for f in g.fix]
        g.consequences = [redact(c) for c in g.consequences]
        g.host = without_userinfo(g.host)
        g.mirror = redact(without_userinfo(g.mirror))
    rep.notes = [redact(n) for n in rep.notes]


def without_userinfo(endpoint: str) -> str:
    """``https://bob:pw@reg:5000/x`` → ``https://reg:5000/x``; ``bob:pw@reg`` → ``reg``."""
    scheme, sep, rest = endpoint.rpartition("://")
    authority, slash, path = rest.partition("/")
    return f"{scheme}{sep}{authority.rpartition('@')[2]}{slash}{path}"


def _evidence(fs: list[Finding], limit: int = 3) -> list[str]:
    out: list[str] = []
    for f in fs:
        for e in f.evidence:
            if e and e not in out:
                out.append(e)
        if len(out) >= limit:
            break
    return out[:limit]


def _secondary(facts: Facts, rep: Report) -> None:
    """Attach side effects to the group that causes them."""
    texts = [e.message for e in facts.cluster.events] + list(facts.journal)
    seen = {rules.secondary(t) for t in texts} - {""}

    def owner(prefix: str) -> Group | None:
        for g in rep.groups:
            if any(p.split("/", 1)[1].startswith(prefix) for p in g.pods):
                return g
        return None

    if "metrics-api" in seen:
        msg = ("'metrics.k8s.io/v1beta1: the server is currently unable to handle the request' only means "
               "metrics-server is not running; it resolves when metrics-server starts")
        g = owner("metrics-server")
        (g.consequences if g else rep.notes).append(msg)
    if "coredns-503" in seen or "coredns-service" in seen:
        g = owner("coredns")
        if g:
            g.consequences.append("CoreDNS readiness 503 / missing kube-dns Service follows from CoreDNS not running")
        else:
            rep.notes.append("CoreDNS readiness probe answers 503: a configuration/API problem while CoreDNS "
                             "starts, not an image problem (check kubectl -n kube-system logs deploy/coredns)")
    for g in rep.groups:
        for p in g.pods:
            name = p.split("/", 1)[1]
            if name.startswith("helm-install-"):
                chart = re.sub(r"-[a-z0-9]{5}$", "", name[len("helm-install-"):])
                g.consequences.append(f"the {chart} chart is not installed until {name} completes; "
                                      "it follows once this cause is fixed")
