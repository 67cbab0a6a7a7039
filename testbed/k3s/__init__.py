"""A stand-in for the k3s v1.24.2 binary, for the archport test bed.

This is NOT k3s.  The bed's control plane, kubelet and containerd are real
Kubernetes components (see :mod:`testbed`); what k3s adds on a board is a set
of files it reads at every start and what it does with them.  This package
does those things, each following the k3s v1.24.2 source file named in a
comment beside it:

* :mod:`.config`      ``/etc/rancher/k3s/config.yaml`` + ``config.yaml.d/*.yaml``
                      merged as pkg/configfilearg does; ``pause-image``,
                      ``system-default-registry``, ``disable``.
* :mod:`.registries`  ``/etc/rancher/k3s/registries.yaml`` rendered into
                      containerd's ``config.toml`` (``registry.mirrors`` /
                      ``registry.configs`` of the CRI plugin, as v1.24 did; the
                      ``certs.d`` rendering came in 2024).  ``rewrite`` needs
                      k3s's containerd fork, which the Go module proxy does not
                      serve: the stand-in refuses it with one line.
* :mod:`.manifests`   the packaged manifests staged into
                      ``server/manifests`` with their ``%{…}%`` variables,
                      ``disable`` and ``<file>.skip`` (pkg/deploy).
* :mod:`.airgap`      ``agent/images/*.tar*`` and their compression kinds
                      (pkg/agent/containerd).

Those four are pure (plain data in, plain data out).  :mod:`.server` is the
thin I/O part that runs them on start/restart inside the board's mount
namespace; :mod:`.bed` wires it to the bed's node; ``python -m testbed.k3s``
(:mod:`.__main__`) is the ``k3s`` command a login on the board finds on
``PATH`` (``k3s --version`` says it is the stand-in, :mod:`.version`).

:func:`up` brings the node up with the stand-in on it: the one way in for
``python -m testbed up`` and the test sessions.
"""

from __future__ import annotations

from pathlib import Path

from testbed.paths import Layout

from .version import COMMIT, GO_VERSION, STANDIN_NOTE, VERSION, version_text

__all__ = ["COMMIT", "GO_VERSION", "STANDIN_NOTE", "VERSION", "up", "version_text"]


def up(root: Path | None = None) -> Layout:
    """Bring the bed's node up with the stand-in on it (idempotent): containerd's
    config rendered from the board's files before containerd starts, then,
    once the node is Ready, the loopback registries, the board's sshd and
    ``k3s server``."""
    # On use: the board's k3s/systemctl shims import this package on every call and need none of the node.
    from testbed import node

    from . import bed
    return node.up(root, before_runtime=bed.before_runtime, after_ready=bed.after_ready)
