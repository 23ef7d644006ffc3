"""What the ``cadence`` command prints: one function per result of :mod:`cadence.job`.

Results go to stdout, problems to stderr, one line each (no hard wrap: log
friendly); ``--quiet`` keeps only errors.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: ``--version`` and ``--help`` need none of them
    from rich.console import Console

    from cadence import job
    from cadence.analysis import Analysis


@functools.cache
def console(stderr: bool = False) -> Console:
    """The rich console of stdout (or stderr), made on first use (rich costs ~0.05 s)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def escape(text: str) -> str:
    """``text`` with rich markup escaped (``[red]`` printed as written)."""
    from rich.markup import escape

    return escape(text)


class Quiet:
    """Whether only errors are printed (``--quiet``, global or per command)."""

    on: bool = False


quiet = Quiet()


def say(text: str) -> None:
    """A line of output, unless quiet."""
    if not quiet.on:
        console().print(text, soft_wrap=True)


def warn(text: str) -> None:
    """A warning on stderr, unless quiet."""
    if not quiet.on:
        console(stderr=True).print(text, soft_wrap=True)


def error(text: str) -> None:
    """A problem on stderr, always."""
    console(stderr=True).print(text, soft_wrap=True)


@contextmanager
def progress() -> Iterator[job.Progress]:
    """A rich progress bar per task the job reports (none when quiet)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
        disable=quiet.on,
    )
    tasks: dict[str, object] = {}

    def report(what: str, done: int, total: int) -> None:
        if what not in tasks:
            tasks[what] = bar.add_task(what, total=total)
        bar.update(tasks[what], completed=done, total=total)  # type: ignore[arg-type]

    with bar:
        yield report


def pull(result: job.SourceResult, store_path: Path | None = None) -> None:
    """A source's summary line, what it skipped and what failed."""
    s, name = result.summary, result.section
    if s.roster_people is not None:
        say(f"{name} directory: {s.roster_people} people in the roster")
    if s.error:
        error(f"[red]{name} failed:[/red] {escape(s.error)}")
        return
    stats = s.stats
    if "files" in stats:
        line = (
            f"Imported {stats['files']} file(s), {s.calendars} calendar(s): "
            f"{stats.get('occurrences', 0)} occurrences ({stats.get('cancelled', 0)} cancelled, "
            f"{stats.get('moved', 0)} moved); {s.rows_written} rows written"
        )
    else:
        masters = stats.get("masters_fetched")
        line = (
            f"{name}: {s.calendars} {result.unit} ({s.full} full, {s.incremental} incremental,"
            f" {s.resynced} re-synced), {s.requests} requests"
            + (f" ({masters} series masters)" if masters is not None else "")
            + f", {s.rows_written} rows written"
        )
    say(escape(line))
    for problem in s.problems:  # warnings, not errors
        warn(f"[yellow]problem:[/yellow] {escape(problem)}")
    if s.problems:
        warn(
            f"{len(s.problems)} problem(s) listed (skipped or not taken as written); "
            "the rest was imported"
        )
    for calendar, message in sorted(s.failed.items()):
        error(f"[red]{name} {calendar} failed:[/red] {escape(message)}")
    if s.failed:
        error(
            f"{len(s.failed)} of {s.calendars} {name} {result.unit} failed; the others were stored"
        )
    if store_path is not None:
        say(f"Store: {store_path.resolve()}")


def figures(analysis: Analysis, heading: str | None = None) -> None:
    """The summary every report leads with, as lines (the same figures, rounded the same)."""
    from cadence.analysis import summary

    if heading:
        say(heading)
    for line in summary(analysis).lines():
        say(f"  {escape(line)}")


def demo(done: job.DemoResult) -> None:
    from rich.table import Table

    from cadence.report.figures import people_names, short_pair
    from cadence.report.html import plain

    a = done.analysis
    figures(
        a,
        f"[bold]Cadence demo[/bold]: {done.people} people, {len(a.pairs)} pairs, "
        f"{a.window[0]:%d %b %Y} – {a.as_of:%d %b %Y}",
    )
    if quiet.on:
        return
    table = Table(title="Needs attention first", show_edge=False, header_style="bold")
    labels = short_pair(a.pairs.head(5), people_names(a)).tolist()
    for col in ("pair", "status", "score", "main reason"):
        table.add_column(col, justify="right" if col == "score" else "left", overflow="fold")
    for row, label in zip(a.pairs.head(5).to_dict("records"), labels, strict=True):
        reasons: list[str] = list(row["reasons"])
        table.add_row(
            escape(label),
            str(row["status"]).replace("_", " "),
            f"{float(row['health_score']):.0f}",
            escape(plain(reasons[0])) if reasons else "on track",
        )
    console().print(table)
    say(f"Store:  {done.store_path.resolve()}")
    say(f"Report: {done.report}")
    say(f"HR view: {done.org_report}")


def report(done: job.ReportResult) -> None:
    figures(done.analysis)
    for source in done.sources:
        if source.error:
            warn(f"[yellow]warning:[/yellow] source {source.name}: {escape(source.error)}")
    say(f"Report: {done.path}")


def week(done: job.WeekResult) -> None:
    from cadence.report.html import plural

    for result in done.pulls.sources:
        pull(result)
    for failure in done.failures:
        error(f"[red]failed:[/red] {escape(failure)}")
    figures(done.analysis, f"{done.week}:")
    teams = [t for t in done.leaders if t.path]
    if teams:
        sent = sum(1 for t in teams if t.delivered)
        say(f"{plural(len(teams), 'leader report')}, {sent} delivered")
    say(f"Reports: {done.folder.resolve()}")


def checks(found: list[job.Check]) -> None:
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold")
    for col in ("check", "", "detail / what to do"):
        table.add_column(col, overflow="fold")
    for check in found:
        mark = "[green]ok[/green]" if check.ok else "[red]FAIL[/red]"
        if check.ok and check.warning:
            mark = "[yellow]warn[/yellow]"
        table.add_row(check.name, mark, escape(check.detail))
    console().print(table)
