"""check: prove statically that an image keeps the contract its pods rely on.

A pod runs whatever the kubelet hands to containerd, which hands it to runc:
the *argv* (the pod's ``command``/``args`` over the image's Entrypoint/Cmd),
looked up through the image's ``PATH`` and working directory, then
``execve``'d inside the image's merged filesystem.  On a board this fails
late and cryptically (``exec: "local-path-provisioner": executable file not
found in $PATH``, ``exec /coredns: exec format error``).  ``check`` does the
same resolution against the image's layers, before the image goes anywhere:

1. select the platform's manifest (:mod:`.image`);
2. stream every layer into an in-memory merged view, whiteouts applied and
   hostile entries reported, nothing written to the host
   (:mod:`archport.imagefs`);
3. compute the argv and find ``argv[0]`` the way runc does (:mod:`.contract`,
   over :func:`archport.imagefs.look_path`);
4. follow symlinks and require an executable ELF of the target architecture
   whose interpreter and libraries exist, or a ``#!`` script whose
   interpreter resolves the same way (:mod:`.binary`, reading ELF files with
   :mod:`archport.binaries`).

Each violation is a :class:`~.findings.Finding` carrying the exact line runc
or the loader would print and what the kubelet would show.

For riscv64 there is a fifth question no platform field answers: which ISA
extensions the binaries need (:mod:`.isa`, from ``.riscv.attributes`` and
Go's ``GORISCV64``), the lowest RVA profile that runs them, and, given a
target (a profile, an ISA string, a board's CPU), which binary would die
with SIGILL there.  :mod:`.listing` walks an image's ELF files with the same
readers for ``inspect --files``.
"""

from .binary import Step
from .contract import Contract, Outcome, argv_for
from .findings import ERROR, WARNING, Finding
from .image import Report, check_image
from .isa import Requirement, Target, target_board, target_isa, target_profile

__all__ = ["Contract", "Outcome", "Step", "argv_for", "Finding", "ERROR", "WARNING", "Report", "check_image",
           "Requirement", "Target", "target_board", "target_isa", "target_profile"]
