"""A synthetic organisation with known truth, run through the real pipeline.

:func:`generate` builds a deterministic (seeded) organisation: a roster of
managers and reports in several departments and time zones; weekly, every-two-
weeks and monthly 1:1 series; and what happens to them: ordinary and late
cancellations, moves by hours or days, declines by either side, cancelled
occurrences replaced by an ad-hoc 1:1, series that end and pairs that lapse,
pairs drifting from weekly to roughly fortnightly, shortened meetings. Around
them sits what is *not* a 1:1: team meetings of 3+, all-day events,
out-of-office and focus-time blocks (and 1:1s that book a room, which are).

It emits the normalized frames as a calendar provider would show them at
``as_of``, a series of earlier weekly full pulls (so the store sees moves and
deletions happen), and a **truth table** per occurrence and per pair that the
analysis is scored against.

Everything is vectorized over occurrences; 10,000 people × 52 weeks takes
seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cadence.errors import ConfigError
from cadence.model import (
    ATTENDEES,
    EVENT_TYPES,
    EVENTS,
    RESPONSES,
    ROLES,
    STRING,
    TIMESTAMP,
    Pull,
    validate,
)

SOURCE = "demo"
DOMAIN = "example.com"
ROOM_EMAILS = tuple(f"room-{n}@resource.{DOMAIN}" for n in ("atlas", "borealis", "cedar", "delta"))

DEPARTMENTS = (
    ("Engineering", "Europe/Berlin"),
    ("Sales", "America/New_York"),
    ("Customer Success", "America/Chicago"),
    ("Marketing", "Europe/London"),
    ("Product", "America/Los_Angeles"),
    ("Finance", "Europe/Paris"),
    ("People", "Asia/Kolkata"),
    ("Operations", "Australia/Sydney"),
    ("Design", "America/Sao_Paulo"),
    ("Legal", "Asia/Tokyo"),
)
FIRST = [
    "Ada",
    "Alan",
    "Amara",
    "Anil",
    "Ayesha",
    "Beatriz",
    "Bjorn",
    "Chen",
    "Chiara",
    "Dara",
    "Diego",
    "Elif",
    "Emeka",
    "Eva",
    "Farah",
    "Felix",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Ivan",
    "Jamal",
    "Jia",
    "Jonas",
    "Kai",
    "Kavya",
    "Lena",
    "Liam",
    "Lucia",
    "Mateo",
    "Maya",
    "Mei",
    "Nadia",
    "Niamh",
    "Noah",
    "Olga",
    "Omar",
    "Pablo",
    "Priya",
    "Quinn",
    "Rafael",
    "Rania",
    "Rosa",
    "Sami",
    "Sara",
    "Sofia",
    "Tariq",
    "Tomas",
    "Uma",
    "Valentina",
    "Wei",
    "Yara",
    "Yusuf",
    "Zoe",
    "Zeynep",
    "Arjun",
    "Ingrid",
    "Kofi",
    "Leila",
    "Marek",
]
LAST = [
    "Abara",
    "Bauer",
    "Chen",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Hoang",
    "Ivanova",
    "Jensen",
    "Kaur",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lopez",
    "Mbeki",
    "Meyer",
    "Moreau",
    "Nakamura",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Perez",
    "Quinn",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Sokolov",
    "Tanaka",
    "Torres",
    "Usman",
    "Varga",
    "Wang",
    "Weber",
    "Yilmaz",
    "Zhang",
    "Zimmermann",
    "Andersen",
    "Berg",
    "Castro",
    "Dahl",
    "Ekström",
    "Ferreira",
    "Gupta",
]

CADENCES = {  # name: (target days, RRULE stem, share of pairs, usual minutes)
    "weekly": (7, "FREQ=WEEKLY", 0.55, 30),
    "biweekly": (14, "FREQ=WEEKLY;INTERVAL=2", 0.30, 45),
    "monthly": (30, "FREQ=MONTHLY", 0.15, 60),
}


@dataclass(frozen=True)
class Scenario:
    """How a pair behaves, and the state a careful reader of its calendar should see.

    Misses follow a periodic pattern (slot k is missed when ``k + phase`` falls in
    ``miss_slots`` modulo ``miss_period``) so that the intent shows in any window.
    Healthy pairs get noise instead: at most one slot in 13 is at risk, missed
    with probability ``noise``.
    """

    share: float
    state: str
    noise: float
    p_move: float
    p_replace: float  # a missed slot is made up by an ad-hoc 1:1
    miss_period: int = 1
    miss_slots: tuple[int, ...] = ()


SCENARIOS = {
    "steady": Scenario(0.58, "healthy", 0.6, 0.10, 0.35),
    "bumpy": Scenario(0.14, "watch", 0.0, 0.25, 0.05, 3, (0,)),
    "neglected": Scenario(0.08, "at_risk", 0.0, 0.20, 0.05, 3, (0, 1)),
    # weekly pairs that, in the last 6 weeks, skip every other slot
    "drifting": Scenario(0.07, "watch", 0.6, 0.12, 0.10),
    "lapsed": Scenario(0.06, "lapsed", 0.8, 0.10, 0.2),
    "recadenced": Scenario(0.07, "healthy", 0.6, 0.10, 0.35),
}
NOISE_PERIOD = 13
DAY = pd.Timedelta(days=1)
US_PER_DAY = 86_400_000_000
US_PER_MIN = 60_000_000


@dataclass
class DemoOrg:
    """A generated organisation: the frames, the pulls that produced them, and the truth."""

    as_of: pd.Timestamp
    window: tuple[pd.Timestamp, pd.Timestamp]
    roster: pd.DataFrame
    events: pd.DataFrame
    attendees: pd.DataFrame
    truth_occurrences: pd.DataFrame
    truth_pairs: pd.DataFrame
    pull_times: tuple[pd.Timestamp, ...]
    weeks: int
    ahead_weeks: int
    _occ: pd.DataFrame = field(repr=False)
    _noise: tuple[pd.DataFrame, pd.DataFrame] = field(repr=False)

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The time the generated frames cover."""
        return self.window

    @property
    def calendars(self) -> list[str]:
        return self.roster["email"].tolist()

    def snapshot(self, at: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The events and attendees every calendar showed at ``at`` (full pull window)."""
        lo, hi = self.pull_window(at)
        return _snapshot(self._occ, self._noise, pd.Timestamp(at), lo, hi)

    def pull_window(self, at: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
        return (at - pd.Timedelta(weeks=self.weeks), at + pd.Timedelta(weeks=self.ahead_weeks))

    def pulls(self) -> list[Pull]:
        """Weekly full pulls of every calendar, the last one at ``as_of``."""
        out = []
        for at in self.pull_times:
            events, attendees = self.snapshot(at)
            out.append(
                Pull(
                    source=SOURCE,
                    calendars=self.calendars,
                    events=events,
                    attendees=attendees,
                    seen_at=at,
                    window=self.pull_window(at),
                )
            )
        return out


def generate(
    people: int = 60,
    *,
    seed: int = 7,
    as_of: pd.Timestamp | str | None = None,
    weeks: int = 26,
    ahead_weeks: int = 8,
    history_pulls: int = 4,
    noise: bool = True,
    absences: bool = False,
) -> DemoOrg:
    """Generate a demo organisation of ``people`` people.

    ``as_of`` defaults to the start of today (UTC); history covers ``weeks``
    weeks before it and ``ahead_weeks`` after. ``history_pulls`` weekly pulls
    precede the final one, so the store can observe changes. ``noise=False``
    leaves out everything that is not a 1:1 (team meetings, all-day, out of
    office, focus time): benchmarks use it to size the analysis by 1:1s.

    ``absences=True`` adds leave with known truth: a ``country`` roster column (public
    holidays by the ``holidays`` package), one or two vacations of one or two weeks per
    person, one report on a twelve-week leave around ``as_of``; most 1:1 slots that fall
    in them are cancelled, some held anyway. The truth then has an ``excused`` outcome
    and an ``on_leave`` state. Without it the only out-of-office blocks lie after
    ``as_of`` and change no figure (the default: the demo's numbers stay as they were).

    Examples
    --------
    >>> org = generate(40, seed=1, as_of="2026-06-30")
    >>> len(org.roster), sorted(org.truth_pairs["state"].unique())
    (40, ['at_risk', 'healthy', 'lapsed', 'watch'])
    """
    if people < 2:
        raise ConfigError(f"people must be at least 2, got {people}")
    if weeks < 1 or ahead_weeks < 0:
        raise ConfigError(f"weeks must be ≥ 1 and ahead_weeks ≥ 0, got {weeks}, {ahead_weeks}")
    rng = np.random.default_rng(seed)
    as_of_ts = _as_of(as_of)
    pull_times = tuple(as_of_ts - pd.Timedelta(weeks=k) for k in range(history_pulls, -1, -1))
    lo = as_of_ts - pd.Timedelta(weeks=weeks)
    hi = as_of_ts + pd.Timedelta(weeks=ahead_weeks)
    roster = _roster(people, rng)
    pairs = _pairs(roster, rng, as_of_ts, weeks)
    series = _series(pairs, roster, rng, as_of_ts, lo, weeks)
    occ = _occurrences(series, pairs, rng, as_of_ts, lo, hi, np.array(pull_times))
    occ = pd.concat([occ, _replacements(occ, rng, as_of_ts), _peer_chats(roster, rng, lo, hi)])
    occ = occ.sort_values(["ical_uid", "original_us"], ignore_index=True)
    noise_frames = _noise(roster, rng, lo, hi, as_of_ts)
    if not noise:
        noise_frames = (noise_frames[0].iloc[:0], noise_frames[1].iloc[:0])
    away = None
    if absences:
        away = _leave(roster, np.random.default_rng([seed, 19]), lo, hi, as_of_ts)
        occ = _miss_while_away(occ, away, np.random.default_rng([seed, 20]), as_of_ts)
        noise_frames = _with_leave_events(noise_frames, away)
        roster = roster.assign(country=roster["timezone"].map(COUNTRY_OF_ZONE).astype(STRING))
    coded_occ, coded_noise = _coded(occ, noise_frames)
    events, attendees = _snapshot(coded_occ, coded_noise, as_of_ts, lo, hi)
    truth_pairs = pairs[
        ["manager", "report", "department", "cadence", "target_days", "state", "scenario"]
    ].copy()
    if away is not None:
        leave = set(away.long_leave)
        truth_pairs["on_leave"] = (
            truth_pairs["manager"].isin(leave) | truth_pairs["report"].isin(leave)
        ).to_numpy()
        truth_pairs.loc[truth_pairs["on_leave"], "state"] = "on_leave"
    return DemoOrg(
        as_of=as_of_ts,
        window=(lo, hi),
        roster=roster.drop(columns=["level"]),
        events=events,
        attendees=attendees,
        truth_occurrences=_truth_occurrences(occ, as_of_ts, away),
        truth_pairs=truth_pairs,
        pull_times=pull_times,
        weeks=weeks,
        ahead_weeks=ahead_weeks,
        _occ=coded_occ,
        _noise=coded_noise,
    )


# -- the organisation ---------------------------------------------------------------------------


def _as_of(value: pd.Timestamp | str | None) -> pd.Timestamp:
    if value is None:
        return pd.Timestamp.now(tz="UTC").normalize()
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _roster(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """A tree built breadth-first: each manager takes 3-8 reports, the CEO up to 8."""
    manager = np.full(n, -1)
    level = np.zeros(n, dtype=int)
    spans = rng.integers(3, 9, size=n)
    spans[0] = min(8, max(2, n // 6))
    boss, taken = 0, 0
    for i in range(1, n):
        if taken >= spans[boss]:
            boss, taken = boss + 1, 0
        manager[i], level[i] = boss, level[boss] + 1
        taken += 1
    top = np.arange(n)
    while (level[top] > 1).any():  # walk up to the department head (level 1)
        deep = level[top] > 1
        top[deep] = manager[top[deep]]
    heads = np.flatnonzero(level == 1)
    dept_idx = np.searchsorted(heads, top) % len(DEPARTMENTS)
    dept_idx[0] = 0  # the CEO sits with the first department
    home_tz = np.array([tz for _, tz in DEPARTMENTS])[dept_idx]
    elsewhere = rng.random(n) < 0.2
    tz = np.where(elsewhere, rng.choice(home_tz, size=n), home_tz)
    first = rng.choice(FIRST, size=n)
    last = rng.choice(LAST, size=n)
    df = pd.DataFrame({"first": first, "last": last})
    dup = df.groupby(["first", "last"]).cumcount().to_numpy()
    local = pd.Series(first).str.lower() + "." + pd.Series(last).str.lower().str.replace("ö", "o")
    local = local.where(dup == 0, local + (dup + 1).astype(str))
    email = local + "@" + DOMAIN
    names = pd.Series(first) + " " + pd.Series(last)
    mgr_email = pd.Series(np.where(manager >= 0, email.to_numpy()[manager], None))
    return pd.DataFrame(
        {
            "email": email.astype(STRING),
            "name": names.astype(STRING),
            "manager_email": mgr_email.astype(STRING),
            "department": pd.Series(np.array([d for d, _ in DEPARTMENTS])[dept_idx]).astype(STRING),
            "team": ("Team " + pd.Series(names.to_numpy()[np.maximum(manager, 0)]))
            .where(manager >= 0, "Leadership")
            .astype(STRING),
            "timezone": pd.Series(tz).astype(STRING),
            "level": level,
        }
    )


def _pairs(
    roster: pd.DataFrame, rng: np.random.Generator, as_of: pd.Timestamp, weeks: int
) -> pd.DataFrame:
    rep = roster[roster["manager_email"].notna()].reset_index(drop=True)
    n = len(rep)
    cad_names = list(CADENCES)
    cadence = rng.choice(cad_names, size=n, p=[CADENCES[c][2] for c in cad_names])
    scen_names = list(SCENARIOS)
    scenario = rng.choice(scen_names, size=n, p=[SCENARIOS[s].share for s in scen_names])
    # Only weekly pairs can drift to fortnightly or be re-cadenced to it; monthly pairs can
    # lapse only when the history is long enough to show 3 × 30 days without a meeting.
    weekly = cadence == "weekly"
    scenario = np.where(~weekly & np.isin(scenario, ["drifting", "recadenced"]), "steady", scenario)
    if weeks * 7 < 3 * 30 + 15 + 4 + 35 + 30:
        scenario = np.where((cadence == "monthly") & (scenario == "lapsed"), "steady", scenario)
    target = np.array([CADENCES[c][0] for c in cadence])
    target = np.where(scenario == "recadenced", 14, target)
    by_email = roster.set_index("email")
    mgr = rep["manager_email"].to_numpy()
    return pd.DataFrame(
        {
            "pair_id": np.arange(n),
            "manager": rep["manager_email"].astype(STRING),
            "report": rep["email"].astype(STRING),
            "department": rep["department"].astype(STRING),
            "cadence": np.where(scenario == "recadenced", "biweekly", cadence),
            "first_cadence": cadence,
            "target_days": target,
            "scenario": scenario,
            "state": [SCENARIOS[s].state for s in scenario],
            "phase": rng.integers(0, 60, size=n),
            # the report organizes one pair in five: declines then come from the manager
            "organizer_is_report": rng.random(n) < 0.2,
            "manager_name": by_email.loc[mgr, "name"].to_numpy(),
            "report_name": rep["name"].to_numpy(),
            "tz": by_email.loc[mgr, "timezone"].to_numpy(),
            "room": _where(rng.random(n) < 0.1, rng.choice(ROOM_EMAILS, size=n)),
        }
    )


def _series(
    pairs: pd.DataFrame,
    roster: pd.DataFrame,
    rng: np.random.Generator,
    as_of: pd.Timestamp,
    lo: pd.Timestamp,
    weeks: int,
) -> pd.DataFrame:
    """One row per recurring series; re-cadenced pairs get a weekly then a fortnightly one."""
    n = len(pairs)
    first = pairs.assign(
        series_no=0,
        rule=[CADENCES[c][1] for c in pairs["first_cadence"]],
        interval_days=[CADENCES[c][0] for c in pairs["first_cadence"]],
        minutes=[CADENCES[c][3] for c in pairs["first_cadence"]],
        # series began before the window; anchor weekday and local time vary per pair
        anchor=lo.tz_localize(None).normalize()
        - pd.to_timedelta(rng.integers(7, 120, size=n), unit="D"),
        local_minute=rng.integers(18, 34, size=n) * 30,  # 09:00-16:30
        until=pd.Series(pd.NaT, index=pairs.index, dtype="datetime64[us]"),
    )
    lapsed = first["scenario"] == "lapsed"
    # 3 × target without a meeting, even counting a catch-up half a target after the last slot
    t = first["target_days"]
    gap_days = 3 * t + t // 2 + 4 + rng.integers(7, 35, size=n)
    first.loc[lapsed, "until"] = (as_of.tz_localize(None) - pd.to_timedelta(gap_days, "D"))[lapsed]
    rec = first["scenario"] == "recadenced"
    switch = as_of.tz_localize(None).normalize() - pd.to_timedelta(
        rng.integers(5, max(6, weeks * 7 // 2), size=n), unit="D"
    )
    first.loc[rec, "until"] = switch[rec]
    second = first[rec].copy()
    second["series_no"] = 1
    second["rule"] = CADENCES["biweekly"][1]
    second["interval_days"] = 14
    second["minutes"] = CADENCES["biweekly"][3]
    second["anchor"] = switch[rec] + pd.Timedelta(days=1)
    second["until"] = pd.NaT
    series = pd.concat([first, second], ignore_index=True)
    # keep anchors on weekdays (Saturday/Sunday → Monday) and monthly ones on day ≤ 28
    wd = series["anchor"].dt.day_of_week
    series["anchor"] += pd.to_timedelta(np.where(wd >= 5, 7 - wd, 0), unit="D")
    monthly = series["rule"].eq("FREQ=MONTHLY")
    over = np.maximum(series["anchor"].dt.day - 28, 0).where(monthly, 0)
    series["anchor"] -= pd.to_timedelta(over, unit="D")
    series["series_id"] = [
        f"demo-{p}-{n}" for p, n in zip(series["pair_id"], series["series_no"], strict=True)
    ]
    series["uid"] = series["series_id"] + "@" + DOMAIN
    series["title"] = (
        "1:1 "
        + series["manager_name"].str.split().str[0]
        + " / "
        + series["report_name"].str.split().str[0]
    )
    return series


def _occurrences(
    series: pd.DataFrame,
    pairs: pd.DataFrame,
    rng: np.random.Generator,
    as_of: pd.Timestamp,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    pull_times: np.ndarray,
) -> pd.DataFrame:
    """Expand every series into slots and decide what happens to each."""
    span_days = (hi.tz_localize(None) - series["anchor"]).dt.days.to_numpy() + 31
    monthly = series["rule"].eq("FREQ=MONTHLY").to_numpy()
    step = series["interval_days"].to_numpy()
    count = np.where(monthly, span_days // 28 + 1, span_days // step + 1)
    idx = np.repeat(np.arange(len(series)), count)
    k = np.arange(len(idx)) - np.repeat(np.cumsum(count) - count, count)
    s = series.iloc[idx].reset_index(drop=True)
    anchor = s["anchor"].dt.normalize()
    day = anchor + pd.to_timedelta(np.where(monthly[idx], 0, k * step[idx]), unit="D")
    day = day.where(~monthly[idx], anchor + pd.to_timedelta(0, "D") + _months(anchor, k))
    local = day + pd.to_timedelta(s["local_minute"], unit="m")
    orig = _localize(local, s["tz"])
    keep = (orig >= lo) & (orig < hi) & (s["until"].isna() | (local <= s["until"]))
    keep_np = keep.to_numpy()
    s, k = s[keep_np].reset_index(drop=True), k[keep_np]
    orig, local = orig[keep_np].reset_index(drop=True), local[keep_np].reset_index(drop=True)
    n = len(s)
    scen = s["scenario"].to_numpy()
    spec = [SCENARIOS[x] for x in scen]
    # rarer meetings are better protected: noise scales with the cadence
    protect = np.select([s["interval_days"] >= 28, s["interval_days"] >= 14], [0.35, 0.7], 1.0)
    noise = np.array([x.noise for x in spec]) * protect
    p_move = np.array([x.p_move for x in spec])
    period = np.array([x.miss_period for x in spec])
    slot = (k + s["phase"].to_numpy()) % period
    patterned = np.zeros(n, dtype=bool)
    for name, x in SCENARIOS.items():
        for m in x.miss_slots:
            patterned |= (scen == name) & (slot == m)
    # drifting pairs: in the last 6 weeks every other occurrence is missed
    recent = (orig > as_of - pd.Timedelta(weeks=6)).to_numpy()
    patterned |= (scen == "drifting") & recent & (k % 2 == 1)
    noise_slot = (k + s["phase"].to_numpy() // 7) % NOISE_PERIOD == 0
    patterned |= noise_slot & (rng.random(n) < noise)
    # a miss is a cancellation by the organizer, or (3 in 10) a decline by the invitee
    pattern_decline = patterned & (rng.random(n) < 0.3)
    cancelled = patterned & ~pattern_decline
    late = cancelled & (rng.random(n) < 0.3)
    # cancelled some hours (late) or 2-10 days before the slot
    lead = np.where(
        late,
        rng.integers(1, 23, size=n) * 3_600_000_000,
        rng.integers(2, 11, size=n) * US_PER_DAY,
    )
    orig_us = orig.array.asi8
    moved = ~cancelled & (rng.random(n) < p_move)
    by_days = rng.random(n) < 0.4
    delta_us = np.where(
        by_days,
        rng.choice([-2, -1, 1, 1, 2, 3], size=n) * US_PER_DAY,
        rng.choice([-3, -2, -1, 1, 2, 4], size=n) * 3_600_000_000,
    )
    delta_us = np.where(moved, delta_us, 0)
    start_us = orig_us + delta_us
    moved_at = np.where(
        moved, np.minimum(orig_us, start_us) - rng.integers(1, 6, size=n) * US_PER_DAY, 0
    )
    declined = pattern_decline
    declined_at = np.where(declined, start_us - rng.integers(2, 72, size=n) * 3_600_000_000, 0)
    cancelled_at = np.where(cancelled, orig_us - lead, 0)
    # Some cancellations are deletions: the provider stops reporting the slot and only the
    # store's history knows. Only where a weekly pull sees it gone a day or more before it.
    pulls_us = np.array([pd.Timestamp(t).value // 1000 for t in pull_times])
    nxt = np.searchsorted(pulls_us, cancelled_at, side="left")
    nxt_us = pulls_us[np.minimum(nxt, len(pulls_us) - 1)]
    observable = (nxt < len(pulls_us)) & (nxt > 0) & (nxt_us < orig_us - US_PER_DAY)
    observable &= orig_us < pulls_us[np.maximum(nxt - 1, 0)] + 8 * 7 * US_PER_DAY
    deleted = cancelled & ~late & observable & (rng.random(n) < 0.7)
    shortened = ~cancelled & (rng.random(n) < 0.05)
    minutes = s["minutes"].to_numpy()
    dur_us = np.where(shortened, minutes // 2, minutes) * US_PER_MIN
    org_is_rep = s["organizer_is_report"].to_numpy()
    manager = s["manager"].to_numpy(dtype=object)
    report = s["report"].to_numpy(dtype=object)
    organizer = np.where(org_is_rep, report, manager)
    attendee = np.where(org_is_rep, manager, report)
    # declines come from the invitee
    created_us = (lo - pd.Timedelta(weeks=30)).value // 1000
    rule = s["rule"].to_numpy(dtype=object)
    monthly_rule = rule == "FREQ=MONTHLY"
    weekday = local.dt.day_name().str[:2].str.upper()
    rrule = np.where(
        monthly_rule,
        rule + ";BYMONTHDAY=" + s["anchor"].dt.day.astype(str).to_numpy(),
        rule + ";BYDAY=" + weekday.to_numpy(dtype=object),
    )
    # The series keeps slots up to local midnight of `until`: UNTIL is that instant in UTC,
    # less a second (RFC 5545 wants UTC when DTSTART has a zone).
    until = s["until"]
    until_utc = _localize(until.fillna(pd.Timestamp("2000-01-01")), s["tz"]) - pd.Timedelta(
        seconds=1
    )
    rrule = np.where(
        until.notna(),
        rrule + ";UNTIL=" + until_utc.dt.strftime("%Y%m%dT%H%M%SZ").to_numpy(dtype=object),
        rrule,
    )
    return pd.DataFrame(
        {
            "pair_id": s["pair_id"].to_numpy(),
            "relation": "report",
            "manager": manager,
            "report": report,
            "organizer": organizer,
            "attendee": attendee,
            "ical_uid": s["uid"].to_numpy(),
            "series_id": s["series_id"].to_numpy(),
            "adhoc": False,
            "original_us": orig_us,
            "start_us": start_us,
            "dur_us": dur_us,
            "tz": s["tz"].to_numpy(),
            "recurrence": rrule,
            "title": s["title"].to_numpy(),
            "room": s["room"].to_numpy(),
            "created_us": created_us,
            "cancelled": cancelled,
            "cancelled_at": cancelled_at,
            "late": late,
            "deleted": deleted,
            "moved": moved,
            "moved_at": moved_at,
            "declined": declined,
            "declined_at": declined_at,
            "shortened": shortened,
            "target_days": s["interval_days"].to_numpy(),
            "replaces_uid": None,
            "replaces_us": 0,
            "p_replace": [x.p_replace for x in spec],
        }
    )


def _replacements(occ: pd.DataFrame, rng: np.random.Generator, as_of: pd.Timestamp) -> pd.DataFrame:
    """An ad-hoc 1:1 soon after some cancelled or declined past occurrences."""
    as_of_us = as_of.value // 1000
    missed = (occ["cancelled"] | occ["declined"]).to_numpy()
    half = occ["target_days"].to_numpy() * US_PER_DAY // 2
    base = occ["start_us"].to_numpy()
    after = rng.integers(1, 4, size=len(occ)) * US_PER_DAY
    after = (
        np.minimum(after, half - US_PER_DAY // 4)
        + rng.integers(-2, 3, size=len(occ)) * 3_600_000_000
    )
    pick = (
        missed
        & (rng.random(len(occ)) < occ["p_replace"].to_numpy())
        & (base + after < as_of_us - US_PER_DAY)
    )
    r = occ[pick].copy()
    start = base[pick] + after[pick]
    r["ical_uid"] = [
        f"adhoc-{u.split('@')[0]}-{t}@{DOMAIN}" for u, t in zip(r["ical_uid"], start, strict=True)
    ]
    r["series_id"] = None
    r["adhoc"] = True
    r["original_us"] = start
    r["start_us"] = start
    r["dur_us"] = 30 * US_PER_MIN
    r["recurrence"] = None
    r["title"] = "Catch-up"
    r["room"] = None
    r["created_us"] = base[pick] - US_PER_DAY // 2
    r["replaces_uid"] = occ.loc[pick, "ical_uid"].to_numpy()
    r["replaces_us"] = occ.loc[pick, "original_us"].to_numpy()
    for col in ("cancelled", "late", "deleted", "moved", "declined", "shortened"):
        r[col] = False
    for col in ("cancelled_at", "moved_at", "declined_at"):
        r[col] = 0
    return pd.DataFrame(r)


def _peer_chats(
    roster: pd.DataFrame, rng: np.random.Generator, lo: pd.Timestamp, hi: pd.Timestamp
) -> pd.DataFrame:
    """Occasional ad-hoc 1:1s between peers (same manager): 1:1s, but not manager–report."""
    has_mgr = roster[roster["manager_email"].notna()].reset_index(drop=True)
    n = len(has_mgr)
    if n < 2:
        return pd.DataFrame()
    pick = rng.random(n) < 0.15
    a = has_mgr[pick]
    peers = has_mgr.groupby("manager_email")["email"].agg(list)
    partner = [
        (lambda lst, me: next((p for p in lst if p != me), None))(peers[m], e)
        for m, e in zip(a["manager_email"], a["email"], strict=True)
    ]
    a = a.assign(partner=pd.Series(partner, index=a.index, dtype=object))
    a = a.dropna(subset=["partner"])
    if a.empty:
        return pd.DataFrame()
    span = int((hi - lo) / DAY)
    start = (
        lo.normalize().value // 1000
        + rng.integers(0, span, size=len(a)) * US_PER_DAY
        + rng.integers(16, 30, size=len(a)) * 1_800_000_000
    )
    return pd.DataFrame(
        {
            "pair_id": -1,
            "relation": "peer",
            "manager": a["manager_email"].to_numpy(),
            "report": a["email"].to_numpy(),
            "organizer": a["email"].to_numpy(),
            "attendee": a["partner"].to_numpy(),
            "ical_uid": [f"peer-{i}@{DOMAIN}" for i in range(len(a))],
            "series_id": None,
            "adhoc": True,
            "original_us": start,
            "start_us": start,
            "dur_us": 30 * US_PER_MIN,
            "tz": a["timezone"].to_numpy(),
            "recurrence": None,
            "title": "Coffee chat",
            "room": None,
            "created_us": start - 5 * US_PER_DAY,
            "cancelled": False,
            "cancelled_at": 0,
            "late": False,
            "deleted": False,
            "moved": False,
            "moved_at": 0,
            "declined": False,
            "declined_at": 0,
            "shortened": False,
            "target_days": 0,
            "replaces_uid": None,
            "replaces_us": 0,
            "p_replace": 0.0,
        }
    )


def _noise(
    roster: pd.DataFrame,
    rng: np.random.Generator,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    as_of: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What is not a 1:1: weekly team meetings, all-day events, out-of-office, focus time."""
    emails = roster["email"].to_numpy(dtype=object)
    tzs = roster["timezone"].to_numpy(dtype=object)
    mgr = roster["manager_email"]
    teams = roster[mgr.notna()].groupby("manager_email")["email"].agg(list)
    teams = teams[teams.map(len) >= 2]
    lo_day = lo.normalize().value // 1000
    weeks = int((hi - lo) / pd.Timedelta(weeks=1))
    ev: list[pd.DataFrame] = []
    at: list[pd.DataFrame] = []
    if len(teams):
        t_idx = np.repeat(np.arange(len(teams)), weeks)
        wk = np.tile(np.arange(weeks), len(teams))
        start = lo_day + (wk * 7 + 1) * US_PER_DAY + 15 * 3_600_000_000
        uid = [f"team-{i}@{DOMAIN}" for i in range(len(teams))]
        owner = teams.index.to_numpy(dtype=object)
        meta = pd.DataFrame(
            {
                "key": np.arange(len(t_idx)),
                "organizer": owner[t_idx],
                "ical_uid": np.array(uid, dtype=object)[t_idx],
                "series_id": np.array([u.split("@")[0] for u in uid], dtype=object)[t_idx],
                "start_us": start,
                "dur_us": 45 * US_PER_MIN,
                "all_day": False,
                "event_type": "default",
                "recurrence": "FREQ=WEEKLY;BYDAY=TU",
                "title": "Team meeting",
            }
        )
        members = [[o, *m] for o, m in zip(owner, teams.to_numpy(), strict=True)]
        sizes = np.array([len(m) for m in members])
        flat = np.concatenate([np.array(m, dtype=object) for m in members])
        offs = np.cumsum(sizes) - sizes
        # every occurrence × every member
        occ_rep = np.repeat(np.arange(len(t_idx)), sizes[t_idx])
        pos = np.arange(len(occ_rep)) - np.repeat(
            np.cumsum(sizes[t_idx]) - sizes[t_idx], sizes[t_idx]
        )
        member = flat[offs[t_idx][occ_rep] + pos]
        ev.append(meta)
        at.append(pd.DataFrame({"key": occ_rep, "email": member}))
    n = len(emails)
    base = sum(len(e) for e in ev)
    # all-day "offsite" between a person and their manager (two people, all day: not a 1:1)
    has_m = mgr.notna().to_numpy()
    who = np.flatnonzero(has_m & (rng.random(n) < 0.3))
    day = lo_day + rng.integers(0, max(1, weeks * 7), size=len(who)) * US_PER_DAY
    ev.append(
        pd.DataFrame(
            {
                "key": base + np.arange(len(who)),
                "organizer": mgr.to_numpy(dtype=object)[who],
                "ical_uid": [f"offsite-{i}@{DOMAIN}" for i in range(len(who))],
                "series_id": None,
                "start_us": day,
                "dur_us": US_PER_DAY,
                "all_day": True,
                "event_type": "default",
                "recurrence": None,
                "title": "Offsite",
            }
        )
    )
    at.append(
        pd.DataFrame(
            {
                "key": np.concatenate([base + np.arange(len(who))] * 2),
                "email": np.concatenate([mgr.to_numpy(dtype=object)[who], emails[who]]),
            }
        )
    )
    base += len(who)
    # out-of-office (a week) and focus-time blocks (2 h): one person each
    for kind, per_person, dur, title in (
        ("out_of_office", 1, 5 * US_PER_DAY, "Out of office"),
        ("focus_time", max(1, weeks // 3), 2 * 60 * US_PER_MIN, "Focus time"),
    ):
        who = np.repeat(np.arange(n), per_person)
        day_no = rng.integers(0, max(1, weeks * 7), size=len(who))
        start = lo_day + day_no * US_PER_DAY
        if kind == "out_of_office":
            # after as_of: an absence to come excuses nothing yet (the leave model is
            # generate(absences=True)), so these change no figure
            ahead_days = int((hi - as_of) / DAY)
            start = (
                as_of.normalize().value // 1000 + (1 + day_no % max(1, ahead_days - 6)) * US_PER_DAY
            )
        start += rng.integers(16, 30, size=len(who)) * 1_800_000_000
        keys = base + np.arange(len(who))
        ev.append(
            pd.DataFrame(
                {
                    "key": keys,
                    "organizer": emails[who],
                    "ical_uid": [f"{kind}-{i}@{DOMAIN}" for i in range(len(who))],
                    "series_id": None,
                    "start_us": start,
                    "dur_us": dur,
                    "all_day": False,
                    "event_type": kind,
                    "recurrence": None,
                    "title": title,
                }
            )
        )
        at.append(pd.DataFrame({"key": keys, "email": emails[who]}))
        base += len(who)
    events = pd.concat(ev, ignore_index=True)
    tz_of = dict(zip(emails, tzs, strict=True))
    events["tz"] = events["organizer"].map(tz_of)
    events["created_us"] = lo_day - 30 * US_PER_DAY
    return events, pd.concat(at, ignore_index=True)


# -- provider view ------------------------------------------------------------------------------


def _coded(
    occ: pd.DataFrame, noise: tuple[pd.DataFrame, pd.DataFrame]
) -> tuple[pd.DataFrame, tuple[pd.DataFrame, pd.DataFrame]]:
    """The occurrences and the noise with their text as categoricals, coded once for every
    snapshot: what ``Store.frames()`` hands over (the people columns sharing one categories
    Index; event ids, uids, series, zones and rules each one categories Index across the 1:1s
    and the noise), so each snapshot only selects and copies integer codes."""
    nev, nat = noise
    stamp = pd.to_datetime(occ["original_us"].to_numpy(), unit="us").strftime("%Y%m%dT%H%M%SZ")
    event_id = np.where(
        occ["adhoc"].to_numpy(),
        occ["ical_uid"].str.split("@").str[0].to_numpy(dtype=object),
        occ["series_id"].fillna("").to_numpy(dtype=object) + "_" + stamp.to_numpy(dtype=object),
    )
    n_stamp = pd.to_datetime(nev["start_us"].to_numpy(), unit="us").strftime("%Y%m%dT%H%M%SZ")
    n_id = np.where(
        nev["series_id"].notna(),
        nev["series_id"].fillna("").to_numpy(dtype=object) + "_" + n_stamp.to_numpy(dtype=object),
        nev["ical_uid"].str.split("@").str[0].to_numpy(dtype=object),
    )
    occ = occ.assign(event_id=event_id)
    nev = nev.assign(event_id=n_id)

    def shared(*columns: pd.Series) -> pd.CategoricalDtype:
        values = pd.concat([c.dropna().drop_duplicates() for c in columns], ignore_index=True)
        return pd.CategoricalDtype(pd.Index(values.drop_duplicates().to_numpy(), dtype=STRING))

    people = shared(occ["organizer"], occ["attendee"], occ["room"], nev["organizer"], nat["email"])
    occ = occ.astype({c: people for c in ("organizer", "attendee", "room")})
    nev, nat = nev.astype({"organizer": people}), nat.astype({"email": people})
    for col in ("event_id", "ical_uid", "series_id", "tz", "recurrence"):
        dtype = shared(occ[col], nev[col])
        occ[col], nev[col] = occ[col].astype(dtype), nev[col].astype(dtype)
    nev["event_type"] = nev["event_type"].astype(pd.CategoricalDtype(sorted(EVENT_TYPES)))
    return occ, (nev, nat)


def _vocabulary(values: list[str], codes: np.ndarray) -> Any:
    """A categorical of ``values[codes]`` (a small vocabulary, built from integer codes)."""
    return pd.Categorical.from_codes(
        np.asarray(codes, dtype=np.int8), dtype=pd.CategoricalDtype(pd.Index(values))
    )


def _snapshot(
    occ: pd.DataFrame,
    noise: tuple[pd.DataFrame, pd.DataFrame],
    at: pd.Timestamp,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What every calendar shows at ``at`` for occurrences overlapping [lo, hi).

    ``occ`` and ``noise`` come from :func:`_coded`; so do the frames' categorical columns.
    """
    t = at.value // 1000
    lo_us, hi_us = lo.value // 1000, hi.value // 1000
    moved_now = occ["moved"].to_numpy() & (occ["moved_at"].to_numpy() <= t)
    start = np.where(moved_now, occ["start_us"], occ["original_us"])
    end = start + occ["dur_us"].to_numpy()
    cancelled_now = occ["cancelled"].to_numpy() & (occ["cancelled_at"].to_numpy() <= t)
    gone = cancelled_now & occ["deleted"].to_numpy()
    visible = (occ["created_us"].to_numpy() <= t) & ~gone & (end > lo_us) & (start < hi_us)
    declined_now = occ["declined"].to_numpy() & (occ["declined_at"].to_numpy() <= t)
    o = occ[visible]
    start, end = start[visible], end[visible]
    cancelled_now, declined_now = cancelled_now[visible], declined_now[visible]
    updated = np.maximum.reduce(
        [
            o["created_us"].to_numpy(),
            np.where(moved_now[visible], o["moved_at"], 0),
            np.where(cancelled_now, o["cancelled_at"], 0),
            np.where(declined_now, o["declined_at"], 0),
        ]
    )
    n = len(o)
    zeros = np.zeros(n, dtype=np.int8)
    base = pd.DataFrame(
        {
            "source": _vocabulary([SOURCE], zeros),
            "event_id": o["event_id"].array,
            "series_id": o["series_id"].array,
            "ical_uid": o["ical_uid"].array,
            "original_start": _ts(o["original_us"].to_numpy()),
            "start": _ts(start),
            "end": _ts(end),
            "timezone": o["tz"].array,
            "all_day": False,
            "status": _vocabulary(["cancelled", "confirmed"], ~cancelled_now),
            "organizer": o["organizer"].array,
            "recurrence": o["recurrence"].array,
            "event_type": _vocabulary(
                sorted(EVENT_TYPES), zeros + sorted(EVENT_TYPES).index("default")
            ),
            "created": _ts(o["created_us"].to_numpy()),
            "updated": _ts(updated),
            # the demo says when each cancellation happened, as a Google instance's own
            # `updated` does (the truth table knows which were late)
            "cancelled_at": _ts(np.where(cancelled_now, o["cancelled_at"], 0)).where(cancelled_now),
        }
    )
    # both people's calendars hold a copy
    copies = [base.assign(calendar=o["organizer"].array), base.assign(calendar=o["attendee"].array)]
    events_11 = pd.concat(copies, ignore_index=True)
    # each copy lists both people (and the room when one is booked)
    roles, responses = sorted(ROLES), sorted(RESPONSES)
    organizer, required = roles.index("organizer"), roles.index("required")
    accepted = responses.index("accepted")
    att_resp = np.where(declined_now, responses.index("declined"), accepted)
    people = []
    room = o["room"].notna().to_numpy()
    for cal in (o["organizer"].array, o["attendee"].array):
        key = pd.DataFrame({"calendar": cal, "event_id": o["event_id"].array})
        for who, role, response, rows in (
            (o["organizer"].array, organizer, zeros + accepted, slice(None)),
            (o["attendee"].array, required, att_resp, slice(None)),
            (o["room"].array, required, zeros + accepted, room),
        ):
            part = key[rows]
            people.append(
                part.assign(
                    email=who[rows],
                    role=_vocabulary(roles, np.full(len(part), role)),
                    response=_vocabulary(responses, np.asarray(response)[rows]),
                    is_resource=rows is room,
                )
            )
    att_11 = pd.concat(people, ignore_index=True)

    nev, nat = noise
    n_start = nev["start_us"].to_numpy()
    n_end = n_start + nev["dur_us"].to_numpy()
    nvis = (n_end > lo_us) & (n_start < hi_us)
    nev = nev[nvis]
    n_start, n_end = n_start[nvis], n_end[nvis]
    nz = np.zeros(len(nev), dtype=np.int8)
    ncore = pd.DataFrame(
        {
            "key": nev["key"].to_numpy(),
            "source": _vocabulary([SOURCE], nz),
            "event_id": nev["event_id"].array,
            "series_id": nev["series_id"].array,
            "ical_uid": nev["ical_uid"].array,
            "original_start": _ts(n_start),
            "start": _ts(n_start),
            "end": _ts(n_end),
            "timezone": nev["tz"].array,
            "all_day": nev["all_day"].to_numpy(),
            "status": _vocabulary(["cancelled", "confirmed"], nz + 1),
            "organizer": nev["organizer"].array,
            "recurrence": nev["recurrence"].array,
            "event_type": nev["event_type"].array,
            "created": _ts(nev["created_us"].to_numpy()),
            "updated": _ts(nev["created_us"].to_numpy()),
        }
    )
    members = nat.merge(ncore[["key", "event_id", "organizer"]], on="key")
    # each member's calendar holds a copy listing every member
    n_events = ncore.merge(
        members[["key", "email"]].rename(columns={"email": "calendar"}), on="key"
    )
    n_att = members.merge(members[["key", "email"]].rename(columns={"email": "calendar"}), on="key")
    is_org = (n_att["email"].cat.codes == n_att["organizer"].cat.codes).to_numpy()
    n_att = n_att.assign(
        source=_vocabulary([SOURCE], np.zeros(len(n_att), dtype=np.int8)),
        role=_vocabulary(roles, np.where(is_org, organizer, required)),
        response=_vocabulary(responses, np.full(len(n_att), accepted)),
        is_resource=False,
    )
    events = pd.concat([events_11, n_events.drop(columns="key")], ignore_index=True)
    attendees = pd.concat(
        [att_11.assign(source=_vocabulary([SOURCE], np.zeros(len(att_11), np.int8))), n_att],
        ignore_index=True,
    )
    return validate(events, EVENTS), validate(attendees[ATTENDEES.names], ATTENDEES)


def _truth_occurrences(
    occ: pd.DataFrame, as_of: pd.Timestamp, away: Leave | None = None
) -> pd.DataFrame:
    """What really happened to every 1:1 occurrence, as knowable at ``as_of``; with the
    leave model, a past slot missed while either person was away is ``excused``."""
    t = as_of.value // 1000
    cancelled = occ["cancelled"].to_numpy() & (occ["cancelled_at"].to_numpy() <= t)
    declined = occ["declined"].to_numpy() & (occ["declined_at"].to_numpy() <= t) & ~cancelled
    moved = occ["moved"].to_numpy() & (occ["moved_at"].to_numpy() <= t)
    start_us = np.where(moved, occ["start_us"], occ["original_us"])
    outcome = np.select(
        [cancelled, declined, start_us < t], ["cancelled", "declined", "held"], "scheduled"
    )
    excused = np.zeros(len(occ), dtype=bool)
    if away is not None:
        excused = (cancelled | declined) & (start_us < t) & _away_at(occ, away)
        outcome = np.where(excused, "excused", outcome)
    out = pd.DataFrame(
        {
            "relation": occ["relation"].to_numpy(),
            "manager": occ["manager"].to_numpy(),
            "report": occ["report"].to_numpy(),
            "organizer": occ["organizer"].to_numpy(),
            "ical_uid": occ["ical_uid"].to_numpy(),
            "adhoc": occ["adhoc"].to_numpy(),
            "original_start": _ts(occ["original_us"].to_numpy()),
            "start": _ts(start_us),
            "outcome": outcome,
            "moved": moved,
            "moved_by": pd.to_timedelta(start_us - occ["original_us"].to_numpy(), unit="us"),
            "late_cancel": cancelled & occ["late"].to_numpy(),
            "deleted": cancelled & occ["deleted"].to_numpy(),
            "declined_by": _where(declined, occ["attendee"].to_numpy()),
            "cancelled_by": _where(cancelled, occ["organizer"].to_numpy()),
            "shortened": occ["shortened"].to_numpy(),
        }
    )
    # replaced: the missed slot an ad-hoc catch-up stood in for
    repl = occ[occ["replaces_uid"].notna()]
    stood_in = pd.MultiIndex.from_arrays([repl["replaces_uid"], repl["replaces_us"]])
    out["replaced"] = (
        pd.MultiIndex.from_arrays([occ["ical_uid"], occ["original_us"]]).isin(stood_in) & ~excused
    )  # an excused slot is no miss to make up for
    return out


# -- leave (absences=True) ----------------------------------------------------------------------

COUNTRY_OF_ZONE = {
    "Europe/Berlin": "DE",
    "America/New_York": "US",
    "America/Chicago": "US",
    "Europe/London": "GB",
    "America/Los_Angeles": "US",
    "Europe/Paris": "FR",
    "Asia/Kolkata": "IN",
    "Australia/Sydney": "AU",
    "America/Sao_Paulo": "BR",
    "Asia/Tokyo": "JP",
}
LONG_LEAVE_WEEKS = 12


@dataclass(frozen=True)
class Leave:
    """Who is away when: out-of-office periods (UTC µs) and public holidays (local dates)."""

    periods: pd.DataFrame  # person, start_us, end_us, tz
    holidays: pd.DataFrame  # person, day (datetime64[s])
    long_leave: tuple[str, ...]


def _leave(
    roster: pd.DataFrame,
    rng: np.random.Generator,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    as_of: pd.Timestamp,
) -> Leave:
    """One or two vacations (Monday to Friday, one or two weeks) per person, one report on
    a twelve-week leave that began eight weeks before ``as_of``, and public holidays."""
    import holidays as holidays_lib

    emails = roster["email"].to_numpy(dtype=object)
    tzs = roster["timezone"].to_numpy(dtype=object)
    n = len(emails)
    is_manager = roster["email"].isin(roster["manager_email"].dropna()).to_numpy()
    has_manager = roster["manager_email"].notna().to_numpy()
    candidates = np.flatnonzero(has_manager & ~is_manager)
    long = [emails[rng.choice(candidates)]] if len(candidates) else []
    monday0 = (lo - pd.Timedelta(days=int(lo.day_of_week))).tz_localize(None).normalize()
    n_weeks = max(1, int((hi - lo) / pd.Timedelta(weeks=1)) - 2)
    first = rng.integers(0, n_weeks, size=n)
    second = first + 4 + rng.integers(0, max(1, n_weeks), size=n)
    two = rng.random(n) < 0.5
    who = np.r_[np.arange(n), np.flatnonzero(two)]
    week = np.r_[first, second[two]]
    length = np.where(rng.random(len(who)) < 0.6, 5, 12)  # Mon–Fri, or two weeks
    keep = ~np.isin(emails[who], long)
    who, week, length = who[keep], week[keep], length[keep]
    local_start = monday0 + pd.to_timedelta(week * 7, unit="D")
    local_end = local_start + pd.to_timedelta(length, unit="D")
    tz = pd.Series(tzs[who])
    start = _localize(pd.Series(local_start), tz)
    end = _localize(pd.Series(local_end), tz)
    periods = pd.DataFrame(
        {
            "person": emails[who],
            "start_us": start.array.asi8,
            "end_us": end.array.asi8,
            "tz": tzs[who],
        }
    )
    if long:
        i = int(np.flatnonzero(emails == long[0])[0])
        begin = (as_of - pd.Timedelta(weeks=8)).tz_localize(None).normalize()
        begin -= pd.Timedelta(days=int(begin.day_of_week))
        ls = _localize(pd.Series([begin]), pd.Series([tzs[i]]))
        le = _localize(
            pd.Series([begin + pd.Timedelta(weeks=LONG_LEAVE_WEEKS)]), pd.Series([tzs[i]])
        )
        periods = pd.concat(
            [
                periods,
                pd.DataFrame(
                    {
                        "person": [long[0]],
                        "start_us": ls.array.asi8,
                        "end_us": le.array.asi8,
                        "tz": [tzs[i]],
                    }
                ),
            ],
            ignore_index=True,
        )
    periods = periods[periods["start_us"] < hi.value // 1000].reset_index(drop=True)
    years = list(range(lo.year, hi.year + 1))
    frames = []
    country = pd.Series(tzs).map(COUNTRY_OF_ZONE)
    for code, idx in pd.Series(np.arange(n)).groupby(country.to_numpy()).groups.items():
        days = sorted(holidays_lib.country_holidays(str(code), years=years))
        dates = pd.to_datetime(days).to_numpy(dtype="datetime64[s]")
        who_c = emails[np.asarray(idx)]
        frames.append(
            pd.DataFrame(
                {"person": np.repeat(who_c, len(dates)), "day": np.tile(dates, len(who_c))}
            )
        )
    hol = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"person": [], "day": []})
    )
    return Leave(periods, hol, tuple(long))


def _away_at(occ: pd.DataFrame, away: Leave) -> np.ndarray:
    """Per occurrence: was its manager or report away at its scheduled start (out of office,
    or a public holiday on the slot's local date in the series' zone)?"""
    t = occ["original_us"].to_numpy()
    out = np.zeros(len(occ), dtype=bool)
    p = away.periods.sort_values("start_us")
    local = _ts(t).dt.tz_convert("UTC")
    day = np.full(len(occ), np.datetime64("NaT"), dtype="datetime64[s]")
    for zone, idx in pd.Series(np.arange(len(occ))).groupby(occ["tz"].to_numpy()).groups.items():
        ix = np.asarray(idx)
        day[ix] = (
            local.iloc[ix].dt.tz_convert(str(zone)).dt.tz_localize(None).dt.normalize()
        ).to_numpy(dtype="datetime64[s]")
    hol = pd.MultiIndex.from_arrays([away.holidays["person"], away.holidays["day"]])
    for side in ("manager", "report"):
        who = occ[side].to_numpy(dtype=object)
        q = pd.DataFrame({"person": who, "t": t, "q": np.arange(len(occ))}).sort_values("t")
        hit = pd.merge_asof(q, p, left_on="t", right_on="start_us", by="person")
        inside = (hit["end_us"].fillna(0).to_numpy() > hit["t"].to_numpy()) & hit[
            "start_us"
        ].notna().to_numpy()
        got = np.zeros(len(occ), dtype=bool)
        got[hit["q"].to_numpy()] = inside
        out |= got | pd.MultiIndex.from_arrays([who, day]).isin(hol)
    return out


def _miss_while_away(
    occ: pd.DataFrame, away: Leave, rng: np.random.Generator, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Most series slots that fall while someone is away are cancelled a few days ahead
    (every one during the long leave); some are held anyway."""
    occ = occ.copy()
    n = len(occ)
    during = _away_at(occ, away) & ~occ["adhoc"].to_numpy() & (occ["relation"] == "report")
    leave = occ["manager"].isin(away.long_leave) | occ["report"].isin(away.long_leave)
    miss = during & ((rng.random(n) < 0.85) | leave.to_numpy())
    new = miss & ~occ["cancelled"].to_numpy() & ~occ["declined"].to_numpy()
    lead = rng.integers(2, 11, size=n) * US_PER_DAY
    occ.loc[new, "cancelled"] = True
    occ.loc[new, "cancelled_at"] = occ.loc[new, "original_us"] - lead[new]
    occ.loc[new, "late"] = False
    occ.loc[new, "deleted"] = False
    occ.loc[new, "moved"] = False
    occ.loc[new, "shortened"] = False
    # a catch-up for a slot now cancelled because someone was away would be odd: drop it
    return occ


def _with_leave_events(
    noise: tuple[pd.DataFrame, pd.DataFrame], away: Leave
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each out-of-office period as an event on the person's own calendar (they replace the
    noise's out-of-office blocks, which lie after ``as_of``)."""
    nev, nat = noise
    plain = (nev["event_type"] != "out_of_office").to_numpy()
    nat = nat[nat["key"].isin(nev.loc[plain, "key"])]
    nev = nev[plain]
    p = away.periods
    base = int(nev["key"].max()) + 1 if len(nev) else 0
    keys = base + np.arange(len(p))
    ev = pd.DataFrame(
        {
            "key": keys,
            "organizer": p["person"].to_numpy(dtype=object),
            "ical_uid": [f"leave-{i}@{DOMAIN}" for i in range(len(p))],
            "series_id": None,
            "start_us": p["start_us"].to_numpy(),
            "dur_us": (p["end_us"] - p["start_us"]).to_numpy(),
            "all_day": False,
            "event_type": "out_of_office",
            "recurrence": None,
            "title": "Out of office",
            "tz": p["tz"].to_numpy(dtype=object),
            "created_us": nev["created_us"].iloc[0] if len(nev) else 0,
        }
    )
    at = pd.DataFrame({"key": keys, "email": p["person"].to_numpy(dtype=object)})
    return pd.concat([nev, ev], ignore_index=True), pd.concat([nat, at], ignore_index=True)


# -- small helpers ------------------------------------------------------------------------------


def _where(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` where ``mask``, else None (an object array)."""
    out = np.full(len(mask), None, dtype=object)
    out[mask] = np.asarray(values, dtype=object)[mask]
    return out


def _ts(us: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(np.asarray(us, dtype="int64"), unit="us", utc=True)).astype(
        TIMESTAMP
    )


def _months(anchor: pd.Series, k: np.ndarray) -> pd.Series:
    """Offset from ``anchor`` to the same day ``k`` months later (day ≤ 28 by construction)."""
    a = anchor.to_numpy(dtype="datetime64[D]")
    month = a.astype("datetime64[M]")
    dom = (a - month).astype(int)
    dom = np.minimum(dom, 27)
    target = (month + k.astype("timedelta64[M]")).astype("datetime64[D]") + dom
    return pd.Series(pd.to_datetime(target) - pd.to_datetime(a), index=anchor.index)


def _localize(local: pd.Series, tz: pd.Series) -> pd.Series:
    """Naive local wall times in per-row zones → UTC (DST-correct), one vectorized call per zone."""
    out = pd.Series(pd.NaT, index=local.index, dtype=TIMESTAMP)
    for zone, idx in local.groupby(tz.to_numpy()).groups.items():
        out.loc[idx] = (
            local.loc[idx]
            .dt.tz_localize(str(zone), nonexistent="shift_forward", ambiguous="NaT")
            .dt.tz_convert("UTC")
            .astype(TIMESTAMP)
        )
    return out.fillna(local.dt.tz_localize("UTC").astype(TIMESTAMP))
