"""audit: every image a k3s node needs, where it would pull each from, and
whether the node's platform is there.

A node needs images from five places, and :func:`~.inventory.inventory`
gathers them from plain values (no I/O), each image with the reasons it is
needed:

* the k3s release's image list (the catalog, or the node's ``k3s --version``),
  less the packaged components the node disables;
* the workloads of the manifests directory, the local-path helper pod of
  its ConfigMap included, and the images named in HelmChart values (with the
  helm install job's own image);
* the pause image: ``pause-image`` from the config files, else the release's;
* klipper-lb, while ServiceLB is enabled;
* the images the node's pods run now.

``--system-default-registry`` renames the system images first; then
``registries.yaml`` decides the endpoints containerd tries
(:mod:`archport.k3s.registries`).  :mod:`.lookup` asks those endpoints, in
containerd's order, which platforms the tag offers; :mod:`.report` turns the
answers into verdicts.  An image already in the node's image store (an
airgap import, or an earlier pull) needs no registry at all.  :mod:`.run`
is the use case: a node's facts (live through a connector, or a ``collect``
dump) and what the user gave, in; one :class:`~.report.Audit` per node, out.

Other commands reuse the inventory: ``port --manifests`` to discover images,
``doctor`` to say which images are still to come.
"""

from .inventory import Inventory, Need, inventory, manifest_images
from .report import Audit, Row, audit

__all__ = ["Audit", "Inventory", "Need", "Row", "audit", "inventory", "manifest_images"]
