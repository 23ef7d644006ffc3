"""A plain, slow, readable reference for the integer-coded kernels of the analysis.

``cadence.analysis.pairs`` (``encode``, ``one_on_ones``), ``outcomes`` (``classify``,
``_decliners``) and ``health`` (the reasons builder) are vectorized over integer codes:
fast, but hard to check by eye. This module says the same rules the way a person would
read them: one occurrence, one pair, one sentence at a time, with dicts, sets and
f-strings. ``tests/test_reference.py`` runs both on generated organisations and insists
they agree; a rule can be changed here first, in words, and the engine made to follow.

Nothing here is fast, and nothing here is used by the package.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cadence.analysis.settings import AnalysisSettings
from cadence.org import alias_map, relations

SOURCE_NAMES = {"ics": ".ics", "graph": "Outlook", "google": "Google", "demo": "demo"}


def email(value: Any, aliases: dict[str, str]) -> str | None:
    """Lower-case, stripped, without ``mailto:``, an alias mapped to the person's address."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    clean = str(value).strip().lower().removeprefix("mailto:")
    return aliases.get(clean, clean)


@dataclass
class Copy:
    """One calendar's copy of one occurrence."""

    row: dict[str, Any]
    calendar: str
    organizer: str | None
    attendees: list[dict[str, Any]] = field(default_factory=list)

    @property
    def cancelled(self) -> bool:
        return self.row["status"] == "cancelled"

    def bound(self, name: str) -> pd.Timestamp | None:
        value = self.row.get(name)
        return None if value is None or pd.isna(value) else pd.Timestamp(value)


def occurrences(
    events: pd.DataFrame,
    attendees: pd.DataFrame,
    roster: pd.DataFrame | None,
    as_of: pd.Timestamp,
    settings: AnalysisSettings,
    *,
    in_window: bool = True,
) -> pd.DataFrame:
    """One row per 1:1 occurrence whose start is in the window (every one with
    ``in_window=False``), by the rules in words."""
    aliases = alias_map(roster) if roster is not None else {}
    lo = as_of - _window(settings.window)

    # every copy, keyed by (source, calendar, event_id), with its attendee rows
    copies: dict[tuple[str, str, str], Copy] = {}
    for row in events.to_dict("records"):
        cal = email(row["calendar"], aliases)
        assert cal is not None
        copies[(row["source"], cal, row["event_id"])] = Copy(
            row, cal, email(row["organizer"], aliases)
        )
    for att in attendees.to_dict("records"):
        cal = email(att["calendar"], aliases)
        copies[(att["source"], str(cal), att["event_id"])].attendees.append(
            {**att, "email": email(att["email"], aliases)}
        )

    # a 1:1: timed, of type default, exactly two people over all the copies of the occurrence
    by_instance: dict[tuple[str, pd.Timestamp], list[Copy]] = defaultdict(list)
    for c in copies.values():
        if not c.row["all_day"] and c.row["event_type"] == "default":
            by_instance[(c.row["ical_uid"], c.row["original_start"])].append(c)

    oriented = _relations(roster, settings)
    away = absences(events, aliases, settings)
    out = []
    for instance in by_instance.values():
        people = set()
        for c in instance:
            if c.organizer:
                people.add(c.organizer)
            people |= {a["email"] for a in c.attendees if not a["is_resource"]}
        if len(people) != 2:
            continue
        a, b = sorted(people)
        manager, report, relation = None, None, "pair"
        if roster is not None:
            if (a, b) in oriented:
                manager, report, relation = a, b, oriented[(a, b)]
            elif (b, a) in oriented:
                manager, report, relation = b, a, oriented[(b, a)]
            elif settings.include_peers:
                relation = "peer"
            else:
                continue
        row = _classify(instance, a, b, manager, report, relation, as_of, settings)
        if row["outcome"] in ("cancelled", "declined") and row["start"] < as_of:
            # excused: either person away at the slot's scheduled start (report first)
            for person in (report, manager, a, b):
                if person is not None and any(
                    s <= row["original_start"] < e for s, e in away.get(person, [])
                ):
                    row["outcome"] = "excused"
                    break
        out.append(row)
    frame = pd.DataFrame(out)
    if frame.empty or not in_window:
        return frame
    return frame[frame["start"] >= lo].sort_values(["pair", "start"], ignore_index=True)


