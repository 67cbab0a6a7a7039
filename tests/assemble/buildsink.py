"""A sink that records every call it gets and writes a bare OCI image layout,
and an in-memory source, for these tests only (independent of
archport.layout), so skopeo can validate what assembly produces."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path

from archport.errors import DigestMismatch
from archport.oci import Descriptor


class RecordingSink:
    def __init__(self, root: Path) -> None:
        self.name = f"oci:{root}"
        self.root = root
        self.calls: list[str] = []
        self.entries: list[dict] = []
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def _path(self, digest) -> Path:
        return self.root / "blobs" / digest.algorithm / digest.hex

    def has_blob(self, desc: Descriptor) -> bool:
        return self._path(desc.digest).exists()

    def put_blob(self, desc: Descriptor, opener) -> str:
        self.calls.append(f"blob {desc.media_type}")
        if self.has_blob(desc):
            return "exists"
        h = hashlib.sha256()
        data = bytearray()
        with opener() as chunks:
            for c in chunks:
                h.update(c)
                data += c
        if h.hexdigest() != desc.digest.hex or len(data) != desc.size:
            raise DigestMismatch(str(desc.digest), h.hexdigest())
        self._path(desc.digest).write_bytes(bytes(data))
        return "uploaded"

    def has_manifest(self, desc: Descriptor) -> bool:
        return self.has_blob(desc)

    def put_manifest(self, m) -> None:
        self.calls.append("manifest")
        self._path(m.digest).write_bytes(m.raw)

    def tag(self, m, name) -> None:
        self.calls.append(f"tag {name}")
        d = m.descriptor().to_dict()
        d["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.entries.append(d)
        (self.root / "index.json").write_text(json.dumps(
            {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": self.entries}))

    def commit(self) -> None:
        pass

    def abort(self) -> None:
        pass


class MemorySource:
    name = "memory"

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs
        self.opened: list[str] = []

    def resolve(self):
        raise NotImplementedError

    def manifest(self, desc):
        raise NotImplementedError

    @contextmanager
    def open_blob(self, desc):
        self.opened.append(str(desc.digest))
        yield iter((self.blobs[str(desc.digest)],))
