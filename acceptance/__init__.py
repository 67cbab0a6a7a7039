"""Acceptance runs: archport against the real components of a k3s release.

Not part of the default test run (``pytest tests``): a run builds real Go
modules through the Go module proxy, for two architectures, and takes many
minutes.  Each script starts everything it needs on loopback (a registry, a
containerd), builds its own stand-in "upstream" images with :mod:`standins`
(public registries are not reachable from where these runs happen), drives
archport through its CLI exactly as a user would, and writes a JSON results
file plus a Markdown table for BENCHMARKS.md.  See README.md in this directory.
"""
