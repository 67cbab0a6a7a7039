"""fetch: what archport takes from the outside world, verified.

Four sources, each with its own chain of trust, used by the strategies
(``release``, ``c``, ``deb``, ``go``, ``transplant``) and the kernel smoke
as a toolbox; none of them decides anything about images:

- :mod:`.http`     HTTPS downloads streamed through SHA-256 into a temporary
  file that gets its final name only when the size limit and the expected
  digest hold; checksum files (``sha256sum`` format); ranged reads;
- :mod:`.debian`   the Debian archive: gpgv-verified InRelease → Packages →
  ``.deb``, every step SHA-256 checked, one file read out of ``data.tar``;
- :mod:`.goproxy`  the Go module proxy (https://go.dev/ref/mod#goproxy-protocol):
  one member of a module zip through range requests, and whole modules
  through ``go mod download`` so the checksum database verifies them;
- :mod:`.alpine`   an Alpine mirror: the signed APKINDEX → each ``.apk``'s
  control and data checked against it (formats in :mod:`.apkformat`);

and, over :mod:`.debian`, :mod:`.kernel`: a Linux kernel and its modules for
the target, which a smoke on the target's own kernel boots.

The caller passes every setting in (HTTP client, GOPROXY and the rest of the
Go environment, archive URL and keyring): nothing here reads the process
environment.
"""
