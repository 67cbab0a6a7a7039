"""Smoke runs: prove an image for another architecture actually runs.

A static check (``archport check``) proves the exec target exists and is an
ELF of the right machine; a smoke run goes one step further and executes it,
emulated, the way a node would: containerd imports the image, runc starts it,
and the kernel hands the foreign ELF to ``qemu-<arch>`` through binfmt_misc.

Four pieces here, I/O at the edges, over :mod:`archport.emulation` (is qemu
registered in binfmt_misc with the ``F`` flag, and register it when we may)
and :mod:`archport.imagefs` (the image's files):

- :mod:`.target` — resolve ``argv[0]`` in the image's merged view and refuse
  a binary of another machine before anything runs;
- :mod:`.containerd` — talk to a containerd through ``ctr``; start a private,
  throw-away one when none answers (the test suite uses the same code);
- :mod:`.sandbox` — the fallback when containerd cannot run at all: qemu-user
  over the extracted root, confined in namespaces of its own (never with the
  host in reach);
- :mod:`.run` — the orchestration, returning a :class:`~.outcome.SmokeResult`
  that says which path ran, the exit code and the output, and each check it
  was judged on as data (:mod:`.outcome`).  An interrupted run is never a
  result: :class:`KeyboardInterrupt` propagates after clean-up.

A run ends as soon as its readiness signal is seen (the catalog's recipe for
the component, :mod:`archport.catalog.smoke`): an exit, an output line, an
HTTP(S) health endpoint or a DNS answer on the container's own loopback.
:mod:`.watch` reads the output as it comes and starts :mod:`._probe` inside
the program's network namespace (never the image inside the host's);
:mod:`.mounts` places the recipe's files and writable directories;
:mod:`.recipe` turns a recipe into options and a run into port's one line.
A failed run is judged by :mod:`.compare`: the index's host platform (amd64
here) run the same way either fails like it (the recipe is wrong) or passes
(the image does not run under emulation).

What user-mode emulation cannot translate (netfilter's socket options for
``iptables``) needs the target's own kernel: a recipe with a kernel table
takes the kernel path instead, :mod:`.vm` booting Debian's kernel for the
target under qemu-system with the image as its initramfs (:mod:`.initramfs`)
and :mod:`.guest`'s init running the program.
"""
