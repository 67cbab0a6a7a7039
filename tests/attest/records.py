"""A build record with one of every material, for the attestation tests."""

from __future__ import annotations

import base64
import hashlib

from archport.attest.model import (Asset, Builder, BuildRecord, CarriedFile, DistroPackage, Fixup, GoBinary,
                                   GoModule, ImageFile, Materials, Substitution)


def sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def h1(text: str) -> str:
    return "h1:" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


SUBJECT = sha("platform manifest")
NAME = "127.0.0.1:5000/k3s-riscv64/rancher/mirrored-example-hello"

HELLO = GoBinary("/hello", GoModule("example.test/hello", "v1.2.3+dirty"),
                 (GoModule("example.test/netx", "v0.1.0", h1("netx")),
                  GoModule("golang.org/x/sys", "v0.1.0", h1("sys"), replaced_by="example.test/sys@v0.1.1")),
                 "go1.26.8")


def full() -> BuildRecord:
    return BuildRecord(
        strategy="go", upstream=f"docker.io/rancher/mirrored-example-hello@{sha('upstream index')}",
        platform="linux/riscv64", isa_profile="rva20u64", catalog_entry="example-hello", upstream_tag="v1.2.3",
        created="2022-01-01T00:00:00Z",
        substitutions=(Substitution("example.test/hello", "v1.2.3", "v1.2.4", "v1.2.3 refused by the proxy"),),
        fixups=(Fixup("netx-linkname-recvmsg", ("example.test/netx@v0.1.0",), "proactive"),),
        materials=Materials(
            go_binaries=(HELLO,),
            packages=(DistroPackage("debian", "libc6", "2.36-9+deb12u4", "riscv64", sha("libc6"),
                                    "http://127.0.0.1:8080/debian/dists/bookworm/InRelease", sha("inrelease")),
                      DistroPackage("alpine", "musl", "1.2.5-r0", "riscv64", "Q1abcdefghijklmnopqrstuvwxyz0=",
                                    "http://127.0.0.1:8080/alpine/v3.21/main/riscv64/APKINDEX.tar.gz",
                                    sha("apkindex"))),
            assets=(Asset("https://releases.example.test/v1.0/tool-linux-riscv64", sha("asset"),
                          "http://127.0.0.1:8080/releases/v1.0/sha256sum.txt"),),
            carried=(CarriedFile("/etc/ssl/certs/ca-certificates.crt", sha("ca"), sha("upstream layer")),),
            base=f"docker.io/library/busybox@{sha('base')}",
            sources=(f"http://127.0.0.1:8080/pause.c#{sha('pause.c')}",),
            files=(ImageFile("/hello", sha("hello binary"), hashlib.sha1(b"hello binary").hexdigest()),
                   ImageFile("/etc/ssl/certs/ca-certificates.crt", sha("ca"), hashlib.sha1(b"ca").hexdigest()))),
        builder=Builder("0.1.0", go="go1.26.8"))
