"""The images a node's ``agent/images/`` archives hold: the ``archives`` fact's command and its pure parser.

k3s imports every archive in ``/var/lib/rancher/k3s/agent/images`` into
containerd's ``k8s.io`` namespace at start (and, since the January 2025
releases, when one is added).  An OCI archive names its images with the
``io.containerd.image.name`` annotation of ``index.json`` (kept verbatim by
containerd's importer); a docker archive with ``RepoTags`` in
``manifest.json`` (normalized on import).  Reading those two members is
enough to know what an archive supplies, without unpacking layers; ``tar``
detects the compression itself.  ``*.txt`` files there are image lists k3s
pre-pulls: they supply nothing, the registry still must.
"""

from __future__ import annotations

import json

from .. import reference
from ..errors import BadReference
from .paths import IMAGES

MARK = "#@archport-archive"

# The fact's command (a template: {root} as in every fact).  A slow board gets 120 s per archive.
COMMAND = (
    "T=; command -v timeout >/dev/null 2>&1 && T='timeout 120'; "
    "for f in {root}" + IMAGES + "/*; do [ -f \"$f\" ] || continue; case \"$f\" in "
    "*.tar|*.tar.*|*.tgz|*.tzst) printf '\\n" + MARK + " %s\\n' \"${{f##*/}}\"; "
    "($T tar -xOf \"$f\" index.json manifest.json 2>/dev/null || true);; esac; done; true"
)


def parse(text: str) -> dict[str, str]:
    """Normalized image name → the archive that holds it."""
    out: dict[str, str] = {}
    archive = None
    body: list[str] = []

    def flush() -> None:
        if archive is not None:
            for name in _names("".join(body)):
                out.setdefault(name, f"agent/images/{archive}")

    for line in text.splitlines(keepends=True):
        if line.startswith(MARK + " "):
            flush()
            archive, body = line[len(MARK) + 1:].strip(), []
        else:
            body.append(line)
    flush()
    return out


def _names(text: str) -> list[str]:
    names: list[str] = []
    decoder, i = json.JSONDecoder(), 0
    while True:
        while i < len(text) and text[i] in " \t\r\n\x00":
            i += 1
        if i >= len(text):
            break
        try:
            doc, i = decoder.raw_decode(text, i)
        except ValueError:
            break                          # a truncated or binary member: what was read so far counts
        if isinstance(doc, dict):          # index.json
            for m in doc.get("manifests") or ():
                ann = (m or {}).get("annotations") or {}
                names.append(ann.get("io.containerd.image.name") or "")
        elif isinstance(doc, list):        # manifest.json
            for entry in doc:
                names += list((entry or {}).get("RepoTags") or ())
    out = []
    for n in names:
        try:
            out.append(reference.normalize(n))
        except BadReference:
            continue
    return out
