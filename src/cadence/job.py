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
>>> week.week, week.status, [p.name for p in week.reports][:2], len(week.reports)
('2026-W27', 'ok', ['report.html', 'team-amara.perez.html'], 5)
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from cadence import logs, sync
from cadence.analysis import Analysis, analyze, parse_window, summary
from cadence.analysis.review import ReviewSettings, review_cards
from cadence.config import (
    ENV_CALDAV_PASSWORD,
    ENV_SLACK_WEBHOOK,
    ENV_TEAMS_WEBHOOK,
    EmailSettings,
    ReportSettings,
    Settings,
    WebhookSettings,
    load_config,
)
from cadence.delivery import check_smtp, email_message, post_json, send_messages
from cadence.errors import (
    CadenceError,
    ConfigError,
    DeliveryError,
    LeaderNotFound,
    StoreError,
)
from cadence.lock import store_lock
from cadence.model import Frames, PullSummary, Snapshot, SourceHealth
from cadence.org import email_problem, load_roster
from cadence.paths import default_config_path
from cadence.private_files import write_private
from cadence.report import cards, digest, write_report
from cadence.report.figures import people_names, person_name
from cadence.report.privacy import pseudonym, pseudonymize
from cadence.sources import caldav, google, graph
from cadence.sources import demo as demo_source
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
    if settings.caldav.enabled:
        out.append(caldav_connector(settings))
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
    sign_in_session = requests.Session()  # msal's own; the connector closes it
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
            http_client=sign_in_session,
        ),
        sign_in_session=sign_in_session,
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


def caldav_connector(settings: Settings) -> caldav.CaldavConnector:
    """The ``[caldav]`` source."""
    cd = settings.caldav
    if not cd.url or not cd.username:
        raise ConfigError("[caldav] needs url and username (see docs/caldav.md)")
    configured = cd.password.get_secret_value() if cd.password else None
    return caldav.CaldavConnector(
        cd.url,
        cd.username,
        lambda: caldav.auth.password(
            env=os.environ.get(ENV_CALDAV_PASSWORD),
            password_file=cd.secret_file(),
            configured=configured,
        ),
        calendars=cd.calendars,
        owners=cd.owners,
        weeks_back=cd.weeks_back,
        weeks_ahead=cd.weeks_ahead,
        default_timezone=cd.default_timezone,
        workers=cd.workers,
        retries=cd.retries,
        timeout=cd.timeout_seconds,
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
            "[microsoft] enabled = true, [caldav] enabled = true or [demo] enabled = true "
            "to the config"
        )
    report = PullReport()
    # a bad roster file is the config's error (exit 2), not a source's
    file_roster = load_roster(settings.roster.path) if settings.roster.path else None
    with Store(store_path) as store:
        _keep_demo_apart(store, [c.source for c in sources])
        for connector in sources:
            log.info(
                "pulling %s",
                connector.section,
                extra={"ctx_source": connector.section, "ctx_step": "pull"},
            )
            at = demo_when.normalize() if connector.source == "demo" and demo_when else when
            try:
                roster = file_roster if file_roster is not None else store.roster()
                summary = sync.pull(store, connector, roster=roster, now=at, progress=progress)
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


def _keep_demo_apart(store: Store, pulling: list[str]) -> None:
    """The demo's synthetic calendars never share a store with real ones (either way)."""
    demo = "demo" in pulling
    real = sorted({s for s in pulling if s != "demo"})
    if demo and real:
        raise ConfigError(
            f"[demo] is enabled together with real sources ({', '.join(real)}): its synthetic "
            "calendars would mix with real ones in one store; disable [demo] in this config"
        )
    held = store.sources()
    if demo and held - {"demo"}:
        raise ConfigError(
            f"store {store.path} holds real calendar data ({', '.join(sorted(held - {'demo'}))})"
            "; the [demo] source needs a store of its own: set [store] path or pass --store PATH"
        )
    if real and ("demo" in held or store.get_meta("kind") == "demo"):
        raise ConfigError(
            f"store {store.path} holds the demo organisation; pull real calendars into "
            "another store ([store] path or --store PATH), or delete this demo store"
        )


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
    """Import ``.ics`` files and folders into the store (a run of kind ``import``).

    ``calendar`` (whose calendar the files are) is checked and written as ``[ics] calendar``
    in the config is: trimmed, lower case."""
    if calendar is not None:
        problem = email_problem(calendar.strip())
        if problem:
            raise ConfigError(
                f"calendar {calendar!r} is not an email address ({problem}); "
                "give the calendar owner's email"
            )
        calendar = calendar.strip().lower()
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
        _keep_demo_apart(store, [connector.source])
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


