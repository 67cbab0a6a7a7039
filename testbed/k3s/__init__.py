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
namespace; :mod:`.cli` is the ``k3s`` command a login on the board finds on
``PATH`` (``k3s --version`` says it is the stand-in).
"""

VERSION = "v1.24.2+k3s1"
# k3s prints "k3s version <version> (<commit[:8]>)" then "go version <go>"
# (pkg/cli/cmds/root.go, NewApp: app.Version + cli.VersionPrinter).  The go
# version is the release's toolchain (Go 1.18.1); the commit is zeros on
# purpose: this binary was not built from any k3s commit.
COMMIT = "00000000"
GO_VERSION = "go1.18.1"
STANDIN_NOTE = "archport test-bed stand-in for k3s (not k3s): real kubelet/containerd, k3s's file handling re-done"


def version_text() -> str:
    return f"k3s version {VERSION} ({COMMIT})\ngo version {GO_VERSION}\n{STANDIN_NOTE}\n"


# -- hooks for testbed.node.up (called by `python -m testbed up`) ----------------

def before_runtime(lay) -> None:
    """Render containerd's config from the board's files before containerd starts."""
    from . import bed
    bed.before_runtime(lay)


def after_ready(lay) -> None:
    """Once the node is Ready: registries, sshd, then ``k3s server`` (see .bed)."""
    from . import bed
    bed.after_ready(lay)
