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
``command``/``args``.  :func:`~.manifests.load_documents` is the one
function that touches the filesystem (it walks a manifests directory the way
k3s does); everything after it takes and returns values.

HelmChart resources (traefik) are not workloads: :mod:`.helm` reads the
images their values name (the chart's ``valuesContent``, a
``HelmChartConfig``'s, then ``set``).

Which images a node pulls, and from where, also depends on its config files,
all read here as pure functions of plain data:

* :mod:`.config` merges ``config.yaml`` with ``config.yaml.d/*.yaml`` and
  answers the pause image, ``system-default-registry`` and ``disable``;
* :mod:`.registries` resolves an image through ``registries.yaml`` into the
  endpoints containerd tries, in order (mirrors with their rewrites, then the
  image's own registry);
* :mod:`.behaviour` holds what each k3s version does with these files, as
  data (``behaviour.toml``), each fact with its source.
"""

from .manifests import Container, containers, load_documents, same_image, using_image

__all__ = ["Container", "containers", "load_documents", "same_image", "using_image"]
