"""The runtime pulls what a riscv64 board pulls and runs it under qemu-user."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from testbed import images, node
from standins import images as timages

UNAME_GO = """package main

// Prints the machine the kernel (or qemu-user) reports, like uname -m.
import (
	"fmt"
	"os"
	"syscall"
	"time"
)

func machine() string {
	var u syscall.Utsname
	syscall.Uname(&u)
	b := []byte{}
	for _, c := range u.Machine {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-m" {
		fmt.Println(machine())
		return
	}
	for {
		fmt.Println("machine:", machine())
		time.Sleep(10 * time.Second)
	}
}
"""
EM_RISCV = 243      # ELF e_machine of RISC-V (System V ABI, RISC-V ELF psABI)


def _elf_machine(path: Path) -> int:
    head = path.read_bytes()[:20]
    assert head[:4] == b"\x7fELF", path
    return int.from_bytes(head[18:20], "little")


def _pod(name: str, image: str) -> str:
    return json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": image, "imagePullPolicy": "Always"}],
                 "automountServiceAccountToken": False, "terminationGracePeriodSeconds": 1},
    })


def _apply(bed, ns: str, doc: str) -> None:
    cp = node.kubectl(["-n", ns, "apply", "-f", "-"], bed.lay.root, input=doc)
    assert cp.returncode == 0, cp.stderr


def _wait_pod(bed, ns: str, name: str, pred, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    pod = {}
    while time.monotonic() < deadline:
        pod = bed.kubectl_json("-n", ns, "get", "pod", name)
        if pred(pod):
            return pod
        time.sleep(1)
    raise AssertionError(f"pod {name}: condition not met in {timeout} s: {json.dumps(pod.get('status'), indent=1)}")


def _waiting_reason(pod: dict) -> str | None:
    for cs in pod.get("status", {}).get("containerStatuses", []):
        w = cs.get("state", {}).get("waiting")
        if w:
            return w.get("reason")
    return None


@pytest.fixture(scope="module")
def amd64_only(board_registry, tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("amd64-only")
    top, imgs = timages.multiarch(tmp, "amd64only", platforms=("linux/amd64",))
    lay = timages.write_layout(tmp / "layout", {"v1": (top, imgs)})
    ref = f"{board_registry.host}/testbed/amd64-only:v1"
    timages.push(lay, "v1", ref)
    return ref


@pytest.fixture(scope="module")
def uname_image(board_registry, tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("uname")
    bins = {f"linux/{a}": images.go_program(UNAME_GO, a, tmp / f"uname-{a}").read_bytes()
            for a in ("amd64", "riscv64")}
    lay = images.layout(tmp / "layout", "/uname", bins, "uname:v1")
    ref = f"{board_registry.host}/testbed/uname:v1"
    timages.push(lay, "v1", ref)
    return ref


def test_amd64_only_image_fails_as_on_a_board(bed, test_namespace, amd64_only):
    t0 = time.monotonic()
    _apply(bed, test_namespace, _pod("amd64-only", amd64_only))
    _wait_pod(bed, test_namespace, "amd64-only", lambda p: _waiting_reason(p) == "ImagePullBackOff")
    bed.record("amd64-only pod to ImagePullBackOff", time.monotonic() - t0)
    events = bed.kubectl_json("-n", test_namespace, "get", "events",
                              "--field-selector", "involvedObject.name=amd64-only")
    messages = [e.get("message", "") for e in events["items"]]
    want = f'failed to pull and unpack image "{amd64_only}"'
    assert any(want in m and "no match for platform in manifest: not found" in m for m in messages), messages


def test_riscv64_image_runs_under_qemu(bed, test_namespace, uname_image):
    t0 = time.monotonic()
    _apply(bed, test_namespace, _pod("uname", uname_image))
    pod = _wait_pod(bed, test_namespace, "uname",
                    lambda p: p.get("status", {}).get("phase") == "Running", timeout=240)
    bed.record("riscv64 pod (new image) to Running", time.monotonic() - t0)

    out = bed.kubectl("-n", test_namespace, "exec", "uname", "--", "/uname", "-m").stdout
    assert out.strip() == "riscv64"
    deadline = time.monotonic() + 30
    while "machine: riscv64" not in (logs := bed.kubectl("-n", test_namespace, "logs", "uname").stdout):
        assert time.monotonic() < deadline, logs
        time.sleep(1)

    # The container's process, seen from the host: its program is a riscv64
    # ELF, run by the qemu interpreter binfmt_misc registered.
    cid = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
    crictl = [str(node.build.by_name()["crictl"].path("crictl")),
              f"--runtime-endpoint=unix://{bed.lay.containerd_socket}"]
    info = json.loads(subprocess.run([*crictl, "inspect", cid], capture_output=True, text=True, check=True).stdout)
    pid = info["info"]["pid"]
    assert _elf_machine(Path(f"/proc/{pid}/root/uname")) == EM_RISCV
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"/uname" in cmdline
    assert "qemu" in Path(f"/proc/{pid}/exe").resolve().name or "binfmt" in Path(f"/proc/{pid}/exe").resolve().name
