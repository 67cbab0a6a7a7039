"""Running the checks: kubectl through a connector, each check polled until it
passes or its time is up, the check namespace removed at the end."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Callable

from ruamel.yaml.error import YAMLError

from ..doctor import analyze as doctor_analyze
from ..node import kube
from ..node.facts import Facts
from ..node.paths import MANIFESTS
from .. import yamlsafe
from ..errors import ArchportError, BadInput
from . import checks, specs
from .checks import Check
from .kubectl import PROBE, Kubectl, kubectl_message


@dataclass(frozen=True, slots=True)
class Options:
    timeout: float = 180          # per check
    keep: bool = False
    image: str = ""               # the check pods' image; default: local-path's helper image
    poll: float = 2.0


Progress = Callable[[str], None]


class _Clock:
    def __init__(self, now: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.now, self.sleep = now, sleep


def verify(k: Kubectl, opts: Options = Options(), *, now: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep, progress: Progress | None = None) -> list[Check]:
    """Run every check in order; a check that cannot pass does not stop the next."""
    clock = _Clock(now, sleep)
    say = progress or (lambda _m: None)
    out: list[Check] = []
    node_doc: dict = {}
    say(f"{k.name}: is the API server there?")
    start = clock.now()
    why = k.unreachable(min(PROBE, opts.timeout) if opts.timeout > 0 else PROBE)
    if why:
        # Nothing later can pass, and polling would only wait out every check.
        return [Check("nodes", reason=why, seconds=clock.now() - start)]
    if opts.timeout > 0:
        k.cap = max(opts.timeout, PROBE)

    def timed(name: str, fn) -> Check:
        say(f"{k.name}: {name}")
        c = Check(name)
        start = clock.now()
        try:
            fn(c)
        finally:
            c.seconds = clock.now() - start
        out.append(c)
        return c

    def fetch_nodes() -> checks.Verdict:
        node_doc.clear()
        node_doc.update(k.json("get", "nodes") or {})
        return checks.nodes(node_doc)

    def nodes(c: Check) -> None:
        c.ok, c.evidence, c.reason = _poll(clock, opts, fetch_nodes)

    timed("nodes", nodes)
    platforms = checks.node_platforms(node_doc)
    timed("pods", lambda c: _pods(k, opts, clock, c, platforms))
    image = opts.image or _helper_image(k)
    cleanup = _prepare_namespace(k, clock)
    try:
        timed("dns", lambda c: _dns(k, opts, clock, c, image))
        timed("storage", lambda c: _storage(k, opts, clock, c, image))
        timed("metrics", lambda c: _metrics(k, opts, clock, c, list(platforms)))
        timed("ingress", lambda c: _ingress(k, opts, clock, c, image))
    finally:
        if not opts.keep and cleanup:
            k.run("delete", "namespace", specs.NAMESPACE, "--wait=false", "--ignore-not-found", timeout=60)
    return out


def _poll(clock: _Clock, opts: Options, fn, timeout: float | None = None) -> checks.Verdict:
    deadline = clock.now() + (opts.timeout if timeout is None else timeout)
    while True:
        ok, ev, why = fn()
        if ok or clock.now() >= deadline:
            return ok, ev, why
        clock.sleep(opts.poll)


def _pods(k: Kubectl, opts: Options, clock: _Clock, c: Check, platforms: dict[str, str]) -> None:
    state: dict = {}

    def once():
        state["doc"] = k.json("get", "pods", "-n", "kube-system") or {}
        ok, ev, failing = checks.system_pods(state["doc"])
        state["failing"] = failing
        return ok, ev, "" if ok else f"{len(failing)} kube-system pod(s) not Running/Completed"

    ok, c.evidence, c.reason = _poll(clock, opts, once)
    if not ok:
        c.reason = _diagnose(k, state.get("failing") or [], platforms) or c.reason or "no kube-system pods"
        return
    if not k.on_node:
        c.ok = True
        c.evidence.append("image platforms not read: crictl runs on the node (give --host)")
        return
    wrong = []
    for pod, node, image, image_id in checks.running_images(state["doc"]):
        want = platforms.get(node, "")
        info = k.inspect_image(image_id)
        got = checks.image_platform(info or {})
        c.evidence.append(f"{pod}: {image} is {got or '?'} on {node or '?'}")
        if not got or (want and got != want):
            wrong.append(f"{pod} runs {image} as {got or 'an image crictl cannot read'}, the node is {want}")
    c.ok = not wrong
    c.reason = wrong[0] if wrong else ""


def _diagnose(k: Kubectl, failing: list[kube.Pod], platforms: dict[str, str]) -> str:
    """doctor's diagnosis of the first failing pod, with its fix, when doctor knows it."""
    doc = k.json("get", "pods,events,nodes", "-A") or {}
    facts = Facts(cluster=kube.parse_cluster(doc), source="verify")
    platform = next(iter(platforms.values()), None)
    report = doctor_analyze.analyze(facts, platform)
    for p in failing:
        for g in report.groups:
            if p.key in g.pods and g.cause != "unknown":
                fix = f"; fix: {g.fix[0]}" if g.fix else ""
                return f"{p.key}: {g.title}{fix}"
    if failing:
        return f"{failing[0].key} is {failing[0].status}"
    return ""


