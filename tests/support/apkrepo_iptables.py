"""Stand-ins for Alpine's riscv64 iptables packages, for the loopback
repository of :mod:`tests.support.apkrepo`: Debian's riscv64 iptables and
its shared-library closure, resolved from Debian's Packages index, packaged
under Alpine's names (iptables, ip6tables, iptables-legacy, libmnl, …, and
``glibc-stand-in``) and Alpine's layout (the commands in ``/sbin``).

Alpine's repository is unreachable here, so these are not Alpine's packages
(which are musl builds): they are Debian's glibc builds in Alpine's shape,
enough for the transplant onto Alpine to resolve, verify and unpack them and
for the result to run iptables in a riscv64 kernel.
"""

from __future__ import annotations

import fnmatch
import re

from tests.support.apkrepo import Package, alpine_version


#: The stand-ins, each carrying the files of the Debian packages named (fnmatch
#: patterns), and the soname its dependents name it by ("" when they name it).
IPTABLES_STANDINS = {
    "glibc-stand-in": (("libc6", "libgcc-s1", "gcc-*-base"), "libc.so.6"),
    "libmnl": (("libmnl0",), "libmnl.so.0"),
    "libnftnl": (("libnftnl11",), "libnftnl.so.11"),
    "libnfnetlink": (("libnfnetlink0",), "libnfnetlink.so.0"),
    "libnetfilter_conntrack": (("libnetfilter-conntrack3",), "libnetfilter_conntrack.so.3"),
    "iptables": (("iptables", "libxtables12", "libip4tc2", "libip6tc2"), ""),
}
#: In the closure of Debian's iptables but carried by no stand-in: netbase is
#: /etc/protocols and friends (Alpine's alpine-baselayout-data has them, and
#: iptables knows tcp, udp and the other common protocols without the file).
IPTABLES_LEFT_OUT = ("netbase",)
INTERPRETER = "ld-linux-riscv64-lp64d.so.1"       # PT_INTERP of Debian's riscv64 binaries, under /lib
MULTIARCH_LIB = "usr/lib/riscv64-linux-gnu"


def debian_closure(arch: str, top: str) -> list[dict[str, str]]:
    """The stanzas of ``top`` and of what its Pre-Depends and Depends pull in,
    recursively, from the Packages index :func:`standins.debian.fetch_debs`
    reads (the first of each ``|`` alternative; one index is self-consistent,
    so versions are not solved)."""
    import httpx

    from archport.fetch.debian import KEYRING, Archive, apt_sources, find_package
    from standins.debian import CACHE, suite

    src = apt_sources()[0]
    with httpx.Client(timeout=httpx.Timeout(120.0, connect=15.0), follow_redirects=True) as http:
        archive = Archive(src.uri, CACHE, http, src.signed_by or KEYRING)
        index = archive.packages(archive.release(suite()), suite(), arch)
    out: dict[str, dict[str, str]] = {}
    todo = [top]
    while todo:
        name = todo.pop(0)
        if name in out:
            continue
        stanza = find_package(index, name)
        assert stanza is not None, f"{suite()}/{arch} has no {name} (a virtual package? name its provider)"
        out[name] = stanza
        for rel in ",".join(stanza.get(f, "") for f in ("Pre-Depends", "Depends")).split(","):
            first = rel.split("|", 1)[0].strip()
            if first:
                todo.append(re.split(r"[\s(:]", first, maxsplit=1)[0])
    return list(out.values())


def _sonames(files: dict) -> tuple[str, ...]:
    """``so:NAME=VERSION`` for each ``lib*.so.N`` in the multiarch directory
    (the version from the file a soname link points at, as abuild reads it)."""
    out = []
    for path, value in sorted(files.items()):
        parent, _, base = path.rpartition("/")
        if parent != MULTIARCH_LIB or not re.fullmatch(r"lib.+\.so\.\d+", base):
            continue
        target = value[2:].rsplit("/", 1)[-1] if isinstance(value, str) else base
        stem = base[:base.index(".so.") + 4]
        out.append(f"so:{base}={(target if target.startswith(stem) else base).removeprefix(stem)}")
    return tuple(out)


