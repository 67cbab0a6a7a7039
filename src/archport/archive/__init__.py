"""Image tarballs as sources and sinks.

Two formats, named after skopeo's transports:

* ``oci-archive`` — a tar of an OCI image layout (``oci-layout``,
  ``index.json``, ``blobs/sha256/…``): manifests travel byte for byte, so
  digests are preserved.
* ``docker-archive`` — what ``docker save`` writes: ``manifest.json`` listing
  ``{Config, RepoTags, Layers}`` per image, no registry manifest at all.  One
  platform per image; reading one means authoring a manifest, which gets a new
  digest.

Reading never extracts an uncompressed tar: member offsets are indexed once and
blobs are read by seeking.  A compressed tar (gzip or zstd, recognised by magic
bytes) cannot be seeked and is extracted once into a temporary directory.
Writing goes through a temporary layout directory beside the target and a
temporary file renamed over ``FILE`` at commit, so a reader never sees half an
archive; both names carry the pid (:mod:`archport.temps`), so runs writing the
same file never share them and a killed run's are reclaimed by the next.  The k3s airgap archive (both formats in one tar) is
:mod:`archport.airgap`.
"""

from .docker import DockerArchiveSink, DockerArchiveSource
from .oci import OciArchiveSink, OciArchiveSource

__all__ = ["OciArchiveSource", "OciArchiveSink", "DockerArchiveSource", "DockerArchiveSink"]