def _helper_image(k: Kubectl) -> str:
    """The busybox image the node uses for local-path's helper pod."""
    cm = k.json("get", "configmap", "-n", "kube-system", "local-path-config") or {}
    text = (cm.get("data") or {}).get("helperPod.yaml", "")
    try:
        doc = yamlsafe.load(text, "the local-path-config ConfigMap's helperPod.yaml") if text else None
    except YAMLError as e:
        raise BadInput(f"the local-path-config ConfigMap's helperPod.yaml does not parse ({e}); "
                       "give the check image with --image") from None
    containers = ((doc or {}).get("spec") or {}).get("containers") or []
    image = containers[0].get("image", "") if containers and isinstance(containers[0], dict) else ""
    if not image:
        raise BadInput("no check image: local-path's helper pod image is not in the cluster "
                       "(kube-system/local-path-config); give one that the node can run with --image")
    return image


def _prepare_namespace(k: Kubectl, clock: _Clock) -> bool:
    """A namespace of our own; an earlier run's leftovers are removed first."""
    if k.json("get", "namespace", specs.NAMESPACE) is not None:
        k.run("delete", "namespace", specs.NAMESPACE, "--wait=true", "--timeout=120s", timeout=150)
    r = k.apply(specs.namespace())
    if r.rc != 0:
        raise ArchportError(f"{k.name}: cannot create namespace {specs.NAMESPACE}: {kubectl_message(r.stderr)}")
    # The ServiceAccount "default" must exist before a pod can be admitted.
    deadline = clock.now() + 60
    while k.json("get", "serviceaccount", "-n", specs.NAMESPACE, "default") is None and clock.now() < deadline:
        clock.sleep(1)
    return True


def _run_pod(k: Kubectl, opts: Options, clock: _Clock, pod: dict) -> tuple[str, str, dict]:
    """Create ``pod``, wait for it to end; (phase, log, last pod document)."""
    r = k.apply(pod)
    if r.rc != 0:
        return "NotCreated", kubectl_message(r.stderr), {}
    name = pod["metadata"]["name"]
    last: dict = {}

    def done():
        nonlocal last
        last = k.json("get", "pod", "-n", specs.NAMESPACE, name) or {}
        phase = (last.get("status") or {}).get("phase", "")
        return phase in ("Succeeded", "Failed"), [], phase

    _poll(clock, opts, done)
    phase = (last.get("status") or {}).get("phase", "") or "Unknown"
    log = k.run("logs", "-n", specs.NAMESPACE, name, timeout=60).stdout
    return phase, log, last


def _pod_trouble(name: str, phase: str, doc: dict) -> str:
    p = kube.parse_pod(doc) if doc else None
    if p is not None:
        for cont in p.containers:
            if cont.reason and cont.reason not in ("Completed",):
                return f"check pod {name} is {phase}: {cont.reason}" + (f": {cont.message}" if cont.message else "")
    return f"check pod {name} is {phase}"


def _dns(k: Kubectl, opts: Options, clock: _Clock, c: Check, image: str) -> None:
    svc = k.json("get", "service", "-n", "kube-system", "kube-dns") or {}
    server = (svc.get("spec") or {}).get("clusterIP", "")
    if not server:
        c.reason = "no kube-dns Service in kube-system (is coredns disabled?)"
        return
    phase, log, doc = _run_pod(k, opts, clock, specs.dns_pod(image, server))
    resolved = [n for n in specs.DNS_NAMES if f"{specs.MARK} resolved {n}" in log]
    c.evidence = [f"via {server} ({image})"] + [line.strip() for line in log.splitlines()
                                                 if line.strip().startswith(("Address", "Name:"))][:6]
    c.ok = phase == "Succeeded" and len(resolved) == len(specs.DNS_NAMES)
    if not c.ok:
        missing = [n for n in specs.DNS_NAMES if n not in resolved]
        c.reason = (f"{missing[0]} did not resolve through {server}" if phase in ("Succeeded", "Failed")
                    else _pod_trouble("dns", phase, doc))


