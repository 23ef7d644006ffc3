"""The analysis engine: from normalized calendar rows to the truth about each pair's 1:1s.

:func:`analyze` finds the 1:1s (:mod:`.pairs`), merges the calendar copies and
classifies every occurrence (:mod:`.outcomes`), measures each pair's rhythm
against its target (:mod:`.rhythm`) and scores its health with reasons
(:mod:`.health`). Every step is vectorized pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from cadence.analysis import absence, display, rhythm
from cadence.analysis.health import STATUS_DTYPE, score
from cadence.analysis.outcomes import (
    CANCELLED,
    DECLINED,
    EVIDENCE,
    EXCUSED,
    HELD,
    OUTCOMES,
    SCHEDULED,
    classify,
)
from cadence.analysis.pairs import encode, one_on_ones
from cadence.analysis.settings import AnalysisSettings
from cadence.analysis.window import parse_window
from cadence.errors import CoverageError, LeaderNotFound, SchemaError
from cadence.model import STRING, TIMESTAMP, validate_attendees, validate_events
from cadence.org import alias_map, relations, with_clean_addresses

__all__ = ["Analysis", "analyze"]

DAY = pd.Timedelta(days=1)
STATUS_ORDER = {"lapsed": 0, "at_risk": 1, "watch": 2, "healthy": 3, "on_leave": 4}
OCCURRENCE_COLUMNS = [
    "pair",
    "manager",
    "report",
    "relation",
    "person_a",
    "person_b",
    "series",
    "ical_uid",
    "original_start",
    "start",
    "end",
    "duration",
    "timezone",
    "outcome",
    "away",
    "away_kind",
    "away_from",
    "away_until",
    "moved",
    "moved_by",
    "move_direction",
    "late_cancel",
    "replaced",
    "shortened",
    "adhoc",
    "declined_by",
    "cancelled_by",
    "cancelled_at",
    "cancelled_after",
    "cancelled_before",
    "target_days",
    "organizer",
    "source",
    "copies",
]

# categorical inside the analysis (on store input; away and away_kind always) until output
TEXT = ("series", "ical_uid", "timezone", "source", "away", "away_kind")
# the occurrences' people columns: categorical, on one shared set of addresses
PEOPLE = ("person_a", "person_b", "manager", "report", "declined_by", "cancelled_by", "organizer")


class HasFrames(Protocol):
    events: pd.DataFrame
    attendees: pd.DataFrame


@dataclass
class Analysis:
    """What :func:`analyze` found; every table is a DataFrame.

    Attributes
    ----------
    occurrences : one row per 1:1 occurrence in the window (copies merged).
    pairs : one row per pair with counts, rhythm, health score, status and reasons.
    weekly : pair × ISO week counts, the base for trend charts.
    """

    occurrences: pd.DataFrame
    pairs: pd.DataFrame
    weekly: pd.DataFrame
    as_of: pd.Timestamp
    window: tuple[pd.Timestamp, pd.Timestamp]
    settings: AnalysisSettings
    roster: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    away: absence.Absences | None = field(default=None, repr=False)

    @property
    def absences(self) -> pd.DataFrame | None:
        """Every person's absence periods (out of office, merged) and public holidays (one
        row a day), with their first and last local day: what excused a slot
        (:mod:`cadence.analysis.absence`); empty without absence data."""
        return None if self.away is None else self.away.frame()

    def for_leader(self, leader: str, *, indirect: bool = False) -> Analysis:
        """The part of this analysis one leader is responsible for.

        Direct: pairs whose manager is ``leader``. With ``indirect``, also the
        pairs of every manager below them in the roster. Without a roster, the
        pairs ``leader`` is part of.

        Examples
        --------
        >>> import cadence
        >>> org = cadence.load_demo(30, seed=3, as_of="2026-06-30")
        >>> result = cadence.analyze(org, org.roster, as_of="2026-06-30")
        >>> top = org.roster.loc[org.roster["manager_email"].isna(), "email"].iloc[0]
        >>> team = result.for_leader(top)
        >>> bool((team.pairs["manager"] == top).all())
        True
        >>> len(result.for_leader(top, indirect=True).pairs) == len(result.pairs)
        True
        """
        email = leader.strip().lower()
        if self.roster is None:
            keep = (self.pairs["person_a"] == email) | (self.pairs["person_b"] == email)
        else:
            managers = {email}
            if indirect:
                below = self.roster.groupby("manager_email")["email"].agg(list).to_dict()
                todo = [email]
                while todo:
                    for person in below.get(todo.pop(), []):
                        if person not in managers:
                            managers.add(person)
                            todo.append(person)
            keep = self.pairs["manager"].isin(managers)
        if not keep.any():
            known = self.roster is None or email in set(self.roster["email"])
            why = "has no 1:1 pairs in the window" if known else "is not in the roster"
            raise LeaderNotFound(f"{leader!r} {why}; check the leader's email address")
        pairs = self.pairs[keep.to_numpy()].reset_index(drop=True)
        labels = set(pairs["pair"].astype(str))
        occ = self.occurrences[self.occurrences["pair"].astype(str).isin(labels)].copy()
        weekly = self.weekly[self.weekly["pair"].astype(str).isin(labels)].copy()
        for frame in (occ, weekly):
            frame["pair"] = frame["pair"].cat.remove_unused_categories()
        return replace(
            self,
            pairs=pairs,
            occurrences=occ.reset_index(drop=True),
            weekly=weekly.reset_index(drop=True),
            meta={**self.meta, "leader": email, "indirect": indirect},
        )


def analyze(
    events: HasFrames | tuple[pd.DataFrame, pd.DataFrame] | Any,
    roster: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | str | None = None,
    window: str | pd.Timedelta | None = None,
    settings: AnalysisSettings | None = None,
    include_peers: bool | None = None,
    absences: pd.DataFrame | None = None,
) -> Analysis:
    """Find the 1:1s, classify every occurrence, measure and score every pair.

    Parameters
    ----------
    events : ``(events, attendees)`` frames, or anything with ``.events`` and
        ``.attendees`` frames: a demo organisation, ``store.frames()``,
        :func:`cadence.load_store`, :func:`cadence.load_ics`. When it knows the
        ``span`` of time it covers, a window outside it is refused
        (:class:`~cadence.errors.CoverageError`).
    roster : a roster frame (:func:`cadence.load_roster`); with it only
        manager–report pairs count (plus peers / skip-levels if the settings say so).
    as_of : the moment of truth (default: now); past occurrences are held /
        cancelled / declined, later ones scheduled.
    window : how far back to look (default: ``settings.window``, ``"13w"``).
    settings : thresholds and weights; see :class:`AnalysisSettings`.
    absences : optional absence periods from elsewhere (an HR system): ``person``,
        ``start``, ``end`` (timezone-aware). Out-of-office events in the calendars and
        the roster's public holidays are read without it (:mod:`.absence`).

    Examples
    --------
    >>> import cadence
    >>> org = cadence.load_demo(30, seed=3, as_of="2026-06-30")
    >>> result = cadence.analyze(org, org.roster, as_of="2026-06-30")
    >>> sorted(result.occurrences["outcome"].unique().tolist())
    ['cancelled', 'declined', 'held', 'scheduled']
    >>> result.pairs["status"].isin(["healthy", "watch", "at_risk", "lapsed"]).all()
    np.True_
    """
    settings = settings or AnalysisSettings()
    if window is not None:
        settings = settings.model_copy(update={"window": str(window)})
        parse_window(window)
    if include_peers is not None:
        settings = settings.model_copy(update={"include_peers": include_peers})
    as_of_ts = _as_of(as_of)
    lo = as_of_ts - parse_window(window if window is not None else settings.window)
    if roster is not None:  # a frame built by hand: its addresses as the calendars write them
        roster = with_clean_addresses(roster)

    occurrences, pairs, away, meta = _measure(events, roster, settings, as_of_ts, lo, absences)
    # everything else the measuring made is gone now: the weekly counts reuse its memory
    occurrences = only_their_people(_as_text(occurrences))
    return Analysis(
        occurrences=occurrences,
        pairs=pairs,
        weekly=_weekly(occurrences, as_of_ts),
        as_of=as_of_ts,
        window=(lo, as_of_ts),
        settings=settings,
        roster=roster,
        meta=meta,
        away=away,
    )


def _measure(
    events: HasFrames | tuple[pd.DataFrame, pd.DataFrame] | Any,
    roster: pd.DataFrame | None,
    settings: AnalysisSettings,
    as_of_ts: pd.Timestamp,
    lo: pd.Timestamp,
    absences: pd.DataFrame | None,
) -> tuple[pd.DataFrame, pd.DataFrame, absence.Absences, dict[str, int]]:
    """:func:`analyze` up to its outputs' text: the occurrences in the window (text columns
    still categorical on store input), the scored pairs, the absences and the row counts.
    Its intermediate frames (a few times the input at 100,000 pairs) die when it returns."""
    ev, at = _frames(events)
    _check_covered(getattr(events, "span", None), lo, as_of_ts)
    rel = (
        relations(roster, skip_levels=settings.include_skip_levels) if roster is not None else None
    )

    aliases = alias_map(roster) if roster is not None else None
    coded = encode(ev, at, aliases)
    copies = one_on_ones(coded, rel, include_peers=settings.include_peers)
    occ = classify(coded, copies, as_of_ts, late_cancel_hours=settings.late_cancel_hours)
    occ = _decode_people(occ, coded.emails)
    first = occ["start"].min() if len(occ) else lo
    away = absence.periods(ev, roster, settings, min(first, lo), as_of_ts, aliases, given=absences)
    occ = absence.excuse(occ, away, as_of_ts)
    pp = _pair_periods(occ, away)
    occ["absent_before"] = 0.0  # days away before each held 1:1: gaps on present time
    if len(pp):
        held = (occ["outcome"] == "held").to_numpy()
        occ.loc[held, "absent_before"] = absence.absent_days(
            pp, occ["pair_key"].to_numpy()[held], occ["start"][held]
        )
    occ["rule_days"] = rhythm.rrule_days(occ["recurrence"])
    by = rhythm.pair_order(occ)  # (pair, start) once: every per-pair figure reads it
    occ["target_days"] = rhythm.occurrence_targets(occ, by)
    targets = rhythm.pair_targets(occ, as_of_ts, settings, by)
    own = occ["target_days"].to_numpy()
    occ["target_days"] = np.where(
        np.isnan(own), targets["target_days"].to_numpy()[by.row_group], own
    )
    occ["replaced"] = rhythm.mark_replaced(occ, as_of_ts, settings.replaced_within)
    occ["shortened"] = rhythm.mark_shortened(occ, settings.shortened_ratio)

    metrics = _pair_metrics(occ, targets, lo, as_of_ts, settings, pp, by)
    if rel is not None:
        read = np.zeros(len(coded.emails) + 1, dtype=bool)  # last slot: not in the data
        read[coded.calendar[coded.calendar >= 0]] = True
        m = coded.emails.get_indexer(pd.Index(rel["manager"]))
        r = coded.emails.get_indexer(pd.Index(rel["report"]))
        calendar_read = read[m] | read[r]  # index -1 (unknown) reads the last, False slot
        metrics = _add_silent_pairs(metrics, rel[calendar_read], lo, as_of_ts, settings, away)
    leave = absence.on_leave(metrics, away, as_of_ts, settings.on_leave_min_days)
    metrics["on_leave"] = leave["on_leave"].to_numpy()
    metrics["leave_text"] = leave["leave_text"].to_numpy()
    pairs = _finish_pairs(score(metrics, settings), roster)
    # in (pair, start) order, ties in row order: the order ``by`` holds
    in_window = by.order[by.start >= lo.value]
    occurrences = occ[OCCURRENCE_COLUMNS].take(in_window).reset_index(drop=True)
    meta = {"event_rows": len(ev), "attendee_rows": len(at), "copies": len(copies)}
    return occurrences, pairs, away, meta


def only_their_people(occurrences: pd.DataFrame) -> pd.DataFrame:
    """The :data:`PEOPLE` columns' shared categories cut to the addresses they hold.

    They are coded on every address of the input (other meetings' attendees, a whole
    store's people): kept, ``value_counts`` would list everyone else with 0 and the same
    data read from a smaller store would give other dtypes."""
    cols = [c for c in PEOPLE if c in occurrences.columns]
    if not cols or not isinstance(occurrences[cols[0]].dtype, pd.CategoricalDtype):
        return occurrences
    names = occurrences[cols[0]].cat.categories
    cols = [  # on the same categories in the same order: one code mapping serves them all
        c
        for c in cols
        if isinstance(occurrences[c].dtype, pd.CategoricalDtype)
        and occurrences[c].cat.categories.equals(names)
    ]
    used = np.zeros(len(names) + 1, dtype=bool)  # the last slot: missing (code -1)
    for col in cols:
        used[occurrences[col].cat.codes.to_numpy()] = True
    used = used[:-1]
    if used.all():
        return occurrences
    code = np.append(np.cumsum(used) - 1, -1)  # a missing value stays missing
    kept = names[used]
    for col in cols:
        occurrences[col] = pd.Categorical.from_codes(
            code[occurrences[col].cat.codes.to_numpy()], categories=kept, validate=False
        )
    return occurrences


def _as_text(occurrences: pd.DataFrame) -> pd.DataFrame:
    """The :data:`TEXT` columns as ``string``, what the outputs show. Store input keeps them
    categorical through the analysis: the text is taken once, at the end, for the rows shown."""
    for col in TEXT:
        values = occurrences[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            text = pd.array(values.cat.categories.to_numpy(dtype=object), dtype=STRING)
            occurrences[col] = text.take(values.cat.codes.to_numpy(), allow_fill=True)
    return occurrences


def _pair_periods(occ: pd.DataFrame, away: absence.Absences) -> pd.DataFrame:
    """Each pair's absence periods (either person away): empty without absence data."""
    if away.spans.empty:
        return pd.DataFrame(columns=["pair_key", "start", "end", "before_us"])
    first = ~occ["pair_key"].duplicated()
    return absence.pair_periods(
        occ.loc[first, "pair_key"].to_numpy(),
        occ.loc[first, "person_a"].astype(object).to_numpy(),
        occ.loc[first, "person_b"].astype(object).to_numpy(),
        away,
    )


# -- inputs ---------------------------------------------------------------------------------------


def _check_covered(
    span: tuple[pd.Timestamp, pd.Timestamp] | None, lo: pd.Timestamp, as_of: pd.Timestamp
) -> None:
    """Refuse a window the data does not cover: what was never loaded would look missed."""
    if span is None:
        return
    start, end = span
    if start <= lo and as_of <= end:
        return
    raise CoverageError(
        f"the analysis window {lo:%d %b %Y} – {as_of:%d %b %Y} is not covered by the data, "
        f"which spans {start:%d %b %Y} – {end:%d %b %Y}: load the missing time "
        "(load_ics(..., start=...), `cadence import --weeks-back N`, a larger "
        "[google] / [microsoft] weeks_back, or pull again) or analyze a shorter window "
        "(window=...) or another as_of"
    )


def _frames(data: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validated events and attendees; events keep the optional evidence columns.

    ``cancelled_after`` / ``cancelled_before`` (:data:`~cadence.analysis.outcomes.EVIDENCE`)
    are the only cancellation times the analysis believes; a frame without them
    (or NaT in them) says nothing about when a cancellation happened, except that a
    source's own ``cancelled_at`` (the normalized model's column) is an exact time.
    """
    if isinstance(data, tuple):
        raw_events, raw_attendees = data
    else:
        raw_events, raw_attendees = getattr(data, "events", None), getattr(data, "attendees", None)
    if not isinstance(raw_events, pd.DataFrame):
        raise SchemaError(
            f"analyze() reads frames: pass (events, attendees), store.frames() or "
            f"cadence.load_store(...), not {type(data).__name__}"
        )
    # encode() checks the keys and normalizes the distinct emails on integer codes
    events = validate_events(raw_events, check_key=False, normalize=False)
    for col in EVIDENCE:
        if col in raw_events.columns:
            events[col] = pd.Series(_instants(raw_events[col], col).array, index=events.index)
        else:  # the source's own word is the interval of one instant
            events[col] = events["cancelled_at"].where(events["status"] == "cancelled")
    return events, validate_attendees(raw_attendees, check_key=False, normalize=False)


def _instants(values: pd.Series, col: str) -> pd.Series:
    """An evidence column as UTC instants; naive or unparseable values are a SchemaError."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return pd.Series(values.dt.tz_convert("UTC").astype(TIMESTAMP))
    problem = "holds naive timestamps" if pd.api.types.is_datetime64_dtype(values) else ""
    if not problem:
        try:
            return pd.to_datetime(values, utc=True, format="ISO8601").astype(TIMESTAMP)
        except (TypeError, ValueError) as exc:
            problem = f"cannot be read as timestamps ({exc})"
    raise SchemaError(
        f"events frame: column {col!r} {problem}; give timezone-aware UTC timestamps, "
        "NaT where the cancellation time is not known",
        column=col,
    )


def _as_of(value: pd.Timestamp | str | None) -> pd.Timestamp:
    if value is None:
        return pd.Timestamp.now(tz="UTC")
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _decode_people(occ: pd.DataFrame, emails: pd.Index) -> pd.DataFrame:
    """Integer email codes → categorical email columns; a ``pair_key`` and ``pair`` label."""
    n = max(len(emails), 1)
    pair_codes, _ = pd.factorize(occ["a"].to_numpy().astype(np.int64) * n + occ["b"], sort=True)
    occ["pair_key"] = pair_codes
    first = pd.Series(np.arange(len(occ))).groupby(pair_codes).first().to_numpy()
    m, r = occ["manager"].to_numpy()[first], occ["report"].to_numpy()[first]
    a, b = occ["a"].to_numpy()[first], occ["b"].to_numpy()[first]
    e = emails.to_numpy(dtype=object)
    labels = np.where(
        m >= 0,
        e[np.maximum(m, 0)] + " → " + e[np.maximum(r, 0)],
        e[a] + " ↔ " + e[b],
    )
    occ["pair"] = pd.Categorical.from_codes(pair_codes, categories=pd.Index(labels))
    for code, name in (
        ("a", "person_a"),
        ("b", "person_b"),
        ("manager", "manager"),
        ("report", "report"),
        ("declined_by_code", "declined_by"),
        ("cancelled_by_code", "cancelled_by"),
        ("organizer_code", "organizer"),
    ):
        occ[name] = pd.Categorical.from_codes(occ[code].to_numpy(), categories=emails)
    return occ.drop(columns=["a", "b", "declined_by_code", "cancelled_by_code", "organizer_code"])


# -- per pair -------------------------------------------------------------------------------------


def _pair_metrics(
    occ: pd.DataFrame,
    targets: pd.DataFrame,
    lo: pd.Timestamp,
    as_of: pd.Timestamp,
    settings: AnalysisSettings,
    pp: pd.DataFrame,
    by: rhythm.PairOrder,
) -> pd.DataFrame:
    """Per pair (``targets``' keys, those of ``by``): counts, rhythm, gaps and drift.

    Per-row flags are numpy arrays, counted per pair with ``bincount`` on the pair's
    position (``by.row_group``); what depends on order reads the rows in ``by``'s order.
    """
    keys = targets.index
    size = len(keys)
    pos = by.row_group
    # each pair's people as on its first row
    first_row = np.minimum.reduceat(by.order, by.bounds[:-1]) if size else by.order[:0]
    ident = pd.DataFrame(
        {
            col: occ[col].iloc[first_row].array
            if col == "relation"
            else occ[col].iloc[first_row].astype(object).to_numpy()
            for col in ("pair", "manager", "report", "relation", "person_a", "person_b")
        },
        index=keys,
    )
    excused_text = absence.excused_texts(occ, keys, lo, as_of)

    start = rhythm.ns(occ["start"])
    outcome = pd.Categorical(occ["outcome"], categories=list(OUTCOMES)).codes
    past = (start >= lo.value) & (start < as_of.value)
    excused = past & (outcome == EXCUSED)
    late_na = occ["late_cancel"].isna().to_numpy()
    late = occ["late_cancel"].fillna(False).to_numpy(dtype=bool)
    replaced = occ["replaced"].to_numpy(dtype=bool)
    missed = (outcome == CANCELLED) | (outcome == DECLINED)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(pos[mask], minlength=size).astype("int64")

    counts = {
        **{o: count(past & (outcome == OUTCOMES.index(o))) for o in OUTCOMES if o != "scheduled"},
        "moved": count(past & occ["moved"].to_numpy(dtype=bool)),
        # known to be late; cancelled, but whether late is unknown (NA); an excused
        # cancellation is no miss, late or not
        "late_cancelled": count(past & late & ~excused),
        "late_unknown": count(past & late_na & ~excused),
        "replaced": count(past & replaced),
        "shortened": count(past & occ["shortened"].to_numpy(dtype=bool)),
        "past": count(past),
    }
    future = (start >= as_of.value) & (outcome == SCHEDULED)
    upcoming = pd.Series(count(future), index=keys, name="upcoming")
    soonest = by.first(future[by.order])
    next_scheduled = pd.Series(
        occ["start"].array.take(np.where(soonest >= 0, by.order[soonest], -1), allow_fill=True),
        index=keys,
    )

    first_seen = pd.Series(occ["start"].array.take(by.order[by.bounds[:-1]]), index=keys)
    span_start = first_seen.where(first_seen > lo, lo)
    expected = rhythm.expected_meetings(occ, span_start, as_of, targets["target_days"], by)
    gaps = rhythm.gap_metrics(occ, lo, as_of, targets["target_days"], settings, by)

    # excused slots are no slots a pair could have kept: left out of recent and streak;
    # the last slots of each pair, in (start, row) order
    kept = np.flatnonzero((past & ~replaced & ~excused)[by.order])
    group = by.group[kept]
    slots = np.bincount(group, minlength=size)
    head = np.r_[0, np.cumsum(slots)[:-1]] if size else slots
    from_end = slots[group] - 1 - (np.arange(len(kept)) - head[group])
    kept_missed = missed[by.order[kept]]

    def tail(n: int) -> tuple[np.ndarray, np.ndarray]:
        last = from_end < n
        return (
            np.bincount(group[last], minlength=size),
            np.bincount(group[last & kept_missed], minlength=size),
        )

    recent_slots, recent_missed = tail(settings.recent_slots)
    # the last N slots (misses made up by a catch-up left out), all missed: a streak
    n = settings.consecutive_misses
    last_slots, last_missed = tail(n)
    streak = (last_slots > 0) & (last_missed == n) & (last_slots == n)
    unknown = past & late_na & ~excused
    unknown_sources = display.source_codes(occ["source"][unknown], occ["pair_key"][unknown], keys)

    since = rhythm.days(as_of - gaps["last_held"])
    # present time: the days of the open gap either person was away
    gap_from = gaps["last_held"].fillna(span_start)
    k = keys.to_numpy()
    away_days = pd.Series(
        absence.absent_days(pp, k, pd.Series(as_of, index=keys))
        - absence.absent_days(pp, k, gap_from),
        index=keys,
    )
    open_days = rhythm.days(as_of - gap_from).clip(lower=0)
    if len(pp):  # back from a long leave: the gap counts from the return
        long = pp[(pp["end"] - pp["start"] >= settings.on_leave_min_days * DAY)]
        back = long[long["end"] <= as_of].groupby("pair_key")["end"].max().reindex(keys)
        since_return = back.notna() & (back > gap_from)
        start_at = gap_from.where(~since_return, back)
        present = rhythm.days(as_of - start_at).clip(lower=0) - (
            absence.absent_days(pp, k, pd.Series(as_of, index=keys))
            - absence.absent_days(pp, k, start_at)
        )
        away_days = away_days.where(~since_return, open_days - present)
    target = targets["target_days"]
    live = past & (outcome != CANCELLED) & (outcome != EXCUSED)
    mid = (lo + (as_of - lo) / 2).value
    rows = np.flatnonzero(live)
    hours = rhythm.local_hour(occ["start"].iloc[rows], occ["timezone"].iloc[rows]).to_numpy()
    minutes = rhythm.days_ns(occ["duration"].array.as_unit("ns").asi8[rows]) * 1440
    early = start[rows] < mid
    group = pos[rows]

    def drift(values: np.ndarray) -> np.ndarray:
        second = rhythm.medians(values[~early], group[~early], size)
        first = rhythm.medians(values[early], group[early], size)
        return np.asarray(second - first)

    out = ident.join(targets)
    for name, values in counts.items():
        out[name] = values
    out["upcoming"] = upcoming
    # rounded once, here: the reasons, the table and the exports all show this number
    # excused slots are not expected (see :mod:`.absence`)
    out["expected"] = (expected - out["excused"]).clip(lower=0).round(1)
    out["adherence"] = _adherence(out["held"], out["expected"], settings)
    out["late_unknown_sources"] = unknown_sources
    out = out.join(gaps)
    out["longest_gap_days"] = np.fmax(out["longest_gap_days"], since - away_days)
    out["drift"] = out["recent_median_gap_days"] / target
    out["time_of_day_drift_hours"] = drift(hours)
    out["duration_drift_minutes"] = drift(minutes)
    out["days_since_last_held"] = display.whole_days(since)
    out["days_observed"] = display.whole_days(rhythm.days(as_of - span_start).clip(lower=0))
    out["days_away"] = (
        display.whole_days(open_days) - display.whole_days(open_days - away_days)
    ).astype("Int64")
    out["next_scheduled"] = next_scheduled
    out["on_the_books"] = (
        next_scheduled <= as_of + target * settings.on_the_books_factor * DAY
    ).fillna(False)
    out["recent_slots"] = recent_slots
    out["recent_missed"] = recent_missed
    out["last_slots_missed"] = streak
    out["never_met"] = False
    out["excused_text"] = excused_text
    return out.reset_index()


def _adherence(held: pd.Series, expected: pd.Series, settings: AnalysisSettings) -> pd.Series:
    """Held per expected 1:1; NA (unknown) until ``adherence_min_expected`` are expected."""
    shown = expected.where(expected >= settings.adherence_min_expected)
    return (held / shown).astype("Float64")


def _add_silent_pairs(
    metrics: pd.DataFrame,
    cand: pd.DataFrame,
    lo: pd.Timestamp,
    as_of: pd.Timestamp,
    settings: AnalysisSettings,
    away: absence.Absences | None = None,
) -> pd.DataFrame:
    """Roster pairs (``cand``: those with at least one calendar read) with no 1:1 at all."""
    have = pd.MultiIndex.from_arrays(
        [metrics["manager"].astype(object), metrics["report"].astype(object)]
    )
    cand = cand[~pd.MultiIndex.from_arrays([cand["manager"], cand["report"]]).isin(have)]
    if cand.empty:
        return metrics
    a = np.minimum(cand["manager"].to_numpy(dtype=object), cand["report"].to_numpy(dtype=object))
    b = np.maximum(cand["manager"].to_numpy(dtype=object), cand["report"].to_numpy(dtype=object))
    target = settings.target_days or settings.fallback_target_days
    days = (as_of - lo) / DAY
    silent = pd.DataFrame(
        {
            "pair_key": -1 - np.arange(len(cand)),
            "pair": (cand["manager"] + " → " + cand["report"]).to_numpy(),
            "manager": cand["manager"].to_numpy(),
            "report": cand["report"].to_numpy(),
            "relation": cand["relation"].to_numpy(),
            "person_a": a,
            "person_b": b,
            "target_days": target,
            "target_source": pd.Categorical(
                ["config" if settings.target_days else "default"] * len(cand),
                dtype=rhythm.TARGET_SOURCE,
            ),
            "expected": round(days / target, 1),
            "days_since_last_held": pd.array([pd.NA] * len(cand), dtype="Int64"),
            "days_observed": pd.array([int(np.floor(days))] * len(cand), dtype="Int64"),
            "on_the_books": False,
            "last_slots_missed": False,
            "never_met": True,
            "late_unknown_sources": pd.array([pd.NA] * len(cand), dtype=STRING),
        }
    )
    away_days = np.zeros(len(cand))
    if away is not None and not away.spans.empty:
        pp = absence.pair_periods(silent["pair_key"].to_numpy(), a, b, away)
        k = silent["pair_key"].to_numpy()
        away_days = absence.absent_days(pp, k, pd.Series([as_of] * len(k))) - absence.absent_days(
            pp, k, pd.Series([lo] * len(k))
        )
    silent["days_away"] = (
        silent["days_observed"] - display.whole_days(pd.Series(days - away_days))
    ).astype("Int64")
    for col in (
        "held",
        "cancelled",
        "declined",
        "excused",
        "moved",
        "late_cancelled",
        "late_unknown",
        "replaced",
        "shortened",
        "past",
        "upcoming",
        "recent_slots",
        "recent_missed",
    ):
        silent[col] = 0
    silent["excused_text"] = ""
    silent["adherence"] = _adherence(silent["held"], silent["expected"], settings)
    out = pd.concat([metrics, silent], ignore_index=True)
    return out


def _finish_pairs(p: pd.DataFrame, roster: pd.DataFrame | None) -> pd.DataFrame:
    if roster is not None and "department" in roster.columns:
        dept = roster.set_index("email")["department"]
        p["department"] = p["report"].map(dept).astype(STRING)
    else:
        p["department"] = pd.Series(pd.NA, index=p.index, dtype=STRING)
    for col in ("pair", "manager", "report", "person_a", "person_b"):
        p[col] = p[col].astype(STRING)
    p["relation"] = p["relation"].astype("category")
    p["status"] = p["status"].astype(STATUS_DTYPE)
    p = p.assign(_order=p["status"].map(STATUS_ORDER).astype(int))
    p = p.sort_values(["_order", "health_score", "pair"], ignore_index=True)
    first = [
        "pair",
        "manager",
        "report",
        "relation",
        "department",
        "person_a",
        "person_b",
        "status",
        "health_score",
        "reasons",
        "target_days",
        "target_source",
    ]
    rest = [c for c in p.columns if c not in first and c not in ("_order", "pair_key")]
    return p[first + rest]


def _weekly(occ: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Pair × ISO week counts: scheduled (all slots), held, cancelled, declined, upcoming, moved.

    Weeks start on Monday (UTC). Counted with ``bincount`` on an integer (pair, week) key.
    """
    us = occ["start"].array.asi8
    monday = np.datetime64("1970-01-05", "us").astype(np.int64)  # a Monday
    week_no = (us - monday) // (7 * 86_400_000_000)
    lo_week = int(week_no.min(initial=0))
    n_weeks = int(week_no.max(initial=0)) - lo_week + 1
    pair = occ["pair"].cat.codes.to_numpy().astype(np.int64)
    key = pair * n_weeks + (week_no - lo_week)
    space = (int(pair.max(initial=-1)) + 1) * n_weeks
    if space <= 4 * len(key) + 1024:  # dense enough: count on every cell, keep the used ones
        used = np.bincount(key, minlength=space)
        keys = np.flatnonzero(used)
        dense = (np.cumsum(used > 0) - 1)[key]
    else:
        keys, dense = np.unique(key, return_inverse=True)
        dense = dense.reshape(-1)
    outcome = occ["outcome"].cat.codes.to_numpy()
    counts = {
        "scheduled": np.bincount(dense, minlength=len(keys)),
        **{
            name: np.bincount(dense[outcome == code], minlength=len(keys))
            for name, code in (
                ("held", HELD),
                ("cancelled", CANCELLED),
                ("declined", DECLINED),
                ("upcoming", SCHEDULED),
                ("excused", EXCUSED),
            )
        },
        "moved": np.bincount(dense[occ["moved"].to_numpy()], minlength=len(keys)),
    }
    week = pd.to_datetime(
        monday + ((keys % n_weeks) + lo_week) * 7 * 86_400_000_000, unit="us", utc=True
    )
    out = pd.DataFrame(
        {
            "pair": pd.Categorical.from_codes(
                keys // n_weeks, categories=occ["pair"].cat.categories
            ),
            "week": week.astype("datetime64[us, UTC]"),
            **counts,
        }
    )
    # the ISO calendar of each distinct week (a few dozen), then taken per row
    week_of = keys % n_weeks
    mondays = pd.Series(
        pd.to_datetime(monday + (np.arange(n_weeks) + lo_week) * 7 * 86_400_000_000, unit="us")
    )
    iso = mondays.dt.isocalendar()
    out.insert(2, "iso_year", iso["year"].astype("int64").to_numpy()[week_of])
    out.insert(3, "iso_week", iso["week"].astype("int64").to_numpy()[week_of])
    return out
