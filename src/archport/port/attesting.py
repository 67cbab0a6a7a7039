"""Attaching the SBOM, the provenance and (with a key) its signature to each ported platform.

Called by the push between the image's manifests and its tag
(:func:`archport.publish.append_platform`'s ``before_tag``): the referrers
name the platform manifest as their subject, so they follow it, and the
tag users pull moves only once they are listed.  The record is the
strategy's own (``Outcome.record``) completed by :mod:`.record` with what
the image and the run show; it claims nothing more.
"""

from __future__ import annotations

from dataclasses import replace as dc_replace
from typing import Any

from ..attest import attach as attaching
from ..attest.make import attachments
from ..attest.model import BuildRecord, Fixup
from ..attest.referrers import build_all
from ..attest.sign import attachment as signature_attachment, bundle
from ..oci import Descriptor
from ..platform import Platform
from ..store import Sink
from ..strategies import Outcome, Upstream
from .destination import DestTag
from .model import ImageResult
from .record import build_record


def record_for(up: Upstream, outcome: Outcome, target: Platform, res: ImageResult) -> BuildRecord:
    """The strategy's record completed by :func:`archport.port.record.build_record`
    (the image's files and Go build info, the upstream by digest, the target,
    the profile); fixups the strategy applied but did not itemize are named
    by their catalog ids."""
    rec = build_record(up, outcome, target, res.isa_profile)
    return rec if rec.fixups else dc_replace(rec, fixups=tuple(Fixup(f) for f in outcome.fixups))


def subject_name(tag: DestTag) -> str:
    """The in-toto subject's name: the destination repository (a layout: the image's path there)."""
    if tag.dest.layout:
        return tag.dest.name_for(tag.ref).rsplit(":", 1)[0]
    return tag.dest.ref_for(tag.ref).repository


def attach(sink: Sink, subject: Descriptor, subject_name: str, record: BuildRecord, signer: Any = None,
           name: str | None = None) -> tuple[attaching.Attached, str]:
    """Write the attachments of ``subject``; returns what was written and a note for the result."""
    sbom, provenance = attachments(record, str(subject.digest), subject_name)
    docs = [sbom, provenance]
    if signer is not None:
        docs.append(signature_attachment(bundle(provenance.data, signer)))
    got = attaching.attach(sink, subject, build_all(docs, subject), name=name)
    kinds = "SBOM, provenance and its signature" if signer is not None else "SBOM and provenance"
    return got, (f"attached {kinds} as referrers of {subject.digest} ({got.listing}, "
                 f"{got.bytes} bytes)")


def to_airgap(airgap: Sink, tag: DestTag, target: Platform) -> None:
    """Copy the platform's referrers from the destination into the airgap
    archive, when the archive was asked to hold them."""
    if getattr(airgap, "referrers", False):
        attaching.carry(tag.source(), airgap, tag.ref.normalized(), [target])
