"""Attestations: what a ported image is made of and how it was built.

archport rebuilds other people's software, so every platform image it makes
says so in two documents a tool archport did not write can read: an SPDX 2.3
SBOM (every module, package, release asset, carried file and base image that
went in, each with its digest and origin) and an in-toto statement with a
SLSA provenance v1 predicate (who built it, how, from which inputs).  A
strategy reports the facts of its run as a :class:`model.BuildRecord`;
:func:`make.attachments` turns one into the two documents' bytes, a pure and
deterministic function (same record, same subject: same bytes).  Attaching
them as OCI 1.1 referrers of the platform manifest, and signing, sit on top.
"""