def team_title(analysis: Analysis, leader: str, when: pd.Timestamp, key: str | None = None) -> str:
    """``Mia Chen's team · 1:1 health · week 49`` (the roster name; else the local part; the
    pseudonym under ``key``)."""
    name = pseudonym(leader, key) if key else person_name(leader, people_names(analysis))
    return f"{name}'s team · 1:1 health · week {when.isocalendar()[1]}"


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
            title=team_title(analysis, who, when, key) if who and not org_report else None,
            org_report=org_report,
            sources=sources,
            previous=store.previous_snapshot(scope, when),
            min_group_size=cfg.min_group_size,
            pseudonym_key=key,
            **_review_args(cfg),
        )
        store.save_snapshot(
            scope, analysis.as_of, _snapshot_cards(analysis, org_report, cfg), analysis.pairs
        )
    return ReportResult(analysis, path, sources)


def _review_args(cfg: ReportSettings) -> dict[str, Any]:
    """The organisation review's settings, as :func:`write_report` takes them."""
    return {"coverage_weeks": cfg.coverage_weeks, "membership": cfg.group_membership}


def _snapshot_cards(analysis: Analysis, org_report: bool, cfg: ReportSettings) -> dict[str, Any]:
    """What a snapshot keeps: the summary figures, and for the organisation review its
    coverage and per-group figures (so the next review can say what changed per group)."""
    kept = cards(analysis)
    if org_report:
        review = ReviewSettings(cfg.min_group_size, cfg.coverage_weeks, cfg.group_membership)
        kept |= review_cards(analysis, review)
    return kept


# -- the weekly job ---------------------------------------------------------------------------


def iso_week(when: pd.Timestamp) -> str:
    """``2026-W27``: the ISO week a run belongs to (its report folder's name)."""
    iso = when.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


@dataclass
class LeaderResult:
    """One leader's part of the weekly run: their report, digest and where it went."""

    leader: str
    name: str
    path: Path | None = None
    team: Analysis | None = None  # their part of the analysis
    title: str = ""
    scope: str = ""
    digest: digest.Digest | None = None
    problem: str | None = None  # why there is no report for them
    delivered: list[str] = field(default_factory=list)  # email, slack, teams


