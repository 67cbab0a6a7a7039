"""The board's kernel against what k3s needs, shown before deploy changes anything.

The ``kernel`` fact (:mod:`archport.node.facts`) reads ``uname -r`` and the
running kernel's config (``/proc/config.gz``, else ``/boot/config-<release>``)
and :mod:`archport.node.kernel` checks it against k3s's check-config.sh list.
Deploy shows the verdict first; a kernel that lacks what k3s cannot run
without (no seccomp, a missing cgroup controller, no network namespaces…)
makes the board refused, one line per missing thing, because restarting k3s
there only trades one failure for another.  ``--force`` deploys anyway (the
user may be about to boot another kernel); the lines stay, as notes.

Pure: the fact's values in, lines out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypeVar

from ..node.kernel import Gap, KernelCheck

# deploy.plan.Plan (its facts module imports this one: named here by shape only).
P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Kernel:
    release: str = ""
    config: str = ""                    # where the config was read; "" when none was readable
    check: KernelCheck | None = None
    read: bool = True                   # False: the fact did not answer (an old board, no uname)

    @classmethod
    def from_values(cls, got: dict[str, Any], answered: bool = True) -> Kernel:
        return cls(got.get("kernel_release", ""), got.get("kernel_config", ""), got.get("kernel"), answered)

    def to_dict(self) -> dict:
        return {"release": self.release or None, "config": self.config or None,
                "check": self.check.to_dict() if self.check else None}


def _options(g: Gap) -> str:
    return ", ".join(f"CONFIG_{o}" for o in g.options)


def summary(k: Kernel) -> str:
    """The one line deploy prints first."""
    name = f"kernel {k.release}" if k.release else "kernel"
    if not k.read:
        return f"{name}: not checked (the board did not answer uname -r)"
    if k.check is None:
        return f"{name}: not checked (no /proc/config.gz, no /boot/config-{k.release or '<release>'})"
    if k.check.blocking:
        n = len(k.check.blocking)
        return f"{name} ({k.config}): lacks {n} thing{'s' if n != 1 else ''} k3s cannot run without"
    warn = [g for g in k.check.gaps if not g.blocks and g.group in ("vxlan", "netfilter-legacy-tables")]
    extra = "".join(f"; without {_options(g)}: {g.explains}" for g in warn)
    return (f"{name} ({k.config}): has what k3s needs (iptables backends: "
            f"{', '.join(k.check.backends) or 'none'}){extra}")


def missing(k: Kernel) -> list[str]:
    """One line per thing k3s cannot run without."""
    if k.check is None:
        return []
    return [f"the kernel lacks {_options(g)}: {g.explains}" for g in k.check.blocking]


def apply(plan: P, k: Kernel | None, force: bool) -> P:
    """The plan with the kernel check first among its notes, and the board
    refused for each missing thing unless ``force``."""
    if k is None:
        return plan
    lines = missing(k)
    notes = (summary(k),) + (tuple(f"{line} (deploying anyway: --force)" for line in lines) if force else ())
    refusals = () if force else tuple(lines)
    return replace(plan, notes=notes + plan.notes, refusals=refusals + plan.refusals,
                   restart=plan.restart and not refusals)
