"""k3s: what a k3s node runs, read from the files k3s itself reads.

A k3s server applies every manifest under
``/var/lib/rancher/k3s/server/manifests`` (subdirectories included) at start
and rewrites its packaged ones each time, unless ``<file>.skip`` exists next
to them.  Those manifests are where an image's *contract* lives: coredns and
metrics-server set only ``args`` (they rely on the image's ENTRYPOINT),
local-path-provisioner sets ``command: [local-path-provisioner, …]`` (it relies
on the binary being on the image's ``PATH``).  :mod:`.manifests` finds the
containers that run a given image, after normalizing both names the way the
kubelet does (``rancher/x:1`` is ``docker.io/rancher/x:1``), and returns their
``command``/``args``.  Pure: it reads YAML and returns values.

HelmChart resources (traefik) name their images inside chart values; they
are not workloads and are skipped here.
"""

from .manifests import Container, containers, load_documents, same_image, using_image

__all__ = ["Container", "containers", "load_documents", "same_image", "using_image"]
