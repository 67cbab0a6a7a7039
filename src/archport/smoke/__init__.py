"""Smoke runs: prove an image for another architecture actually runs.

A static check (``archport check``) proves the exec target exists and is an
ELF of the right machine; a smoke run goes one step further and executes it,
emulated, the way a node would: containerd imports the image, runc starts it,
and the kernel hands the foreign ELF to ``qemu-<arch>`` through binfmt_misc.

Three pieces, I/O at the edges:

- :mod:`archport.emulation` — is qemu registered in binfmt_misc (with the
  ``F`` flag, so the interpreter is found inside a container's mount
  namespace), and register it when we may;
- :mod:`.containerd` — talk to a containerd through ``ctr``; start a private,
  throw-away one when none answers (the test suite uses the same code);
- :mod:`.rootfs` — read the image's merged filesystem from its layers, extract
  it safely for the fallback path (``qemu-<arch> -L ROOTFS``) when containerd
  cannot run at all;
- :mod:`.run` — the orchestration, returning a :class:`~.run.SmokeResult` that
  says which path ran, the exit code and the output.
"""