def riscv64_iptables_packages() -> list[Package]:
    """Stand-ins for Alpine's iptables, ip6tables, iptables-legacy and their
    libraries, with Debian's riscv64 iptables and its shared-library closure
    (resolved from Debian's Packages index) as content, under Alpine's names
    and layout: the commands in ``/sbin`` (``iptables`` and ``ip6tables``
    linked to ``xtables-nft-multi``, nft being Alpine's default since
    iptables 1.8.9-r4; the legacy backend in ``iptables-legacy``), ``D:`` as
    ``so:`` names the library stand-ins provide.  The libraries and the
    xtables extensions stay at Debian's paths (``usr/lib/riscv64-linux-gnu``,
    its ``xtables`` directory, compiled into libxtables), and
    ``glibc-stand-in`` links ``/lib/ld-linux-riscv64-lp64d.so.1`` to Debian's
    loader.  Alpine's own packages are musl builds from a repository that is
    unreachable here: these stand in for them."""
    from standins.debian import _fsys, fetch_debs

    stanzas = debian_closure("riscv64", "iptables")
    owner = {}
    for s in stanzas:
        name = s["Package"]
        hits = [a for a, (pats, _) in IPTABLES_STANDINS.items() if any(fnmatch.fnmatch(name, p) for p in pats)]
        assert hits or name in IPTABLES_LEFT_OUT, f"Debian's iptables now needs {name}: give it a stand-in"
        if hits:
            owner[name] = hits[0]
    by_standin: dict[str, dict] = {a: {} for a in IPTABLES_STANDINS}
    deps: dict[str, set[str]] = {a: set() for a in IPTABLES_STANDINS}
    versions: dict[str, str] = {}
    debs = dict((st["Package"], (st, deb)) for st, deb in fetch_debs("riscv64", tuple(owner)))
    for name, alpine in owner.items():
        stanza, deb = debs[name]
        if name == IPTABLES_STANDINS[alpine][0][0]:
            versions[alpine] = alpine_version(stanza["Version"])
        for rel in ",".join(stanza.get(f, "") for f in ("Pre-Depends", "Depends")).split(","):
            dep = re.split(r"[\s(:|]", rel.strip(), maxsplit=1)[0]
            if owner.get(dep, alpine) != alpine:
                deps[alpine].add(owner[dep])
        for m, data in _fsys(deb):
            path = m.name.removeprefix("./").rstrip("/")
            if m.isdir() or not path or path.startswith("usr/share/") or "/gconv/" in path:
                continue
            by_standin[alpine][path] = "->" + m.linkname if m.issym() else (data, m.mode & 0o7777)

    def so_deps(alpine: str) -> tuple[str, ...]:
        return tuple(sorted(f"so:{IPTABLES_STANDINS[d][1]}" if IPTABLES_STANDINS[d][1] else d for d in deps[alpine]))

    glibc = by_standin["glibc-stand-in"]
    assert f"{MULTIARCH_LIB}/{INTERPRETER}" in glibc, sorted(glibc)
    glibc[f"lib/{INTERPRETER}"] = f"->/{MULTIARCH_LIB}/{INTERPRETER}"
    out = []
    for alpine in IPTABLES_STANDINS:
        if alpine == "iptables":
            continue
        files = by_standin[alpine]
        out.append(Package(alpine, versions[alpine], "riscv64", files, depends=so_deps(alpine),
                           provides=_sonames(files), description=f"{alpine}: Debian's riscv64 build (stand-in)"))
    return out + _iptables_split(by_standin["iptables"], versions["iptables"], so_deps("iptables"))


def _iptables_split(debian: dict, version: str, depends: tuple[str, ...]) -> list[Package]:
    """Debian's iptables files (``usr/sbin``, libraries) as Alpine ≥ 3.19
    splits them: iptables (nft, the libraries, the extensions), ip6tables
    and iptables-legacy, the commands in ``/sbin``."""
    parts: dict[str, dict] = {"iptables": {}, "ip6tables": {}, "iptables-legacy": {}}
    for path, value in debian.items():
        if path.startswith("usr/lib/"):
            parts["iptables"][path] = value
            continue
        if not path.startswith("usr/sbin/"):
            continue                            # usr/bin/iptables-xml
        name = path.rsplit("/", 1)[1]
        multi = name if name.startswith("xtables-") and name.endswith("-multi") else (
            value[2:] if isinstance(value, str) else "")
        if multi == "xtables-legacy-multi":
            parts["iptables-legacy"][f"sbin/{name}"] = value
        elif multi == "xtables-nft-multi" and name.startswith("ip6tables"):
            parts["ip6tables"][f"sbin/{name}"] = value
        elif multi == "xtables-nft-multi" and name.startswith(("iptables", "xtables")):
            parts["iptables"][f"sbin/{name}"] = value
        # else: arptables/ebtables (packaged apart by Alpine), iptables-apply, nfnl_osf
    for cmd in ("iptables", "iptables-save", "iptables-restore"):
        parts["iptables"][f"sbin/{cmd}"] = "->xtables-nft-multi"
        parts["ip6tables"][f"sbin/ip6{cmd[2:]}"] = "->xtables-nft-multi"
    assert "sbin/xtables-nft-multi" in parts["iptables"] and "sbin/xtables-legacy-multi" in parts["iptables-legacy"]
    assert any("/xtables/libxt_MASQUERADE.so" in p for p in parts["iptables"]), sorted(parts["iptables"])
    what = "Debian's riscv64 iptables (stand-in)"
    return [Package("iptables", version, "riscv64", parts["iptables"], depends=depends,
                    provides=_sonames(parts["iptables"]), description=f"Linux kernel firewall, nft backend: {what}"),
            Package("ip6tables", version, "riscv64", parts["ip6tables"], depends=("iptables",),
                    description=f"ip6tables, nft backend: {what}"),
            Package("iptables-legacy", version, "riscv64", parts["iptables-legacy"], depends=("iptables",),
                    description=f"the legacy backend of iptables and ip6tables: {what}")]