def absences(
    events: pd.DataFrame, aliases: dict[str, str], settings: AnalysisSettings
) -> dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]]:
    """Each person's away periods: their own calendar's out-of-office events (and all-day
    events when the settings say so) that are not cancelled. (Holidays: not modelled here.)"""
    out: dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]] = defaultdict(list)
    for row in events.to_dict("records"):
        if row["status"] == "cancelled":
            continue
        ooo = row["event_type"] == "out_of_office"
        all_day = (
            settings.all_day_busy_is_absence and row["all_day"] and (row["event_type"] == "default")
        )
        if ooo or all_day:
            person = email(row["calendar"], aliases)
            assert person is not None
            out[person].append((row["start"], row["end"]))
    return out


def _window(text: str) -> pd.Timedelta:
    return (
        pd.Timedelta(weeks=int(text[:-1]))
        if text.endswith("w")
        else pd.Timedelta(days=int(text[:-1]))
    )


def _relations(roster: pd.DataFrame | None, settings: AnalysisSettings) -> dict[tuple, str]:
    if roster is None:
        return {}
    rel = relations(roster, skip_levels=settings.include_skip_levels)
    out: dict[tuple, str] = {}
    for m, r, kind in zip(rel["manager"], rel["report"], rel["relation"], strict=True):
        out.setdefault((str(m).strip().lower(), str(r).strip().lower()), kind)
    return out


def _classify(
    instance: list[Copy],
    a: str,
    b: str,
    manager: str | None,
    report: str | None,
    relation: str,
    as_of: pd.Timestamp,
    settings: AnalysisSettings,
) -> dict[str, Any]:
    # the organizer's copy first, then the most recently updated, then by calendar
    def order(c: Copy) -> tuple:
        updated = c.row["updated"]
        return (
            c.calendar != c.organizer,
            -(updated.value if pd.notna(updated) else -(2**62)),
            c.calendar,
        )

    ordered = sorted(instance, key=order)
    chosen = ordered[0]
    organizer_copies = [c for c in instance if c.calendar == c.organizer]
    if organizer_copies:
        cancelled = any(c.cancelled for c in organizer_copies)
    else:
        cancelled = all(c.cancelled for c in instance)

    declined_by = None
    for person in (a, b):
        if _declined(instance, person, cancelled):
            declined_by = person
            break

    start = chosen.row["start"]
    if cancelled:
        outcome = "cancelled"
    elif declined_by is not None:
        outcome = "declined"
    elif start < as_of:
        outcome = "held"
    else:
        outcome = "scheduled"

    # evidence of when: the first cancelled copy (in the same order) that has any
    after = before = None
    if cancelled:
        for c in ordered:
            if c.cancelled and (c.bound("cancelled_after") or c.bound("cancelled_before")):
                after, before = c.bound("cancelled_after"), c.bound("cancelled_before")
                break
    late: bool | None = False
    if cancelled:
        window = pd.Timedelta(hours=settings.late_cancel_hours)
        is_late = after is not None and start - after < window
        on_time = before is not None and start - before >= window
        late = None if is_late == on_time else is_late

    label = f"{manager} → {report}" if manager else f"{a} ↔ {b}"
    return {
        "pair": label,
        "manager": manager,
        "report": report,
        "relation": relation,
        "person_a": a,
        "person_b": b,
        "ical_uid": chosen.row["ical_uid"],
        "original_start": chosen.row["original_start"],
        "start": start,
        "end": chosen.row["end"],
        "outcome": outcome,
        "moved": start != chosen.row["original_start"],
        "late_cancel": late,
        "declined_by": declined_by,
        "cancelled_by": chosen.organizer if cancelled else None,
        "cancelled_after": after if cancelled else None,
        "cancelled_before": before if cancelled else None,
        "organizer": chosen.organizer,
        "source": chosen.row["source"],
        "copies": len(instance),
    }


