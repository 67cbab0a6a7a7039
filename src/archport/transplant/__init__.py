"""transplant: rebuild a distro-based image's userland for another platform.

klipper-helm, klipper-lb and traefik are an Alpine userland plus packages,
scripts and downloaded binaries; Alpine has no riscv64 before 3.20.  The
transplant strategy works from what the upstream platform image contains,
never from a hand-written recipe:

1. read the image's package database (:mod:`.pkgdb`: Alpine's
   ``lib/apk/db/installed``, Debian's ``var/lib/dpkg/status`` and
   ``info/*.list``);
2. classify every path (:mod:`.classify`): owned by a package; an ELF owned
   by none (helm, tiller, traefik: rebuilt by the other strategies from their
   Go build info); anything else (scripts, configs, users), carried over
   byte-identical with its mode, owner and links;
3. name the same packages in a distribution that has the platform, whose
   files replace the package-owned ones: on Debian through
   :mod:`.mapping` (data in ``catalog/packages.toml`` with the source of
   each name); on an Alpine release that has the architecture by the same
   names (``etc/apk/world``);
4. resolve their dependency closure from the signed index — Debian's
   ``Packages`` (:mod:`.resolve`), Alpine's ``APKINDEX`` (:mod:`.apk`) —
   and unpack each package's data without running anything (:mod:`.debs`,
   :mod:`.apkfiles`, both through :mod:`.members`);
5. do natively what maintainer scripts and triggers would have done and the
   image relies on — the iptables family pointed at the upstream image's
   backend, the CA bundle, the package database (:mod:`.configure`);
6. compose the root (:mod:`.compose`): upstream's unowned entries, then the
   packages, then the target's merged-/usr links, rebuilt binaries and the
   configure steps, each replacement of an upstream entry recorded.

This package is the middle: values in, values out, plus reading an
extracted root (:mod:`.upstream`), a ``.deb`` (:mod:`.debs`) and an
``.apk`` (:mod:`.apkfiles`).  Fetching,
rebuilding binaries and assembling the image belong to
:mod:`archport.strategies.transplant`.
"""

from .classify import Classified, classify
from .mapping import PackageMap, load_map
from .pkgdb import Package, PackageDB, parse_apk, parse_dpkg

__all__ = ["Classified", "classify", "PackageMap", "load_map", "Package", "PackageDB", "parse_apk", "parse_dpkg"]
