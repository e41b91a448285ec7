"""Progress of `feedsvc run-once`: live bars on a terminal (rich), plain lines otherwise.

On a terminal (standard error is a TTY and TERM is not "dumb") each source gets a row: a spinner, its
name, a bar that pulses while it runs and fills when it is done, and the stories it found; the rows are
cleared at the end and the caller prints its usual summary. Log lines written meanwhile appear above the
rows. Anywhere else (CI logs, a pipe, cron mail) nothing is drawn: each source's summary line is printed
as soon as the source is done, so the output is the summary itself, line by line.

rich is imported only for a terminal (about 40 ms; `python -X importtime -c "import rich.progress"`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from feedsvc.models import RunReport

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


def interactive(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal worth drawing on."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # no fileno, or closed
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


def found(report: RunReport, limit: int = 60) -> str:
    """What a bar shows once its source is done (an error cut to ``limit``: the summary has it whole)."""
    if not report.ok:
        error = str(report.error)
        return f"FAILED: {error if len(error) <= limit else error[: limit - 1] + '…'}"
    if report.not_modified:
        return "not modified"
    if report.error:  # skipped (backing off, already running)
        return report.error
    return f"{report.stories} stories found"


class Lines:
    """Not a terminal: each source's summary line as soon as it is done."""

    streamed = True

    def __init__(self, describe: Callable[[RunReport], str], out: TextIO) -> None:
        self._describe = describe
        self._out = out

    def started(self, source: str) -> None:
        pass

    def finished(self, report: RunReport) -> None:
        print(self._describe(report), file=self._out, flush=True)


class Bars:
    """A terminal: one live bar per source (the caller prints the summary after)."""

    streamed = False

    def __init__(self, progress: Progress, names: Sequence[str]) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {
            name: progress.add_task(name, total=1, start=False, found="waiting") for name in names
        }

    def started(self, source: str) -> None:
        task = self._tasks[source]
        self._progress.start_task(task)
        self._progress.update(task, total=None, found="fetching...")

    def finished(self, report: RunReport) -> None:
        from rich.markup import escape

        text = escape(found(report))
        self._progress.update(
            self._tasks[report.source],
            total=1,
            completed=1,
            found=text if report.ok else f"[red]{text}[/red]",
        )
        self._progress.refresh()


@contextmanager
def source_progress(
    names: Sequence[str],
    describe: Callable[[RunReport], str],
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> Iterator[Lines | Bars]:
    """Bars on ``err`` (standard error) when it is a terminal, else lines on ``out`` (standard output)."""
    out = out or sys.stdout
    err = err or sys.stderr
    if not interactive(err):
        yield Lines(describe, out)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Column

    width = max((len(n) for n in names), default=6)
    progress = Progress(
        SpinnerColumn(finished_text="[green]✓[/green]"),
        TextColumn("{task.description}", table_column=Column(min_width=width, no_wrap=True)),
        BarColumn(bar_width=30),
        TextColumn("{task.fields[found]}", table_column=Column(no_wrap=True, overflow="ellipsis")),
        TimeElapsedColumn(),
        console=Console(file=err),
        transient=True,
    )
    with progress, _logs_above(err):
        yield Bars(progress, names)


@contextmanager
def _logs_above(err: TextIO) -> Iterator[None]:
    """Log lines meant for ``err`` go through the live display (rich's proxy for standard error prints
    them above the bars, not across them)."""
    proxy = sys.stderr  # swapped in by the live display
    moved = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and h.stream is err and proxy is not err
    ]
    for handler in moved:
        handler.setStream(proxy)
    try:
        yield
    finally:
        for handler in moved:
            handler.setStream(err)
