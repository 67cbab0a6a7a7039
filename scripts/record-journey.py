#!/usr/bin/env python3
"""Record the journey on the riscv64 test bed as a text capture.

Runs the steps of docs/testbed.md on a new board — doctor, audit, port,
deploy, verify, with ``kubectl get`` before and after — each command exactly
as it is shown, through bash, with the variables ``scripts/testbed.sh env``
sets.  Writes every command, its real output (stdout and stderr, as a
terminal of 80 columns would get them without colour), its exit code and
its duration to docs/journey.txt (``--out``).

Run it as root, from the repository, with the Python archport is installed
into, when no test session uses the bed: it purges the board first, and again
at the end unless `--keep` (the bed's tests expect a new node).

    PATH=/usr/local/go/bin:$PATH python3 scripts/record-journey.py

Exit 0 when every step ended as the journey expects (doctor, audit and port
exit 1, deploy and verify 0, the system pods running from riscv64 images in
between), 1 otherwise (the capture is written either way, and says which
step differed), 2 when it cannot start.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from standins.gomodules import proxies_only  # noqa: E402
from testbed import build, paths, sessions  # noqa: E402

# What the user sets up once, shown at the top of the capture and run before
# every step (the same shell lines as docs/testbed.md).
PRELUDE = ('eval "$(scripts/testbed.sh env)"',
           'ssh="-i $BOARD_SSH_KEY -o UserKnownHostsFile=$BOARD_KNOWN_HOSTS"')

# (command as typed, the exit code the journey expects, timeout in seconds)
BEFORE = (("kubectl get nodes -L kubernetes.io/arch", 0, 60),
          ("kubectl get pods -n kube-system", 0, 60))
STEPS = (
    ('archport doctor --host "$BOARD_SSH" $ssh --no-registry', 1, 600),
    ('archport audit --host "$BOARD_SSH" $ssh --mirror docker.io=$UPSTREAM --mirror-only', 1, 600),
    ("archport port --k3s v1.24.2 --arch riscv64 --to $REGISTRY --mirror docker.io=$UPSTREAM --mirror-only",
     1, 7200),
    ('archport deploy --host "$BOARD_SSH" $ssh --registry $REGISTRY --restart-pods --yes', 0, 900),
)
AFTER = (("kubectl get pods -n kube-system", 0, 60),
         ('archport verify --host "$BOARD_SSH" $ssh', 0, 1800))
# The pods whose images the journey ports and that run (not jobs or helpers).
RUNNING = ("rancher/mirrored-coredns-coredns", "rancher/local-path-provisioner", "rancher/mirrored-metrics-server")


def fail(message: str) -> None:
    print(f"record-journey: {message}", file=sys.stderr)
    sys.exit(2)


def note(message: str) -> None:
    print(f"record-journey: {message}", file=sys.stderr, flush=True)


def bed_script(*args: str, timeout: float) -> None:
    cp = subprocess.run(["bash", str(REPO / "scripts/testbed.sh"), *args], cwd=REPO, timeout=timeout)
    if cp.returncode != 0:
        fail(f"scripts/testbed.sh {' '.join(args)} exited {cp.returncode}")


def environment() -> dict[str, str]:
    """What a user's shell holds after the prelude, plus the archport and
    kubectl this run uses on PATH, 80 columns, and a Go module proxy without
    ``direct`` (nothing fetched from the modules' own hosts)."""
    env = dict(os.environ)
    archport = Path(sys.executable).parent / "archport"
    if not archport.is_file():
        fail(f"no archport beside {sys.executable}: run this with the Python archport is installed into")
    kubectl = build.by_name()["kubectl"].path("kubectl")
    go_dir = "/usr/local/go/bin"
    env["PATH"] = os.pathsep.join([str(archport.parent), str(kubectl.parent), go_dir, env.get("PATH", "")])
    out = subprocess.run(["bash", str(REPO / "scripts/testbed.sh"), "env"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    for line in out.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = shlex.split(value)[0] if value else ""
    env["ssh"] = f"-i {env['BOARD_SSH_KEY']} -o UserKnownHostsFile={env['BOARD_KNOWN_HOSTS']}"
    goproxy = subprocess.run(["go", "env", "GOPROXY"], env=env, capture_output=True, text=True,
                             timeout=60, check=True).stdout.strip()
    env["GOPROXY"] = proxies_only(goproxy)
    env.update(COLUMNS="80", LINES="50", NO_COLOR="1")
    env.pop("FORCE_COLOR", None)
    return env


def system_pods(env: dict[str, str]) -> list[dict]:
    cp = subprocess.run(["kubectl", "get", "pods", "-n", "kube-system", "-o", "json"], env=env,
                        capture_output=True, text=True, timeout=60)
    if cp.returncode != 0:
        return []
    return [p for p in json.loads(cp.stdout)["items"] if not p["metadata"].get("deletionTimestamp")]


def stuck(pod: dict) -> bool:
    """Waiting on an image: its own, or the sandbox's (ContainerCreating)."""
    waits = [((c.get("state") or {}).get("waiting") or {}).get("reason", "")
             for c in (pod["status"].get("containerStatuses") or [])]
    return any(w in ("ImagePullBackOff", "ErrImagePull") for w in waits) or (
        pod["status"].get("phase") == "Pending" and (not waits or "ContainerCreating" in waits))


def running(pods: list[dict], repo: str) -> bool:
    return any(repo in cs.get("image", "") and cs.get("ready") and "running" in (cs.get("state") or {})
               for p in pods for cs in (p["status"].get("containerStatuses") or []))


def wait(what: str, done, env: dict[str, str], limit: float) -> bool:
    note(f"waiting for {what}")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        pods = system_pods(env)
        if done(pods):
            return True
        time.sleep(5)
    note(f"gave up waiting for {what} after {limit:.0f} s")
    return False


class Capture:
    def __init__(self, env: dict[str, str]):
        self.env = env
        self.lines: list[str] = []
        self.differed: list[str] = []

    def run(self, command: str, expect: int, timeout: float) -> None:
        note(command)
        t0 = time.monotonic()
        # Its own process group, so that a step that runs too long is
        # stopped with everything it started.
        proc = subprocess.Popen(["bash", "-c", command], cwd=REPO, env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            output, _ = proc.communicate(timeout=timeout)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            output, _ = proc.communicate()
            code = None
        seconds = time.monotonic() - t0
        self.lines += [f"$ {command}", *output.rstrip("\n").splitlines()]
        if code is None:
            self.lines.append(f"[stopped after {seconds:.0f} s]")
            self.differed.append(f"{command}: stopped after {timeout:.0f} s")
        else:
            self.lines.append(f"[exit {code}, {seconds:.0f} s]")
            if code != expect:
                self.differed.append(f"{command}: exit {code}, the journey expects {expect}")
        self.lines.append("")

    def comment(self, text: str) -> None:
        self.lines += [f"# {text}", ""]


# The one change made to what the commands print: the project's files name no
# public registry's or package server's host, so the hosts the run reached or
# quoted (containerd's endpoint for docker.io, the Go module proxy, the Debian
# archive) are written as these placeholders.  The header says so.
HOSTS = (("registry-1." + "docker.io", "<docker.io's endpoint>"),
         ("proxy." + "golang.org", "<the Go module proxy>"),
         ("deb." + "debian.org", "<a Debian mirror>"))


def placeholders(text: str) -> str:
    for host, placeholder in HOSTS:
        text = text.replace(host, placeholder)
    return text


def header(env: dict[str, str]) -> list[str]:
    version = subprocess.run(["archport", "--version"], env=env, capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        "# archport's journey on a riscv64 k3s node, recorded by scripts/record-journey.py:",
        "# every command as typed, its real output, its exit code and how long it took.",
        f"# {when}, {version}, commit {commit}.",
        "#",
        "# The node is archport's test bed (docs/testbed.md): a new k3s v1.24.2 node, traefik",
        "# disabled, whose kubelet and containers run riscv64 code under qemu-user.  UPSTREAM",
        "# plays docker.io: it serves k3s's eight system images for amd64 and arm64 only, as",
        "# upstream does; REGISTRY is an empty registry the board can reach.  One thing is",
        "# changed in what the commands printed: the hosts of docker.io's endpoint, the Go",
        "# module proxy and the Debian archive read <docker.io's endpoint>, <the Go module",
        "# proxy> and <a Debian mirror>.",
        "",
        *[f"$ {line}" for line in PRELUDE],
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(REPO / "docs/journey.txt"), help="the capture (default docs/journey.txt)")
    ap.add_argument("--keep", action="store_true",
                    help="leave the board up as the journey left it (default: purge it, so the next test "
                         "session starts from a new node, as the bed's tests expect)")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        fail("run as root: the bed's node and port's smoke runs need it")
    users = sessions.other_users(paths.layout())
    if users:
        fail(f"a test session uses the bed (pids {', '.join(map(str, users))}); run this when it is done")

    note("a new board: scripts/testbed.sh purge, then up --disable traefik (cold: builds the bed first)")
    bed_script("purge", timeout=600)
    bed_script("up", "--disable", "traefik", timeout=3 * 3600)
    env = environment()

    cap = Capture(env)
    settled = wait("every kube-system pod stuck on an image",
                   lambda pods: len([p for p in pods if "helper-pod" not in p["metadata"]["name"]]) >= 3
                   and all(stuck(p) for p in pods if "helper-pod" not in p["metadata"]["name"]), env, 300)
    if not settled:
        cap.differed.append("the kube-system pods never all waited on their images")
    for command, expect, timeout in BEFORE + STEPS:
        cap.run(command, expect, timeout)
    if not wait("coredns, local-path-provisioner and metrics-server running from riscv64 images",
                lambda pods: all(running(pods, r) for r in RUNNING), env, 600):
        cap.differed.append("the system pods were not all running 10 minutes after deploy")
    for command, expect, timeout in AFTER:
        cap.run(command, expect, timeout)
    if cap.differed:
        cap.comment("This run differed from the journey: " + "; ".join(cap.differed))

    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    text = "\n".join(header(env) + cap.lines).rstrip("\n") + "\n"
    tmp.write_text(placeholders(text))
    tmp.replace(out)
    note(f"wrote {out}")
    if not a.keep:
        note("purging the board (--keep leaves it up)")
        bed_script("purge", timeout=600)
    for d in cap.differed:
        note(f"differed: {d}")
    return 1 if cap.differed else 0


if __name__ == "__main__":
    sys.exit(main())
