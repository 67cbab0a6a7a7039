"""Rendering helpers: progress, sizes, tables and their notes.  Only the CLI uses them.

Progress is for a person watching a terminal, as skopeo, docker and pip show
it: on stderr, only when stderr is a terminal, never under ``--json`` or in a
pipe (stdout carries only the result).  :func:`activity_for` picks the
watcher; every watcher takes the library's ``log`` events
(:mod:`archport.progress`) and is an :class:`archport.write.Reporter`.
"""

from __future__ import annotations

import re
import textwrap
import threading
import time

from rich import box
from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, Progress, ProgressColumn, SpinnerColumn, Task, TaskID,
                           TransferSpeedColumn)
from rich.table import Column, Table
from rich.text import Text

from ..progress import Phase


def human_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 image``, ``2 images``, ``0 images`` (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def short(digest: str, n: int = 12) -> str:
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:n]}" if hexpart else digest


def seconds(s: float) -> str:
    return f"{s:.1f}s" if s < 60 else f"{int(s // 60)}m{int(s % 60):02d}s"


# -- progress ------------------------------------------------------------------

class _Label(ProgressColumn):
    """The task's name, cut with an ellipsis rather than wrapped."""

    def render(self, task: Task) -> Text:
        return Text(task.description, no_wrap=True, overflow="ellipsis")


class _Bar(BarColumn):
    """A transfer's bar; a phase has none."""

    def render(self, task: Task):
        return super().render(task) if task.fields.get("bytes") else Text("")


class _Bytes(ProgressColumn):
    """Bytes and rate for a transfer; for a phase, what it is doing now."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._size, self._rate = DownloadColumn(), TransferSpeedColumn()

    def render(self, task: Task) -> Text:
        if not task.fields.get("bytes"):
            return Text(task.fields.get("detail", ""), style="dim", no_wrap=True, overflow="ellipsis")
        return Text.assemble(self._size.render(task), " ", self._rate.render(task), no_wrap=True)


class _Elapsed(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(seconds(task.elapsed or 0.0), style="cyan")


class Activity:
    """A terminal's live view: each open phase with a spinner, what it is
    doing and its elapsed time; each transfer with bytes and rate.  A phase
    that ends leaves one line (``✓ go build …  8.4s``); the live part is
    transient, so the terminal keeps only those lines and the result."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress = Progress(
            # One line per task at any width: the label (then a phase's
            # detail) gives way, cut with an ellipsis; bytes, rate and time stay.
            SpinnerColumn(), _Label(table_column=Column(overflow="ellipsis", max_width=60)),
            _Bar(bar_width=16), _Bytes(table_column=Column(overflow="ellipsis")),
            _Elapsed(table_column=Column(no_wrap=True)), console=console, transient=True,
            # ctx.console writes to sys.stdout: the result must not be captured into stderr.
            redirect_stdout=False, redirect_stderr=False)
        self._phases: list[tuple[str, TaskID]] = []     # open phases, innermost last
        self._transfer: TaskID | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> "Activity":
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    # -- the library's log callback --------------------------------------------
    def log(self, event) -> None:
        with self._lock:
            self._drop_transfer()
            if isinstance(event, Phase) and not event.ended:
                task = self._progress.add_task(event.label, total=None, detail="")
                self._phases.append((event.label, task))
            elif isinstance(event, Phase):
                self._end(event)
            elif self._phases:
                # A line during a phase says what the phase is doing now.
                self._progress.update(self._phases[-1][1], detail=str(event))
            else:
                self._progress.console.print(Text(str(event), style="dim"), soft_wrap=False)

    def _end(self, event: Phase) -> None:
        for i in range(len(self._phases) - 1, -1, -1):
            label, task = self._phases[i]
            if label == event.label:
                del self._phases[i]
                took = self._progress.tasks[self._index(task)].elapsed or 0.0
                self._progress.remove_task(task)
                mark = Text("✗ ", style="red") if event.failed else Text("✓ ", style="green")
                took_text = seconds(took)
                room = max(10, self.console.width - len(took_text) - 4)      # one line, whatever the width
                label = event.label if len(event.label) <= room else event.label[:room - 1] + "…"
                self._progress.console.print(
                    Text.assemble(mark, label, "  ", (took_text, "cyan")), soft_wrap=False)
                return

    def _index(self, task: TaskID) -> int:
        return next(i for i, t in enumerate(self._progress.tasks) if t.id == task)

    # -- archport.write.Reporter -----------------------------------------------
    def planned(self, image: str, blobs: int, total_bytes: int) -> None:
        with self._lock:
            if self._transfer is not None:
                self._progress.remove_task(self._transfer)
            self._transfer = self._progress.add_task(f"{image} ({blobs} blob{'s' if blobs != 1 else ''})",
                                                     total=total_bytes, bytes=True)

    def advance(self, nbytes: int) -> None:
        task = self._transfer
        if task is not None:
            self._progress.advance(task, nbytes)

    def blob_done(self, desc, status: str) -> None:
        task = self._transfer
        if status != "uploaded" and task is not None:
            # skipped/mounted blobs count as done without sending bytes
            self._progress.advance(task, desc.size)

    def _drop_transfer(self) -> None:
        """A finished transfer gives way to what comes next."""
        if self._transfer is not None:
            self._progress.remove_task(self._transfer)
            self._transfer = None


