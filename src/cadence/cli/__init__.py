"""The ``cadence`` command: each command parses its options, calls one function of
:mod:`cadence.job`, and prints what it returns.

Each command imports what it needs when it runs (:mod:`cadence.job`, pandas, the
config), so ``cadence --version`` and ``--help`` start in a few tenths of a second.

Exit status: 0 all good, 1 finished with a failure (e.g. a source failed),
2 configuration or usage error.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

from cadence import logs, memory
from cadence._version import __version__
from cadence.cli import output
from cadence.cli.output import escape, say
from cadence.errors import CadenceError, ConfigError, RosterError

if TYPE_CHECKING:
    import pandas as pd

    from cadence.config import Settings

app = typer.Typer(
    name="cadence",
    help="Are 1:1s between managers and their people happening, at the rhythm they agreed on?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help shows "[report] path" as written
)

P = ParamSpec("P")
R = TypeVar("R")


class State:
    config: Path | None = None
    store: Path | None = None

    def settings(self) -> Settings:
        from cadence.config import load_config

        return load_config(self.config)

    def store_path(self, option: Path | None, settings: Settings) -> Path:
        return option or self.store or settings.store.resolved()


state = State()

# options shared by several commands
StoreOption = Annotated[
    Path | None, typer.Option("--store", metavar="PATH", help="SQLite store file.")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", metavar="DATE", help="Report date (YYYY-MM-DD); default: now."),
]
WaitOption = Annotated[
    float,
    typer.Option(
        "--wait", metavar="SECONDS", help="Seconds to wait for another run holding the store."
    ),
]


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn Cadence's errors into one line on stderr and the documented exit status."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CadenceError as exc:
            output.error(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2 if isinstance(exc, ConfigError | RosterError) else 1) from None
        except (typer.exceptions.TyperException, typer.Exit, typer.Abort):
            raise  # usage errors and exits: click prints and exits as documented
        except Exception as exc:  # a bug: one line for the scheduler's log, the trace on demand
            if os.environ.get("CADENCE_DEBUG"):
                raise
            output.error(
                f"[red]error:[/red] unexpected {type(exc).__name__}: {escape(str(exc))} "
                "(set CADENCE_DEBUG=1 for the traceback, and please report it)"
            )
            raise typer.Exit(1) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cadence {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            metavar="PATH",
            help="Config file (default: $CADENCE_CONFIG or the user config dir).",
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option("--store", metavar="PATH", help="SQLite store file; overrides [store] path."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars or summaries; errors only.")
    ] = False,
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Log lines as JSON on stderr (for schedulers).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Global options, given before the command."""
    output.quiet.on, state.config, state.store = quiet, config, store
    logs.setup(json_lines=log_json, quiet=quiet)


