"""Acceptance: port the images k3s v1.24.2 runs to linux/riscv64, end to end.

    sudo PYTHONPATH=src:. python acceptance/run_v1_24_2.py [--out acceptance/results.json]

Starts a loopback docker-registry, builds stand-in upstream images (the real Go
modules through the Go module proxy, for amd64; shape-only amd64+arm64 images
for pause and busybox; Debian-based ones for the distro images, see
acceptance/distro.py), ports each with ``archport port`` as a user would
(``--mirror docker.io=REGISTRY --mirror-only``, the real v1.24.2 manifests),
runs ``archport check`` and ``archport smoke`` on every result, and makes the
ported coredns answer a DNS query under emulation.  Versions the module proxy
does not serve are listed with go's own error; the nearest served version is
ported in a separate, labelled row.  Exit 0 only when every available
component passed.  See README.md here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# As a script (python acceptance/run_v1_24_2.py) the path has neither the repository
# (acceptance, standins, tests.support) nor src/; SPECS below reads standins.gomodules.
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))
from acceptance import distro  # noqa: E402  (after the path above)
from standins import gomodules, images, programs  # noqa: E402

K3S = Path(__file__).resolve().parents[2] / "shared" / "k3s" / "v1.24.2"
if not K3S.is_dir():
    K3S = Path("/work/shared/k3s/v1.24.2")
MANIFESTS = K3S / "server-manifests"
TARGET = "linux/riscv64"
DEST_PREFIX = "k3s-riscv64"


@dataclass(frozen=True)
class Spec:
    """One k3s image and how its stand-in upstream is made (facts cite sources)."""

    component: str                  # catalog name
    repository: str                 # as in k3s-images.txt, without docker.io/
    kind: str                       # go | c | deb | transplant
    config: dict
    binary: str
    port_smoke: str                 # archport port --smoke-args ("" = the catalog's recipe)
    smoke_args: tuple[str, ...]     # archport smoke IMAGE -- ARGS (() = the recipe, judged against expect)
    expect: str                     # regex ({version} filled) over the smoke output
    manifest_image: str = ""        # the name the manifests run (check --image-name); "" = no manifest
    module: str = ""
    module_version: str = "{tag}"
    package: str = "."
    ldflags: str = ""                # {version}: the module version built
    trimpath: bool = False
    toolchain: str = "local"
    files: dict = field(default_factory=dict)
    source: str = ""
    tag: str = ""                   # filled from k3s-images.txt (or the substitute version)
    substitute_for: str = ""        # the k3s version this row stands in for
    debian_suite: str = ""          # --debian-suite for deb and transplant rows ("" = the catalog's)
    built: str = ""                 # the version really built inside the image, when not the tag's
    port_extra: tuple[str, ...] = ()  # more archport port options (e.g. --substitute)


PATHENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def _go(component: str, repository: str, **row) -> Spec:
    """A Go row: how upstream builds it (module, package, flags, toolchain, image
    files, and the source of those facts) is the recipe the test bed builds from."""
    recipe = gomodules.GO_RECIPES[repository]
    return Spec(component, repository, "go", module=recipe.module, package=recipe.package, ldflags=recipe.ldflags,
                trimpath=recipe.trimpath, toolchain=recipe.toolchain, files=dict(recipe.files), source=recipe.source,
                **row)


SPECS = [
    _go("coredns", "rancher/mirrored-coredns-coredns",
        config={"Entrypoint": ["/coredns"], "Env": PATHENV, "ExposedPorts": {"53/tcp": {}, "53/udp": {}}},
        binary="/coredns", port_smoke="-version", smoke_args=("-version",), expect=r"CoreDNS-{version}",
        manifest_image="rancher/mirrored-coredns-coredns:1.9.1", module_version="v{tag}"),
    _go("local-path-provisioner", "rancher/local-path-provisioner",
        config={"Cmd": ["local-path-provisioner"], "Env": PATHENV},
        binary="/usr/bin/local-path-provisioner", port_smoke="--version",
        smoke_args=("local-path-provisioner", "--version"), expect=r"{version}",
        manifest_image="rancher/local-path-provisioner:v0.0.21"),
    _go("metrics-server", "rancher/mirrored-metrics-server",
        config={"Entrypoint": ["/metrics-server"], "User": "65534", "Env": PATHENV},
        binary="/metrics-server", port_smoke="--version", smoke_args=("--version",), expect=r"{version}",
        manifest_image="rancher/mirrored-metrics-server:v0.5.2"),
    Spec("pause", "rancher/mirrored-pause", "c",
         config={"Entrypoint": ["/pause"], "User": "65535:65535", "Env": PATHENV},
         binary="/pause", port_smoke="-v", smoke_args=("-v",), expect=r"v{version}",
         source="build/pause/Dockerfile (k8s.io/kubernetes v1.23.0): USER 65535:65535, ENTRYPOINT [\"/pause\"]; "
                "stand-in binaries are a tiny Go program, not upstream's pause"),
    Spec("busybox", "rancher/mirrored-library-busybox", "deb",
         config={"Cmd": ["sh"], "Env": PATHENV},
         binary="/bin/busybox", port_smoke="-c 'echo archport-$((6*7))'",
         smoke_args=("sh", "-c", "echo archport-$((6*7))"), expect=r"archport-42",
         manifest_image="rancher/mirrored-library-busybox:1.34.1",
         files={"bin/sh": "->busybox"},
         source="the busybox image is a root filesystem on scratch with applet links and CMD [\"sh\"]; stand-in "
                "binaries are a tiny Go program with a /bin/sh link, not upstream's busybox"),
    # The distro images (acceptance/distro.py): no --smoke-args and no smoke
    # ARGS, so both smokes run the catalog's recipe.  klipper-lb's boots the
    # target's kernel and reads `iptables -t nat -S`.
    Spec("klipper-lb", distro.KLIPPER_LB, "transplant", config=dict(distro.debian.CONFIG), binary="/usr/bin/entry",
         port_smoke="", smoke_args=(), expect=r"(?m)^-A POSTROUTING -d 10\.43\.0\.10/32 -p tcp -j MASQUERADE$",
         manifest_image="rancher/klipper-lb:v0.3.5", source="standins/debian.py"),
    Spec("traefik", distro.TRAEFIK, "transplant", config=dict(distro.TRAEFIK_CONFIG), binary="/usr/local/bin/traefik",
         port_smoke="", smoke_args=(), expect=r"Version:\s+{version}\b", module=distro.TRAEFIK_MODULE,
         module_version="v{tag}", source="acceptance/distro.py"),
]


# -- helpers -----------------------------------------------------------------------------

def k3s_tags() -> dict[str, str]:
    """repository -> tag, from the release's image list."""
    tags = {}
    for line in (K3S / "k3s-images.txt").read_text().split():
        name, _, tag = line.rpartition(":")
        tags[name.removeprefix("docker.io/")] = tag
    return tags


