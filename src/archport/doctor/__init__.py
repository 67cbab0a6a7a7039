"""Doctor: why do the pods on this k3s node fail, and what exactly fixes it.

The model follows pyinfra's split of *facts* and *operations*, read-only:

    connector ──run──► facts ──parse──► Facts ──rules──► Finding ──group──► Report
    (local, ssh,       (a command +      (pods, events,   (one per failing  (one group per
     saved dump)        a pure parser)    nodes, config)   pod: cause,       root cause, worst
                                                          evidence, image)  first, with the fix)

* A **fact** (:mod:`archport.node.facts`) is a shell command and a pure parser
  of its output.  The node's one table drives live collection, ``archport
  collect`` (which writes each fact's raw output into a dump) and reading a
  dump back (:mod:`archport.node.collect`), so a dump is exactly what the live
  run would have seen.
* A **rule** (:mod:`.rules`) is pure.  Error messages are normalized first
  (:mod:`.normalize`: the gRPC ``rpc error: code = X desc =`` prefix is removed
  but the code kept, journald/klog quoting is unescaped, matching ignores case),
  then the *first* matching entry of one ordered table wins.  Specific entries
  come before general ones, so ``no match for platform in manifest: not found``
  is a missing platform, never a missing image.
* The **report** (:mod:`.report`) groups findings by root cause: when the pause
  image cannot be pulled every pod sits in ``ContainerCreating``, and that is one
  problem, not seven.

Side effects (metrics API unavailable, CoreDNS readiness 503, helm-install jobs
waiting) are attached to the group that causes them.  The registry cross-check
(:mod:`.crosscheck`) asks, for each failing image, which platforms its index
offers; it takes a lookup callable so that the rules stay testable offline.
On an Sv57 kernel, :mod:`.sv57` reads the Go version of every image the pods
run the same way: Go ≤ 1.19 binaries crash there.  :mod:`.hardware` puts the
board itself in the report: its CPU (profile, extensions, MMU) and kernel
first, a container dead of SIGILL on a known CPU as an ISA mismatch (the
image's binaries read the same way), and the kernel gaps that explain a
failure.

Nothing here prints or reads flags: ``archport.cli.cmd_doctor`` and
``cmd_collect`` build the connector and render the report.
"""
