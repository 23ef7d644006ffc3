"""The digest: what one leader reads in 30 seconds, in an email, Slack or Teams.

One data structure (:class:`Digest`, built by :func:`build`) is rendered four
ways: HTML and plain text for email (:func:`render_html`, :func:`render_text`),
Block Kit for Slack (:func:`slack_message`) and an Adaptive Card for Teams
(:func:`teams_message`). It holds the pairs that need attention (names,
status, the one reason that matters, last held, next booked and a suggested
action), the report's summary cards with their change since the last report
(the same :func:`cadence.analysis.summary` figures as the CLI and the report),
and where the full report is.

A flagged pair with nothing on the books comes with a ready invitation
(:class:`Invitation`, an ``.ics`` file with ``METHOD:REQUEST``) at the pair's
usual weekday, local time and length, the first such slot after ``as_of`` that
none of the 1:1s Cadence knows of either person takes: the leader opens it and
sends it, so booking needs no write access to anyone's calendar.
"""

from __future__ import annotations

import hashlib
import textwrap
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2
import pandas as pd

from cadence._version import __version__
from cadence.analysis import Analysis
from cadence.analysis.summary import summary
from cadence.model import Snapshot
from cadence.report.figures import people_names, person_name
from cadence.report.history import since
from cadence.report.html import _card_rows, _headline, plain, plural

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("cadence.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "html.j2"], default_for_string=False),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["plural"] = lambda n, one, many=None: plural(int(n), one, many)
FLAGGED = ("lapsed", "at_risk")
DIGEST_LIMIT = 10  # pairs a digest lists; the rest are counted
DEFAULT_MINUTES = 30
DEFAULT_HOUR = 10
WIDTH = 78  # the plain-text digest's lines


@dataclass(frozen=True)
class Invitation:
    """A 1:1 invitation for one pair: who, when (local, in ``timezone``) and how long."""

    organizer: str
    organizer_name: str
    attendee: str
    attendee_name: str
    start: pd.Timestamp
    minutes: int
    timezone: str
    every_days: float | None = None

    @property
    def filename(self) -> str:
        """``1-1-ann-ash-bob-birch-2026-07-02.ics``."""
        words = f"1-1 {self.organizer_name} {self.attendee_name}".lower()
        slug = "".join(c if c.isalnum() else "-" for c in words)
        slug = "-".join(part for part in slug.split("-") if part)
        return f"{slug}-{self.start:%Y-%m-%d}.ics"

    @property
    def when(self) -> str:
        """``Thu 02 Jul, 10:00–10:30 (Europe/Berlin)``."""
        end = self.start + pd.Timedelta(minutes=self.minutes)
        return f"{self.start:%a %d %b, %H:%M}–{end:%H:%M} ({self.timezone})"

    def ics(self, stamp: pd.Timestamp) -> bytes:
        """The invitation as an iCalendar file (``METHOD:REQUEST``, one VEVENT, its
        VTIMEZONE), stamped ``stamp``; built with the ``icalendar`` library."""
        import icalendar

        cal = icalendar.Calendar()
        cal.add("prodid", f"-//Cadence {__version__}//1:1 invitation//EN")
        cal.add("version", "2.0")
        cal.add("method", "REQUEST")
        event = icalendar.Event()
        seed = f"{self.organizer}|{self.attendee}|{self.start.isoformat()}"
        event.add("uid", hashlib.sha256(seed.encode()).hexdigest()[:24] + "@cadence")
        event.add("dtstamp", pd.Timestamp(stamp).tz_convert("UTC").to_pydatetime())
        event.add("dtstart", self.start.to_pydatetime())
        event.add("dtend", (self.start + pd.Timedelta(minutes=self.minutes)).to_pydatetime())
        event.add("summary", f"1:1 {self.organizer_name} / {self.attendee_name}")
        if self.every_days:
            event.add(
                "description",
                f"Your 1:1, usually every {self.every_days:g} days. Suggested by Cadence.",
            )
        organizer = icalendar.vCalAddress(f"mailto:{self.organizer}")
        organizer.params["CN"] = icalendar.vText(self.organizer_name)
        event.add("organizer", organizer)
        for email, name, role in (
            (self.organizer, self.organizer_name, "CHAIR"),
            (self.attendee, self.attendee_name, "REQ-PARTICIPANT"),
        ):
            person = icalendar.vCalAddress(f"mailto:{email}")
            person.params["CN"] = icalendar.vText(name)
            person.params["ROLE"] = icalendar.vText(role)
            person.params["PARTSTAT"] = icalendar.vText(
                "ACCEPTED" if role == "CHAIR" else "NEEDS-ACTION"
            )
            person.params["RSVP"] = icalendar.vText("FALSE" if role == "CHAIR" else "TRUE")
            event.add("attendee", person)
        event.add("sequence", 0)
        event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        cal.add_component(event)
        cal.add_missing_timezones()
        return bytes(cal.to_ical())


@dataclass(frozen=True)
class DigestPair:
    """One pair that needs attention, as the digest shows it."""

    who: str
    manager: str
    report: str
    status: str
    status_text: str
    reason: str
    last_held: str
    next_booked: str
    action: str
    invitation: Invitation | None = None


@dataclass(frozen=True)
class Digest:
    """Everything a digest says; every rendering reads only this."""

    title: str
    week: str
    as_of: pd.Timestamp
    leader: str | None
    leader_name: str | None
    total_pairs: int
    pairs: list[DigestPair]
    more: int
    healthy: int
    watch: int
    cards: list[dict[str, Any]]
    since: pd.Timestamp | None
    report_file: str | None = None
    report_url: str | None = None
    invitation_urls: dict[str, str] = field(default_factory=dict)
    on_leave: list[str] = field(default_factory=list)  # "Ann → Bob: report out of office …"

    @property
    def flagged(self) -> int:
        return len(self.pairs) + self.more

    @property
    def subject(self) -> str:
        """``Mia Chen's team · 1:1 health · 2026-W27: 2 pairs need attention``."""
        if not self.total_pairs:
            return f"{self.title}: no 1:1 pairs in the window"
        if not self.flagged:
            return f"{self.title}: all {plural(self.total_pairs, 'pair')} on track"
        need = "needs" if self.flagged == 1 else "need"
        return f"{self.title}: {plural(self.flagged, 'pair')} {need} attention"

    @property
    def headline(self) -> str:
        """One sentence: how many pairs need attention, and the rest."""
        if not self.total_pairs:
            return "No 1:1 pairs in the window: nothing to report."
        head = (
            f"{plural(self.flagged, 'pair').capitalize()} of {self.total_pairs} "
            f"{'needs' if self.flagged == 1 else 'need'} attention"
            if self.flagged
            else f"All {plural(self.total_pairs, 'pair')} are on track"
        )
        away = f", {len(self.on_leave)} on leave" if self.on_leave else ""
        return f"{head}; {self.healthy} healthy, {self.watch} to watch{away}."

    @property
    def where(self) -> str:
        """Where the full report is, in words."""
        if self.report_url:
            return f"The full report: {self.report_url}"
        if self.report_file:
            return f"The full report is attached: {self.report_file} (open it in a browser)."
        return "The full report is with whoever runs Cadence for you."


def _local(ts: pd.Series, zones: pd.Series) -> pd.DataFrame:
    """Weekday, local time and zone of each instant (its own zone; UTC when unknown)."""
    rows = []
    for when, zone in zip(ts, zones, strict=True):
        name = str(zone) if isinstance(zone, str) and zone else "UTC"
        try:
            local = when.tz_convert(zoneinfo.ZoneInfo(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            name, local = "UTC", when.tz_convert("UTC")
        rows.append((local.weekday(), local.hour, local.minute, name))
    return pd.DataFrame(rows, columns=["weekday", "hour", "minute", "zone"], index=ts.index)


def next_slot(
    analysis: Analysis, pair: Mapping[Any, Any], names: dict[str, str], busy: pd.DataFrame
) -> Invitation:
    """The pair's next free slot of its usual rhythm (see the module's docs).

    The usual slot is the most common local weekday and start time of the pair's
    scheduled 1:1s (held, cancelled, declined or still to come; ad-hoc ones left
    out) and their median length; a pair without any gets a working day at 10:00
    for 30 minutes in the manager's roster zone. The slot moves a week at a time
    until neither person has a known 1:1 then.
    """
    occ = analysis.occurrences
    mine = occ[(occ["pair"].astype(str) == str(pair["pair"])) & ~occ["adhoc"].astype(bool)]
    manager, report = (
        str(pair["manager"] or pair["person_a"]),
        str(pair["report"] or pair["person_b"]),
    )
    if len(mine):
        slots = _local(mine["original_start"].fillna(mine["start"]), mine["timezone"])
        weekday, hour, minute, zone = slots.value_counts().index[0]
        minutes = round(mine["duration"].dt.total_seconds().median() / 60) or DEFAULT_MINUTES
    else:
        zone = _roster_zone(analysis, manager)
        weekday, hour, minute, minutes = -1, DEFAULT_HOUR, 0, DEFAULT_MINUTES
    tz = zoneinfo.ZoneInfo(zone)
    now = analysis.as_of.tz_convert(tz)
    day = (now + pd.Timedelta(days=1)).normalize()
    if weekday < 0:  # the next working day
        while day.weekday() >= 5:
            day += pd.Timedelta(days=1)
    else:
        day += pd.Timedelta(days=(weekday - day.weekday()) % 7)
    start = _at(day, int(hour), int(minute), tz)
    people = {manager, report}
    taken = busy[busy["person_a"].isin(people) | busy["person_b"].isin(people)]
    for _ in range(52):
        end = start + pd.Timedelta(minutes=minutes)
        clash = (taken["start"] < end) & (taken["end"] > start)
        if not clash.any():
            break
        start = _at(start.normalize() + pd.Timedelta(days=7), int(hour), int(minute), tz)
    target = pair.get("target_days")
    return Invitation(
        organizer=manager,
        organizer_name=person_name(manager, names),
        attendee=report,
        attendee_name=person_name(report, names),
        start=start,
        minutes=minutes,
        timezone=zone,
        every_days=None if target is None or pd.isna(target) else float(target),
    )


def _at(day: pd.Timestamp, hour: int, minute: int, tz: zoneinfo.ZoneInfo) -> pd.Timestamp:
    naive = day.tz_localize(None).replace(hour=hour, minute=minute)
    return pd.Timestamp(naive).tz_localize(tz, nonexistent="shift_forward", ambiguous=False)


def _roster_zone(analysis: Analysis, email: str) -> str:
    roster = analysis.roster
    if roster is not None and "timezone" in roster.columns:
        zones = roster.loc[roster["email"] == email, "timezone"].dropna()
        if len(zones) and str(zones.iloc[0]) in zoneinfo.available_timezones():
            return str(zones.iloc[0])
    return "UTC"


def action(pair: Mapping[Any, Any], leader: str | None, names: dict[str, str]) -> str:
    """What the leader can do about one flagged pair, in one short sentence.

    >>> action({"never_met": True, "manager": "a@x", "on_the_books": False}, "a@x", {})
    'never met 1:1: book a first 1:1 this week'
    """
    manager = str(pair.get("manager") or "")
    ask = "" if not leader or manager == leader else f"ask {person_name(manager, names)} to "
    booked = pair.get("next_scheduled")
    has_next = booked is not None and not pd.isna(booked)
    if pair.get("never_met"):
        return f"never met 1:1: {ask}book a first 1:1 this week"
    if not has_next:
        return f"nothing on the books: {ask}book a 1:1 this week"
    day = f"{booked:%a %d %b}"
    if pair.get("last_slots_missed"):
        return f"the last ones were all cancelled or declined: {ask}keep the one on {day}"
    if pair.get("status") == "lapsed":
        return f"a long silence: {ask}make sure the 1:1 on {day} happens"
    return f"booked for {day}: {ask}keep it, and talk about why the last ones slipped"


def _date(value: Any, missing: str) -> str:
    return missing if value is None or pd.isna(value) else f"{value:%a %d %b}"


def build(
    analysis: Analysis,
    *,
    title: str,
    week: str,
    previous: Snapshot | None = None,
    report_file: str | None = None,
    report_url: str | None = None,
    invitations: bool = True,
    limit: int = DIGEST_LIMIT,
) -> Digest:
    """The digest of ``analysis`` (one leader's pairs, or all of them).

    ``previous`` (the snapshot of the last report of this scope) gives every card
    its change; ``report_file`` names the attached report, ``report_url`` where it
    is published (a link wins over an attachment); ``invitations`` off (e.g. when
    people are pseudonymized) leaves the ``.ics`` out.

    Examples
    --------
    >>> team = result.for_leader(result.pairs["manager"].iloc[0])
    >>> d = build(team, title="Team · 1:1 health · week 27", week="2026-W27")
    >>> d.flagged == int(team.pairs["status"].isin(["lapsed", "at_risk"]).sum())
    True
    """
    now = summary(analysis)
    change = since(analysis, previous) if previous is not None else None
    names = people_names(analysis)
    leader = analysis.meta.get("leader")
    p = analysis.pairs
    flagged = p[p["status"].astype(str).isin(FLAGGED)]
    occ = analysis.occurrences
    busy = occ[(occ["outcome"] != "cancelled") & (occ["end"] > analysis.as_of)]
    rows = []
    for rec in flagged.head(limit).to_dict("records"):
        a, b = str(rec["manager"] or rec["person_a"]), str(rec["report"] or rec["person_b"])
        booked = rec.get("next_scheduled")
        wants_invite = booked is None or pd.isna(booked)
        rows.append(
            DigestPair(
                who=f"{person_name(a, names)} → {person_name(b, names)}",
                manager=a,
                report=b,
                status=str(rec["status"]),
                status_text=str(rec["status"]).replace("_", " "),
                reason=plain(_headline(list(rec["reasons"]), 1)[0]),
                last_held=_date(rec.get("last_held"), "never"),
                next_booked=_date(booked, "nothing booked"),
                action=action(rec, str(leader) if leader else None, names),
                invitation=next_slot(analysis, rec, names, busy)
                if invitations and wants_invite
                else None,
            )
        )
    statuses = p["status"].astype(str).value_counts()
    away = p[p["status"].astype(str) == "on_leave"]
    on_leave = [  # apart from "needs attention": someone is away, the pair is not going cold
        f"{person_name(str(r['manager'] or r['person_a']), names)} → "
        f"{person_name(str(r['report'] or r['person_b']), names)}: {r.get('leave_text') or 'away'}"
        for r in away.to_dict("records")
    ]
    return Digest(
        title=title,
        week=week,
        as_of=analysis.as_of,
        leader=str(leader) if leader else None,
        leader_name=person_name(str(leader), names) if leader else None,
        total_pairs=len(p),
        pairs=rows,
        more=max(0, len(flagged) - limit),
        healthy=int(statuses.get("healthy", 0)),
        watch=int(statuses.get("watch", 0)),
        cards=_card_rows(now, change),
        since=change.previous_as_of if change is not None else None,
        report_file=report_file,
        report_url=report_url,
        on_leave=on_leave,
    )


def with_links(digest: Digest, invitation_urls: dict[str, str]) -> Digest:
    """The digest with a link for each invitation file (its published copy)."""
    from dataclasses import replace

    return replace(digest, invitation_urls=invitation_urls)


def invitations(digest: Digest) -> list[tuple[str, bytes]]:
    """Every invitation of the digest as (file name, ``.ics`` bytes)."""
    return [
        (p.invitation.filename, p.invitation.ics(digest.as_of))
        for p in digest.pairs
        if p.invitation
    ]


def _card_text(card: dict[str, Any], since_day: pd.Timestamp | None) -> str:
    change = card["text"]
    if change and since_day is not None:
        change = f"{change} since {since_day:%d %b}"
    return f"{card['value']} {card['label']}" + (f" ({change})" if change else "")


def render_text(digest: Digest) -> str:
    """The plain-text digest: lines of at most 78 characters, no email addresses."""

    def wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
        return textwrap.wrap(
            text,
            WIDTH,
            initial_indent=indent if first is None else first,
            subsequent_indent=indent,
            break_on_hyphens=False,
            break_long_words=False,
        )

    lines = [digest.title, "=" * min(WIDTH, len(digest.title)), ""]
    lines += wrap(digest.headline)
    for p in digest.pairs:
        lines += ["", *wrap(f"{p.who} [{p.status_text}]", "  ", "* ")]
        lines += wrap(p.reason, "  ")
        lines += wrap(f"last held {p.last_held}; next: {p.next_booked}", "  ")
        lines += wrap(f"-> {p.action}", "     ", "  ")
        if p.invitation:
            lines += wrap(
                f"invitation: {p.invitation.when}, attached as {p.invitation.filename}"
                if p.invitation.filename not in digest.invitation_urls
                else f"invitation: {p.invitation.when}: "
                f"{digest.invitation_urls[p.invitation.filename]}",
                "     ",
                "  ",
            )
    if digest.more:
        lines += ["", *wrap(f"...and {plural(digest.more, 'more pair')} in the report.")]
    if digest.on_leave:
        lines += ["", "On leave (not counted as missed):"]
        for text in digest.on_leave:
            lines += wrap(text, "    ", "  - ")
    lines += ["", "The week in numbers:"]
    for card in digest.cards:
        lines += wrap(_card_text(card, digest.since), "    ", "  - ")
    lines += ["", *wrap(digest.where), "", f"Cadence {__version__} · {digest.week}"]
    return "\n".join(lines) + "\n"


def render_html(digest: Digest) -> str:
    """The HTML digest: inline styles (mail clients drop style sheets), one narrow column
    that reads on a phone, no email addresses."""
    return _ENV.get_template("digest.html.j2").render(d=digest, version=__version__)


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(digest: Digest) -> dict[str, Any]:
    """The digest as a Slack incoming-webhook payload (Block Kit, ``text`` as fallback)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": digest.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(digest.headline)}},
    ]
    for p in digest.pairs:
        lines = [
            f"*{_mrkdwn(p.who)}* · {p.status_text}",
            _mrkdwn(p.reason),
            f"last held {p.last_held} · next: {p.next_booked}",
            f"→ {_mrkdwn(p.action)}",
        ]
        url = p.invitation and digest.invitation_urls.get(p.invitation.filename)
        if p.invitation and url:
            lines.append(f"<{url}|invitation: {p.invitation.when}>")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    if digest.more:
        more = f"…and {plural(digest.more, 'more pair')} in the report."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    blocks.append({"type": "divider"})
    fields = [
        {"type": "mrkdwn", "text": _mrkdwn(_card_text(c, digest.since))} for c in digest.cards
    ]
    blocks.append({"type": "section", "fields": fields[:10]})
    link = (
        f"<{digest.report_url}|Open the full report>"
        if digest.report_url
        else _mrkdwn(digest.where)
    )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]})
    return {"text": digest.subject, "blocks": blocks}


def teams_message(digest: Digest) -> dict[str, Any]:
    """The digest as a Teams message with one Adaptive Card (incoming webhook or a
    Workflows "post to a channel when a webhook request is received" flow)."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": digest.title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {"type": "TextBlock", "text": digest.headline, "wrap": True},
    ]
    for p in digest.pairs:
        facts = [
            {"title": "status", "value": p.status_text},
            {"title": "why", "value": p.reason},
            {"title": "last held", "value": p.last_held},
            {"title": "next", "value": p.next_booked},
            {"title": "do", "value": p.action},
        ]
        url = p.invitation and digest.invitation_urls.get(p.invitation.filename)
        if p.invitation and url:
            facts.append({"title": "invitation", "value": f"[{p.invitation.when}]({url})"})
        body += [
            {
                "type": "TextBlock",
                "text": p.who,
                "weight": "Bolder",
                "wrap": True,
                "separator": True,
            },
            {"type": "FactSet", "facts": facts},
        ]
    if digest.more:
        body.append(
            {
                "type": "TextBlock",
                "wrap": True,
                "isSubtle": True,
                "text": f"…and {plural(digest.more, 'more pair')} in the report.",
            }
        )
    body.append(
        {
            "type": "FactSet",
            "separator": True,
            "facts": [
                {"title": c["value"], "value": _card_text({**c, "value": ""}, digest.since).strip()}
                for c in digest.cards
            ],
        }
    )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    if digest.report_url:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open the full report", "url": digest.report_url}
        ]
    else:
        body.append({"type": "TextBlock", "wrap": True, "isSubtle": True, "text": digest.where})
    return {
        "type": "message",
        "summary": digest.subject,
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }
