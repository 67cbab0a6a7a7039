"""The OCI data model: digests, descriptors, manifests, indexes, configs.

A *digest* names exact bytes (``sha256:`` + hex of the SHA-256 of the bytes as
stored).  A manifest's digest is over its raw JSON as served; re-serializing
someone else's manifest (key order, whitespace) changes the digest, so every
parsed :class:`Manifest` and :class:`Index` keeps ``raw`` beside its fields and
copying sends ``raw`` unchanged.

A layer blob's digest is over the compressed bytes; its *diff_id* (in the
config's ``rootfs.diff_ids``) is over the uncompressed tar.  Registries and
layouts are addressed by digest, containerd's snapshots by diff_id.

Both families are understood: OCI (``application/vnd.oci.image.*``) and Docker
schema 2 (``application/vnd.docker.distribution.manifest.v2+json`` and
``.list.v2+json``).  Specs: opencontainers/image-spec ``manifest.md``,
``image-index.md``, ``descriptor.md``, ``config.md``.
"""

from .digest import Digest, sha256_of
from .descriptor import Descriptor
from .manifest import Index, Manifest, parse_manifest
from .config import ImageConfig, parse_config, read_config
from . import mediatypes

__all__ = ["Digest", "sha256_of", "Descriptor", "Manifest", "Index", "parse_manifest", "ImageConfig", "parse_config", "read_config",
           "mediatypes"]
