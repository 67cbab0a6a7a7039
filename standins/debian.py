"""A Debian-based stand-in for the upstream klipper-lb image, with a real dpkg database.

The real rancher/klipper-lb:v0.3.5 is alpine:3.12 + iptables + ip6tables +
an ``entry`` shell script, ``CMD ["entry"]``.  Alpine's repository is not
reachable here, so the stand-in has the same structure on Debian packages:

- Debian's own ``busybox-static`` and ``iptables`` for amd64 and arm64,
  fetched through archport's verified archive client from the machine's apt
  sources (the test's input, not what is under test), and unpacked here with
  ``dpkg-deb --fsys-tarfile`` (independent of archport's unpacking);
- ``var/lib/dpkg/status`` and ``info/<package>.list`` written as dpkg
  writes them for those two packages;
- what maintainer scripts and triggers made on a real system and no package
  owns: the iptables family as update-alternatives links to the legacy
  backend (Debian's iptables.postinst) and its alternatives database, and
  busybox applet links in ``/bin`` (as Alpine's busybox trigger makes them);
- ``/run`` and ``/tmp``, as every real image has them;
- ``/usr/bin/entry``: our own script with klipper-lb's behaviour (DNAT and
  MASQUERADE per ``DEST_IPS``, exit 1 when forwarding is off, then block
  on ``mkfifo /pause``), and ``/etc/passwd``/``/etc/group``.

The image is written with plain tarfile/json (:mod:`standins.images`) and
pushed with skopeo.
"""

from __future__ import annotations

import functools
import io
import subprocess
import tarfile
from pathlib import Path

import httpx

from archport.errors import ArchportError
from archport.fetch.debian import KEYRING, Archive, apt_sources, find_package

from . import images

SUITES = ("trixie", "forky")
CACHE = Path.home() / ".cache" / "archport-tests"
PACKAGES = ("busybox-static", "iptables")
APPLETS = ("sh", "cat", "echo", "grep", "mkfifo", "sleep", "test", "[", "timeout", "base64", "tr", "id")
ALTERNATIVES = ("iptables", "iptables-restore", "iptables-save", "ip6tables", "ip6tables-restore", "ip6tables-save")
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CONFIG = {"Cmd": ["entry"], "Env": [PATH_ENV]}

ENTRY = b"""#!/bin/sh
# Stand-in for klipper-lb's entry: forward SRC_PORT/DEST_PROTO to DEST_PORT
# on each of DEST_IPS with DNAT, masquerade the replies, then wait forever.
set -e
trap exit TERM INT
for dest_ip in ${DEST_IPS}; do
    if echo "${dest_ip}" | grep -q ":"; then
        [ "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1 ] || { echo "ipv6 forwarding is off"; exit 1; }
        ip6tables -t nat -I PREROUTING ! -s "${dest_ip}/128" -p "${DEST_PROTO}" --dport "${SRC_PORT}" \\
            -j DNAT --to "[${dest_ip}]:${DEST_PORT}"
        ip6tables -t nat -I POSTROUTING -d "${dest_ip}/128" -p "${DEST_PROTO}" -j MASQUERADE
    else
        [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || { echo "ipv4 forwarding is off"; exit 1; }
        iptables -t nat -I PREROUTING ! -s "${dest_ip}/32" -p "${DEST_PROTO}" --dport "${SRC_PORT}" \\
            -j DNAT --to "${dest_ip}:${DEST_PORT}"
        iptables -t nat -I POSTROUTING -d "${dest_ip}/32" -p "${DEST_PROTO}" -j MASQUERADE
    fi
done
[ -e /pause ] || mkfifo /pause
echo "rules in place; waiting"
</pause
"""

# traefik's /entrypoint.sh: our own script with the official one's
# behaviour: options alone run traefik with them; a traefik subcommand runs
# through traefik; anything else runs as a command.
TRAEFIK_ENTRYPOINT = b"""#!/bin/sh
set -e
case "$1" in
    -*) set -- traefik "$@" ;;
esac
if [ "$1" != traefik ] && traefik "$1" --help >/dev/null 2>&1; then
    set -- traefik "$@"
fi
exec "$@"
"""

PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
GROUP = b"root:x:0:\nnogroup:x:65534:\n"


@functools.cache
def suite() -> str:
    """trixie, or forky when trixie's signed chain does not hold right now
    (a mirror caught mid-sync): the suite the stand-ins and the ports use,
    passed to ``port --debian-suite``."""
    src = apt_sources()[0]
    problems = []
    for name in SUITES:
        try:
            with httpx.Client(timeout=httpx.Timeout(120.0, connect=15.0), follow_redirects=True) as http:
                archive = Archive(src.uri, CACHE, http, src.signed_by or KEYRING)
                rel = archive.release(name)
                for arch in ("amd64", "arm64", "riscv64"):
                    archive.packages(rel, name, arch)
            return name
        except ArchportError as e:
            problems.append(f"{name}: {e}")
    raise AssertionError("no Debian suite's chain holds: " + "; ".join(problems))


