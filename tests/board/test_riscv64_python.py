"""archport on the board itself: ``pip install`` with a riscv64 Python, no compiler.

Users run doctor, collect, audit, deploy and verify on their RISC-V boards.
This test makes a Debian riscv64 root filesystem without emulation — its
packages (python3, python3-venv, ca-certificates and their dependencies) are
only extracted, by mmdebstrap's ``extract`` variant, from the Debian archive
this machine's apt uses — then runs that Python under qemu-user (binfmt_misc,
``F`` flag) in a chroot: it makes a venv, ``pip install``s the archport wheel
built here with its dependencies from PyPI, and runs ``archport doctor
--from-text`` on a pasted transcript.  No C compiler exists in that root, so
any dependency without a riscv64 wheel (zstandard) would fail the install.

The install is also light: what ``pip install`` adds to the venv's
site-packages (archport and its dependencies, without the ``build`` extra
that only ``port`` needs) stays under :data:`LIGHT_INSTALL` bytes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUITES = ("trixie", "forky")   # the first whose archive holds together wins
PACKAGES = "python3,python3-venv,ca-certificates"
# What a board's `pip install` of archport may add to a venv, in bytes (50 MB,
# SI): the packages' files and the bytecode pip compiles for them.
LIGHT_INSTALL = 50 * 1000 * 1000

PASTE = """\
$ kubectl get pods -n kube-system
NAME                                      READY   STATUS              RESTARTS   AGE
coredns-b96499967-7xk9p                   0/1     ContainerCreating   0          41m
metrics-server-668d979685-zt5lw           0/1     ImagePullBackOff    0          41m
$ kubectl describe pod -n kube-system metrics-server-668d979685-zt5lw
Name:             metrics-server-668d979685-zt5lw
Namespace:        kube-system
Events:
  Type     Reason   Age                From     Message
  ----     ------   ----               ----     -------
  Warning  Failed   39m (x4 over 41m)  kubelet  Failed to pull image "rancher/mirrored-metrics-server:v0.5.2": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/rancher/mirrored-metrics-server:v0.5.2": no match for platform in manifest: not found
"""


def _debian_archive() -> str:
    """The Debian archive this machine's apt is configured with (never a
    hard-coded host): the first deb822 or one-line source whose suites are
    Debian's main ones."""
    texts = []
    for p in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if p.is_file():
            texts.append(p.read_text(errors="replace"))
    for text in texts:
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and not any(s.endswith("-security") for s in suites.group(1).split()):
                return uris.group(1)
        for line in text.splitlines():
            m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if m and not m.group(2).endswith("-security"):
                return m.group(1)
    pytest.fail("no Debian archive in this machine's apt sources")


def _run(cmd: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="module")
def riscv64_root(tmp_path_factory, binfmt_riscv64) -> Path:
    if not shutil.which("mmdebstrap"):
        pytest.fail("mmdebstrap is required (scripts/test-deps.sh installs it)")
    archive = _debian_archive()
    failures = []
    for suite in SUITES:
        root = tmp_path_factory.mktemp(f"riscv64-{suite}") / "root"
        cp = _run(["mmdebstrap", "--mode=root", "--variant=extract", "--architectures=riscv64",
                   f"--include={PACKAGES}", suite, str(root), archive], timeout=900)
        if cp.returncode == 0:
            break
        failures.append(f"{suite}: {cp.stderr.strip().splitlines()[-1:]}")
    else:
        pytest.fail("no riscv64 suite could be extracted: " + "; ".join(failures))
    # What base-files and ca-certificates' maintainer scripts would do, done
    # natively because nothing is configured: the merged-/usr links, and the
    # CA bundle — this machine's, so that its TLS path to PyPI verifies.
    for d in ("bin", "sbin", "lib"):
        if not (root / d).exists():
            (root / d).symlink_to(f"usr/{d}")
    bundle = root / "etc/ssl/certs/ca-certificates.crt"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile("/etc/ssl/certs/ca-certificates.crt", bundle)
    shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
    assert not any((root / "usr/bin").glob("*gcc*")) and not (root / "usr/bin/cc").exists()
    return root


