"""archport: bring k3s up on CPU architectures its container images skip.

The library is silent: it never prints, never reads flags or the environment.
Everything a user sees is rendered by :mod:`archport.cli`, the one composition
root.  The data flow is doctor → audit → port → check/smoke →
publish|airgap → deploy → verify; the README describes each command.
"""

__version__ = "0.1.0"
