"""A registry repository as a :class:`~archport.store.Source` and a :class:`~archport.store.Sink`."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Iterator

from ..oci import Descriptor, Index, Manifest
from ..reference import Reference
from ..store import BlobOpener
from .client import Client


class RegistrySource:
    def __init__(self, client: Client, ref: Reference) -> None:
        self.client = client
        self.ref = ref
        self.name = str(ref)

    def resolve(self) -> Manifest | Index:
        return self.client.get_manifest(self.ref)

    def manifest(self, desc: Descriptor) -> Manifest | Index:
        return self.client.get_manifest(self.ref.with_digest(str(desc.digest)))

    def open_blob(self, desc: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        return self.client.open_blob(self.ref, desc)


class RegistrySink:
    """Blobs are uploaded (or mounted from ``mount_from`` on the same registry),
    manifests PUT by digest, and the tag PUT last.  Nothing to commit: a
    registry makes each write visible on its own, which is why the tag comes
    last (the upload order in :mod:`archport.registry`'s docstring)."""

    single_platform = False

    def __init__(self, client: Client, ref: Reference, mount_from: Reference | None = None) -> None:
        self.client = client
        self.ref = ref
        self.mount_from = mount_from
        self.name = str(ref)

    def has_blob(self, desc: Descriptor) -> bool:
        return self.client.has_blob(self.ref, desc)

    def put_blob(self, desc: Descriptor, opener: BlobOpener) -> str:
        # The opener comes from a store.Source, whose stream verifies itself.
        return self.client.upload_blob(self.ref, desc, opener, self.mount_from, source_verified=True)

    def has_manifest(self, desc: Descriptor) -> bool:
        return self.client.head_manifest(self.ref.with_digest(str(desc.digest)), use_mirrors=False) is not None

    def holds(self, desc: Descriptor) -> bool:
        # distribution refuses a manifest whose blobs it lacks
        # (MANIFEST_BLOB_UNKNOWN), so a HEAD of the manifest is the check;
        # the copier asks it of each child of an index.
        return self.has_manifest(desc)

    def current(self, name: str | None) -> Descriptor | None:
        """One HEAD: what the tag points at now (never asked of a mirror)."""
        tag = name or self.ref.tag
        if tag is None:
            return None
        return self.client.head_manifest(self.ref.with_tag(tag), use_mirrors=False)

    def put_manifest(self, m: Manifest | Index) -> None:
        self.client.put_manifest(self.ref.with_digest(str(m.digest)), m)

    def tag(self, m: Manifest | Index, name: str | None) -> None:
        tag = name or self.ref.tag
        if tag is None:
            # A destination pinned by digest only has nothing to tag; the
            # manifest is already stored under its digest.
            if self.ref.digest is None:
                tag = "latest"
            else:
                self.put_manifest(m)
                return
        self.client.put_manifest(self.ref.with_tag(tag), m)

    def commit(self) -> None:
        pass

    def abort(self) -> None:
        pass