def _in_board(root: Path, *argv: str, timeout: float = 900, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/venv/bin:/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1"}
    return subprocess.run([shutil.which("chroot") or "/usr/sbin/chroot", str(root), *argv], env=env,
                          capture_output=True, text=True, timeout=timeout, input=stdin)


def _sizes(site: Path) -> dict[str, int]:
    """Bytes of the regular files under each top-level entry of ``site``
    (symbolic links counted as themselves, never followed)."""
    sizes = {}
    for entry in site.iterdir():
        if entry.is_symlink() or not entry.is_dir():
            sizes[entry.name] = entry.lstat().st_size
            continue
        total = 0
        for dirpath, _dirs, files in os.walk(entry):
            for name in files:
                st = os.lstat(os.path.join(dirpath, name))
                total += st.st_size if stat.S_ISREG(st.st_mode) else 0
        sizes[entry.name] = total
    return sizes


def _added(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """What an install added: the new top-level entries, and the growth of the
    shared ``__pycache__`` (top-level modules' bytecode).  The venv's own pip
    is left out: running it writes its own bytecode, which is not archport's."""
    return {name: size - before.get(name, 0) for name, size in after.items()
            if name not in before or name == "__pycache__"}


def _inside(root: Path, path: str) -> Path:
    """``path`` resolved as the chroot sees it (absolute links stay inside ``root``)."""
    here = root / path.lstrip("/")
    for _ in range(40):
        if not here.is_symlink():
            return here
        target = os.readlink(here)
        here = root / target.lstrip("/") if target.startswith("/") else here.parent / target
    raise AssertionError(f"{path}: too many links")


def test_pip_install_and_doctor_on_a_riscv64_python(riscv64_root, tmp_path):
    root = riscv64_root
    machine = _in_board(root, "/usr/bin/python3", "-c", "import platform; print(platform.machine())")
    assert machine.stdout.strip() == "riscv64", machine.stderr

    wheels = root / "wheels"
    wheels.mkdir()
    cp = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
               str(wheels), str(REPO)], timeout=300)
    assert cp.returncode == 0, cp.stderr
    wheel = next(wheels.glob("archport-*.whl")).name

    venv = _in_board(root, "/usr/bin/python3", "-m", "venv", "/venv")
    assert venv.returncode == 0, venv.stdout + venv.stderr
    site = next((root / "venv").glob("lib/python3*/site-packages"))
    before = _sizes(site)
    pip = _in_board(root, "/venv/bin/pip", "install", "-q", f"/wheels/{wheel}", timeout=1500)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert not list((root / "venv").glob("lib/python3*/site-packages/zstandard")), \
        "zstandard has no riscv64 wheel and must not be required there"

    # A light install: the C cross compiler is port's alone (archport[build]).
    added = _added(before, _sizes(site))
    assert "archport" in added, sorted(added)
    assert "ziglang" not in added, "ziglang is for port's c strategy (archport[build]), not a board's install"
    total = sum(added.values())
    largest = ", ".join(f"{name} {size / 1e6:.1f} MB"
                        for name, size in sorted(added.items(), key=lambda kv: -kv[1])[:8])
    assert total < LIGHT_INSTALL, \
        f"pip install archport adds {total / 1e6:.1f} MB on the board (limit {LIGHT_INSTALL / 1e6:.0f} MB): {largest}"

    (root / "paste.txt").write_text(PASTE)
    doc = _in_board(root, "/venv/bin/archport", "doctor", "--no-registry", "--from-text", "/paste.txt", "--json")
    assert "Traceback" not in doc.stderr, doc.stderr
    assert doc.returncode == 1, doc.stdout + doc.stderr          # problems found
    report = json.loads(doc.stdout)
    text = json.dumps(report)
    assert "metrics-server-668d979685-zt5lw" in text and "riscv64" in text, text

    # The same interpreter really is riscv64: the venv's python is the
    # extracted riscv64 ELF, run by qemu through binfmt_misc.
    with open(_inside(root, "/venv/bin/python3"), "rb") as f:
        head = f.read(20)
    assert head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == 243  # EM_RISCV


def test_zstd_absent_is_one_clear_line(monkeypatch):
    from archport import zstd
    from archport.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "zstandard", None)     # import now raises ImportError
    with pytest.raises(MissingDependency, match=r"pip install 'archport\[zstd\]'"):
        zstd.module()
    assert zstd.errors() == ()
