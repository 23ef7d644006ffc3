"""The weekly job as a library: pull every source, analyze, write and deliver the reports,
record the run — and the other jobs the ``cadence`` command runs.

Every function takes settings (:class:`cadence.config.Settings`) and a store
path, reports progress through an optional callback ``progress(what, done,
total)``, returns a result dataclass, and never prints: the CLI is a skin that
prints what these return. Failures are Cadence errors (:mod:`cadence.errors`);
a source that fails is recorded in the result, not raised.

Examples
--------
>>> import tempfile, pathlib
>>> from cadence.config import parse_config
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> settings = parse_config({"demo": {"enabled": True, "people": 12, "seed": 3},
...                          "report": {"out_dir": str(folder / "reports")}})
>>> week = run_week(settings, folder / "cadence.sqlite", as_of="2026-06-30")
>>> week.week, week.status, [p.name for p in week.reports]
('2026-W27', 'ok', ['report.html'])
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from cadence import logs, sync
from cadence.analysis import Analysis, analyze, parse_window, summary
from cadence.config import Settings, load_config
from cadence.delivery import check_smtp, send_report
from cadence.errors import (
    CadenceError,
    ConfigError,
    DeliveryError,
    StoreError,
)
from cadence.lock import store_lock
from cadence.model import Frames, PullSummary, SourceHealth
from cadence.org import load_roster
from cadence.paths import default_config_path
from cadence.report import cards, write_report
from cadence.sources import demo as demo_source
from cadence.sources import google, graph
from cadence.sources.connector import Connector, describe
from cadence.sources.ics import IcsConnector
from cadence.store import Store

Progress = sync.Progress
log = logging.getLogger("cadence")


def _utc(value: pd.Timestamp | str | None) -> pd.Timestamp:
    if value is None:
        return pd.Timestamp.now(tz="UTC")
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


# -- opening the store from Python ------------------------------------------------------------


def load_store(path: str | Path | None = None) -> Frames:
    """What ``cadence pull`` stored: the events (with their history columns), attendees and
    the directory roster, as frames for :func:`cadence.analyze`.

    Parameters
    ----------
    path : the SQLite file; default: ``[store] path`` of the config
        (``$CADENCE_CONFIG`` or the user config dir), else the user data dir.
        A path that does not exist is an error (this never creates a store).

    Examples
    --------
    >>> import tempfile, pathlib, cadence
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cadence.sqlite"
    >>> with cadence.Store(path) as store:
    ...     for pull in org.pulls():
    ...         _ = store.write_pull(pull)
    >>> data = cadence.load_store(path)
    >>> found = cadence.analyze(data, org.roster, as_of="2026-06-30")
    >>> len(found.pairs) == len(result.pairs)
    True
    """
    file = load_config().store.resolved() if path is None else Path(path).expanduser()
    if not file.exists():
        raise StoreError(
            f"{file}: no store there; pull calendars first (`cadence pull`) or pass the path"
        )
    with Store(file) as store:
        frames = store.frames()
        return Frames(frames.events, frames.attendees, store.roster(), frames.span)


# -- sources ----------------------------------------------------------------------------------


def connectors(settings: Settings, *, demo_as_of: pd.Timestamp | None = None) -> list[Connector]:
    """The enabled sources, built from their config sections (nothing is contacted yet)."""
    out: list[Connector] = []
    ics = settings.ics
    if ics.paths:
        out.append(
            IcsConnector(
                ics.paths,
                calendar=ics.calendar,
                weeks_back=ics.weeks_back,
                weeks_ahead=ics.weeks_ahead,
                default_timezone=ics.default_timezone,
                max_file_mb=ics.max_file_mb,
                max_occurrences_per_series=ics.max_occurrences_per_series,
            )
        )
    if settings.google.enabled:
        out.append(google_connector(settings))
    if settings.microsoft.enabled:
        out.append(microsoft_connector(settings))
    if settings.demo.enabled:
        cfg = settings.demo
        when = (demo_as_of if demo_as_of is not None else _utc(None)).normalize()
        org = demo_source.generate(cfg.people, seed=cfg.seed, as_of=when)
        out.append(demo_source.DemoConnector(org, at=when))
    return out


def google_connector(settings: Settings) -> google.GoogleConnector:
    """The ``[google]`` source."""
    g = settings.google
    if g.roster_from_directory and g.auth != "service_account":
        raise ConfigError(
            "[google] roster_from_directory needs auth = 'service_account', a key file and "
            "admin_email (a Workspace admin the directory read impersonates)"
        )
    key = g.key_file()
    return google.GoogleConnector(
        lambda: google.auth.calendar_credentials(
            auth=g.auth, token_file=g.token_file(), key_file=key, token_uri=g.token_uri
        ),
        calendars=g.calendars,
        from_roster=g.calendars_from_roster,
        directory_sign_in=(
            (
                lambda: google.auth.directory_credentials(
                    key_file=key, admin_email=g.admin_email, token_uri=g.token_uri
                )
            )
            if g.roster_from_directory
            else None
        ),
        root=g.api_root,
        weeks_back=g.weeks_back,
        workers=g.workers,
        retries=g.retries,
        timeout=g.timeout_seconds,
    )


def microsoft_connector(settings: Settings) -> graph.GraphConnector:
    """The ``[microsoft]`` source."""
    ms = settings.microsoft
    return graph.GraphConnector(
        lambda: graph.auth.token_provider(
            auth=ms.auth,
            client_id=ms.client_id,
            tenant=ms.tenant,
            cache_file=ms.cache_file(),
            secret=ms.secret(),
            certificate_file=ms.certificate_file,
            certificate_thumbprint=ms.certificate_thumbprint,
            graph_url=ms.graph_url,
            authority_host=ms.authority_host,
        ),
        mailboxes=ms.mailboxes,
        from_roster=ms.mailboxes_from_roster,
        roster_from_directory=ms.roster_from_directory,
        graph_url=ms.graph_url,
        weeks_back=ms.weeks_back,
        weeks_ahead=ms.weeks_ahead,
        workers=ms.workers,
        retries=ms.retries,
        timeout=ms.timeout_seconds,
    )


@dataclass
class SourceResult:
    """One source's pull: its name as the config says it, what a target is, the summary."""

    section: str
    unit: str
    summary: PullSummary

    @property
    def problem(self) -> str | None:
        """Why this source is not all good (``None`` when it is)."""
        if self.summary.error:
            return self.summary.error
        return "some calendars failed" if self.summary.failed else None


