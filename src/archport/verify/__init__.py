"""verify: is this k3s node healthy, proven by using it.

Modelled on k3s's own e2e ``validatecluster``: a short list of named checks,
run in order, each with its own time limit and the evidence it saw::

    nodes     every node Ready, with its architecture
    pods      every kube-system pod Running and Ready (helm-install jobs:
              Completed); every image a pod runs is, on that node, an image
              of the node's platform (``crictl inspecti``)
    dns       a short-lived pod resolves kubernetes.default and kube-dns
              through the cluster DNS service
    storage   a local-path PVC binds; one pod writes a file, a second reads
              it back (local-path-provisioner and its busybox helper pod)
    metrics   the v1beta1.metrics.k8s.io APIService is Available and
              /apis/metrics.k8s.io/v1beta1/nodes lists the node
    ingress   (traefik and ServiceLB enabled) the traefik Service has an
              address from ServiceLB and answers an unknown host with 404

The check pods use the image the node already uses for local-path's helper
pod (busybox), so verify pulls only what the node's own configuration pulls.
They run in their own namespace, which is deleted afterwards unless asked to
keep it.  A failed check says why in one line; where doctor knows the cause
of a failing pod, the line is doctor's diagnosis with its fix.

:mod:`.checks` judges kubectl's JSON (pure); :mod:`.specs` writes the check
pods (pure); :mod:`.kubectl` runs kubectl through a connector and tells "the
API server did not answer" from its other errors; :mod:`.run` drives the
checks, polling each until it passes or its time runs out.  When the API
server does not answer at all, the first check fails at once with "cannot
reach the API server at URL" and no other runs.  A board without k3s at all
is said at once (:class:`archport.remote.Unreachable`: not a k3s node); a
node that is there but not Ready yet is polled like every check.
"""

from .checks import Check
from .kubectl import Kubectl
from .run import Options, verify

__all__ = ["Check", "Kubectl", "Options", "verify"]
