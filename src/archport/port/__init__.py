"""port: give an image the platform its tag lacks, and publish it safely.

Per image (``archport port IMAGE…`` or every image of ``--k3s VERSION``)::

    destination already has the platform? ── one HEAD ──► done (a rerun resumes)
    open upstream (mirrors, credentials) ─► strategies in order (a static table):
        present → mirror → go → release → c → deb   (consider: cheap, no builds;
                                                      build: the first that applies)
    built image (read in place) ─► check (static contract) ─► smoke (emulated run)
    only then: upstream platforms copied digest-preserved, the new child,
        the index with the child appended, the tag last   (airgap: also the archive)

A failure anywhere before the push leaves the destination untouched for that
image; the result names the reason and the next step.  Images nobody can port
yet (distro-based: klipper-lb, klipper-helm, traefik) are reported as such,
with what a later transplant strategy would need (catalog data).
"""

from .model import Destination, ImageResult, Options, parse_destination
from .run import Session, port_all, port_image

__all__ = ["Destination", "ImageResult", "Options", "parse_destination", "Session", "port_all", "port_image"]
