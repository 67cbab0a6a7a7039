"""A failure to get an image whose registry has ``--mirror`` hosts, told by
what the mirrors answered.  Upstream's failure alone would mislead: an
unreachable upstream is why the user named a mirror, so "use a mirror" is
no advice, and a 404 from a mirror says the mirror lacks the image, not that
the version does not exist.  The words are the same for every image the
mirror fails, so the CLI says them once for all of them."""

from __future__ import annotations

from ..errors import ArchportError, HostUnreachable, MirrorFailed, NotFound, TransportError
from ..registry.errors import Refused, Stalled

LACKS = "does not have the image"


def _unreachable(err: ArchportError) -> str | None:
    """Why a mirror could not be reached, without the per-image URL."""
    if isinstance(err, Refused):
        return "nothing listens on its port (is it running, is the port right?)"
    if isinstance(err, Stalled):
        return "it stopped answering (the stall deadline, --stall-timeout)"
    if isinstance(err, HostUnreachable):
        return "its name does not resolve from this machine"
    if isinstance(err, TransportError):
        return "no answer"
    return None


def failure(e: ArchportError, domain: str, mirror_only: bool) -> MirrorFailed | None:
    """``e`` retold from its mirrors' answers (the registry client records
    them as ``mirror_failures``: (host, error) in the order asked), or None
    when the mirrors say nothing better than ``e`` (none asked, or a failure
    whose own message is more precise: credentials, a digest mismatch)."""
    failures = getattr(e, "mirror_failures", ())
    if not failures or isinstance(e, MirrorFailed):
        return None
    if not mirror_only and isinstance(e, NotFound):
        return None          # upstream lacks it too: the image or version is unknown, as upstream says
    said, lacking, down = [], [], []
    for host, err in failures:
        flag = f"--mirror {domain}={host}"
        if isinstance(err, NotFound):
            said.append(f"mirror {host} ({flag}) {LACKS}")
            lacking.append(host)
            continue
        why = _unreachable(err)
        if why is None:
            return None
        said.append(f"cannot reach mirror {host} ({flag}): {why}")
        down.append(host)
    if mirror_only:
        said.append(f"--mirror-only: {domain} itself was not asked")
    else:
        said.append(f"and {domain} itself failed: {str(e).splitlines()[0]}")
    steps = []
    if lacking:
        steps.append(f"fill the mirror: on a machine that reaches {domain}, copy each image (archport copy IMAGE "
                     f"oci:DIR:TAG), bring DIR here and push it under the same repository path (archport copy "
                     f"oci:DIR:TAG {lacking[0]}/REPOSITORY:TAG)")
    if down:
        steps.append("start the mirror, or correct the --mirror value (HOST[:PORT] of a registry this machine "
                     "reaches)")
    if mirror_only:
        steps.append(f"or leave out --mirror-only where this machine reaches {domain}")
    return MirrorFailed("; ".join(said), "; ".join(steps))
