"""deploy: put ported images on k3s boards through the files k3s itself reads.

The model is pyinfra's.  *Facts* (:mod:`.facts`) are read from the board in
one round trip: the k3s version, server or agent, the init system, the
current ``registries.yaml``, ``config.yaml`` and its drop-ins, the images
directory and the kube-system pods.  The *plan* (:mod:`.plan`) compares them
with the desired state and is pure data — file changes with their bytes
before and after, uploads, a restart or not, and refusals — shown as unified
diffs with every credential masked.  *Apply* (:mod:`.apply`) is thin: atomic
writes with backups, a restart through the board's init system, a wait for
the node to be Ready, and a rollback when it is not.

k3s reads three things deploy may write, all at start:

* ``/etc/rancher/k3s/registries.yaml`` — mirrors (upstream registry → our
  endpoint, ``rewrite`` for a repository prefix) and configs (TLS, auth);
* ``/etc/rancher/k3s/config.yaml.d/50-archport.yaml`` — a drop-in for
  ``pause-image`` and ``system-default-registry`` (servers only: agents
  ignore the latter); the user's ``config.yaml`` is never rewritten.  The
  plan merges every file the way k3s does, so a later drop-in of the
  user's that would override ours is a refusal naming it, before anything
  restarts; ``force`` moves ours after it (``99-archport.yaml``);
* ``/var/lib/rancher/k3s/agent/images/`` — airgap tarballs it imports.

Manifests under ``server/manifests/`` are never written: k3s rewrites its
packaged ones at every start.  What each k3s version does with these files
is data shared with audit (``archport.k3s.behaviour``, each fact with its source); a plan the board's
version cannot honour is refused with the reason.  :mod:`.fleet` runs many
boards, ``parallel`` at a time, one row each.
"""

from .apply import Outcome, apply
from .facts import Facts, gather
from .fleet import Row, apply_all, plan_all
from .plan import AirgapFile, Desired, FileChange, Plan, Upload, make

__all__ = ["AirgapFile", "Desired", "Facts", "FileChange", "Outcome", "Plan", "Row", "Upload",
           "apply", "apply_all", "gather", "make", "plan_all"]
