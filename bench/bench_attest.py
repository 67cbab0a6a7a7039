#!/usr/bin/env python3
"""Benchmark: what the attachments (SBOM, provenance, signature) cost per
ported platform image, in time and bytes.

    PYTHONPATH=src:. python bench/bench_attest.py [--modules 150] [--files 400] [--runs 5] [--registry HOST:PORT]

A build record shaped like a real Go component's (one binary linking
``--modules`` modules, ``--files`` files in the image) is turned into the
two documents (:func:`archport.attest.make.attachments`), signed with a
fresh P-256 key, and attached to a platform manifest in a scratch OCI
layout and, with ``--registry`` (plain HTTP, loopback), in a registry
without the referrers API (the tag schema's read-modify-write).  Prints
the median time of each step and the bytes written per image.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from archport import reference  # noqa: E402
from archport.attest import attach, make, referrers, sign  # noqa: E402
from archport.attest.model import (Builder, BuildRecord, GoBinary, GoModule, ImageFile,  # noqa: E402
                                   Materials)
from archport.layout import LayoutSink  # noqa: E402
from archport.oci import Descriptor  # noqa: E402
from archport.oci.digest import Digest  # noqa: E402


def record(modules: int, files: int) -> BuildRecord:
    deps = tuple(GoModule(f"example.test/dep{i}", f"v1.{i}.0", "h1:" + "A" * 43 + "=") for i in range(modules))
    binary = GoBinary("/coredns", GoModule("example.test/main", "v1.0.0"), deps, "go1.24.2")
    image_files = tuple(ImageFile(f"/usr/share/f{i}", "sha256:" + hashlib.sha256(str(i).encode()).hexdigest(),
                                  hashlib.sha1(str(i).encode()).hexdigest()) for i in range(files))
    return BuildRecord("go", "docker.io/example/main@sha256:" + "1" * 64, "linux/riscv64", "rva20u64",
                       materials=Materials(go_binaries=(binary,), files=image_files), builder=Builder("0.1.0", "go1.24.2"))


def timed(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--modules", type=int, default=150)
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--registry", metavar="HOST:PORT")
    a = ap.parse_args()
    rec = record(a.modules, a.files)
    subject = Descriptor("application/vnd.oci.image.manifest.v1+json", Digest.of(b"subject"), 7)
    signer = sign.KeySigner(ec.generate_private_key(ec.SECP256R1()))
    t_docs, (sbom, prov) = timed(lambda: make.attachments(rec, str(subject.digest), "example/main"), a.runs)
    t_sign, bundle = timed(lambda: sign.bundle(prov.data, signer), a.runs)
    refs = referrers.build_all((sbom, prov, sign.attachment(bundle)), subject)
    with tempfile.TemporaryDirectory() as tmp:
        def to_layout():
            sink = LayoutSink(Path(tmp) / f"l{time.perf_counter_ns()}")
            got = attach.attach(sink, subject, refs)
            sink.commit()
            return got
        t_layout, got = timed(to_layout, a.runs)
    print(f"documents {t_docs * 1000:.1f} ms, signature {t_sign * 1000:.1f} ms, layout attach {t_layout * 1000:.1f} ms")
    print(f"bytes per image: SBOM {len(sbom.data)}, provenance {len(prov.data)}, signature {len(bundle)}, "
          f"with manifests and the empty config {got.bytes}")
    if a.registry:
        from archport.registry import Client, RegistrySink
        with Client() as client:
            def to_registry():
                ref = reference.parse(f"{a.registry}/bench/attest{time.perf_counter_ns()}:x")
                return attach.attach(RegistrySink(client, ref), subject, refs)
            t_reg, _ = timed(to_registry, a.runs)
        print(f"registry attach (tag schema) {t_reg * 1000:.1f} ms")


if __name__ == "__main__":
    main()
