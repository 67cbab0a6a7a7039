"""Progress events: how long work tells its watcher where it is.

The library never prints.  Long work reports through one callback, the
``log`` of :class:`archport.strategies.Env` (and smoke's ``progress``), which
takes a line of text.  A step whose duration matters (``go mod download``,
``go build``, a smoke run) is reported as two :class:`Phase` events instead,
its start and its end, so the CLI can show a spinner with the elapsed time
and what each step took.  ``str()`` of a phase is a line of text, so a
watcher that only keeps lines still reads it.

Blob transfers (bytes and rate) report through :class:`archport.write.Reporter`.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Union


@dataclass(frozen=True, slots=True)
class Phase:
    """A step starting (``ended=False``) or ending; ``failed`` only on an end."""

    label: str
    ended: bool = False
    failed: bool = False

    def end(self, failed: bool = False) -> "Phase":
        return Phase(self.label, True, failed)

    def __str__(self) -> str:
        if not self.ended:
            return self.label
        return f"{self.label}: {'failed' if self.failed else 'done'}"


#: What a ``log`` callback receives.
Event = Union[str, Phase]
Log = Callable[[Event], None]


@contextmanager
def phase(log: Log, label: str) -> Iterator[Phase]:
    """Report ``label`` as started, then as ended (failed if the block raised)."""
    started = Phase(label)
    log(started)
    try:
        yield started
    except BaseException:
        log(started.end(failed=True))
        raise
    log(started.end())


__all__ = ["Phase", "Event", "Log", "phase"]