@dataclass
class PullReport:
    """Every source's pull."""

    sources: list[SourceResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(s.problem for s in self.sources)

    def outcome(self) -> dict[str, str | None]:
        """section → ``None`` (all good) or what failed; as the run records it."""
        return {s.section: s.problem for s in self.sources}


def _roster(settings: Settings, store: Store) -> pd.DataFrame | None:
    path = settings.roster.path
    return load_roster(path) if path else store.roster()


def pull_sources(
    settings: Settings,
    store_path: Path,
    *,
    now: pd.Timestamp | str | None = None,
    demo_as_of: pd.Timestamp | str | None = None,
    progress: Progress | None = None,
) -> PullReport:
    """Pull every enabled source into the store, one after the other.

    A source that fails (sign-in, network, a bad file) is that source's failure,
    listed in the report; the others still land. A wrong config raises
    :class:`~cadence.errors.ConfigError`. ``demo_as_of`` dates the ``[demo]``
    organisation (default: today).
    """
    when = _utc(now)
    demo_when = _utc(demo_as_of) if demo_as_of is not None else None
    sources = connectors(settings, demo_as_of=demo_when)
    if not sources:
        raise ConfigError(
            "no source to pull: add [ics] paths = [...], [google] enabled = true, "
            "[microsoft] enabled = true or [demo] enabled = true to the config"
        )
    report = PullReport()
    with Store(store_path) as store:
        for connector in sources:
            log.info(
                "pulling %s",
                connector.section,
                extra={"ctx_source": connector.section, "ctx_step": "pull"},
            )
            at = demo_when.normalize() if connector.source == "demo" and demo_when else when
            try:
                summary = sync.pull(
                    store, connector, roster=_roster(settings, store), now=at, progress=progress
                )
            except ConfigError:
                raise
            except CadenceError as exc:  # e.g. the store itself: that source did not land
                summary = PullSummary(connector.source, error=str(exc))
            except Exception as exc:  # a fault in one source is that source's failure
                log.debug("%s failed", connector.section, exc_info=exc)
                summary = PullSummary(connector.source, error=describe(exc))
            result = SourceResult(connector.section, connector.unit, summary)
            report.sources.append(result)
            log.log(
                logging.WARNING if result.problem else logging.INFO,
                "pulled %s: %s",
                connector.section,
                result.problem or "ok",
                extra={
                    "ctx_source": connector.section,
                    "ctx_step": "pull",
                    "ctx_ok": not result.problem,
                },
            )
    return report


def pull(
    settings: Settings,
    store_path: Path,
    *,
    wait: float = 0.0,
    progress: Progress | None = None,
) -> PullReport:
    """:func:`pull_sources` holding the store's lock (``wait`` seconds for another run)."""
    with store_lock(store_path, wait=wait):
        return pull_sources(settings, store_path, progress=progress)


def import_files(
    paths: list[Path],
    store_path: Path,
    *,
    calendar: str | None = None,
    weeks_back: int = 26,
    weeks_ahead: int = 8,
    default_timezone: str = "UTC",
    now: pd.Timestamp | str | None = None,
    progress: Progress | None = None,
    max_file_mb: float = 200,
    max_occurrences_per_series: int = 3_000,
) -> SourceResult:
    """Import ``.ics`` files and folders into the store (a run of kind ``import``)."""
    connector = IcsConnector(
        paths,
        calendar=calendar,
        weeks_back=weeks_back,
        weeks_ahead=weeks_ahead,
        default_timezone=default_timezone,
        max_file_mb=max_file_mb,
        max_occurrences_per_series=max_occurrences_per_series,
    )
    with Store(store_path) as store:
        summary = sync.pull(store, connector, now=_utc(now), kind="import", progress=progress)
    return SourceResult(connector.section, connector.unit, summary)


# -- reports ----------------------------------------------------------------------------------


def _analysis(
    settings: Settings, store: Store, as_of: pd.Timestamp, roster_path: Path | None = None
) -> Analysis:
    if store.counts()["events"] == 0:
        raise StoreError(f"{store.path} holds no events; run `cadence pull` first")
    path = roster_path or settings.roster.path
    roster = load_roster(path) if path else store.roster()
    return analyze(store.frames(), roster, as_of=as_of, settings=settings.analysis)


def scoped(analysis: Analysis, leader: str | None, indirect: bool) -> Analysis:
    """The analysis of one leader's pairs (all of them without a leader)."""
    return analysis.for_leader(leader, indirect=indirect) if leader else analysis


def _scope(org_report: bool, leader: str | None, indirect: bool) -> str:
    if org_report:
        return "org"
    if not leader:
        return "all"
    return f"leader:{leader}" + ("+indirect" if indirect else "")


@dataclass
class ReportResult:
    """What :func:`write_reports` wrote, and the analysis (scoped) it showed."""

    analysis: Analysis
    path: Path
    sources: list[SourceHealth]


def write_reports(
    settings: Settings,
    store_path: Path,
    *,
    as_of: pd.Timestamp | str | None = None,
    out: Path | None = None,
    org_report: bool = False,
    leader: str | None = None,
    indirect: bool | None = None,
    roster_path: Path | None = None,
) -> ReportResult:
    """Analyze the store and write one report (leader or organisation) with its exports.

    The leader report shows ``leader``'s pairs (default ``[report] leader``; all
    pairs without one); ``org_report`` writes the organisation review. A snapshot
    of what it showed is kept, so the next report of the same scope can say what
    changed.
    """
    cfg = settings.report
    when = _utc(as_of)
    who = (leader or cfg.leader or "").strip().lower() or None
    if org_report and who:
        raise ConfigError("--org reports on the whole organisation: leave out --leader")
    deep = bool(cfg.indirect if indirect is None else indirect)
    key = cfg.key()
    if not store_path.exists():
        raise StoreError(
            f"{store_path}: no store yet; run `cadence pull` or `cadence import` first"
        )
    with Store(store_path) as store:
        analysis = scoped(_analysis(settings, store, when, roster_path), who, deep)
        sources = store.source_health(pd.Timedelta(days=cfg.stale_after_days))
        scope = _scope(org_report, who, deep)
        name = "org" if org_report else (who.split("@")[0] if who else "all")
        path = write_report(
            analysis,
            out or cfg.out_dir / f"cadence-{name}.html",
            org_report=org_report,
            sources=sources,
            previous=store.previous_snapshot(scope, when),
            min_group_size=cfg.min_group_size,
            pseudonym_key=key,
        )
        store.save_snapshot(scope, analysis.as_of, cards(analysis), analysis.pairs)
    return ReportResult(analysis, path, sources)


# -- the weekly job ---------------------------------------------------------------------------


def iso_week(when: pd.Timestamp) -> str:
    """``2026-W27``: the ISO week a run belongs to (its report folder's name)."""
    iso = when.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


@dataclass
class WeekResult:
    """What one run of the weekly job did."""

    week: str
    folder: Path
    status: str  # ok, partial (a source or the delivery failed)
    pulls: PullReport
    reports: list[Path]
    analysis: Analysis
    delivery_error: str | None = None

    @property
    def failed(self) -> bool:
        return self.status != "ok"


def run_week(
    settings: Settings,
    store_path: Path,
    *,
    as_of: pd.Timestamp | str | None = None,
    wait: float = 0.0,
    progress: Progress | None = None,
) -> WeekResult:
    """The weekly job: pull every source, analyze, write the week's reports, deliver, record.

    Reports and exports go to ``[report] out_dir/<ISO week>/`` (e.g.
    ``reports/2026-W27/``), replaced if the job runs again that week; the
    snapshots of that week are replaced too. The store is locked for the whole
    run (``wait`` seconds for another run to finish). A failing source or
    delivery makes the run ``partial``: the reports are still written and say
    which source is stale. ``as_of`` (default now) is the report date and dates
    the ``[demo]`` source.
    """
    cfg = settings.report
    when = _utc(as_of)
    key = cfg.key()
    for secret in (key, settings.delivery.email.secret(), settings.microsoft.secret()):
        logs.register_secret(secret)
    week = iso_week(when)
    folder = cfg.out_dir.expanduser() / week
    log.info("run %s started", week, extra={"ctx_step": "start", "ctx_week": week})
    with store_lock(store_path, wait=wait):
        pulls = pull_sources(
            settings, store_path, demo_as_of=when if as_of is not None else None, progress=progress
        )
        with Store(store_path) as store:
            run_id = store.start_run("run", at=when)
            record: dict[str, Any] = {"week": week, "sources": pulls.outcome()}
            try:
                analysis = _analysis(settings, store, when)
                analysis = scoped(analysis, cfg.leader, cfg.indirect)
                sources = store.source_health(pd.Timedelta(days=cfg.stale_after_days))
                week_start = (when - pd.Timedelta(days=when.isocalendar()[2] - 1)).normalize()
                if folder.exists():
                    shutil.rmtree(folder)  # a second run this week replaces the first
                written = []
                for name, org_report in [("report", False)] + ([("org", True)] if cfg.org else []):
                    scope = _scope(org_report, cfg.leader, cfg.indirect)
                    path = write_report(
                        analysis,
                        folder / f"{name}.html",
                        org_report=org_report,
                        sources=sources,
                        previous=store.previous_snapshot(scope, week_start),
                        min_group_size=cfg.min_group_size,
                        pseudonym_key=key,
                    )
                    store.save_snapshot(
                        scope,
                        analysis.as_of,
                        cards(analysis),
                        analysis.pairs,
                        run_id=run_id,
                        replace_from=week_start,
                    )
                    written.append(path)
                    log.info("wrote %s", path, extra={"ctx_step": "report", "ctx_path": str(path)})
                delivery_error = deliver(settings, written, analysis, week)
            except BaseException as exc:  # the run is over: never leave it "running"
                store.finish_run(run_id, "failed", {**record, "error": str(exc)})
                raise
            status = "partial" if pulls.failed or delivery_error else "ok"
            store.finish_run(
                run_id,
                status,
                {
                    **record,
                    "folder": str(folder),
                    "reports": [str(p) for p in written],
                    "delivery_error": delivery_error,
                },
            )
    log.info(
        "run %s finished: %s",
        week,
        status,
        extra={
            "ctx_step": "finish",
            "ctx_status": status,
            "ctx_failed": [s for s, problem in pulls.outcome().items() if problem],
        },
    )
    return WeekResult(week, folder, status, pulls, written, analysis, delivery_error)


def deliver(settings: Settings, reports: list[Path], analysis: Analysis, week: str) -> str | None:
    """Email the reports when ``[delivery.email]`` is enabled; the error text if that failed."""
    mail = settings.delivery.email
    if not mail.enabled:
        return None
    text = (
        f"Cadence 1:1 health report, {week}.\n\n"
        + "\n".join(summary(analysis).lines())
        + "\n\nThe reports are in the attached zip file: open them in a browser.\n"
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
        log.warning("delivery failed: %s", exc, extra={"ctx_step": "deliver", "ctx_ok": False})
        return str(exc)
    log.info(
        "emailed the report to %d recipient(s)",
        len(mail.recipients),
        extra={"ctx_step": "deliver", "ctx_ok": True},
    )
    return None


# -- the demo ---------------------------------------------------------------------------------


@dataclass
class DemoResult:
    """What :func:`demo` made: the organisation's analysis and where it all went."""

    analysis: Analysis
    people: int
    report: Path
    org_report: Path
    store_path: Path


def demo(
    settings: Settings,
    *,
    out: Path = Path("reports/demo.html"),
    people: int = 60,
    seed: int = 7,
    as_of: pd.Timestamp | str | None = None,
    weeks: int = 26,
    store_path: Path | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Generate the demo organisation, pull it through the sync engine into its own store,
    analyze it and write the leader and organisation reports.

    The store (default: beside the report) is rebuilt on every run, so it never
    mixes with real data; a store that is not a demo store is refused. Its
    weekly pulls let the store see moves and deletions happen, and last week's
    report is kept as a snapshot, so "since last week" has something to say.
    """
    when = pd.Timestamp(as_of) if as_of is not None else None
    org = demo_source.generate(people, seed=seed, as_of=when, weeks=weeks)
    if parse_window(settings.analysis.window) > pd.Timedelta(weeks=weeks):
        # analyze what was generated: a shorter history than the window is all there is
        analysis_settings = settings.analysis.model_copy(update={"window": f"{weeks}w"})
        settings = settings.model_copy(update={"analysis": analysis_settings})
    path = store_path or out.with_suffix(".sqlite")
    _reset_demo_store(path)
    week_before = org.as_of - pd.Timedelta(days=7)
    with Store(path) as store:
        store.set_meta("kind", "demo")
        run = store.start_run("demo", at=org.as_of)
        written = 0
        for at in org.pull_times:
            if at > week_before and store.previous_snapshot("all", org.as_of) is None:
                # last week's report, from what the store knew then: "since last week"
                before = analyze(
                    store.frames(), org.roster, as_of=week_before, settings=settings.analysis
                )
                for scope in ("all", "org"):
                    store.save_snapshot(scope, week_before, cards(before), before.pairs)
            summary = sync.pull(
                store, demo_source.DemoConnector(org), now=at, run_id=run, progress=progress
            )
            written += summary.rows_written
        analysis = analyze(store.frames(), org.roster, as_of=org.as_of, settings=settings.analysis)
        sources = store.source_health()
        report = write_report(
            analysis,
            out,
            title="1:1 health report · demo organisation",
            sources=sources,
            previous=store.previous_snapshot("all", org.as_of),
        )
        org_path = write_report(
            analysis,
            out.with_name(f"{out.stem}-org.html"),
            org_report=True,
            title="1:1 health · organisation review · demo organisation",
            sources=sources,
            previous=store.previous_snapshot("org", org.as_of),
            min_group_size=settings.report.min_group_size,
        )
        for scope in ("all", "org"):
            store.save_snapshot(scope, org.as_of, cards(analysis), analysis.pairs, run_id=run)
        store.finish_run(
            run,
            "ok",
            {
                "people": people,
                "seed": seed,
                "rows_written": written,
                "report": str(report),
                "org_report": str(org_path),
            },
            at=org.as_of,
        )
    return DemoResult(analysis, people, report, org_path, path)


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


# -- set-up and upkeep ------------------------------------------------------------------------

ROSTER_TEMPLATE = """email,manager_email,name,department,team,aliases
ceo@example.com,,Casey Chief,Leadership,Leadership,
ann@example.com,ceo@example.com,Ann Ash,Engineering,Platform,ann.ash@example.com
bob@example.com,ann@example.com,Bob Birch,Engineering,Platform,
"""


def init_config(
    path: Path | None = None, *, roster_template: Path | None = None, force: bool = False
) -> list[Path]:
    """Write a commented ``config.toml`` (every key with its default) and, if asked, a roster
    CSV template; existing files are kept unless ``force``."""
    target = (path or default_config_path()).expanduser()
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
    return [file for file, _ in files]


def purge(store_path: Path, before: pd.Timestamp | str, *, dry_run: bool = False) -> dict[str, int]:
    """Remove stored events, changes, runs and snapshots from before ``before`` (retention);
    the rows removed (or that would be) per table."""
    cut = _utc(before)
    if cut > pd.Timestamp.now(tz="UTC"):
        raise ConfigError(f"--before {cut:%Y-%m-%d} is in the future")
    if not store_path.exists():
        raise StoreError(f"{store_path}: no store there")
    with store_lock(store_path), Store(store_path) as store:
        return store.purge(cut, dry_run=dry_run)


@dataclass(frozen=True)
class Check:
    """One line of :func:`doctor`: what was checked, whether it passed, what to do."""

    name: str
    ok: bool
    detail: str


def doctor(
    settings: Settings, store_path: Path, *, config_path: Path | None = None, offline: bool = False
) -> list[Check]:
    """Check config, store, roster, every enabled source's credentials (and, unless
    ``offline``, that one of its calendars reads) and the mail server."""
    checks: list[Check] = []
    where = config_path or default_config_path()
    checks.append(
        Check("config", True, f"{where}" if where.exists() else "no file: the defaults apply")
    )
    checks.append(_check_store(store_path))
    if settings.roster.path:
        try:
            people = len(load_roster(settings.roster.path))
            checks.append(Check("roster", True, f"{settings.roster.path}: {people} people"))
        except CadenceError as exc:
            checks.append(Check("roster", False, str(exc)))
    for path in settings.ics.paths:
        checks.append(
            Check("ics", path.exists(), f"{path}" + ("" if path.exists() else " is missing"))
        )
    if settings.google.enabled:
        checks.append(
            _check_source(
                "google", settings.google.auth, lambda: google_connector(settings), offline
            )
        )
    if settings.microsoft.enabled:
        checks.append(
            _check_source(
                "microsoft", settings.microsoft.auth, lambda: microsoft_connector(settings), offline
            )
        )
    if settings.delivery.email.enabled:
        mail = settings.delivery.email
        if offline:
            checks.append(Check("email", True, f"{mail.host}:{mail.port} (not contacted)"))
        else:
            try:
                check_smtp(
                    host=mail.host,
                    port=mail.port,
                    starttls=mail.starttls,
                    use_ssl=mail.ssl,
                    username=mail.username,
                    password=mail.secret(),
                )
                checks.append(Check("email", True, f"{mail.host}:{mail.port} accepts us"))
            except DeliveryError as exc:
                checks.append(Check("email", False, str(exc)))
    return checks


def _check_store(store_path: Path) -> Check:
    if not store_path.exists():
        return Check("store", True, f"{store_path}: not created yet; `cadence pull` will")
    try:
        with Store(store_path) as store:
            counts = store.counts()
            runs = store.runs()
    except CadenceError as exc:
        return Check("store", False, str(exc))
    last = (
        f"; last run {runs['status'].iloc[-1]} {runs['started_at'].iloc[-1]:%Y-%m-%d %H:%M}"
        if len(runs)
        else ""
    )
    return Check("store", True, f"{store_path}: {counts['events']} events{last}")


def _check_source(name: str, auth: str, build: Callable[[], Connector], offline: bool) -> Check:
    try:
        connector = build()
        try:
            connector.open()
            detail = connector.check(offline=offline)
        finally:
            connector.close()
        return Check(name, True, f"{detail} ({auth})")
    except CadenceError as exc:
        return Check(name, False, str(exc))
    except Exception as exc:  # a library's own error: show it as it is
        return Check(name, False, f"{type(exc).__name__}: {exc}")


def sign_in_google(
    settings: Settings,
    *,
    client_secrets: Path | None = None,
    open_browser: bool = True,
    port: int = 0,
) -> Path:
    """Sign in with a Google account (read-only calendar access); the cached token's path."""
    secrets = client_secrets or settings.google.client_secrets
    if secrets is None:
        raise ConfigError(
            "no OAuth client file: pass --client-secrets PATH or set [google] client_secrets "
            "(see docs/google.md)"
        )
    return google.auth.authorize_user(
        secrets.expanduser(), settings.google.token_file(), open_browser=open_browser, port=port
    )


def sign_in_microsoft(settings: Settings, echo: Callable[[str], None]) -> tuple[str, Path]:
    """Sign in with a Microsoft 365 account (device code, shown through ``echo``); the
    account's name and the token cache's path."""
    ms = settings.microsoft
    if not ms.client_id:
        raise ConfigError("[microsoft] client_id is missing: see docs/microsoft.md")
    cache = graph.auth.TokenCacheFile(ms.cache_file())
    app = graph.auth.public_app(ms.client_id, ms.tenant, cache, authority_host=ms.authority_host)
    return graph.auth.device_login(app, cache, echo), cache.path
