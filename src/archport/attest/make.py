"""The two attachments of a ported platform image, from its build record (pure)."""

from __future__ import annotations

from . import provenance, sbom
from .model import (IN_TOTO, PREDICATE_ANNOTATION, SLSA_PREDICATE, SPDX_JSON, SPDX_PREDICATE,
                    Attachment, BuildRecord)


def attachments(record: BuildRecord, subject_digest: str, subject_name: str) -> tuple[Attachment, Attachment]:
    """The SBOM (SPDX 2.3 JSON) and the provenance (in-toto statement, SLSA
    provenance v1) of the platform manifest ``subject_digest`` ("sha256:…"),
    named ``subject_name`` (the repository, e.g. "127.0.0.1:5000/rancher/pause").

    Deterministic: the same record and subject give byte-identical bytes.
    """
    doc = sbom.document(record, subject_digest, subject_name)
    statement = provenance.statement(record, subject_digest, subject_name)
    return (Attachment(SPDX_JSON, SPDX_JSON, doc, ((PREDICATE_ANNOTATION, SPDX_PREDICATE),)),
            Attachment(IN_TOTO, IN_TOTO, statement, ((PREDICATE_ANNOTATION, SLSA_PREDICATE),)))