def archport(*args: str, env: dict, timeout: float = 3600) -> tuple[int, dict | None, str, float]:
    """``python -m archport.cli.main ARGS`` → (exit code, JSON document, stderr, seconds)."""
    started = time.monotonic()
    cp = subprocess.run([sys.executable, "-m", "archport.cli.main", *args], env=env, capture_output=True,
                        text=True, timeout=timeout, cwd=REPO)
    seconds = time.monotonic() - started
    try:
        doc = json.loads(cp.stdout) if cp.stdout.strip() else None
    except json.JSONDecodeError:
        doc = {"unparsed": cp.stdout[-4000:]}
    return cp.returncode, doc, cp.stderr[-4000:], seconds


def shell_line(args) -> str:
    import shlex
    return "archport " + shlex.join(args)


def helper_pod(work: Path) -> Path:
    """local-path-provisioner's helper pod as it runs: the helperPod.yaml of
    the local-path-config ConfigMap plus the command the provisioner sets
    (provisioner.go: "/bin/sh", "/script/setup")."""
    from ruamel.yaml import YAML
    yaml = YAML(typ="safe")
    for doc in list(yaml.load_all((MANIFESTS / "local-storage.yaml").read_text())):
        if doc and doc.get("kind") == "ConfigMap" and "helperPod.yaml" in (doc.get("data") or {}):
            pod = YAML(typ="safe").load(doc["data"]["helperPod.yaml"])
            break
    else:
        raise RuntimeError("local-storage.yaml has no helperPod.yaml")
    pod["spec"]["containers"][0]["command"] = ["/bin/sh", "/script/setup"]
    out = work / "helper-pod.yaml"
    with open(out, "w") as f:
        yaml.dump(pod, f)
    return out


