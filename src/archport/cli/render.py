"""Rendering helpers: progress bars, sizes, tables.  Only the CLI uses them."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn


def human_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def short(digest: str, n: int = 12) -> str:
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:n]}" if hexpart else digest


class ProgressReporter:
    """Implements :class:`archport.copy.Reporter` with a rich progress bar."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), console=console, transient=True,
        )
        self._task = None
        self._lock = threading.Lock()

    def __enter__(self) -> "ProgressReporter":
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def planned(self, image: str, blobs: int, total_bytes: int) -> None:
        with self._lock:
            if self._task is not None:
                self._progress.remove_task(self._task)
            self._task = self._progress.add_task(f"{image} ({blobs} blobs)", total=total_bytes)

    def advance(self, nbytes: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, nbytes)

    def blob_done(self, desc, status: str) -> None:
        if status != "uploaded" and self._task is not None:
            # skipped/mounted blobs count as done without sending bytes
            self._progress.advance(self._task, desc.size)


class NullReporter:
    def __enter__(self) -> "NullReporter":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def planned(self, image: str, blobs: int, total_bytes: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def blob_done(self, desc, status: str) -> None:
        pass


def reporter_for(ctx):
    return ProgressReporter(ctx.err) if ctx.interactive else NullReporter()
