"""agent/images: which files k3s v1.24.2 imports, and how each is decompressed.  Pure.

k3s pkg/agent/containerd/containerd.go (preloadImages, preloadFile): every
regular file of ``/var/lib/rancher/k3s/agent/images`` is looked at once per
start; its name (case-insensitive suffix, util.HasSuffixI) picks a reader:

* ``.txt``                 a list of images to pull (not an archive);
* ``.tar.lz4``             lz4 frame;
* ``.tar.bz2``, ``.tbz``   bzip2;
* ``.tar.gz``, ``.tgz``    gzip;
* ``.tar.zst``, ``.tzst``  zstd, decoder window capped at 32 MiB
                           (zstd.WithDecoderMaxWindow);
* ``.tar``                 as is;

anything else is skipped.  The stream is imported into containerd's ``k8s.io``
namespace with all platforms (client.Import, WithAllPlatforms).  Live import
of files added while k3s runs came only with the January 2025 releases: in
v1.24.2 a new file is seen at the next start.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "k8s.io"
ZSTD_WINDOW_MIB = 32

# Longest suffix first: ".tar.gz" must not be read as ".gz".
_KINDS: tuple[tuple[tuple[str, ...], str], ...] = (
    ((".txt",), "list"),
    ((".tar.lz4",), "lz4"),
    ((".tar.bz2", ".tbz"), "bzip2"),
    ((".tar.gz", ".tgz"), "gzip"),
    ((".tar.zst", ".tzst"), "zstd"),
    ((".tar",), "tar"),
)


def kind(name: str) -> str | None:
    """The reader k3s picks for a file name, or None (skipped)."""
    low = name.lower()
    for suffixes, k in _KINDS:
        if low.endswith(suffixes):
            return k
    return None


# The decompressor command for each kind (stdin -> stdout).  k3s decompresses
# in-process before client.Import; the stand-in does the same with these
# commands and hands `ctr images import` a plain tar stream.
DECOMPRESS: dict[str, tuple[str, ...]] = {
    "gzip": ("gzip", "-dc"),
    "bzip2": ("bzip2", "-dc"),
    "zstd": ("zstd", "-dc", f"--memory={ZSTD_WINDOW_MIB}MB"),
    "lz4": ("lz4", "-dc"),
    "tar": (),
}


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    kind: str


def select(names: list[str]) -> tuple[list[Entry], list[str]]:
    """(archives and lists to handle, in name order; names skipped)."""
    chosen, skipped = [], []
    for n in sorted(names):
        k = kind(n)
        if k is None:
            skipped.append(n)
        else:
            chosen.append(Entry(n, k))
    return chosen, skipped