def _storage(k: Kubectl, opts: Options, clock: _Clock, c: Check, image: str) -> None:
    token = secrets.token_hex(8)
    r = k.apply(specs.pvc())
    if r.rc != 0:
        c.reason = f"cannot create the PVC: {kubectl_message(r.stderr)}"
        return
    phase, log, doc = _run_pod(k, opts, clock, specs.writer_pod(image, token))
    if phase != "Succeeded":
        c.reason = _pod_trouble("writer", phase, doc)
        pvc = k.json("get", "pvc", "-n", specs.NAMESPACE, "data") or {}
        if (pvc.get("status") or {}).get("phase") != "Bound":
            c.reason = checks.pvc_bound(pvc)[2] + f"; {c.reason}"
        return
    ok, ev, why = checks.pvc_bound(k.json("get", "pvc", "-n", specs.NAMESPACE, "data") or {})
    c.evidence = ev + ["writer pod wrote a token"]
    if not ok:
        c.reason = why
        return
    phase, log, doc = _run_pod(k, opts, clock, specs.reader_pod(image))
    c.ok = phase == "Succeeded" and f"{specs.MARK} read {token}" in log
    c.evidence.append("reader pod read it back" if c.ok else f"reader pod: {phase}")
    if not c.ok:
        c.reason = (_pod_trouble("reader", phase, doc) if phase != "Succeeded"
                    else "the reader pod did not read what the writer wrote")
    for name in ("reader", "writer"):
        k.run("delete", "pod", "-n", specs.NAMESPACE, name, "--wait=false", "--ignore-not-found", timeout=60)
    k.run("delete", "pvc", "-n", specs.NAMESPACE, "data", "--wait=false", "--ignore-not-found", timeout=60)


def _metrics(k: Kubectl, opts: Options, clock: _Clock, c: Check, node_names: list[str]) -> None:
    def once():
        ok, ev, why = checks.apiservice(k.json("get", "apiservice", "v1beta1.metrics.k8s.io") or {})
        if not ok:
            return ok, ev, why
        ok2, ev2, why2 = checks.node_metrics(k.raw("/apis/metrics.k8s.io/v1beta1/nodes") or {}, node_names)
        return ok2, ev + ev2, why2

    c.ok, c.evidence, c.reason = _poll(clock, opts, once)


def _traefik_expected(k: Kubectl) -> str:
    """Why traefik should exist although its Service does not ("" when it is disabled)."""
    if k.json("get", "helmcharts.helm.cattle.io", "-n", "kube-system", "traefik") is not None:
        return "traefik's HelmChart exists but its Service does not: the helm-install-traefik job has not installed it"
    if k.on_node:
        # k3s writes traefik.yaml at start unless --disable=traefik; a .skip keeps it from being applied.
        r = k.connector.run(f"test -f {MANIFESTS}/traefik.yaml && test ! -e {MANIFESTS}/traefik.yaml.skip", 30)
        if r.rc == 0:
            return (f"traefik is enabled ({MANIFESTS}/traefik.yaml) but not installed: its HelmChart was not "
                    "applied (is helm-controller running?)")
    return ""


def _ingress(k: Kubectl, opts: Options, clock: _Clock, c: Check, image: str) -> None:
    svc = k.json("get", "service", "-n", "kube-system", "traefik")
    if svc is None:
        expected = _traefik_expected(k)
        if expected:
            c.reason = expected
        else:
            c.ok, c.skipped = True, "traefik is disabled (no HelmChart, no packaged manifest)"
        return
    state: dict = {}

    def addressed():
        s = k.json("get", "service", "-n", "kube-system", "traefik") or {}
        addrs, port = checks.load_balancer(s)
        state["addrs"], state["port"] = addrs, port
        return bool(addrs), [f"traefik LoadBalancer address {', '.join(addrs)} port {port}"] if addrs else [], \
            "the traefik Service has no address from ServiceLB (are the svclb-traefik pods Running?)"

    ok, c.evidence, c.reason = _poll(clock, opts, addressed)
    if not ok:
        return
    phase, log, doc = _run_pod(k, opts, clock, specs.http_pod(image, state["addrs"][0], state["port"]))
    answered = [line.strip() for line in log.splitlines() if "HTTP/" in line]
    c.evidence += answered[:2]
    c.ok = any(" 404" in line for line in answered)
    if not c.ok:
        c.reason = (f"traefik answered {answered[0]!r}, not 404" if answered
                    else _pod_trouble("http", phase, doc) if phase != "Succeeded" else "no HTTP answer from traefik")
