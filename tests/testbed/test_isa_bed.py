"""The board's CPU on the bed: an image built for more of the RISC-V ISA than
the board has, from the user's side, through the CLI only.

The bed's board is RV64GC without vector (testbed/config.py, BOARD_CPU_MODEL:
qemu-user's ``sifive-u54``, like a VisionFive 2 without its Zba/Zbb), and its
``/proc/cpuinfo`` says so.  The upstream image ``example/isavec:v1.0.0``
offers linux/riscv64, built ``GORISCV64=rva23u64`` (tests/fixtures/gomod/
isavec@v1.0.0: Go's IndexByte runs RVV 1.0 instructions in that build).  Then:

1. ``archport check IMAGE --board`` over the bed's SSH door flags it before
   anything is deployed, naming the binary and the extensions the board lacks;
2. deployed anyway, its pod dies with SIGILL (exit code 132);
3. ``archport doctor --host`` names the cause live: the image, the binary,
   the missing extensions, and ``archport port … --rebuild --profile rva20``;
4. that fix, run as printed, gives an image whose pod runs on the board.

Also proven here: the vector build really executes vector instructions (it
runs under qemu-user with V and dies without it, every other extension
equal), and the CPU model reaches the board's containers (an rva22u64 build,
which qemu-user's default CPU runs, dies there too).
"""
from __future__ import annotations

import json
import subprocess
import time

import pytest

from testbed import config, node, paths, ssh
from tests.support import gobuild
from tests.support.isa import QEMU, tool
from tests.support.port import push_image

MODULE = "example.test/isavec"
VERSION = "v1.0.0"
REPO = "example/isavec"
BINARY = "/isavec"
SOURCE = "https://example.test/isavec"
CATALOG = f"""
name = "example-isavec"
description = "The fixture service whose rva23u64 build runs vector instructions (tests/fixtures/gomod/isavec@v1.0.0)."
kind = "go"
module_version = "{{tag}}"

[[image]]
repository = "{REPO}"
source = "{SOURCE}"

[[go]]
versions = ">=1.0.0"
module = "{MODULE}"
package = "."
x = {{ "main.version" = "{{version}}" }}
cgo = false
source = "{SOURCE}"

[[contract]]
versions = ">=1.0.0"
binary = "{BINARY}"
entrypoint = ["{BINARY}"]
base = "scratch"
upstream_platforms = ["linux/amd64", "linux/riscv64"]
source = "{SOURCE}"
"""
# Every extension qemu-user 7.2 has for these programs, with and without V.
WITH_V = "rv64,v=true,zba=true,zbb=true,zbs=true"
WITHOUT_V = "rv64,v=false,zba=true,zbb=true,zbs=true"
SIGILL_EXIT = 132


def _install(go_env: dict, tmp, goarch: str, goriscv64: str | None = None):
    env = {**go_env, **({"GORISCV64": goriscv64} if goriscv64 else {})}
    out = tmp / f"{goarch}-{goriscv64 or 'default'}"
    out.mkdir()
    return gobuild.install(f"{MODULE}@{VERSION}", goarch, out, env=env,
                           flags=["-trimpath", "-ldflags", f"-X main.version={VERSION.lstrip('v')}"])