# -- one component ------------------------------------------------------------------------

def standin(spec: Spec, work: Path, registry, env: dict, row: dict) -> Spec:
    """Build and push the stand-in upstream; returns ``spec`` with what the
    stand-in decided (a transplant row's substituted version)."""
    work.mkdir(parents=True, exist_ok=True)
    repo_tag = f"{spec.repository}:{spec.tag}"
    if spec.kind == "transplant":
        wanted = spec.module_version.format(tag=spec.tag) if spec.module else ""
        return replace(spec, **distro.standin(spec.component, wanted, spec.substitute_for, work, registry.host,
                                              repo_tag, env, row))
    extra = {p: (v if v.startswith("->") else (gomodules.file_bytes(v), 0o644)) for p, v in spec.files.items()}
    if spec.kind == "go":
        version = spec.module_version.format(tag=spec.tag)
        info = gomodules.download(spec.module, version, env, work)
        built = gomodules.build_module(info, work, package=spec.package,
                                       ldflags=spec.ldflags.format(version=version), trimpath=spec.trimpath,
                                       toolchain=spec.toolchain, goarch="amd64", env=env)
        per_arch = {"amd64": {spec.binary.lstrip("/"): (built.binary.read_bytes(), 0o755), **extra}}
        row["standin"] = {"module": f"{spec.module}@{version}", "platforms": ["linux/amd64"],
                          "toolchain": built.toolchain, "buildSeconds": round(built.seconds, 1),
                          "build": built.command, "source": spec.source}
    else:
        per_arch = {}
        for arch in ("amd64", "arm64"):
            exe = programs.build(spec.component, arch, work, env)
            per_arch[arch] = {spec.binary.lstrip("/"): (exe.read_bytes(), 0o755), **extra}
        row["standin"] = {"platforms": ["linux/amd64", "linux/arm64"], "content": "tiny Go program (shape only)",
                          "source": spec.source}
    row["standin"]["digests"] = images.push_index(work, registry.host, repo_tag, per_arch, spec.config)
    row["standin"]["pushedAs"] = f"{registry.host}/{repo_tag}"
    return spec


def port_one(spec: Spec, work: Path, registry, env: dict, row: dict, manifests: Path, cache: Path) -> dict | None:
    image = f"{spec.repository}:{spec.tag}"
    args = ["port", image, "--arch", "riscv64", "--to", f"{registry.host}/{DEST_PREFIX}",
            "--mirror", f"docker.io={registry.host}", "--mirror-only", "--manifests", str(manifests),
            "--cache-dir", str(cache), "--json", *spec.port_extra]
    if spec.port_smoke:
        args.append(f"--smoke-args={spec.port_smoke}")
    if spec.debian_suite:
        args += ["--debian-suite", spec.debian_suite]
    code, doc, err, seconds = archport(*args, env=env)
    row["port"] = {"command": shell_line(args), "exitCode": code, "wallSeconds": round(seconds, 1),
                   "stderr": err if code else "", "result": None}
    ported = (doc or {}).get("images") or []
    result = ported[0] if ported else None
    row["port"]["result"] = result if result else doc
    return result


def verify_one(spec: Spec, env: dict, registry, row: dict, manifests: Path | None) -> None:
    dest = f"{registry.host}/{DEST_PREFIX}/{spec.repository}:{spec.tag}"
    args = ["check", dest, "--json"]
    if manifests is not None:
        args += ["--manifests", str(manifests), "--image-name", spec.manifest_image]
    code, doc, err, seconds = archport(*args, env=env, timeout=900)
    row["check"] = {"command": shell_line(args), "exitCode": code, "ok": bool(doc and doc.get("ok")) and code == 0,
                    "seconds": round(seconds, 1), "report": doc, "stderr": err if code else ""}
    expect = expected(spec)
    if spec.smoke_args:
        args = ["smoke", dest, "--json", "--expect", expect, "--timeout", "120", "--", *spec.smoke_args]
    else:                       # the catalog's recipe runs only without ARGS and --expect; judged here
        args = ["smoke", dest, "--json", "--timeout", "120"]
        if spec.debian_suite:
            args += ["--debian-suite", spec.debian_suite]
    code, doc, err, seconds = archport(*args, env=env, timeout=900)
    ok = bool(doc and doc.get("ok")) and code == 0
    row["smoke"] = {"command": shell_line(args), "exitCode": code, "ok": ok, "seconds": round(seconds, 1),
                    "result": doc, "stderr": err if code else ""}
    if not spec.smoke_args:
        said = f"{(doc or {}).get('stdout') or ''}\n{(doc or {}).get('stderr') or ''}"
        row["smoke"]["expect"] = expect
        row["smoke"]["matched"] = bool(re.search(expect, said))
        row["smoke"]["ok"] = ok and row["smoke"]["matched"]


