"""port: give an image the platform its tag lacks, and publish it safely.

Per image (``archport port IMAGE…`` or every image of ``--k3s VERSION``)::

    destination already has the platform? ── one HEAD ──► done (a rerun resumes)
    open upstream (mirrors, credentials) ─► strategies in order (a static table):
        present → mirror → go → release → c → deb → transplant
                                          (consider: cheap, no builds;
                                           build: the first that applies and builds)
    built image (read in place) ─► check (static contract) ─► smoke (emulated run,
        or the target's own kernel when the catalog's recipe needs it)
    only then: upstream platforms copied digest-preserved, the new child,
        the index with the child appended, the tag last   (airgap: also the archive)

Distribution-based images (klipper-lb, klipper-helm, traefik) go through
``transplant``: their userland rebuilt from the target's packages, their Go
binaries rebuilt, the rest carried.  A failure anywhere before the push
leaves the destination untouched for that image; the result
(:class:`ImageResult`, one value per image) names the reason and the next step.
"""

from .model import Destination, ImageResult, Options, parse_destination
from .run import Session, port_all, port_image

__all__ = ["Destination", "ImageResult", "Options", "parse_destination", "Session", "port_all", "port_image"]