def _declined(instance: list[Copy], person: str, cancelled: bool) -> bool:
    """A person's own answer (in a copy on their own calendar) wins; another copy's view of
    them counts only when they gave none. Removing one's own copy (it shows cancelled, and
    it is not the organizer's) while the occurrence stands is a decline; when the organizer
    cancelled it, every copy shows cancelled and nobody declined."""
    own_answers, other_answers = [], []
    for c in instance:
        mine = c.calendar == person
        if mine and c.cancelled and c.calendar != c.organizer and not cancelled:
            own_answers.append(True)
        for att in c.attendees:
            if att["email"] == person and not att["is_resource"]:
                (own_answers if mine else other_answers).append(att["response"] == "declined")
    return any(own_answers) if own_answers else any(other_answers)


def pair_counts(
    every: pd.DataFrame, as_of: pd.Timestamp, settings: AnalysisSettings
) -> pd.DataFrame:
    """Per pair with any 1:1 at all (``every``: ``occurrences(..., in_window=False)``), what
    happened to its past slots in the window."""
    lo = as_of - _window(settings.window)
    rows = {}
    for pair, everything in every.groupby("pair"):
        group = everything[everything["start"] >= lo]
        past = group[group["start"] < as_of]
        late = list(past["late_cancel"])
        rows[pair] = {
            "past": len(past),
            "held": int((past["outcome"] == "held").sum()),
            "cancelled": int((past["outcome"] == "cancelled").sum()),
            "declined": int((past["outcome"] == "declined").sum()),
            "excused": int((past["outcome"] == "excused").sum()),
            "moved": int(past["moved"].sum()),
            # an excused cancellation is no miss, late or not
            "late_cancelled": sum(
                1
                for x, o in zip(late, past["outcome"], strict=True)
                if x is True and o != "excused"
            ),
            "late_unknown": sum(
                1
                for x, o in zip(late, past["outcome"], strict=True)
                if x is None and o != "excused"
            ),
            "upcoming": int(((group["start"] >= as_of) & (group["outcome"] == "scheduled")).sum()),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


# -- the reasons builder ------------------------------------------------------------------------


def _count(x: float) -> str:
    x = round(float(x), 1)
    return str(round(x)) if x == round(x) else f"{x:.1f}"


def _pct(share: float | None) -> str:
    return "–" if share is None or pd.isna(share) else f"{round(share * 100)} %"


def _note(source: str) -> str:
    return {
        "rrule": "",
        "config": " (set in the config)",
        "inferred": " (inferred from their gaps)",
        "default": " (assumed)",
    }[source]


def health(p: dict[str, Any], s: AnalysisSettings) -> tuple[float, str, list[str]]:
    """Score, status and reasons of one pair's metrics, one rule at a time."""
    w = s.weights
    target = float(p["target_days"])
    note = _note(str(p["target_source"]))
    target_text = f"target {_count(target)}{note}"
    parts: list[tuple[float, str, bool]] = []  # (points lost, reason, shown even if free)

    held, expected = int(p["held"]), float(p["expected"])
    adherence = None if pd.isna(p["adherence"]) else float(p["adherence"])
    lost = 0.0
    if adherence is not None:
        shortfall = (s.adherence_full - adherence) / (s.adherence_full - s.adherence_floor)
        lost = w.adherence * min(max(shortfall, 0), 1)
    parts.append(
        (lost, f"held {held} of {_count(expected)} expected 1:1s ({_pct(adherence)})", False)
    )

    slots, missed = int(p["recent_slots"]), int(p["recent_missed"])
    lost = w.recent_misses * missed / slots if slots else 0.0
    parts.append(
        (lost, f"{missed} of the last {slots} scheduled 1:1s cancelled or declined", False)
    )

    total = p["days_observed"] if pd.isna(p["days_since_last_held"]) else p["days_since_last_held"]
    away = int(p.get("days_away", 0) or 0)
    since = int(total) - away  # present time: the days either person was away left out
    present = f" present ({int(total)} in all, {away} away)" if away > 0 else ""
    ratio = since / target
    ramp = (ratio - s.open_gap_from) / (s.open_gap_full - s.open_gap_from)
    lost = w.open_gap * min(max(ramp, 0), 1)
    if p["never_met"]:
        text = (
            f"no 1:1 at all in the {since} days observed{present}: they never met in the "
            f"window, {target_text}"
        )
    elif pd.isna(p["last_held"]):
        text = f"no 1:1 held in the {since} days observed{present}, {target_text}"
    else:
        text = f"no 1:1 in {since} days{present}, {target_text}"
    parts.append((lost, text, False))

    booked = bool(p["on_the_books"])
    parts.append(
        (
            0.0 if booked else w.unscheduled,
            f"nothing scheduled in the next {_count(target * s.on_the_books_factor)} days",
            False,
        )
    )

    lost = 0.0
    if not pd.isna(p["drift"]):
        ramp = (float(p["drift"]) - s.drift_from) / (s.drift_full - s.drift_from)
        lost = w.drift * min(max(ramp, 0), 1)
    gap = p["recent_median_gap_days"]
    gap_text = "–" if pd.isna(gap) else _count(round(float(gap)))
    parts.append((lost, f"recently meeting every {gap_text} days, {target_text}", False))

    past = int(p["past"])
    late, unknown = int(p["late_cancelled"]), int(p["late_unknown"])
    lost = w.late_cancels * late / past if past else 0.0
    text = f"{late} cancelled less than {s.late_cancel_hours:g} h ahead"
    if unknown:
        codes = [c.strip() for c in str(p["late_unknown_sources"]).split(",")]
        names = " / ".join(SOURCE_NAMES[c] for c in codes)
        if late:
            text += f"; late: not known for {unknown} more, from {names} data"
        else:
            text = f"late: not known from {names} data ({unknown} cancelled)"
    parts.append((lost, text, unknown > 0))

    moved = int(p["moved"])
    lost = 0.0
    if past:
        ramp = (moved / past - s.moves_from) / (s.moves_full - s.moves_from)
        lost = w.moves * min(max(ramp, 0), 1)
    parts.append(
        (lost, f"{moved} of {past} 1:1s moved ({_pct(moved / past if past else 0)})", False)
    )

    excused = int(p.get("excused", 0) or 0)
    parts.append((0.0, f"{excused} excused ({p.get('excused_text', '')})", excused > 0))

    score = min(max(100 - sum(lost for lost, _, _ in parts), 0), 100)

    too_long = ratio >= s.lapsed_factor
    lapsed = too_long and not booked
    booked_gap = too_long and booked
    streak = bool(p["last_slots_missed"]) and not lapsed
    if p["never_met"]:
        gap_rule = f"they never met in the {since} days observed{present}"
    else:
        gap_rule = f"no 1:1 for {since} days{present}"
    gap_rule += f" (at least {s.lapsed_factor:g}× the {_count(target)}-day target"
    gap_rule += (", " + note[2:-1] if note else "") + ")"
    rules = [
        (lapsed, f"lapsed: {gap_rule} and nothing scheduled"),
        (booked_gap, f"at risk: {gap_rule}, though one is scheduled"),
        (
            streak,
            f"at risk: the last {s.consecutive_misses} scheduled 1:1s were all cancelled "
            "or declined",
        ),
    ]
    cap_cost = 0.0
    if lapsed or booked_gap or streak:
        capped = min(score, max(s.watch_min - s.flagged_below_watch, 0))
        cap_cost, score = score - capped, capped
    score = round(score, 1)

    def costed(points: float, text: str) -> str:
        return f"{text} (−{_count(points)})" if points >= s.reason_min_points else text

    reasons = []
    leave = bool(p.get("on_leave", False))
    if leave:
        reasons.append(f"on leave: {p.get('leave_text', '')}")
    charged = False
    for holds, text in rules:
        if holds:
            reasons.append(costed(0.0 if charged else cap_cost, text))
            charged = True
    costly = [(lost, text) for lost, text, _ in parts if lost >= s.reason_min_points]
    costly.sort(key=lambda x: -round(x[0], 6))  # stable: ties keep their order
    reasons += [costed(lost, text) for lost, text in costly]
    reasons += [text for lost, text, shown in parts if shown and lost < s.reason_min_points]

    if leave:
        status = "on_leave"
    elif lapsed:
        status = "lapsed"
    elif score >= s.healthy_min:
        status = "healthy"
    elif score >= s.watch_min:
        status = "watch"
    else:
        status = "at_risk"
    return score, status, reasons