def expected(spec: Spec) -> str:
    """The smoke output's regex, with the version really built."""
    return spec.expect.format(version=re.escape((spec.built or spec.tag).removeprefix("v")))


def judge(spec: Spec, row: dict, result: dict | None) -> None:
    checks = []
    def need(what: str, ok: bool) -> None:
        checks.append({"what": what, "ok": bool(ok)})
    need("archport port exit 0", row["port"]["exitCode"] == 0)
    need("status ported", bool(result) and result.get("status") == "ported")
    if result:
        need(f"strategy {spec.kind}", result.get("strategy") == spec.kind)
        need("port's check ok", str(result.get("check") or "").startswith("ok"))
        need("port's smoke ok", str(result.get("smoke") or "").startswith("ok"))
        expect = expected(spec)
        need(f"port's smoke output matches {expect!r}", re.search(expect, result.get("smokeOutput") or ""))
        if spec.component == "coredns":
            need("x/net fixup fired (x-net-linkname-recvmsg)",
                 any(f.startswith("x-net-linkname-recvmsg") for f in result.get("fixups") or ()))
    need("archport check exit 0", row.get("check", {}).get("ok"))
    need("archport smoke exit 0, output matching" + (" (--expect)" if spec.smoke_args else " (the recipe)"),
         row.get("smoke", {}).get("ok"))
    if spec.kind == "transplant":
        distro.judge(spec.component, row, result, need)
    row["assertions"] = checks
    row["status"] = "passed" if all(c["ok"] for c in checks) else "failed"


def debian_chain(spec: Spec) -> dict:
    """The real archive's chain for the catalog's package, judged independently
    of archport (tests/support/debrepo.real_chain: gpgv + hashlib)."""
    from archport.catalog import load
    from archport.fetch.debian import KEYRING, apt_sources
    from tests.support import debrepo
    pkg = load().component(spec.component).deb_package(spec.tag, "riscv64")
    src = apt_sources()[0]
    suite = spec.debian_suite or pkg.suite
    c = debrepo.real_chain(src.uri, src.signed_by or KEYRING, pkg.package, suite)
    return {"archive": src.uri, "suite": suite, "package": pkg.package, "verdict": c.verdict,
            "detail": c.detail, "expected": c.expected, "got": getattr(c, "got", None), "consistent": c.consistent}


def judge_refusal(row: dict, before: dict, after: dict, result: dict | None) -> bool:
    """The archive's chain is broken (before and after the port): archport must
    have refused, naming it.  Then the row is 'unavailable', not failed."""
    if before["consistent"] or after["consistent"] or before["verdict"] != after["verdict"]:
        return False
    reason = (result or {}).get("reason") or ""
    named = {"bad signature": "signature", "index mismatch": "digest mismatch",
             "deb mismatch": "digest mismatch"}.get(before["verdict"], before["verdict"])
    refused = row["port"]["exitCode"] == 1 and (result or {}).get("status") == "failed" and named in reason
    row["assertions"] = [{"what": f"archport refused a Debian archive whose chain is broken ({before['verdict']})",
                          "ok": refused}]
    if refused:
        row["status"] = "unavailable"
        row["unavailable"] = (f"Debian archive {before['archive']} {before['suite']}: {before['verdict']} "
                              f"({before['detail']}); archport refused: {reason}")
    return True


