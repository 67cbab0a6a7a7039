"""Descriptors: media type + digest + size, and for index entries a platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import BadInput
from ..platform import Platform
from .digest import Digest


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    platform: Platform | None = None
    annotations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    urls: tuple[str, ...] = ()
    # The descriptor exactly as found (unknown fields included), so an index
    # edit can write an existing entry back verbatim.
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Descriptor":
        if not isinstance(d, Mapping):
            raise BadInput("descriptor is not a JSON object")
        try:
            media_type = d["mediaType"]
            digest = Digest.parse(d["digest"])
            size = int(d["size"])
        except KeyError as e:
            raise BadInput(f"descriptor lacks {e.args[0]!r}") from None
        except (TypeError, ValueError):
            raise BadInput("descriptor has a non-integer size") from None
        if size < 0:
            raise BadInput("descriptor has a negative size")
        return cls(
            media_type=media_type,
            digest=digest,
            size=size,
            platform=Platform.from_dict(d.get("platform")),
            annotations=MappingProxyType(dict(d.get("annotations") or {})),
            urls=tuple(d.get("urls") or ()),
            raw=MappingProxyType(dict(d)),
        )

    def to_dict(self) -> dict[str, Any]:
        """The raw dict when we have one (verbatim), else a fresh one."""
        if self.raw is not None:
            return dict(self.raw)
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.platform is not None:
            d["platform"] = self.platform.to_dict()
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        if self.urls:
            d["urls"] = list(self.urls)
        return d

    def with_annotations(self, extra: Mapping[str, str]) -> "Descriptor":
        ann = {**self.annotations, **extra}
        d = self.to_dict()
        d["annotations"] = ann
        return Descriptor(self.media_type, self.digest, self.size, self.platform, MappingProxyType(ann), self.urls, MappingProxyType(d))
