"""Assembling images: deterministic layers, and the config and manifest over them.

**digest vs diff_id.**  A layer exists twice.  The blob a registry stores is
the *compressed* tar; its ``digest`` (in the manifest's ``layers``) is the
SHA-256 of those compressed bytes.  The config's ``rootfs.diff_ids`` name the
*uncompressed* tar, because that is what a runtime unpacks and what
containerd's snapshots are keyed by.  :func:`~archport.assemble.layer.build_layer`
computes both in one streaming pass: tar bytes feed the diff_id hash and the
gzip compressor, whose output feeds the digest hash and the file.

**Reproducibility.**  The same inputs must give the same manifest digest, so
that a rebuild is a no-op and a published digest can be re-derived.  Every
source of drift is pinned: tar entries are sorted by path (hardlinks last),
parent directories are implied with fixed modes, every mtime is the caller's
``SOURCE_DATE_EPOCH`` (default 0), uid/gid come from the file spec and
uname/gname are empty, the gzip header has mtime 0 and no file name, and the
JSON we author (config, manifest) is serialized with sorted keys.  Image-spec
``config.md`` (``created``), and reproducible-builds.org's SOURCE_DATE_EPOCH.

Reading what a binary is built for (ELF facts, Go build info) is
:mod:`archport.binaries`' job; the strategies that rebuild programs use it.
"""