@pytest.fixture(scope="module")
def programs(go_env, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("isavec")
    return {"amd64": _install(go_env, tmp, "amd64"),
            "rva22u64": _install(go_env, tmp, "riscv64", "rva22u64"),
            "rva23u64": _install(go_env, tmp, "riscv64", "rva23u64")}


def _push(registry, tmp, repo_tag: str, riscv64) -> str:
    cfg = {"Entrypoint": [BINARY], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
    push_image(tmp, repo_tag, registry, {"riscv64": {BINARY.lstrip("/"): (riscv64.read_bytes(), 0o755)}}, cfg)
    return f"{registry.host}/{repo_tag}"


@pytest.fixture(scope="module")
def upstream(board_registry, programs, tmp_path_factory) -> str:
    """example/isavec:v1.0.0 as an upstream that builds for RVA23 publishes it:
    linux/amd64 and linux/riscv64, on a registry the board reaches."""
    tmp = tmp_path_factory.mktemp("isavec-image")
    cfg = {"Entrypoint": [BINARY], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
    per_arch = {"amd64": {"isavec": (programs["amd64"].read_bytes(), 0o755)},
                "riscv64": {"isavec": (programs["rva23u64"].read_bytes(), 0o755)}}
    push_image(tmp, f"{REPO}:{VERSION}", board_registry, per_arch, cfg)
    return f"{board_registry.host}/{REPO}:{VERSION}"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    p = tmp_path_factory.mktemp("isavec-catalog") / "isavec.toml"
    p.write_text(CATALOG)
    return p


def _door(bed) -> list[str]:
    d = ssh.door(bed.lay)
    return ["-p", str(d.port), "-i", str(d.key), "-o", f"UserKnownHostsFile={d.known_hosts}",
            "-o", "StrictHostKeyChecking=yes"]


def _archport(*args: str, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["archport", *args], capture_output=True, text=True, timeout=timeout, env=env)


def _pod(name: str, image: str, restart: str = "Always") -> dict:
    """A pod whose program is not its PID namespace's init: under qemu-user
    an illegal instruction is raised with kill(2) on itself, which the kernel
    drops for a namespace's init, so such a program would hang where a
    board's CPU fault kills it (testbed/README.md, "The board's CPU")."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"shareProcessNamespace": True, "terminationGracePeriodSeconds": 1, "restartPolicy": restart,
                     "containers": [{"name": "isavec", "image": image}]}}


def _apply(bed, ns: str, obj: dict) -> None:
    cp = subprocess.run([str(node.build.by_name()["kubectl"].path("kubectl")), f"--kubeconfig={bed.lay.kubeconfig}",
                         "-n", ns, "apply", "-f", "-"], input=json.dumps(obj), capture_output=True, text=True,
                        timeout=60)
    assert cp.returncode == 0, cp.stderr


def _exit_code(pod: dict) -> int | None:
    for cs in pod.get("status", {}).get("containerStatuses") or []:
        for state in (cs.get("state") or {}, cs.get("lastState") or {}):
            t = state.get("terminated")
            if t:
                return t.get("exitCode")
    return None


def _wait(bed, ns: str, name: str, ready, what: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    pod: dict = {}
    while time.monotonic() < deadline:
        pod = bed.kubectl_json("-n", ns, "get", "pod", name)
        if ready(pod):
            return pod
        time.sleep(2)
    raise AssertionError(f"pod {ns}/{name}: not {what} after {timeout:.0f} s: {json.dumps(pod.get('status'))}")


def run_on(program, cpu: str) -> tuple[int, str]:
    """(exit status as a shell reports it, stdout) of one run of ``program once`` under ``-cpu cpu``."""
    cp = subprocess.run([tool(QEMU), "-cpu", cpu, str(program), "once"], capture_output=True, text=True, timeout=120)
    return (cp.returncode if cp.returncode >= 0 else 128 - cp.returncode), cp.stdout


def _container_env(bed, pod: dict) -> list[str]:
    cid = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
    crictl = [str(node.build.by_name()["crictl"].path("crictl")),
              f"--runtime-endpoint=unix://{bed.lay.containerd_socket}"]
    info = json.loads(subprocess.run([*crictl, "inspect", cid], capture_output=True, text=True, check=True).stdout)
    return info["info"]["runtimeSpec"]["process"]["env"]


# -- the fixture program ------------------------------------------------------------------

def test_the_rva23_build_really_executes_vector_instructions(programs):
    """Only V differs between the two CPUs: the rva23u64 build dies without it."""
    rc, out = run_on(programs["rva23u64"], WITH_V)
    assert rc == 0 and "found at 4093 of 4096" in out, (rc, out)
    assert run_on(programs["rva23u64"], WITHOUT_V)[0] == SIGILL_EXIT
    assert run_on(programs["rva23u64"], config.board_cpu().model)[0] == SIGILL_EXIT


# -- on the bed -------------------------------------------------------------------------------

def test_check_board_flags_the_image_before_deploy(bed, upstream):
    cp = _archport("check", upstream, "--board", "root@127.0.0.1", *_door(bed), timeout=300)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    text = cp.stdout + cp.stderr
    assert BINARY in text and "rva23u64" in text, text
    doc = json.loads(_archport("check", upstream, "--board", "root@127.0.0.1", *_door(bed), "--json",
                               timeout=300).stdout)
    flagged = _isa_violations(doc)
    assert BINARY in flagged, doc
    assert {"v", "zba", "zbb"} <= set(flagged[BINARY]), flagged


def _isa_violations(doc) -> dict[str, list[str]]:
    """path -> the extensions the target lacks, from check's --json (any nesting)."""
    out: dict[str, list[str]] = {}

    def walk(x):
        if isinstance(x, dict):
            if "path" in x and isinstance(x.get("missing"), list):
                out[x["path"]] = x["missing"]
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(doc)
    return out


def test_the_pod_dies_with_sigill_and_doctor_names_the_cause(bed, test_namespace, upstream):
    t0 = time.monotonic()
    _apply(bed, test_namespace, _pod("isavec", upstream))
    _wait(bed, test_namespace, "isavec", lambda p: _exit_code(p) == SIGILL_EXIT, "dead of SIGILL")
    bed.record("rva23u64 pod to exit 132", time.monotonic() - t0)

    hub = f"docker.io=127.0.0.1:{paths.PORTS.upstream}"       # never a public registry from the tests
    cp = _archport("doctor", "--host", "root@127.0.0.1", *_door(bed), "--mirror", hub, "--mirror-only", "--json",
                   timeout=600)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    groups = [g for g in json.loads(cp.stdout)["groups"] if f"{test_namespace}/isavec" in g["pods"]]
    assert len(groups) == 1, cp.stdout
    g = groups[0]
    assert g["cause"] == "isa-mismatch", g
    said = "\n".join([g["title"], *g["evidence"], *g["fix"]])
    assert upstream in said and BINARY in said, said
    needs = next(e for e in g["evidence"] if BINARY in e and "needs" in e)
    assert all(x in needs for x in (" v", "zba", "zbb")), needs
    assert any(f.startswith(f"archport port {upstream} --arch riscv64 --rebuild --profile rva20 ")
               for f in g["fix"]), g["fix"]


def test_port_rebuild_at_the_boards_profile_gives_an_image_that_runs(bed, test_namespace, upstream, catalog,
                                                                     go_env, board_registry):
    dest = f"{board_registry.host}/ported"
    t0 = time.monotonic()
    cp = _archport("port", upstream, "--arch", "riscv64", "--rebuild", "--profile", "rva20", "--to", dest,
                   "--catalog", str(catalog), env=go_env, timeout=1800)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    bed.record("port --rebuild --profile rva20 (isavec)", time.monotonic() - t0)
    ported = f"{dest}/{REPO}:{VERSION}"
    cp = _archport("check", ported, "--board", "root@127.0.0.1", *_door(bed), timeout=300)
    assert cp.returncode == 0, cp.stdout + cp.stderr

    bed.kubectl("-n", test_namespace, "delete", "pod", "isavec", "--wait=false", check=False)
    _apply(bed, test_namespace, _pod("isavec-ported", ported))
    _wait(bed, test_namespace, "isavec-ported",
          lambda p: p.get("status", {}).get("phase") == "Running" and _exit_code(p) is None, "Running")
    deadline = time.monotonic() + 60
    while "found at 4093 of 4096" not in (logs := bed.kubectl("-n", test_namespace, "logs", "isavec-ported",
                                                              check=False).stdout):
        assert time.monotonic() < deadline, logs
        time.sleep(1)
    pod = bed.kubectl_json("-n", test_namespace, "get", "pod", "isavec-ported")
    assert _exit_code(pod) is None and pod["status"]["containerStatuses"][0]["restartCount"] == 0, pod["status"]


def test_the_cpu_model_reaches_the_boards_containers(bed, test_namespace, board_registry, programs,
                                                     tmp_path_factory):
    """An rva22u64 build runs under qemu-user's default CPU (it has Zba/Zbb)
    and dies on the board: the board's model, not qemu's default, ran it."""
    assert run_on(programs["rva22u64"], "rv64")[0] == 0
    ref = _push(board_registry, tmp_path_factory.mktemp("rva22"), "testbed/isavec-rva22:v1", programs["rva22u64"])
    # Never restarted: the kubelet removes a crash-looping pod's dead containers,
    # and this one's spec is read after it died.
    _apply(bed, test_namespace, _pod("isavec-rva22", ref, restart="Never"))
    pod = _wait(bed, test_namespace, "isavec-rva22", lambda p: _exit_code(p) == SIGILL_EXIT, "dead of SIGILL")
    assert f"{config.QEMU_CPU}={config.board_cpu().model}" in _container_env(bed, pod)
