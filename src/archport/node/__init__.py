"""node: one model of a k3s node, which doctor, audit, deploy and verify all read the board through.

A board is read, never guessed at: what archport knows about a node is a
*fact*, a POSIX shell command and a pure parser of its output, the way
pyinfra's facts are.

* :mod:`.paths` spells k3s's places once (``/etc/rancher/k3s``, the data
  directory under ``/var/lib/rancher/k3s``), with the one version rule that
  moves one of them;
* :mod:`.kube` is the one model of the Kubernetes objects archport reads
  (Node, Pod with its containers and images, Event, HelmChart, and the CRI
  sandboxes and images), parsed once from ``kubectl … -o json``;
* :mod:`.facts` is the one table of facts (:mod:`.archives` parses what the
  ``agent/images`` archives name; :mod:`.cpu` the board's ``/proc/cpuinfo``
  and hwcaps into its RISC-V extensions and the profile it meets;
  :mod:`.kernel` its kernel config against what k3s needs);
* :mod:`.collect` gathers them: live, one at a time through a connector;
  many in one SSH round trip (a script whose sections are delimited by
  marker lines; a handshake to a small board costs more than all the
  commands together); or answered from an ``archport collect`` dump, which
  holds exactly the table's output, redacted (:mod:`.redact`), so a dump and
  a live board go through the same parsers;
* :mod:`.boards` parses ``--host``, SSH options and inventories, for every
  command that takes boards.

Nothing here decides anything about the node: doctor diagnoses, audit lists
images, deploy plans and verify checks, each from these same values.
"""