@app.command()
@handles_errors
def demo(
    out_path: Annotated[
        Path, typer.Option("--out", "-o", metavar="PATH", help="Where to write the HTML report.")
    ] = Path("reports/demo.html"),
    people: Annotated[
        int,
        typer.Option(
            "--people", "-n", min=2, metavar="N", help="How many people the demo organisation has."
        ),
    ] = 60,
    seed: Annotated[
        int,
        typer.Option(
            "--seed", metavar="N", help="Random seed; the same seed gives the same organisation."
        ),
    ] = 7,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="DATE", help="Report date (YYYY-MM-DD); default: today."),
    ] = None,
    weeks: Annotated[
        int, typer.Option("--weeks", min=1, metavar="N", help="Weeks of history to generate.")
    ] = 26,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store", metavar="PATH", help="Demo store file (default: beside the report)."
        ),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Generate the demo organisation, store it, analyze it and write the HTML reports.

    Needs no credentials. The demo store is kept beside the report (or at
    --store) and rebuilt on every run, so it never mixes with your real data.
    """
    from cadence import job

    output.quiet.on = output.quiet.on or quiet
    settings = state.settings()
    with output.progress() as progress:
        done = job.demo(
            settings,
            out=out_path,
            people=people,
            seed=seed,
            as_of=_date(as_of, "--as-of") if as_of else None,
            weeks=weeks,
            store_path=store or state.store,
            progress=progress,
        )
    output.demo(done)


@app.command()
@handles_errors
def report(
    org_report: Annotated[
        bool, typer.Option("--org", help="The organisation (HR) report, privacy rules on.")
    ] = False,
    leader: Annotated[
        str | None,
        typer.Option(
            "--leader", metavar="EMAIL", help="Only this leader's pairs (default: [report] leader)."
        ),
    ] = None,
    indirect: Annotated[
        bool | None,
        typer.Option("--indirect/--direct", help="Include the pairs of managers below the leader."),
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="PATH", help="HTML file to write (default: in [report] out_dir)."
        ),
    ] = None,
    as_of: AsOfOption = None,
    roster_path: Annotated[
        Path | None,
        typer.Option("--roster", metavar="PATH", help="Roster CSV; overrides [roster] path."),
    ] = None,
    store: StoreOption = None,
    quiet: QuietOption = False,
) -> None:
    """Analyze the store and write the HTML health report with CSV and Parquet exports.

    The leader report shows one leader's pairs (all pairs without --leader);
    --org writes the organisation review, where groups under [report]
    min_group_size people are pooled or suppressed and no pair is shown.
    """
    from cadence import job

    output.quiet.on = output.quiet.on or quiet
    settings = state.settings()
    done = job.write_reports(
        settings,
        state.store_path(store, settings),
        as_of=_date(as_of, "--as-of") if as_of else None,
        out=out_path,
        org_report=org_report,
        leader=leader,
        indirect=indirect,
        roster_path=roster_path,
    )
    output.report(done)


@app.command()
@handles_errors
def run(
    as_of: AsOfOption = None,
    wait: WaitOption = 0.0,
    store: StoreOption = None,
    quiet: QuietOption = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Send nothing: write the emails (.eml) and posts (.json) beside."
        ),
    ] = False,
) -> None:
    """The weekly job: pull every source, analyze, write the week's reports, deliver.

    Every leader (the roster's managers, or [report] leaders) gets their own report
    and digest by email, Slack and Teams as [delivery] says.

    Reports and exports go to [report] out_dir/<ISO week>/ (e.g. reports/2026-W47/),
    replaced if the job runs again that week. Exit status: 0 all good, 1 finished
    with a failed source or delivery (the report says which source is stale),
    2 configuration or usage error.
    """
    from cadence import job

    output.quiet.on = output.quiet.on or quiet
    settings = state.settings()
    with output.progress() as progress:
        week = job.run_week(
            settings,
            state.store_path(store, settings),
            as_of=_date(as_of, "--as-of") if as_of else None,
            wait=wait,
            progress=progress,
            dry_run=dry_run,
        )
    output.week(week)
    if week.failed:
        raise typer.Exit(1)


@app.command()
@handles_errors
def init(
    path: Annotated[
        Path | None,
        typer.Option(
            "--path",
            metavar="PATH",
            help="Where to write config.toml (default: the user config dir).",
        ),
    ] = None,
    roster_template: Annotated[
        Path | None,
        typer.Option(
            "--roster-template", metavar="PATH", help="Also write a roster CSV template here."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write a commented config.toml (every key with its default) to start from."""
    from cadence import job

    for file in job.init_config(path or state.config, roster_template=roster_template, force=force):
        say(f"Wrote {file}")
    say("Next: edit it, then `cadence doctor` to check it.")


@app.command()
@handles_errors
def doctor(
    offline: Annotated[
        bool, typer.Option("--offline", help="Check files and credentials, not connectivity.")
    ] = False,
) -> None:
    """Check config, store, roster, credentials and connectivity; say what to fix.

    Exit status 0 when every check passes, 1 when one fails, 2 when the config
    itself is invalid.
    """
    from cadence import job
    from cadence.config import load_config
    from cadence.paths import default_config_path

    # an invalid config is exit 2, with its message; missing files are rows of the table
    settings = load_config(state.config, check_files=False)
    checks = job.doctor(
        settings,
        state.store_path(None, settings),
        config_path=state.config or default_config_path(),
        offline=offline,
    )
    output.checks(checks)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


@app.command()
@handles_errors
def purge(
    before: Annotated[
        str,
        typer.Option(
            "--before", metavar="DATE", help="Remove history older than this date (YYYY-MM-DD)."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be removed.")
    ] = False,
    store: StoreOption = None,
    quiet: QuietOption = False,
) -> None:
    """Remove stored events, changes, runs and snapshots older than a date (retention)."""
    from cadence import job

    output.quiet.on = output.quiet.on or quiet
    settings = state.settings()
    cut = _date(before, "--before")
    counts = job.purge(state.store_path(store, settings), cut, dry_run=dry_run)
    what = ", ".join(f"{n} {table}" for table, n in counts.items() if n) or "nothing"
    say(f"{'would remove' if dry_run else 'removed'} {what} from before {cut:%Y-%m-%d}")


@app.command("import")
@handles_errors
def import_files(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH", show_default=False, help=".ics files or folders to import."),
    ],
    calendar: Annotated[
        str | None,
        typer.Option(
            "--calendar", metavar="EMAIL", help="Whose calendar the files are (default: per file)."
        ),
    ] = None,
    weeks_back: Annotated[
        int, typer.Option(help="Weeks of history to import.", min=0, metavar="N")
    ] = 26,
    weeks_ahead: Annotated[
        int, typer.Option(help="Weeks ahead to import.", min=0, metavar="N")
    ] = 8,
    store: StoreOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import .ics exports (Google, Outlook, Apple) into the store.

    Importing a newer export of the same calendar records what moved, vanished
    or was cancelled. In a folder, broken events are skipped and listed.
    """
    from cadence import job

    output.quiet.on = output.quiet.on or quiet
    settings = state.settings()
    store_path = state.store_path(store, settings)
    with output.progress() as progress:
        result = job.import_files(
            paths,
            store_path,
            calendar=calendar,
            weeks_back=weeks_back,
            weeks_ahead=weeks_ahead,
            default_timezone=settings.ics.default_timezone,
            progress=progress,
            max_file_mb=settings.ics.max_file_mb,
            max_occurrences_per_series=settings.ics.max_occurrences_per_series,
        )
    output.pull(result, store_path)
    if result.problem:
        raise typer.Exit(1)


auth_app = typer.Typer(
    help="Sign in to a calendar provider (once; tokens are cached).", rich_markup_mode=None
)
app.add_typer(auth_app, name="auth")


@auth_app.command("google")
@handles_errors
def auth_google(
    client_secrets: Annotated[
        Path | None,
        typer.Option(
            "--client-secrets",
            metavar="PATH",
            help="OAuth client JSON (default: [google] client_secrets).",
        ),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the sign-in URL instead of opening it.")
    ] = False,
    port: Annotated[
        int,
        typer.Option(
            "--port", metavar="PORT", help="Local port for the OAuth redirect (0: any free one)."
        ),
    ] = 0,
) -> None:
    """Sign in with your Google account (read-only calendar access) and cache the token.

    The token is written to [google] token_path (default: the user config dir),
    readable by you only, and refreshed silently by later pulls.
    """
    from cadence import job

    path = job.sign_in_google(
        state.settings(), client_secrets=client_secrets, open_browser=not no_browser, port=port
    )
    say(f"Google token saved to {path} (readable by you only)")


@auth_app.command("microsoft")
@handles_errors
def auth_microsoft() -> None:
    """Sign in with your Microsoft 365 account (device code; read-only calendar access).

    Prints a code to enter at microsoft.com/devicelogin from any browser (the
    server itself needs none). The token cache is written to [microsoft]
    token_cache (default: the user config dir), readable by you only.
    """
    from cadence import job

    who, cache = job.sign_in_microsoft(state.settings(), output.error)
    say(f"Signed in as {who}; token cache at {cache} (readable by you only)")


@auth_app.command("caldav")
@handles_errors
def auth_caldav() -> None:
    """Keep your CalDAV app-specific password in a file only you can read (no keyring).

    Prompts for it (not echoed) and writes [caldav] password_file (default: the
    user config dir, mode 0600). $CADENCE_CALDAV_PASSWORD, when set, wins.
    """
    secret = typer.prompt("CalDAV app-specific password", hide_input=True)
    from cadence import job

    path = job.sign_in_caldav(state.settings(), secret)
    say(f"CalDAV password saved to {path} (readable by you only)")


@app.command()
@handles_errors
def pull(store: StoreOption = None, wait: WaitOption = 0.0, quiet: QuietOption = False) -> None:
    """Pull every source named in the config into the store: [ics], [google], [microsoft], [demo].

    A source or calendar that fails is reported and recorded in the store (the
    report warns about it); the others still land. Exit status 1 when any failed.
    """
    from cadence import job

    output.quiet.on = output.quiet.on or quiet
    settings = state.settings()
    store_path = state.store_path(store, settings)
    with output.progress() as progress:
        pulled = job.pull(settings, store_path, wait=wait, progress=progress)
    for result in pulled.sources:
        output.pull(result)
    if pulled.failed:
        raise typer.Exit(1)


def _date(text: str, option: str) -> pd.Timestamp:
    import pandas as pd

    try:
        ts = pd.Timestamp(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date; use YYYY-MM-DD", param_hint=option
        ) from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


_stopped: list[int] = []


def _terminated(signum: int, frame: object) -> None:
    _stopped.append(signum)
    raise SystemExit(128 + signum)  # unwinds: the run row is finished as interrupted


def main() -> None:
    """Entry point of the ``cadence`` console script. SIGTERM (a scheduler's timeout)
    finishes the run row as ``interrupted`` and exits at once, without waiting for the
    requests still on the wire.

    The process first keeps the memory it frees for reuse and asks the kernel for no huge
    pages (:func:`cadence.memory.configure`, before numpy is imported, which no command has
    done yet): the analysis of 100,000 pairs spent 12–17 s of system time on fresh pages
    without, 3–10 s with (docs/benchmarks.md). A user's own settings win.
    """
    memory.configure()
    signal.signal(signal.SIGTERM, _terminated)
    try:
        app()
    finally:
        if _stopped:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + _stopped[0])