@dataclass
class WeekResult:
    """What one run of the weekly job did."""

    week: str
    folder: Path
    status: str  # ok, partial (a source, a leader or a delivery failed)
    pulls: PullReport
    reports: list[Path]
    analysis: Analysis
    delivery_error: str | None = None
    leaders: list[LeaderResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # leaders and deliveries, one line each

    @property
    def failed(self) -> bool:
        return self.status != "ok"


def leader_emails(settings: Settings, analysis: Analysis) -> tuple[list[str], bool]:
    """Whose teams get a report: ``[report] leader`` / ``leaders``, else every manager in
    the roster (none without one); and whether they were named in the config."""
    named = settings.report.leader_list()
    if named:
        return named, True
    roster = analysis.roster
    if roster is None:
        return [], False
    managers = set(roster["manager_email"].dropna().astype(str))
    return [str(e) for e in roster["email"] if str(e) in managers], False


def _slug(email: str, taken: set[str]) -> str:
    local = email.split("@")[0]
    base = "".join(c if c.isalnum() or c in ".-_" else "-" for c in local) or "leader"
    slug = base if base not in taken else "".join(c if c.isalnum() else "-" for c in email)
    taken.add(slug)
    return slug


def run_week(
    settings: Settings,
    store_path: Path,
    *,
    as_of: pd.Timestamp | str | None = None,
    wait: float = 0.0,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> WeekResult:
    """The weekly job: pull every source, analyze, write the week's reports, deliver, record.

    Reports and exports go to ``[report] out_dir/<ISO week>/`` (e.g.
    ``reports/2026-W27/``), replaced if the job runs again that week; the
    snapshots of that week are replaced too. ``report.html`` shows every pair;
    each leader (``[report] leaders``, else every manager in the roster) gets
    ``team-<name>.html`` with their pairs (and those below them with
    ``indirect``) and a digest by email, Slack and Teams as configured. The store
    is locked for the whole run (``wait`` seconds for another run to finish). A
    failing source, an unknown leader or a failed delivery makes the run
    ``partial``: everything else is still written and sent. ``dry_run`` sends
    nothing and writes the messages beside the reports (``.eml``, ``.json``).
    ``as_of`` (default now) is the report date and dates the ``[demo]`` source.
    """
    cfg = settings.report
    when = _utc(as_of)
    key = cfg.key()
    slack_urls = settings.delivery.slack.urls(ENV_SLACK_WEBHOOK)
    teams_urls = settings.delivery.teams.urls(ENV_TEAMS_WEBHOOK)
    for secret in (
        key,
        settings.delivery.email.secret(),
        settings.microsoft.secret(),
        settings.caldav.secret(),
    ):
        logs.register_secret(secret)
    for channel, per_leader in (slack_urls, teams_urls):
        for url in [channel, *per_leader.values()]:
            logs.register_secret(url)
    week = iso_week(when)
    folder = cfg.out_dir.expanduser() / week
    log.info("run %s started", week, extra={"ctx_step": "start", "ctx_week": week})
    with store_lock(store_path, wait=wait):
        pulls = pull_sources(
            settings, store_path, demo_as_of=when if as_of is not None else None, progress=progress
        )
        with Store(store_path) as store:
            run_id = store.start_run("run", at=when)
            record: dict[str, Any] = {
                "week": week,
                "sources": pulls.outcome(),
                "skipped": {s.section: s.summary.problems for s in pulls.sources},
            }
            try:
                analysis = _analysis(settings, store, when)
                sources = store.source_health(pd.Timedelta(days=cfg.stale_after_days))
                week_start = (when - pd.Timedelta(days=when.isocalendar()[2] - 1)).normalize()
                if folder.exists():
                    shutil.rmtree(folder)  # a second run this week replaces the first
                written = []
                previous: dict[str, Snapshot | None] = {}

                def report(
                    shown: Analysis, scope: str, file: Path, org_report: bool, **extra: Any
                ) -> Path:
                    previous[scope] = store.previous_snapshot(scope, week_start)
                    path = write_report(
                        shown,
                        file,
                        org_report=org_report,
                        sources=sources,
                        previous=previous[scope],
                        min_group_size=cfg.min_group_size,
                        pseudonym_key=key,
                        **_review_args(cfg),
                        **extra,
                    )
                    store.save_snapshot(
                        scope,
                        shown.as_of,
                        _snapshot_cards(shown, org_report, cfg),
                        shown.pairs,
                        run_id=run_id,
                        replace_from=week_start,
                    )
                    log.info("wrote %s", path, extra={"ctx_step": "report", "ctx_path": str(path)})
                    return path

                written.append(report(analysis, "all", folder / "report.html", False))
                org_path = report(analysis, "org", folder / "org.html", True) if cfg.org else None
                if org_path:
                    written.append(org_path)
                teams = _leader_reports(settings, analysis, folder, when, report)
                written += [t.path for t in teams if t.path]
                failures = [f"leader {t.leader}: {t.problem}" for t in teams if t.problem]
                failures += deliver_week(
                    settings,
                    week,
                    folder,
                    analysis,
                    teams,
                    all_report=written[0],
                    org_report=org_path,
                    previous=previous,
                    dry_run=dry_run,
                )
            except BaseException as exc:  # the run is over: never leave it "running"
                stopped = isinstance(exc, KeyboardInterrupt | SystemExit)
                sync.finish_quietly(
                    store,
                    run_id,
                    "interrupted" if stopped else "failed",
                    {**record, "error": str(exc) or type(exc).__name__},
                )
                raise
            delivery_error = "; ".join(failures) or None
            status = "partial" if pulls.failed or failures else "ok"
            store.finish_run(
                run_id,
                status,
                {
                    **record,
                    "folder": str(folder),
                    "reports": [str(p) for p in written],
                    "leaders": {t.leader: t.delivered for t in teams if t.path},
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
    return WeekResult(
        week, folder, status, pulls, written, analysis, delivery_error, teams, failures
    )


def _leader_reports(
    settings: Settings,
    analysis: Analysis,
    folder: Path,
    when: pd.Timestamp,
    report: Callable[..., Path],
) -> list[LeaderResult]:
    """Every leader's report (``team-<name>.html``, no exports: ``report-*`` has them)."""
    cfg = settings.report
    emails, named = leader_emails(settings, analysis)
    names = people_names(analysis)
    key = cfg.key()
    out: list[LeaderResult] = []
    taken: set[str] = set()
    for email in emails:
        shown_name = pseudonym(email, key) if key else person_name(email, names)
        result = LeaderResult(email, shown_name)
        out.append(result)
        try:
            team = analysis.for_leader(email, indirect=cfg.indirect)
        except LeaderNotFound as exc:
            if named:  # asked for by name: the run says why there is nothing
                result.problem = str(exc).replace(f"{email!r} ", "", 1)
            continue
        result.team, result.scope = team, _scope(False, email, cfg.indirect)
        result.title = f"{shown_name}'s team · 1:1 health · week {when.isocalendar()[1]}"
        result.path = report(
            team,
            result.scope,
            folder / f"team-{_slug(email, taken)}.html",
            False,
            title=result.title,
            exports=False,
        )
    return out


def deliver_week(
    settings: Settings,
    week: str,
    folder: Path,
    analysis: Analysis,
    teams: list[LeaderResult],
    *,
    all_report: Path,
    org_report: Path | None,
    previous: dict[str, Snapshot | None],
    dry_run: bool = False,
) -> list[str]:
    """Build every leader's digest (and invitations, in ``invitations/``) and deliver it:
    email to the leader (``[delivery] addresses`` or their roster address), Slack and
    Teams webhooks; the report of all pairs to ``[delivery.email] recipients``; the
    organisation report to ``[delivery] hr_recipients`` only. ``dry_run`` writes the
    messages beside the reports instead. Returns what failed, one line each; a failure
    is that message's alone."""
    cfg, conf = settings.report, settings.delivery
    mail = conf.email
    key = cfg.key()
    limit = cfg.attach_max_mb * 1_000_000

    def link(path: Path) -> str | None:
        return (
            f"{cfg.base_url}{week}/{path.relative_to(folder).as_posix()}" if cfg.base_url else None
        )

    def attachable(path: Path) -> bool:
        return not cfg.base_url and path.stat().st_size <= limit

    invites = folder / "invitations"
    for t in teams:
        if t.team is None or t.path is None:
            continue
        shown = pseudonymize(t.team, key) if key else t.team
        built = digest.build(
            shown,
            title=t.title,
            week=week,
            previous=previous.get(t.scope),
            report_file=t.path.name if attachable(t.path) else None,
            report_url=link(t.path),
            invitations=not key,
        )
        files = digest.invitations(built)
        for name, content in files:
            invites.mkdir(parents=True, exist_ok=True)
            (invites / name).write_bytes(content)
        if cfg.base_url and files:
            built = digest.with_links(built, {n: link(invites / n) or "" for n, _ in files})
        t.digest = built
    failures: list[str] = []
    if mail.enabled or dry_run:
        failures += _email_week(
            settings,
            week,
            folder,
            analysis,
            teams,
            all_report,
            org_report,
            previous,
            dry_run,
            attachable,
            link,
        )
    for channel, hook, env, make in (
        ("slack", conf.slack, ENV_SLACK_WEBHOOK, digest.slack_message),
        ("teams", conf.teams, ENV_TEAMS_WEBHOOK, digest.teams_message),
    ):
        if hook.enabled:
            failures += _post_week(channel, hook, env, make, folder, teams, dry_run)
    return failures


def _email_week(
    settings: Settings,
    week: str,
    folder: Path,
    analysis: Analysis,
    teams: list[LeaderResult],
    all_report: Path,
    org_report: Path | None,
    previous: dict[str, Snapshot | None],
    dry_run: bool,
    attachable: Callable[[Path], bool],
    link: Callable[[Path], str | None],
) -> list[str]:
    conf, mail = settings.delivery, settings.delivery.email
    sender = mail.sender or "cadence@localhost"
    outgoing: list[tuple[str, Any, LeaderResult | None]] = []  # (file stem, message, leader)

    def files(dg: digest.Digest, report: Path) -> list[tuple[str, bytes, str]]:
        out = [(n, c, "text/calendar") for n, c in digest.invitations(dg)]
        if dg.report_file:
            out.append((report.name, report.read_bytes(), "text/html"))
        return out

    if mail.leaders:
        for t in teams:
            if t.digest is None or t.path is None:
                continue
            to = conf.addresses.get(t.leader, t.leader)
            message = email_message(
                sender=sender,
                to=[to],
                subject=t.digest.subject,
                text=digest.render_text(t.digest),
                html=digest.render_html(t.digest),
                attachments=files(t.digest, t.path),
            )
            outgoing.append((t.path.stem, message, t))
    key = settings.report.key()
    if mail.recipients:
        shown = pseudonymize(analysis, key) if key else analysis
        whole = digest.build(
            shown,
            title=f"1:1 health · all pairs · week {week[-2:].lstrip('0')}",
            week=week,
            previous=previous.get("all"),
            report_file=all_report.name if attachable(all_report) else None,
            report_url=link(all_report),
            invitations=False,
        )
        outgoing.append(
            (
                all_report.stem,
                email_message(
                    sender=sender,
                    to=mail.recipients,
                    subject=mail.subject.format(week=week),
                    text=digest.render_text(whole),
                    html=digest.render_html(whole),
                    attachments=files(whole, all_report),
                ),
                None,
            )
        )
    if org_report is None and conf.hr_recipients:
        why = (
            "organisation report: [delivery] hr_recipients is set but [report] org = false; "
            "nothing was sent to them (set org = true)"
        )
        return [why, *_send(outgoing, mail, folder, dry_run)]
    if org_report is not None and conf.hr_recipients:
        lines = summary(analysis).lines()
        where = (
            f"The organisation review: {link(org_report)}"
            if link(org_report)
            else f"The organisation review is attached: {org_report.name} (open it in a browser)."
            if attachable(org_report)
            else f"The organisation review is in {org_report} (too large to attach)."
        )
        outgoing.append(
            (
                org_report.stem,
                email_message(
                    sender=sender,
                    to=conf.hr_recipients,
                    subject=f"1:1 health · organisation review · {week}",
                    text="\n".join([f"Cadence organisation review, {week}.", "", *lines, "", where])
                    + "\n",
                    attachments=(
                        [(org_report.name, org_report.read_bytes(), "text/html")]
                        if attachable(org_report) and not link(org_report)
                        else []
                    ),
                ),
                None,
            )
        )
    return _send(outgoing, mail, folder, dry_run)


def _send(
    outgoing: list[tuple[str, Any, LeaderResult | None]],
    mail: EmailSettings,
    folder: Path,
    dry_run: bool,
) -> list[str]:
    if dry_run:
        for stem, message, _ in outgoing:
            (folder / f"{stem}.eml").write_bytes(bytes(message))
        return []
    errors = send_messages(
        [m for _, m, _ in outgoing],
        host=mail.host,
        port=mail.port,
        starttls=mail.starttls,
        use_ssl=mail.ssl,
        username=mail.username,
        password=mail.secret(),
    )
    failures = []
    for (stem, message, leader), error in zip(outgoing, errors, strict=True):
        if error:
            failures.append(f"email {stem} to {message['To']}: {error}")
            log.warning(
                "email %s failed: %s", stem, error, extra={"ctx_step": "deliver", "ctx_ok": False}
            )
        elif leader is not None:
            leader.delivered.append("email")
    if outgoing and len(failures) < len(outgoing):
        log.info(
            "emailed %d of %d message(s)",
            len(outgoing) - len(failures),
            len(outgoing),
            extra={"ctx_step": "deliver", "ctx_ok": True},
        )
    return failures


def _post_week(
    channel: str,
    hook: WebhookSettings,
    env: str,
    make: Callable[[digest.Digest], dict[str, Any]],
    folder: Path,
    teams: list[LeaderResult],
    dry_run: bool,
) -> list[str]:
    """Post every leader's digest to their own webhook, else to the channel's."""
    shared, own = hook.urls(env)
    failures: list[str] = []
    for t in teams:
        if t.digest is None or t.path is None:
            continue
        if t.leader in hook.leader_webhooks:
            url = own.get(t.leader)
            if not url:
                var = hook.leader_webhooks[t.leader]
                failures.append(f"{channel} for {t.leader}: ${var} is not set (their webhook URL)")
                continue
        elif shared:
            url = shared
        elif hook.leader_webhooks:
            continue  # only the leaders with their own webhook
        else:
            var = hook.webhook_env or env
            return [f"{channel}: ${var} is not set (the channel's incoming-webhook URL)"]
        payload = make(t.digest)
        if dry_run:
            (folder / f"{t.path.stem}.{channel}.json").write_text(
                json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8"
            )
            continue
        try:
            post_json(url, payload, timeout=hook.timeout_seconds, retries=hook.retries)
        except DeliveryError as exc:
            failures.append(f"{channel} for {t.leader}: {exc}")
            log.warning(
                "%s for %s failed: %s",
                channel,
                t.leader,
                exc,
                extra={"ctx_step": "deliver", "ctx_ok": False},
            )
            continue
        t.delivered.append(channel)
    return failures


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
    with Store(path) as store:
        store.set_meta("kind", "demo")
        run = store.start_run("demo", at=org.as_of)
        try:
            return _demo_run(settings, store, org, run, people, seed, out, path, progress)
        except BaseException as exc:  # never leave the run "running"
            stopped = isinstance(exc, KeyboardInterrupt | SystemExit)
            status = "interrupted" if stopped else "failed"
            sync.finish_quietly(store, run, status, {"error": str(exc) or type(exc).__name__})
            raise


def _demo_run(
    settings: Settings,
    store: Store,
    org: demo_source.DemoOrg,
    run: int,
    people: int,
    seed: int,
    out: Path,
    path: Path,
    progress: Progress | None,
) -> DemoResult:
    week_before = org.as_of - pd.Timedelta(days=7)
    written = 0
    for at in org.pull_times:
        if at > week_before and store.previous_snapshot("all", org.as_of) is None:
            # last week's report, from what the store knew then: "since last week"
            before = analyze(
                store.frames(), org.roster, as_of=week_before, settings=settings.analysis
            )
            for scope in ("all", "org"):
                kept = _snapshot_cards(before, scope == "org", settings.report)
                store.save_snapshot(scope, week_before, kept, before.pairs)
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
        **_review_args(settings.report),
    )
    for scope in ("all", "org"):
        kept = _snapshot_cards(analysis, scope == "org", settings.report)
        store.save_snapshot(scope, org.as_of, kept, analysis.pairs, run_id=run)
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
        write_private(file, content)  # it may come to hold a client secret: owner-only (0600)
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
    warning: bool = False  # passes, but something a user should know (no roster)


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
    checks.append(_check_roster(settings, store_path))
    enabled = [
        name
        for name, on in (
            ("ics", bool(settings.ics.paths)),
            ("google", settings.google.enabled),
            ("microsoft", settings.microsoft.enabled),
            ("demo", settings.demo.enabled),
        )
        if on
    ]
    checks.append(
        Check("sources", True, ", ".join(enabled) + " enabled")
        if enabled
        else Check(
            "sources",
            False,
            "no source enabled: add [ics] paths = [...], or [google], [microsoft] or [demo] "
            "enabled = true to the config",
        )
    )
    if settings.demo.enabled:
        checks.append(
            Check("demo", True, f"a synthetic organisation of {settings.demo.people} people")
        )
    for path in settings.ics.paths:
        checks.append(
            Check("ics", path.exists(), f"{path}" + ("" if path.exists() else " is missing"))
        )
    if settings.google.enabled:
        checks.append(
            _check_source(
                "google",
                settings.google.auth,
                lambda: google_connector(settings),
                offline,
                [
                    ("sign in with `cadence auth google`", settings.google.token_file())
                    if settings.google.auth == "user"
                    else ("the service account key", settings.google.key_file())
                ],
            )
        )
    if settings.microsoft.enabled:
        checks.append(
            _check_source(
                "microsoft",
                settings.microsoft.auth,
                lambda: microsoft_connector(settings),
                offline,
                [
                    ("sign in with `cadence auth microsoft`", settings.microsoft.cache_file())
                    if settings.microsoft.auth == "delegated"
                    else ("the certificate", settings.microsoft.certificate_file)
                ],
                None
                if settings.microsoft.client_id
                else "[microsoft] client_id is missing: see docs/microsoft.md",
            )
        )
    if settings.caldav.enabled:
        checks.append(
            _check_source(
                "caldav",
                "password",
                lambda: caldav_connector(settings),
                offline,
                None,
                None if settings.caldav.url else "[caldav] url is missing: see docs/caldav.md",
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


def _check_roster(settings: Settings, store_path: Path) -> Check:
    """The roster row: the file's people, else the directory's; a warning without one."""
    path = settings.roster.path
    if path:
        try:
            return Check("roster", True, f"{path}: {len(load_roster(path))} people")
        except CadenceError as exc:
            return Check("roster", False, str(exc))
    directory = [
        name
        for name, on in (
            ("google", settings.google.enabled and settings.google.roster_from_directory),
            ("microsoft", settings.microsoft.enabled and settings.microsoft.roster_from_directory),
            ("demo", settings.demo.enabled),
        )
        if on
    ]
    if directory:
        return Check("roster", True, f"read from the {directory[0]} directory at every pull")
    stored = None
    if store_path.exists():
        try:
            with Store(store_path) as store:
                stored = store.roster()
        except CadenceError:
            stored = None
    if stored is not None:
        return Check("roster", True, f"{len(stored)} people stored by an earlier directory pull")
    return Check(
        "roster",
        True,
        "no roster: without one Cadence cannot tell a leader from their reports (every "
        "pair is a pair of peers); set [roster] path to a CSV (`cadence init "
        "--roster-template PATH` writes one to start from)",
        warning=True,
    )


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


def _check_source(
    name: str,
    auth: str,
    build: Callable[[], Connector],
    offline: bool,
    files: list[tuple[str, Path | None]] | None = None,
    missing_settings: str | None = None,
) -> Check:
    """One source's row; ``offline`` opens no socket: construction is offline, the sign-in
    (which may look the authority up, as msal does) is left out, and the credential files
    the sign-in would read are checked instead."""
    try:
        connector = build()
        try:
            if offline:
                if missing_settings:
                    return Check(name, False, missing_settings)
                missing = [
                    f"{path} not found ({what})"
                    for what, path in files or []
                    if path and not path.exists()
                ]
                if missing:
                    return Check(name, False, f"{'; '.join(missing)} [{auth}]")
                detail = connector.check(offline=True)
            else:
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


def sign_in_caldav(settings: Settings, secret: str) -> Path:
    """Keep the CalDAV (app-specific) password in ``[caldav] password_file``, owner-only."""
    return caldav.auth.save_password(settings.caldav.secret_file(), secret)


def sign_in_microsoft(settings: Settings, echo: Callable[[str], None]) -> tuple[str, Path]:
    """Sign in with a Microsoft 365 account (device code, shown through ``echo``); the
    account's name and the token cache's path."""
    ms = settings.microsoft
    if not ms.client_id:
        raise ConfigError("[microsoft] client_id is missing: see docs/microsoft.md")
    cache = graph.auth.TokenCacheFile(ms.cache_file())
    app = graph.auth.public_app(ms.client_id, ms.tenant, cache, authority_host=ms.authority_host)
    return graph.auth.device_login(app, cache, echo), cache.path