def fetch_debs(arch: str, packages: tuple[str, ...] = PACKAGES) -> list[tuple[dict[str, str], Path]]:
    """(Packages stanza, verified .deb) of each of ``packages`` for ``arch``."""
    src = apt_sources()[0]
    with httpx.Client(timeout=httpx.Timeout(120.0, connect=15.0), follow_redirects=True) as http:
        archive = Archive(src.uri, CACHE, http, src.signed_by or KEYRING)
        index = archive.packages(archive.release(suite()), suite(), arch)
        out = []
        for name in packages:
            stanza = find_package(index, name)
            assert stanza is not None, f"{suite()}/{arch} has no {name}"
            out.append((stanza, archive.deb(stanza)))
    return out


def _fsys(deb: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True).stdout
    out = []
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for m in tar:
            data = tar.extractfile(m).read() if m.isfile() else b""
            out.append((m, data))
    return out


def _status(stanza: dict[str, str]) -> str:
    keys = ("Package", "Priority", "Section", "Installed-Size", "Maintainer", "Architecture", "Multi-Arch",
            "Source", "Version", "Replaces", "Provides", "Pre-Depends", "Depends", "Recommends", "Suggests",
            "Breaks", "Conflicts", "Description")
    lines = []
    for k in keys:
        if k in stanza:
            lines.append(f"{k}: {stanza[k]}".replace("\n", "\n "))
            if k == "Package":
                lines.append("Status: install ok installed")
    return "\n".join(lines) + "\n"


def debian_root(arch: str, packages: tuple[str, ...]) -> dict:
    """The files of ``packages`` for ``arch`` plus the dpkg database for them."""
    files: dict = {}
    status = []
    for stanza, deb in fetch_debs(arch, packages):
        listing = ["/."]
        for m, data in _fsys(deb):
            path = m.name.removeprefix("./").rstrip("/")
            if not path:
                continue
            listing.append("/" + path)
            if m.issym():
                files[path] = "->" + m.linkname
            elif m.isfile():
                files[path] = (data, m.mode & 0o7777)
        status.append(_status(stanza))
        files[f"var/lib/dpkg/info/{stanza['Package']}.list"] = ("\n".join(listing) + "\n").encode()
    files["var/lib/dpkg/status"] = "\n".join(status).encode()
    for applet in APPLETS:
        files[f"bin/{applet}"] = "->/usr/bin/busybox"
    # Directories every real image has (Alpine's alpine-baselayout, Debian's
    # base-files): iptables takes its lock in /run (/run/xtables.lock).
    files["run"] = ("dir", 0o755, 0, 0)
    files["tmp"] = ("dir", 0o1777, 0, 0)
    return files


def root_files(arch: str) -> dict:
    """klipper-lb's root filesystem for ``arch``."""
    files = debian_root(arch, PACKAGES)
    for cmd in ALTERNATIVES:                    # iptables.postinst: iptables-restore is iptables-legacy-restore
        base, _, slave = cmd.partition("-")
        files[f"usr/sbin/{cmd}"] = f"->/etc/alternatives/{cmd}"
        files[f"etc/alternatives/{cmd}"] = f"->/usr/sbin/{base}-legacy" + (f"-{slave}" if slave else "")
    files["var/lib/dpkg/alternatives/iptables"] = b"auto\n/usr/sbin/iptables\n\n/usr/sbin/iptables-legacy\n10\n"
    files["usr/bin/entry"] = (ENTRY, 0o755)
    files["etc/passwd"] = PASSWD
    files["etc/group"] = GROUP
    return files


def push(tmp: Path, registry, repo_tag: str, per_arch: dict[str, dict], config: dict) -> None:
    """``per_arch`` (arch -> files) as one index, pushed to ``registry`` (anything with a ``host``)."""
    images.push_index(tmp, registry.host, repo_tag, per_arch, config,
                      layout_name=repo_tag.replace("/", "_").replace(":", "_"))


def push_standin(tmp: Path, registry, repo_tag: str = "rancher/klipper-lb:v0.3.5",
                 arches: tuple[str, ...] = ("amd64", "arm64")) -> None:
    push(tmp, registry, repo_tag, {a: root_files(a) for a in arches}, CONFIG)


# What ServiceLB's DaemonSet runs for a Service port (k3s pkg/servicelb
# newDaemonSet: the image's CMD with the port's env and NET_ADMIN), plus the
# commands a user would exec in it; ``check`` proves these uses of the image.
SVCLB = """\
apiVersion: v1
kind: Pod
metadata:
  name: svclb-traefik-probe
  namespace: kube-system
spec:
  containers:
  - name: lb-port-80
    image: rancher/klipper-lb:v0.3.5
    env:
    - {name: SRC_PORT, value: "80"}
    - {name: DEST_PROTO, value: TCP}
    - {name: DEST_PORT, value: "80"}
    - {name: DEST_IPS, value: 10.43.0.10}
    securityContext:
      capabilities:
        add: [NET_ADMIN]
  - name: rules
    image: rancher/klipper-lb:v0.3.5
    command: [iptables, -t, nat, -S]
  - name: save
    image: rancher/klipper-lb:v0.3.5
    command: [ip6tables-save]
"""