def run_component(spec: Spec, work: Path, registry, env: dict, cache: Path, helper: Path) -> dict:
    row = {"component": spec.component, "image": f"{spec.repository}:{spec.tag}", "version": spec.tag,
           "k3sImage": not spec.substitute_for, "substituteFor": spec.substitute_for or None, "status": "failed"}
    started = time.monotonic()
    try:
        spec = standin(spec, work / f"standin-{spec.component}-{spec.tag}", registry, env, row)
        manifests = {"busybox": helper, "klipper-lb": distro.svclb_pod(work)}.get(spec.component, MANIFESTS)
        before = debian_chain(spec) if spec.kind == "deb" else None
        result = port_one(spec, work, registry, env, row, manifests, cache)
        if before is not None:
            row["debianChain"] = after = debian_chain(spec)
            if judge_refusal(row, before, after, result):
                row["totalSeconds"] = round(time.monotonic() - started, 1)
                return row
        check_manifests = None if not spec.manifest_image else manifests
        verify_one(spec, env, registry, row, check_manifests)
        judge(spec, row, result)
    except Exception as e:
        row["status"] = "failed"
        row["error"] = f"{type(e).__name__}: {e}"
        row["traceback"] = traceback.format_exc()[-3000:]
    row["totalSeconds"] = round(time.monotonic() - started, 1)
    return row


# -- output ---------------------------------------------------------------------------------

def _short(d: str | None) -> str:
    return d[:19] if d else ""


def _fixups(result: dict) -> str:
    out = []
    for f in result.get("fixups") or ():
        out.append(re.sub(r"\s*\(.*\)$", "", f).replace("->", "→"))
    return "; ".join(out) or "none"


def markdown(doc: dict) -> str:
    lines = ["| image | version | strategy | fixups | check | smoke | digest (riscv64) | seconds |",
             "|---|---|---|---|---|---|---|---|"]
    notes = []
    for row in doc["rows"]:
        version = row["version"] + (f" ({row['substituteNote']})" if row.get("substituteNote") else
                                    f" (nearest served; k3s ships {row['substituteFor']})" if row.get("substituteFor")
                                    else "")
        name = row["image"].rsplit(":", 1)[0]
        if row["status"] == "unavailable":
            what = row.get("unavailableWhat") or (
                "unavailable through the module proxy" if "debianChain" not in row
                else "deb: Debian archive inconsistent, archport refused")
            lines.append(f"| {name} | {version} | {what} [^{len(notes) + 1}] | — | — | — | — | — |")
            notes.append(row["unavailable"])
            continue
        r = (row.get("port") or {}).get("result") or {}
        if not isinstance(r, dict) or "status" not in r:
            r = {}
        chk = (r.get("check") or "—") + (" · cli ok" if row.get("check", {}).get("ok") else " · cli FAILED")
        smk = (r.get("smoke") or "—") + (" · cli ok" if row.get("smoke", {}).get("ok") else " · cli FAILED")
        mark = "" if row["status"] == "passed" else " **FAILED**"
        lines.append(f"| {name}{mark} | {version} | {r.get('strategy') or '—'} | {_fixups(r) if r else '—'} | {chk} "
                     f"| {smk} | `{_short(r.get('platformDigest'))}` | {r.get('seconds', 0):.1f} |")
    dnsp = doc.get("dns") or {}
    text = "\n".join(lines)
    for i, n in enumerate(notes, 1):
        text += f"\n\n[^{i}]: `{' '.join(n.split())}`"
    if dnsp:
        text += ("\n\nDNS: the ported riscv64 coredns, emulated in containerd "
                 f"(`{' '.join(dnsp.get('argv') or [])}`), answered `archport.test A` with "
                 f"`{', '.join(dnsp.get('answer') or []) or dnsp.get('error')}` "
                 f"{dnsp.get('seconds_to_first_answer', 0):.1f} s after the task started "
                 f"({'ok' if dnsp.get('ok') else 'FAILED'}).")
    return text


