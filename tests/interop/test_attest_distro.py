"""syft agrees with archport's SBOM on a distro-shaped image's Debian
packages: the Debian stand-in of klipper-lb (standins.debian: real Debian
packages with a real dpkg database) transplanted to riscv64 through the CLI
into an ``oci:`` layout with its attachments; syft reads the riscv64 image
from that layout on its own (its dpkg cataloger reads /var/lib/dpkg) and
finds exactly the (package, version) pairs the SBOM lists as ``pkg:deb``.

syft also reports, as type ``deb``, what a shared library's ELF package note
says (the ``.note.package`` FDO packaging metadata, naming the SOURCE package:
Debian's gcc-14 build writes one into libgcc_s.so.1, naming ``gcc-14``).  That is no installed package
but the source of one (libgcc-s1), so it is checked as such: each of those is
the dpkg database's ``Source`` of a package the SBOM lists, at its version."""

from __future__ import annotations

import json
import os

import pytest

from archport.attest import read as R
from archport.layout import LayoutSource
from archport.oci import Descriptor
from archport.oci.digest import Digest
from standins.debian import CACHE, push_standin, suite
from tests.support.cli import archport

from .test_attest import _packages

REF = "rancher/klipper-lb:v0.3.5"


@pytest.fixture(scope="module")
def ported(registry_plain, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attest-distro")
    push_standin(tmp / "standin", registry_plain, REF)
    layout = tmp / "layout"
    # --no-smoke: the kernel smoke is tests/transplant's; this is about what is attached.
    cp = archport("port", REF, "--arch", "riscv64", "--strategy", "transplant", "--to", f"oci:{layout}",
                  "--mirror", f"docker.io={registry_plain.host}", "--mirror-only", "--cache-dir", str(CACHE / "port"),
                  "--debian-suite", suite(), "--no-smoke", "--json", env=dict(os.environ), expect=None, timeout=1800)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported" and r["strategy"] == "transplant", r
    return r, layout


def _sbom_debs(layout, digest: str) -> set[tuple[str, str]]:
    subject = Descriptor("application/vnd.oci.image.manifest.v1+json", Digest.parse(digest), 0)
    return _packages(R.sbom(R.attachments(LayoutSource(layout, REF), subject)[0]))["deb"]


def _syft_debs(scanned: dict) -> tuple[set[tuple[str, str]], set[tuple[str, str]], set[tuple[str, str]]]:
    """syft's Debian findings: (installed packages from the dpkg database,
    their (source, version) pairs, the source packages ELF notes name)."""
    debs = [a for a in scanned["artifacts"] if a["type"] == "deb"]
    installed = [a for a in debs if a["foundBy"] == "dpkg-db-cataloger"]
    notes = {(a["name"], a["version"]) for a in debs if a["foundBy"] == "elf-binary-package-cataloger"}
    assert len(installed) + len(notes) == len(debs), sorted({a["foundBy"] for a in debs})
    sources = {(a["metadata"].get("source") or a["name"], a["version"]) for a in installed}
    return {(a["name"], a["version"]) for a in installed}, sources, notes


def test_syft_finds_the_debian_packages_the_sbom_lists(ported, syft):
    r, layout = ported
    scanned = json.loads(syft("scan", f"oci-dir:{layout}", "--platform", "linux/riscv64", "-o", "syft-json",
                              "-q").stdout)
    assert scanned["source"]["metadata"]["manifestDigest"] == r["platformDigest"], scanned["source"]
    (theirs, sources, notes), ours = _syft_debs(scanned), _sbom_debs(layout, r["platformDigest"])
    assert {"busybox-static", "iptables", "libc6"} <= {name for name, _ in ours}, sorted(ours)
    assert all(version for _, version in ours), sorted(ours)
    assert ours == theirs, (sorted(ours - theirs), sorted(theirs - ours))
    assert notes <= sources, sorted(notes - sources)
