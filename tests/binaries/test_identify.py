"""ELF identification from a file's first bytes: one machine table for all."""

from __future__ import annotations

import struct

import pytest

from archport.binaries import goarch_of, identify


def head(cls: int, endian: str, machine: int) -> bytes:
    order = "<" if endian == "little" else ">"
    return b"\x7fELF" + bytes([cls, 1 if endian == "little" else 2, 1]) + b"\0" * 9 + \
        struct.pack(order + "HH", 2, machine)


@pytest.mark.parametrize("cls,endian,machine,goarch", [
    (2, "little", 243, "riscv64"), (2, "little", 62, "amd64"), (2, "little", 183, "arm64"),
    (1, "little", 40, "arm"), (2, "little", 21, "ppc64le"), (2, "big", 21, "ppc64"),
    (2, "big", 22, "s390x"), (1, "little", 3, "386"), (1, "little", 243, None),
])
def test_the_header_names_the_goarch(cls, endian, machine, goarch):
    h = identify(head(cls, endian, machine))
    assert h is not None and h.goarch == goarch
    assert h.goarch == goarch_of(h.machine, h.elf_class, h.endianness)


def test_unknown_machines_and_malformed_heads():
    h = identify(head(2, "little", 0x7777))
    assert h is not None and h.goarch is None and h.describe() == "EM_30583 ELF64 little-endian"
    assert identify(b"\x7fELF") is None                      # too short
    assert identify(head(3, "little", 62)) is None            # bad class
    assert identify(b"#!/bin/sh\n" + b"\0" * 20) is None