def write(out: Path, doc: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(out)


# -- main -------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(REPO / "acceptance" / "results.json"), help="JSON results file")
    p.add_argument("--workdir", help="keep everything here (default: a temporary directory, removed)")
    p.add_argument("--dns-port", type=int, default=1053)
    p.add_argument("--only", action="append", default=[], metavar="COMPONENT", help="run only these components")
    p.add_argument("--debian-suite", default="", metavar="SUITE",
                   help="Debian suite for the deb rows (default: the catalog's; another when that one is mid-sync)")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("run as root: containerd, binfmt_misc and ctr need it", file=sys.stderr)
        return 2
    from acceptance import dnsproof
    from archport import emulation
    from archport.platform import RISCV64
    from tests.support.registry import Registry

    out = Path(args.out)
    own_work = args.workdir is None
    work = Path(args.workdir or tempfile.mkdtemp(prefix="archport-acceptance-"))
    work.mkdir(parents=True, exist_ok=True)
    env = gomodules.go_env(dict(os.environ))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO)])
    goversion = subprocess.run([gomodules.go(), "env", "GOVERSION"], capture_output=True, text=True,
                               env=env).stdout.strip()
    doc: dict = {"k3s": "v1.24.2", "target": TARGET, "started": dt.datetime.now(dt.timezone.utc).isoformat(),
                 "go": goversion, "goproxy": env["GOPROXY"], "gosumdb": "on (default)", "rows": [], "dns": None}
    st = emulation.register(RISCV64)
    doc["binfmt"] = {"ready": st.ready, "missing": st.missing}
    tags = k3s_tags()
    helper = helper_pod(work)
    cache = work / "archport-cache"
    registry = Registry(work / "registry")
    registry.start()
    doc["registry"] = registry.host
    ok = True
    try:
        for spec in SPECS:
            if args.only and spec.component not in args.only:
                continue
            spec = replace(spec, tag=tags[spec.repository])
            if spec.kind in ("deb", "transplant") and args.debian_suite:
                spec = replace(spec, debian_suite=args.debian_suite)
            runs = [spec]
            if spec.module:
                version = spec.module_version.format(tag=spec.tag)
                try:
                    gomodules.download(spec.module, version, env, work)
                except gomodules.Unavailable as e:
                    doc["rows"].append({"component": spec.component, "image": f"{spec.repository}:{spec.tag}",
                                        "version": spec.tag, "k3sImage": True, "status": "unavailable",
                                        "unavailable": str(e),
                                        "command": f"go mod download -json {spec.module}@{version}"})
                    if spec.kind == "transplant":     # same image; the stand-in picks what to build
                        runs = [replace(spec, substitute_for=spec.tag)]
                    else:
                        served = gomodules.served_versions(spec.module, env, work)
                        near = gomodules.nearest(version, served)
                        doc["rows"][-1]["servedVersions"] = served
                        doc["rows"][-1]["nearest"] = near
                        runs = [replace(spec, tag=near, substitute_for=spec.tag)] if near else []
                    write(out, doc)
            for s in runs:
                sub = ("" if not s.substitute_for else " (a substitute binary inside)" if s.tag == s.substitute_for
                       else f" (substitute for {s.substitute_for})")
                print(f"== {s.component} {s.tag}{sub}", file=sys.stderr, flush=True)
                row = run_component(s, work, registry, env, cache, helper)
                doc["rows"].append(row)
                ok = ok and row["status"] in ("passed", "unavailable")
                print(f"   {row['status']} in {row['totalSeconds']}s", file=sys.stderr, flush=True)
                if s.component == "coredns" and row.get("port", {}).get("exitCode") == 0:
                    dest = f"{registry.host}/{DEST_PREFIX}/{s.repository}:{s.tag}"
                    print("== DNS proof", file=sys.stderr, flush=True)
                    proof = dnsproof.prove(dest, work / "dns", port=args.dns_port)
                    doc["dns"] = {"image": dest, **proof.to_dict()}
                    ok = ok and proof.ok
                    print(f"   {'ok' if proof.ok else 'FAILED: ' + proof.error}", file=sys.stderr, flush=True)
                write(out, doc)
        if not args.only or "klipper-helm" in args.only:
            doc["rows"].append(distro.klipper_helm_row(tags[distro.KLIPPER_HELM], env, work))
            write(out, doc)
        if not args.only or "coredns" in args.only:
            ok = ok and bool(doc["dns"] and doc["dns"]["ok"])
        ran = [r for r in doc["rows"] if r["status"] != "unavailable"]
        ok = ok and bool(ran)
    finally:
        registry.stop()
        doc["finished"] = dt.datetime.now(dt.timezone.utc).isoformat()
        doc["passed"] = ok
        doc["markdown"] = markdown(doc)
        write(out, doc)
        if own_work:
            import shutil
            shutil.rmtree(work, ignore_errors=True)
    print(doc["markdown"])
    print(f"\nresults: {out}  ({'PASSED' if ok else 'FAILED'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