class Plain:
    """``--debug`` in a pipe: the same events as plain lines on stderr, for a log file."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._started: dict[str, float] = {}

    def __enter__(self) -> "Plain":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def log(self, event) -> None:
        if isinstance(event, Phase) and event.ended:
            took = time.monotonic() - self._started.pop(event.label, time.monotonic())
            line = f"{event} ({seconds(took)})"
        else:
            if isinstance(event, Phase):
                self._started[event.label] = time.monotonic()
            line = str(event)
        self.console.print(f"progress: {line}", markup=False, highlight=False, soft_wrap=True)

    def planned(self, image: str, blobs: int, total_bytes: int) -> None:
        self.log(f"sending {image}: {plural(blobs, 'blob')}, {human_size(total_bytes)}")

    def advance(self, nbytes: int) -> None:
        pass

    def blob_done(self, desc, status: str) -> None:
        pass


class Quiet:
    """Nothing at all: ``--json``, or stderr is not a terminal."""

    def __enter__(self) -> "Quiet":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def log(self, event) -> None:
        pass

    def planned(self, image: str, blobs: int, total_bytes: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def blob_done(self, desc, status: str) -> None:
        pass


def activity_for(ctx):
    """The live view on a terminal; plain lines for ``--debug`` in a pipe; else silence."""
    # getattr: a test's stand-in context may lack the flags (then: silence).
    if getattr(ctx, "interactive", False):
        return Activity(ctx.err)
    if getattr(ctx, "debug", False) and not ctx.json:
        return Plain(ctx.err)
    return Quiet()


reporter_for = activity_for          # the name the copy commands import


# -- tables --------------------------------------------------------------------

def table(*columns: str, wide: tuple[str, ...] = (), right: tuple[str, ...] = (), title: str | None = None) -> Table:
    """A table that fits 80 columns: no vertical rules, a rule under the
    header; the ``wide`` columns fold long values, the others never wrap
    (keep them short: long text goes to :class:`Notes`)."""
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1), title=title,
              title_justify="left", header_style="bold")
    for name in columns:
        justify = "right" if name in right else "left"
        if name in wide:
            t.add_column(name, overflow="fold", justify=justify)
        else:
            t.add_column(name, no_wrap=True, justify=justify)
    return t


def first_sentence(text: str) -> str:
    """A description's first sentence: enough for a listing."""
    m = re.match(r"(.+?[.!?])(\s|$)", text.strip(), re.S)
    return (m.group(1) if m else text).strip()


class Notes:
    """Footnotes for a table: long text goes under it as ``[n] …``; the cell
    holds only the mark.  The same text gets the same number."""

    def __init__(self) -> None:
        self._items: list[str] = []

    def mark(self, text: str) -> str:
        text = text.strip()
        if not text:
            return ""
        if text not in self._items:
            self._items.append(text)
        return f"[{self._items.index(text) + 1}]"

    def __bool__(self) -> bool:
        return bool(self._items)

    def print(self, console: Console) -> None:
        """Each note with a hanging indent, wrapped to the console's width,
        with no trailing spaces (a grid would pad every line to its width)."""
        if not self._items:
            return
        console.print()
        mark = len(f"[{len(self._items)}]")
        width = max(40, console.width)
        for i, text in enumerate(self._items, 1):
            lines = textwrap.wrap(text, width - mark - 1, break_long_words=True, break_on_hyphens=False) or [""]
            console.print(f"{f'[{i}]':>{mark}} {lines[0]}", markup=False, highlight=False, soft_wrap=True)
            for line in lines[1:]:
                console.print(f"{'':>{mark}} {line}", markup=False, highlight=False, soft_wrap=True)


def paragraph(console: Console, text: str, indent: str = "") -> None:
    """``text`` wrapped to the console's width with a hanging indent, and no
    trailing spaces (rich's own wrapping leaves one where it breaks)."""
    width = max(40, console.width)
    for line in textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False) or [""]:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def unfinished(outcomes: list[tuple[bool, str, str]], rerun: bool) -> str:
    """The last line of a port that did not do every image, from each
    image's (ok, status, reason): how many were done, what happened to the
    others, and the cause when one cause explains them all."""
    done = sum(ok for ok, _, _ in outcomes)
    left = [(status, reason) for ok, status, reason in outcomes if not ok]
    tally: dict[str, int] = {}
    for status, _ in left:
        tally[status] = tally.get(status, 0) + 1
    causes = {reason.splitlines()[0].split("; ")[0] for _, reason in left if reason.strip()}
    if done:
        head = f"partial port: {done} of {plural(len(outcomes), 'image')} done, " + \
            " and ".join(f"{n} {status}" for status, n in tally.items())
    elif len(tally) == 1:
        (status,) = tally
        head = f"nothing ported: {'the image' if len(left) == 1 else f'all {len(left)} images'} {status}"
    else:
        head = "nothing ported: " + " and ".join(f"{plural(n, 'image')} {status}" for status, n in tally.items())
    if len(causes) == 1:
        head += f" ({causes.pop()})"
    elif causes:
        head += " (each one's reason is above)"
    return head + ("; rerun to continue" if rerun else "")


def say_release(which: str, ctx) -> None:
    """Which release a version that named several resolved to, and where its
    image list came from (:mod:`.k3srelease`), on stderr."""
    if which and not ctx.json:
        ctx.err.print(which, markup=False, highlight=False, soft_wrap=True)
