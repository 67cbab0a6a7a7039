"""The catalog: what archport knows about k3s's system images, as reviewed data.

Knowledge is data, not code.  Which images a k3s release pulls, how each
component is built upstream (Go module and ``-X`` flags, C source, Debian
package), the contract its image keeps (binary path, Entrypoint/Cmd, User,
base), where else the missing platform is published, the k3s knobs that
select the image, and the dependency fixups a rebuild may need all live in
TOML files beside this module (``releases.toml``, ``components/*.toml``,
``fixups.toml``).  Adding a component or an architecture means adding a table
or a list entry there; the strategies read it and never hard-code a name.

Every fact table carries its provenance beside it::

    source = "https://github.com/coredns/coredns/blob/v1.11.0/Makefile.release"
    verified = false            # optional, default true
    note = "why it is believed, or how it was checked"

``source`` is the upstream file at a tag, the release, issue or commit that
states the fact (never a container registry's host).  ``verified = true``
means a person or session read the fact at that source or reproduced it;
``false`` marks an inference, and then ``note`` must say what it rests on.
:func:`load` validates everything when the catalog is first used: unknown
keys, a missing source, an image reference or version range that does not
parse, an image no component owns — each is a :class:`CatalogError`.

Version ranges (``">=1.11.0"``, ``"<v0.1.0"``) use semver precedence, which
also orders Go pseudo-versions by their timestamp (see :mod:`.versions`).
"""

from .loader import CatalogError, load, load_texts
from .model import (Alternative, Catalog, CBuild, Component, ImageContract, DebPackage, Distro, GoBuild, Image,
                    Knob, ReleaseAsset)
from .provenance import Provenance
from .releases import Fixup, K3sRelease, Missing
from .versions import Range, Version, compare, parse_range

__all__ = [
    "Alternative", "Catalog", "CatalogError", "CBuild", "Component", "ImageContract", "DebPackage", "Distro", "Fixup",
    "GoBuild", "Image", "Knob", "Missing", "Range", "K3sRelease", "ReleaseAsset", "Provenance", "Version", "compare",
    "load", "load_texts", "parse_range",
]
