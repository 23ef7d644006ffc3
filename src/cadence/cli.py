"""The ``cadence`` command: a thin layer that parses options, calls the library, prints.

Exit status: 0 all good, 1 finished with a failure (e.g. a source failed),
2 configuration or usage error.
"""

from __future__ import annotations

import functools
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cadence import __version__, logs
from cadence.analysis import Analysis, analyze
from cadence.config import Settings, default_config_path, load_config
from cadence.delivery import DeliveryError, send_report
from cadence.errors import CadenceError, ConfigError, StoreError
from cadence.lock import store_lock
from cadence.org import load_roster
from cadence.report import cards, write_report
from cadence.report.html import plain, sources_from_store
from cadence.sources import demo as demo_source
from cadence.sources import google as google_source
from cadence.sources import graph as ms_source
from cadence.sources.ics import load_ics
from cadence.store import Store

app = typer.Typer(
    name="cadence",
    help="Are 1:1s between managers and their people happening, at the rhythm they agreed on?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)
log = logging.getLogger("cadence")


class State:
    quiet: bool = False
    log_json: bool = False
    config: Path | None = None
    store: Path | None = None

    def settings(self) -> Settings:
        return load_config(self.config)


state = State()


P = ParamSpec("P")
R = TypeVar("R")


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn Cadence's errors into one line on stderr and the documented exit status."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except CadenceError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        out.print(f"cadence {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Config file (default: $CADENCE_CONFIG or the user config dir)."
        ),
    ] = None,
    store: Annotated[
        Path | None, typer.Option("--store", help="SQLite store file; overrides [store] path.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars or summaries; errors only.")
    ] = False,
    log_json: Annotated[
        bool,
        typer.Option("--log-json", help="Log lines as JSON on stderr (for schedulers)."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Global options, given before the command."""
    state.quiet, state.config, state.store, state.log_json = quiet, config, store, log_json
    logs.setup(json_lines=log_json, quiet=quiet)


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=state.quiet,
    )


@app.command()
@handles_errors
def demo(
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the HTML report.")
    ] = Path("reports/demo.html"),
    people: Annotated[
        int,
        typer.Option("--people", "-n", min=2, help="How many people the demo organisation has."),
    ] = 60,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed; the same seed gives the same organisation.")
    ] = 7,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Report date (YYYY-MM-DD); default: today.")
    ] = None,
    weeks: Annotated[
        int, typer.Option("--weeks", min=1, help="Weeks of history to generate.")
    ] = 26,
    store: Annotated[
        Path | None, typer.Option("--store", help="Demo store file (default: beside the report).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Generate the demo organisation, store it, analyze it and write the HTML report.

    Needs no credentials. The demo store is kept beside the report (or at
    --store) and rebuilt on every run, so it never mixes with your real data.
    """
    state.quiet = state.quiet or quiet
    settings = state.settings()
    when = _parse_date(as_of, "--as-of") if as_of else None
    org = demo_source.generate(people, seed=seed, as_of=when, weeks=weeks)
    store_path = store or state.store or out_path.with_suffix(".sqlite")
    _reset_demo_store(store_path)
    week_before = org.as_of - pd.Timedelta(days=7)
    with Store(store_path) as db:
        db.set_meta("kind", "demo")
        run = db.start_run("demo", at=org.as_of)
        pulls = org.pulls()
        written = 0
        with _progress() as bar:
            task = bar.add_task("pulling demo calendars", total=len(pulls))
            for pull in pulls:
                if pull.seen_at > week_before and db.previous_snapshot("all", org.as_of) is None:
                    # last week's report, from what the store knew then: "since last week"
                    _demo_snapshot(db, org.roster, week_before, settings)
                written += db.write_pull(pull, run_id=run).rows_written
                bar.advance(task)
        analysis = analyze(db, org.roster, as_of=org.as_of, settings=settings.analysis)
        sources = sources_from_store(db)
        report_path = write_report(
            analysis,
            out_path,
            title="1:1 health report · demo organisation",
            sources=sources,
            previous=db.previous_snapshot("all", org.as_of),
        )
        org_path = write_report(
            analysis,
            out_path.with_name(f"{out_path.stem}-org.html"),
            org_report=True,
            title="1:1 health · organisation review · demo organisation",
            sources=sources,
            previous=db.previous_snapshot("org", org.as_of),
            min_group_size=settings.report.min_group_size,
        )
        for scope in ("all", "org"):
            db.save_snapshot(scope, org.as_of, cards(analysis), analysis.pairs, run_id=run)
        db.finish_run(
            run,
            "ok",
            {
                "people": people,
                "seed": seed,
                "rows_written": written,
                "report": str(report_path),
                "org_report": str(org_path),
            },
            at=org.as_of,
        )
    path = report_path
    if not state.quiet:
        _summary(analysis, people, path, store_path)


@app.command()
@handles_errors
def report(
    org_report: Annotated[
        bool, typer.Option("--org", help="The organisation (HR) report, privacy rules on.")
    ] = False,
    leader: Annotated[
        str | None,
        typer.Option("--leader", help="Only this leader's pairs (default: [report] leader)."),
    ] = None,
    indirect: Annotated[
        bool | None,
        typer.Option("--indirect/--direct", help="Include the pairs of managers below the leader."),
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="HTML file to write (default: in [report] out_dir)."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Report date (YYYY-MM-DD); default: now.")
    ] = None,
    roster_path: Annotated[
        Path | None, typer.Option("--roster", help="Roster CSV; overrides [roster] path.")
    ] = None,
    store: Annotated[Path | None, typer.Option("--store", help="Store file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Analyze the store and write the HTML health report with CSV and Parquet exports.

    The leader report shows one leader's pairs (all pairs without --leader);
    --org writes the organisation review, where groups under [report]
    min_group_size people are pooled or suppressed and no pair is shown.
    """
    state.quiet = state.quiet or quiet
    settings = state.settings()
    cfg = settings.report
    when = _parse_date(as_of, "--as-of") if as_of else pd.Timestamp.now(tz="UTC")
    who = (leader or cfg.leader or "").strip().lower() or None
    if org_report and who:
        raise ConfigError("--org reports on the whole organisation: leave out --leader")
    roster_file = roster_path or settings.roster.path
    roster = load_roster(roster_file) if roster_file else None
    key = cfg.key()
    store_path = store or state.store or settings.store.resolved()
    if not store_path.exists():
        raise StoreError(
            f"{store_path}: no store yet; run `cadence pull` or `cadence import` first"
        )
    with Store(store_path) as db:
        if db.counts()["events"] == 0:
            raise StoreError(f"{store_path} holds no events; run `cadence pull` first")
        if roster is None:
            roster = db.roster()  # read from a directory by `cadence pull`, if configured
        analysis = analyze(db, roster, as_of=when, settings=settings.analysis)
        sources = sources_from_store(db, pd.Timedelta(days=cfg.stale_after_days))
        if who:
            try:
                analysis = analysis.for_leader(
                    who, indirect=bool(cfg.indirect if indirect is None else indirect)
                )
            except ValueError as exc:
                raise ConfigError(f"--leader: {exc}") from None
        scope = "org" if org_report else f"leader:{who}" if who else "all"
        if who and (cfg.indirect if indirect is None else indirect):
            scope += "+indirect"
        previous = db.previous_snapshot(scope, when)
        name = "org" if org_report else (who.split("@")[0] if who else "all")
        path = write_report(
            analysis,
            out_path or cfg.out_dir / f"cadence-{name}.html",
            org_report=org_report,
            sources=sources,
            previous=previous,
            min_group_size=cfg.min_group_size,
            pseudonym_key=key,
        )
        db.save_snapshot(scope, analysis.as_of, cards(analysis), analysis.pairs)
    if not state.quiet:
        c = cards(analysis)
        out.print(
            f"{len(analysis.pairs)} pairs · {c['lapsed']} lapsed · {c['at_risk']} at risk · "
            f"{c['watch']} to watch · {c['healthy']} healthy"
        )
        for s in sources:
            if s.error:
                err.print(f"[yellow]warning:[/yellow] source {s.name}: {escape(s.error)}")
        out.print(f"Report: {path}")


@app.command()
@handles_errors
def run(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Report date (YYYY-MM-DD); default: now.")
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for another run holding the store.")
    ] = 0.0,
    store: Annotated[Path | None, typer.Option("--store", help="Store file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """The weekly job: pull every source, analyze, write the week's reports, deliver.

    Reports and exports go to [report] out_dir/<ISO week>/ (e.g. reports/2026-W47/),
    replaced if the job runs again that week. Exit status: 0 all good, 1 finished
    with a failed source or delivery (the report says which source is stale),
    2 configuration or usage error.
    """
    state.quiet = state.quiet or quiet
    settings = state.settings()
    cfg = settings.report
    when = _parse_date(as_of, "--as-of") if as_of else pd.Timestamp.now(tz="UTC")
    key = cfg.key()
    logs.register_secret(key)
    logs.register_secret(settings.delivery.email.secret())
    logs.register_secret(settings.microsoft.secret())
    store_path = store or state.store or settings.store.resolved()
    iso = when.isocalendar()
    week = f"{iso[0]}-W{iso[1]:02d}"
    folder = cfg.out_dir.expanduser() / week
    log.info("run %s started", week, extra={"ctx_step": "start", "ctx_week": week})
    with store_lock(store_path, wait=wait):
        outcome = _pull_sources(settings, store_path, when if as_of else None)
        roster = load_roster(settings.roster.path) if settings.roster.path else None
        with Store(store_path) as db:
            if roster is None:
                roster = db.roster()
            run_id = db.start_run("run", at=when)
            if db.counts()["events"] == 0:
                db.finish_run(run_id, "failed", {"week": week, "sources": outcome})
                raise StoreError(f"{store_path} holds no events after pulling; check the sources")
            analysis = analyze(db, roster, as_of=when, settings=settings.analysis)
            if cfg.leader:
                analysis = analysis.for_leader(cfg.leader, indirect=cfg.indirect)
            sources = sources_from_store(db, pd.Timedelta(days=cfg.stale_after_days))
            week_start = (when - pd.Timedelta(days=iso[2] - 1)).normalize()
            if folder.exists():
                shutil.rmtree(folder)  # a second run this week replaces the first
            written = []
            scopes = [("report", False)] + ([("org", True)] if cfg.org else [])
            for name, org_report in scopes:
                scope = "org" if org_report else (f"leader:{cfg.leader}" if cfg.leader else "all")
                path = write_report(
                    analysis,
                    folder / f"{name}.html",
                    org_report=org_report,
                    sources=sources,
                    previous=db.previous_snapshot(scope, week_start),
                    min_group_size=cfg.min_group_size,
                    pseudonym_key=key,
                )
                db.save_snapshot(
                    scope,
                    analysis.as_of,
                    cards(analysis),
                    analysis.pairs,
                    run_id=run_id,
                    replace_from=week_start,
                )
                written.append(path)
                log.info("wrote %s", path, extra={"ctx_step": "report", "ctx_path": str(path)})
            delivery_error = _deliver(settings, written, analysis, week)
            failed = [s for s, problem in outcome.items() if problem]
            status = "partial" if failed or delivery_error else "ok"
            db.finish_run(
                run_id,
                status,
                {
                    "week": week,
                    "folder": str(folder),
                    "sources": outcome,
                    "reports": [str(p) for p in written],
                    "delivery_error": delivery_error,
                },
            )
    log.info(
        "run %s finished: %s",
        week,
        status,
        extra={"ctx_step": "finish", "ctx_status": status, "ctx_failed": failed},
    )
    if not state.quiet:
        c = cards(analysis)
        out.print(
            f"{week}: {len(analysis.pairs)} pairs · {c['lapsed']} lapsed · {c['at_risk']} at risk"
            f" · {c['watch']} to watch · {c['healthy']} healthy"
        )
        out.print(f"Reports: {folder.resolve()}")
    if failed or delivery_error:
        raise typer.Exit(1)


def _deliver(settings: Settings, reports: list[Path], analysis: Analysis, week: str) -> str | None:
    """Email the reports when [delivery.email] is enabled; the error text if that failed."""
    mail = settings.delivery.email
    if not mail.enabled:
        return None
    c = cards(analysis)
    text = (
        f"Cadence 1:1 health report, {week}.\n\n"
        f"{len(analysis.pairs)} pairs: {c['lapsed']} lapsed, {c['at_risk']} at risk, "
        f"{c['watch']} to watch, {c['healthy']} healthy.\n"
        f"1:1s held: {c['held']} of {c['expected']:.0f} expected.\n\n"
        "The reports are in the attached zip file: open them in a browser.\n"
    )
    try:
        send_report(
            host=mail.host,
            port=mail.port,
            sender=mail.sender or "",
            recipients=mail.recipients,
            subject=mail.subject.format(week=week),
            text=text,
            attachments=reports,
            starttls=mail.starttls,
            use_ssl=mail.ssl,
            username=mail.username,
            password=mail.secret(),
            zip_name=f"cadence-{week}",
        )
    except DeliveryError as exc:
        err.print(f"[red]delivery failed:[/red] {escape(str(exc))}", highlight=False)
        log.warning("delivery failed: %s", exc, extra={"ctx_step": "deliver", "ctx_ok": False})
        return str(exc)
    log.info(
        "emailed the report to %d recipient(s)",
        len(mail.recipients),
        extra={"ctx_step": "deliver", "ctx_ok": True},
    )
    return None


@app.command()
@handles_errors
def init(
    path: Annotated[
        Path | None,
        typer.Option("--path", help="Where to write config.toml (default: the user config dir)."),
    ] = None,
    roster_template: Annotated[
        Path | None,
        typer.Option("--roster-template", help="Also write a roster CSV template here."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write a commented config.toml (every key with its default) to start from."""
    from importlib import resources

    target = (path or state.config or default_config_path()).expanduser()
    written = []
    text = resources.files("cadence").joinpath("config.example.toml").read_text(encoding="utf-8")
    files = [(target, text)]
    if roster_template:
        files.append((roster_template.expanduser(), ROSTER_TEMPLATE))
    for file, _ in files:
        if file.exists() and not force:
            raise ConfigError(f"{file} already exists; pass --force to overwrite it")
    for file, content in files:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(content, encoding="utf-8")
        written.append(file)
    if not state.quiet:
        for file in written:
            out.print(f"Wrote {file}")
        out.print("Next: edit it, then `cadence doctor` to check it.")


ROSTER_TEMPLATE = """email,manager_email,name,department,team,aliases
ceo@example.com,,Casey Chief,Leadership,Leadership,
ann@example.com,ceo@example.com,Ann Ash,Engineering,Platform,ann.ash@example.com
bob@example.com,ann@example.com,Bob Birch,Engineering,Platform,
"""


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
    settings = state.settings()  # an invalid config is exit 2, with its message
    checks: list[tuple[str, bool, str]] = []
    where = state.config or default_config_path()
    checks.append(("config", True, f"{where}" if where.exists() else "no file: the defaults apply"))
    store_path = state.store or settings.store.resolved()
    if store_path.exists():
        try:
            with Store(store_path) as db:
                counts = db.counts()
                runs = db.runs()
            last = (
                f"; last run {runs['status'].iloc[-1]} {runs['started_at'].iloc[-1]:%Y-%m-%d %H:%M}"
                if len(runs)
                else ""
            )
            checks.append(("store", True, f"{store_path}: {counts['events']} events{last}"))
        except CadenceError as exc:
            checks.append(("store", False, str(exc)))
    else:
        checks.append(("store", True, f"{store_path}: not created yet; `cadence pull` will"))
    if settings.roster.path:
        try:
            people = len(load_roster(settings.roster.path))
            checks.append(("roster", True, f"{settings.roster.path}: {people} people"))
        except CadenceError as exc:
            checks.append(("roster", False, str(exc)))
    for path in settings.ics.paths:
        checks.append(("ics", path.exists(), f"{path}" + ("" if path.exists() else " is missing")))
    if settings.google.enabled:
        checks.append(_doctor_google(settings, offline))
    if settings.microsoft.enabled:
        checks.append(_doctor_microsoft(settings, offline))
    if settings.delivery.email.enabled:
        checks.append(_doctor_email(settings, offline))
    table = Table(show_edge=False, header_style="bold")
    for col in ("check", "", "detail / what to do"):
        table.add_column(col, overflow="fold")
    for name, ok, detail in checks:
        table.add_row(name, "[green]ok[/green]" if ok else "[red]FAIL[/red]", escape(detail))
    out.print(table)
    if not all(ok for _, ok, _ in checks):
        raise typer.Exit(1)


def _doctor_google(settings: Settings, offline: bool) -> tuple[str, bool, str]:
    g = settings.google
    try:
        credentials_for = _google_credentials(settings)
        calendars = sorted(g.calendars)
        if offline or not calendars:
            return ("google", True, f"credentials ok ({g.auth}); {len(calendars)} calendars")
        calendar = calendars[0]
        http = google_source._connection(credentials_for(calendar), g.timeout_seconds)
        try:
            events = google_source._client("calendar", "v3", g.api_root).events()
            events.list(calendarId=calendar, maxResults=1, fields="items(id)").execute(
                http=http, num_retries=1
            )
        finally:
            http.close()
        return ("google", True, f"read {calendar} ({g.auth})")
    except CadenceError as exc:
        return ("google", False, str(exc))
    except Exception as exc:  # the API's own errors: show them as they are
        return ("google", False, f"{type(exc).__name__}: {exc}")


def _doctor_microsoft(settings: Settings, offline: bool) -> tuple[str, bool, str]:
    ms = settings.microsoft
    try:
        token = _microsoft_token(settings)
        token()
        boxes = sorted(ms.mailboxes)
        if offline or not boxes:
            return ("microsoft", True, f"token ok ({ms.auth}); {len(boxes)} mailboxes")
        now = pd.Timestamp.now(tz="UTC").floor("D")
        with ms_source.graph_session(1) as session:
            graph = ms_source.Graph(session, token, ms.graph_url, ms.timeout_seconds)
            graph.get(
                f"/users/{boxes[0]}/calendarView?startDateTime={now:%Y-%m-%dT%H:%M:%SZ}"
                f"&endDateTime={now + pd.Timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}&$select=id&$top=1"
            )
        return ("microsoft", True, f"read {boxes[0]} ({ms.auth})")
    except CadenceError as exc:
        return ("microsoft", False, str(exc))


def _doctor_email(settings: Settings, offline: bool) -> tuple[str, bool, str]:
    import smtplib
    import ssl

    mail = settings.delivery.email
    if offline:
        return ("email", True, f"{mail.host}:{mail.port} (not contacted)")
    try:
        smtp: smtplib.SMTP
        if mail.ssl:
            smtp = smtplib.SMTP_SSL(mail.host, mail.port, timeout=20)
        else:
            smtp = smtplib.SMTP(mail.host, mail.port, timeout=20)
        with smtp:
            smtp.ehlo()
            if mail.starttls and not mail.ssl:
                smtp.starttls(context=ssl.create_default_context())
            if mail.username:
                smtp.login(mail.username, mail.secret() or "")
        return ("email", True, f"{mail.host}:{mail.port} accepts us")
    except (smtplib.SMTPException, OSError) as exc:
        return ("email", False, f"{mail.host}:{mail.port}: {exc}; check [delivery.email]")


@app.command()
@handles_errors
def purge(
    before: Annotated[
        str, typer.Option("--before", help="Remove history older than this date (YYYY-MM-DD).")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be removed.")
    ] = False,
    store: Annotated[Path | None, typer.Option("--store", help="Store file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Remove stored events, changes, runs and snapshots older than a date (retention)."""
    state.quiet = state.quiet or quiet
    settings = state.settings()
    cut = _parse_date(before, "--before")
    if cut > pd.Timestamp.now(tz="UTC"):
        raise typer.BadParameter(f"{before} is in the future", param_hint="--before")
    store_path = store or state.store or settings.store.resolved()
    if not store_path.exists():
        raise StoreError(f"{store_path}: no store there")
    with store_lock(store_path), Store(store_path) as db:
        counts = db.purge(cut, dry_run=dry_run)
    if not state.quiet:
        what = ", ".join(f"{n} {table}" for table, n in counts.items() if n) or "nothing"
        verb = "would remove" if dry_run else "removed"
        out.print(f"{verb} {what} from before {cut:%Y-%m-%d}")


@app.command("import")
@handles_errors
def import_files(
    paths: Annotated[list[Path], typer.Argument(help=".ics files or folders to import.")],
    calendar: Annotated[
        str | None,
        typer.Option("--calendar", help="Whose calendar the files are (default: per file)."),
    ] = None,
    weeks_back: Annotated[int, typer.Option(help="Weeks of history to import.", min=0)] = 26,
    weeks_ahead: Annotated[int, typer.Option(help="Weeks ahead to import.", min=0)] = 8,
    store: Annotated[Path | None, typer.Option("--store", help="Store file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Import .ics exports (Google, Outlook, Apple) into the store.

    Importing a newer export of the same calendar records what moved, vanished
    or was cancelled. In a folder, broken events are skipped and listed.
    """
    state.quiet = state.quiet or quiet
    settings = state.settings()
    _import_ics(
        paths,
        calendar,
        weeks_back,
        weeks_ahead,
        settings.ics.default_timezone,
        store or state.store or settings.store.resolved(),
    )


auth_app = typer.Typer(help="Sign in to a calendar provider (once; tokens are cached).")
app.add_typer(auth_app, name="auth")


@auth_app.command("google")
@handles_errors
def auth_google(
    client_secrets: Annotated[
        Path | None,
        typer.Option(
            "--client-secrets", help="OAuth client JSON (default: [google] client_secrets)."
        ),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the sign-in URL instead of opening it.")
    ] = False,
    port: Annotated[
        int, typer.Option("--port", help="Local port for the OAuth redirect (0: any free one).")
    ] = 0,
) -> None:
    """Sign in with your Google account (read-only calendar access) and cache the token.

    The token is written to [google] token_path (default: the user config dir),
    readable by you only, and refreshed silently by later pulls.
    """
    settings = state.settings()
    secrets = client_secrets or settings.google.client_secrets
    if secrets is None:
        raise ConfigError(
            "no OAuth client file: pass --client-secrets PATH or set [google] client_secrets "
            "(see the README, 'Google Calendar')"
        )
    path = google_source.authorize_user(
        secrets.expanduser(), settings.google.token_file(), open_browser=not no_browser, port=port
    )
    if not state.quiet:
        out.print(f"Google token saved to {path} (readable by you only)")


@auth_app.command("microsoft")
@handles_errors
def auth_microsoft() -> None:
    """Sign in with your Microsoft 365 account (device code; read-only calendar access).

    Prints a code to enter at microsoft.com/devicelogin from any browser (the
    server itself needs none). The token cache is written to [microsoft]
    token_cache (default: the user config dir), readable by you only.
    """
    settings = state.settings()
    ms = settings.microsoft
    if not ms.client_id:
        raise ConfigError("[microsoft] client_id is missing: see the README, 'Microsoft 365'")
    cache = ms_source.TokenCacheFile(ms.cache_file())
    app_ = ms_source.public_app(ms.client_id, ms.tenant, cache, authority_host=ms.authority_host)
    who = ms_source.device_login(app_, cache, lambda text: err.print(text, soft_wrap=True))
    if not state.quiet:
        out.print(f"Signed in as {who}; token cache at {cache.path} (readable by you only)")


@app.command()
@handles_errors
def pull(
    store: Annotated[Path | None, typer.Option("--store", help="Store file.")] = None,
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for another run holding the store.")
    ] = 0.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Pull every source named in the config into the store: [ics], [google], [microsoft].

    A source or calendar that fails is reported and recorded in the store (the
    report warns about it); the others still land. Exit status 1 when any failed.
    """
    state.quiet = state.quiet or quiet
    settings = state.settings()
    store_path = store or state.store or settings.store.resolved()
    with store_lock(store_path, wait=wait):
        outcome = _pull_sources(settings, store_path)
    if any(outcome.values()):
        raise typer.Exit(1)


def _pull_sources(
    settings: Settings, store_path: Path, as_of: pd.Timestamp | None = None
) -> dict[str, str | None]:
    """Pull every configured source; source → None (all good) or what failed."""
    ics = settings.ics
    enabled = {
        "ics": bool(ics.paths),
        "google": settings.google.enabled,
        "microsoft": settings.microsoft.enabled,
        "demo": settings.demo.enabled,
    }
    if not any(enabled.values()):
        raise ConfigError(
            "no source to pull: add [ics] paths = [...], [google] enabled = true, "
            "[microsoft] enabled = true or [demo] enabled = true to the config"
        )
    outcome: dict[str, str | None] = {}
    for source in (s for s, on in enabled.items() if on):
        log.info("pulling %s", source, extra={"ctx_source": source, "ctx_step": "pull"})
        try:
            if source == "ics":
                _import_ics(
                    ics.paths,
                    ics.calendar,
                    ics.weeks_back,
                    ics.weeks_ahead,
                    ics.default_timezone,
                    store_path,
                )
                failed = False
            elif source == "google":
                failed = _pull_google(settings, store_path)
            elif source == "microsoft":
                failed = _pull_microsoft(settings, store_path)
            else:
                failed = _pull_demo(settings, store_path, as_of)
            outcome[source] = "some calendars failed" if failed else None
        except ConfigError:
            raise
        except CadenceError as exc:
            err.print(f"[red]{source} failed:[/red] {escape(str(exc))}", highlight=False)
            outcome[source] = str(exc)
        level = logging.WARNING if outcome[source] else logging.INFO
        log.log(
            level,
            "pulled %s: %s",
            source,
            outcome[source] or "ok",
            extra={"ctx_source": source, "ctx_step": "pull", "ctx_ok": not outcome[source]},
        )
    return outcome


def _pull_demo(settings: Settings, store_path: Path, as_of: pd.Timestamp | None) -> bool:
    """The demo organisation as a source (as of now): for trying the weekly job out."""
    cfg = settings.demo
    when = as_of if as_of is not None else pd.Timestamp.now(tz="UTC")
    org = demo_source.generate(cfg.people, seed=cfg.seed, as_of=when.normalize())
    with Store(store_path) as db:
        run = db.start_run("pull")
        written = sum(db.write_pull(p, run_id=run).rows_written for p in org.pulls()[-1:])
        db.finish_run(run, "ok", {"demo": {"people": cfg.people, "rows_written": written}})
    if not state.quiet:
        out.print(f"demo: {cfg.people} people, {written} rows written")
    return False


def _pull_targets(
    section: str, key: str, listed: list[str], from_roster: bool, roster: pd.DataFrame | None
) -> list[str]:
    """The calendars a connector pulls: those listed, plus the roster's people if asked."""
    targets = set(listed)
    if from_roster:
        if roster is None:
            raise ConfigError(
                f"[{section}] {key}_from_roster needs a roster: set [roster] path "
                f"or [{section}] roster_from_directory = true"
            )
        targets |= set(roster["email"])
    if not targets:
        raise ConfigError(
            f"[{section}] has no {key}: list them in {key} = [...] or set {key}_from_roster = true"
        )
    return sorted(targets)


def _pull_outcome(source: str, line: str, failed: dict[str, str], total: int) -> bool:
    """Print a connector's summary line and its failures; True when something failed."""
    if not state.quiet:
        out.print(f"{source}: {line}")
    for calendar, message in sorted(failed.items()):
        err.print(f"[red]{source} {calendar} failed:[/red] {escape(message)}", highlight=False)
    if failed:
        err.print(f"{len(failed)} of {total} {source} calendars failed; the others were stored")
    return bool(failed)


def _google_credentials(settings: Settings) -> Callable[[str], object]:
    g = settings.google
    if g.auth == "user":
        creds = google_source.user_credentials(g.token_file(), token_uri=g.token_uri)
        return lambda _calendar: creds
    key = g.key_file()
    if key is None:
        raise ConfigError(
            "[google] auth = 'service_account' needs service_account_file "
            "(or $CADENCE_GOOGLE_SERVICE_ACCOUNT)"
        )
    base = google_source.service_account_credentials(key, google_source.CALENDAR_SCOPES)
    if g.token_uri:
        base = base.with_token_uri(g.token_uri)
    return lambda calendar: base.with_subject(calendar)


def _google_roster(settings: Settings, db: Store) -> pd.DataFrame | None:
    g = settings.google
    if not g.roster_from_directory:
        path = settings.roster.path
        return load_roster(path) if path else db.roster()
    key = g.key_file()
    if g.auth != "service_account" or key is None or g.admin_email is None:
        raise ConfigError(
            "[google] roster_from_directory needs auth = 'service_account', a key file and "
            "admin_email (a Workspace admin the directory read impersonates)"
        )
    creds = google_source.service_account_credentials(key, [google_source.DIRECTORY_SCOPE])
    if g.token_uri:
        creds = creds.with_token_uri(g.token_uri)
    roster = google_source.directory_roster(
        creds.with_subject(g.admin_email), root=g.api_root, retries=g.retries
    )
    db.save_roster(roster, "google")
    if not state.quiet:
        out.print(f"google directory: {len(roster)} people in the roster")
    return roster


def _pull_google(settings: Settings, store_path: Path) -> bool:
    """Pull the configured Google calendars; True when something failed."""
    g = settings.google
    now = pd.Timestamp.now(tz="UTC")
    with Store(store_path) as db:
        roster = _google_roster(settings, db)
        ordered = _pull_targets("google", "calendars", g.calendars, g.calendars_from_roster, roster)
        try:
            credentials_for = _google_credentials(settings)
        except google_source.GoogleError as exc:
            for calendar in ordered:
                db.record_failure("google", calendar, str(exc), now)
            err.print(f"[red]google failed:[/red] {escape(str(exc))}", highlight=False)
            return True
        run = db.start_run("pull", at=now)
        with _progress() as bar:
            task = bar.add_task("pulling Google calendars", total=len(ordered))
            summary = google_source.pull_all(
                db,
                ordered,
                credentials_for,
                root=g.api_root,
                weeks_back=g.weeks_back,
                workers=g.workers,
                retries=g.retries,
                timeout=g.timeout_seconds,
                now=now,
                run_id=run,
                progress=lambda _calendar: bar.advance(task),
            )
        db.finish_run(run, "partial" if summary.failed else "ok", {"google": vars(summary)})
    return _pull_outcome(
        "google",
        f"{summary.calendars} calendars ({summary.full} full, {summary.incremental} incremental,"
        f" {summary.resynced} re-synced), {summary.requests} requests,"
        f" {summary.rows_written} rows written",
        summary.failed,
        summary.calendars,
    )


def _microsoft_token(settings: Settings) -> Callable[[], str]:
    ms = settings.microsoft
    if not ms.client_id:
        raise ConfigError("[microsoft] client_id is missing: see the README, 'Microsoft 365'")
    if ms.auth == "delegated":
        cache = ms_source.TokenCacheFile(ms.cache_file())
        app_ = ms_source.public_app(
            ms.client_id, ms.tenant, cache, authority_host=ms.authority_host
        )
        return ms_source.delegated_token(app_, cache)
    credential: str | dict[str, str] | None = ms.secret()
    if ms.certificate_file and ms.certificate_thumbprint:
        credential = {
            "private_key": ms.certificate_file.expanduser().read_text(encoding="utf-8"),
            "thumbprint": ms.certificate_thumbprint,
        }
    if not credential:
        raise ConfigError(
            "[microsoft] auth = 'application' needs $CADENCE_MS_CLIENT_SECRET (or client_secret), "
            "or certificate_file with certificate_thumbprint"
        )
    if ms.tenant in ("organizations", "common"):
        raise ConfigError(
            "[microsoft] auth = 'application' needs tenant = your directory (tenant) id or domain"
        )
    return ms_source.application_token(
        ms.client_id,
        ms.tenant,
        credential,
        graph_url=ms.graph_url,
        authority_host=ms.authority_host,
    )


def _pull_microsoft(settings: Settings, store_path: Path) -> bool:
    """Pull the configured mailboxes; True when something failed."""
    ms = settings.microsoft
    now = pd.Timestamp.now(tz="UTC")
    with Store(store_path) as db:
        try:
            token = _microsoft_token(settings)
            roster: pd.DataFrame | None
            if ms.roster_from_directory:
                with ms_source.graph_session(ms.retries) as session:
                    graph = ms_source.Graph(session, token, ms.graph_url, ms.timeout_seconds)
                    roster = ms_source.directory_roster(graph)
                db.save_roster(roster, "microsoft")
                if not state.quiet:
                    out.print(f"microsoft directory: {len(roster)} people in the roster")
            else:
                roster = load_roster(settings.roster.path) if settings.roster.path else db.roster()
        except ms_source.GraphError as exc:
            for mailbox in ms.mailboxes:
                db.record_failure("graph", mailbox, str(exc), now)
            err.print(f"[red]microsoft failed:[/red] {escape(str(exc))}", highlight=False)
            return True
        ordered = _pull_targets(
            "microsoft", "mailboxes", ms.mailboxes, ms.mailboxes_from_roster, roster
        )
        run = db.start_run("pull", at=now)
        with _progress() as bar:
            task = bar.add_task("pulling Outlook calendars", total=len(ordered))
            summary = ms_source.pull_all(
                db,
                ordered,
                token,
                graph_url=ms.graph_url,
                weeks_back=ms.weeks_back,
                weeks_ahead=ms.weeks_ahead,
                workers=ms.workers,
                retries=ms.retries,
                timeout=ms.timeout_seconds,
                now=now,
                run_id=run,
                progress=lambda _mailbox: bar.advance(task),
            )
        db.finish_run(run, "partial" if summary.failed else "ok", {"microsoft": vars(summary)})
    return _pull_outcome(
        "microsoft",
        f"{summary.calendars} mailboxes, {summary.requests} requests "
        f"({summary.masters_fetched} series masters), {summary.rows_written} rows written",
        summary.failed,
        summary.calendars,
    )


def _import_ics(
    paths: list[Path],
    calendar: str | None,
    weeks_back: int,
    weeks_ahead: int,
    zone: str,
    store_path: Path,
) -> None:
    now = pd.Timestamp.now(tz="UTC")
    today = now.normalize()
    imported = load_ics(
        *paths,
        calendar=calendar,
        start=today - pd.Timedelta(weeks=weeks_back),
        end=today + pd.Timedelta(weeks=weeks_ahead),
        default_timezone=zone,
    )
    with Store(store_path) as db:
        run = db.start_run("import", at=now)
        pulls = imported.pulls(now)
        written = 0
        with _progress() as bar:
            task = bar.add_task("importing calendars", total=len(pulls))
            for one in pulls:
                written += db.write_pull(one, run_id=run).rows_written
                bar.advance(task)
        db.finish_run(
            run,
            "ok",
            {
                "files": [str(f) for f in imported.files],
                "calendars": imported.calendars,
                "rows_written": written,
                "problems": [str(p) for p in imported.problems],
            },
        )
    if state.quiet:
        return
    ev = imported.events
    out.print(
        f"Imported {len(imported.files)} file(s), {len(imported.calendars)} calendar(s): "
        f"{len(ev)} occurrences ({int((ev['status'] == 'cancelled').sum())} cancelled, "
        f"{int((ev['start'] != ev['original_start']).sum())} moved); {written} rows written"
    )
    for problem in imported.problems:
        err.print(f"[yellow]skipped:[/yellow] {escape(str(problem))}", highlight=False)
    if imported.problems:
        err.print(f"{len(imported.problems)} broken event(s) skipped; everything else was imported")
    out.print(f"Store: {store_path.resolve()}")


def _summary(analysis: Analysis, people: int, report: Path, store_path: Path) -> None:
    pairs = analysis.pairs
    occ = analysis.occurrences
    past = occ[occ["outcome"] != "scheduled"]
    held = int((past["outcome"] == "held").sum())
    out.print(
        f"[bold]Cadence demo[/bold]: {people} people, {len(pairs)} pairs, "
        f"{analysis.window[0]:%d %b %Y} – {analysis.as_of:%d %b %Y}"
    )
    out.print(
        f"  past 1:1s: {len(past)} · held {held} ({held / max(len(past), 1):.0%}) · "
        f"cancelled {int((past['outcome'] == 'cancelled').sum())} · "
        f"declined {int((past['outcome'] == 'declined').sum())} · moved {int(past['moved'].sum())}"
    )
    counts = pairs["status"].value_counts()
    states = ("lapsed", "at_risk", "watch", "healthy")
    out.print("  pairs: " + " · ".join(f"{counts.get(s, 0)} {s.replace('_', ' ')}" for s in states))
    table = Table(title="Needs attention first", show_edge=False, header_style="bold")
    for col in ("pair", "status", "score", "main reason"):
        table.add_column(col, justify="right" if col == "score" else "left", overflow="fold")
    for row in pairs.head(5).to_dict("records"):
        reasons: list[str] = list(row["reasons"])
        table.add_row(
            str(row["pair"]),
            str(row["status"]).replace("_", " "),
            f"{float(row['health_score']):.0f}",
            plain(reasons[0]) if reasons else "on track",
        )
    out.print(table)
    out.print(f"Store:  {store_path.resolve()}")
    out.print(f"Report: {report}")
    out.print(f"HR view: {report.with_name(report.stem + '-org.html')}")


def _demo_snapshot(db: Store, roster: pd.DataFrame, when: pd.Timestamp, settings: Settings) -> None:
    before = analyze(db, roster, as_of=when, settings=settings.analysis)
    for scope in ("all", "org"):
        db.save_snapshot(scope, when, cards(before), before.pairs)


def _reset_demo_store(path: Path) -> None:
    if not path.exists():
        return
    with Store(path) as existing:
        kind = existing.get_meta("kind")
    if kind != "demo":
        raise StoreError(
            f"{path} is not a demo store (it may hold real calendar data); "
            "pass another --store path for the demo"
        )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _parse_date(text: str, option: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date; use YYYY-MM-DD", param_hint=option
        ) from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def main() -> None:
    """Entry point of the ``cadence`` console script."""
    app()
