"""Absences and public holidays: when a person is away, a missed 1:1 is excused.

- **absence periods** per person come from their *own* calendar: events of type
  ``out_of_office`` (Google ``outOfOffice``, Graph ``showAs: oof``, .ics
  ``X-MICROSOFT-CDO-BUSYSTATUS:OOF``) and, with
  ``AnalysisSettings.all_day_busy_is_absence``, their all-day events; or a frame
  passed to :func:`cadence.analyze` (``absences=``: ``person``, ``start``, ``end``).
  Only the span and the type are read, never a title. Overlapping periods of one
  person are merged.
- **public holidays** per person from the roster's ``country`` / ``subdivision``
  columns, else ``AnalysisSettings.holidays_country`` / ``holidays_subdivision``,
  by the ``holidays`` package. A slot is on a holiday when its local date (in the
  slot's own time zone) is one. Holidays excuse slots; present time leaves out only
  the absence periods (a day's holiday in a gap would change no status).
- a past slot **cancelled or declined** while either person is away is
  ``excused`` (see :func:`excuse`); one held anyway stays held.
- **present time**: :func:`absent_days` measures how much of a span either person
  of a pair was away, so gaps can be measured on the time both were there.

Everything is vectorized (``merge_asof`` by person or pair); no loop over people.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from cadence.analysis.outcomes import CANCELLED, DECLINED, EXCUSED, OUTCOME_DTYPE
from cadence.analysis.settings import AnalysisSettings
from cadence.errors import RosterError, SchemaError
from cadence.model import TIMESTAMP

__all__ = ["Absences", "absent_days", "excuse", "on_leave", "pair_periods", "periods"]

DAY = pd.Timedelta(days=1)
KIND_WORDS = {
    "out_of_office": "out of office",
    "all_day": "away (all-day event)",
    "holiday": "on public holiday",
    "given": "away",
}


class Absences:
    """Every person's merged absence periods, and the public holidays of their country.

    ``holidays`` is one row per (country group, local date); ``group_of`` maps each
    person with a country to their group: a holiday is shared by everyone in a
    country, so it is never copied per person.
    """

    def __init__(
        self, spans: pd.DataFrame, holidays: pd.DataFrame, group_of: dict[str, int]
    ) -> None:
        self.spans = spans  # person, start, end, kind, zone; merged, no overlaps per person
        self.holidays = holidays  # group, day (datetime64[s]), name, country, subdivision
        self.group_of = group_of

    @property
    def empty(self) -> bool:
        return self.spans.empty and self.holidays.empty

    def frame(self) -> pd.DataFrame:
        """Every person's absence periods with their first and last local day, and their
        public holidays (one row a day): what a timeline shows."""
        spans = self.spans.copy()
        spans["first_day"], spans["last_day"] = _local_days(spans)
        people = pd.DataFrame(
            {"person": list(self.group_of), "group": list(self.group_of.values())}
        )
        hol = people.merge(self.holidays[["group", "day"]], on="group")
        day = pd.to_datetime(hol["day"]).dt.tz_localize("UTC").astype(TIMESTAMP)
        holidays = pd.DataFrame(
            {
                "person": hol["person"].to_numpy(dtype=object),
                "start": day.array,
                "end": (day + DAY).array,
                "kind": "holiday",
                "zone": "UTC",
                "first_day": hol["day"].to_numpy(dtype="datetime64[s]"),
                "last_day": hol["day"].to_numpy(dtype="datetime64[s]"),
            }
        )
        out = pd.concat([p for p in (spans, holidays) if len(p)] or [spans], ignore_index=True)
        return out.sort_values(["person", "start"], ignore_index=True)


def periods(
    events: pd.DataFrame,
    roster: pd.DataFrame | None,
    settings: AnalysisSettings,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    aliases: dict[str, str] | None = None,
    given: pd.DataFrame | None = None,
) -> Absences:
    """Absence periods and holidays of everyone, from their own calendars, the roster and
    the settings, for the years ``lo`` … ``hi`` touch."""
    away = events["event_type"] == "out_of_office"
    if settings.all_day_busy_is_absence:
        away |= events["all_day"] & (events["event_type"] == "default")
    away &= events["status"] != "cancelled"
    cols = ["calendar", "start", "end", "event_type", "timezone"]
    ev = events.loc[away.to_numpy(), cols]  # only the rows and columns read
    own = pd.DataFrame(
        {
            "person": _people(ev["calendar"], aliases),
            "start": ev["start"].astype(TIMESTAMP).array,
            "end": ev["end"].astype(TIMESTAMP).array,
            "kind": np.where(ev["event_type"] == "out_of_office", "out_of_office", "all_day"),
            "zone": ev["timezone"].astype(object).fillna("UTC").to_numpy(dtype=object),
        }
    )
    parts = [own]
    if given is not None and len(given):
        parts.append(_given(given, aliases))
    holidays, group_of = _holidays(roster, settings, lo, hi)
    spans = pd.concat([p for p in parts if len(p)] or [own], ignore_index=True)
    spans = spans.astype({"start": TIMESTAMP, "end": TIMESTAMP})
    spans = spans[spans["end"] > spans["start"]]
    return Absences(_merge(spans, "person"), holidays, group_of)


def _people(values: pd.Series, aliases: dict[str, str] | None) -> np.ndarray:
    clean = values.astype("string").str.strip().str.lower().astype(object)
    if aliases:
        clean = clean.map(lambda e: aliases.get(e, e))
    return np.asarray(clean.to_numpy(dtype=object))


def _given(frame: pd.DataFrame, aliases: dict[str, str] | None) -> pd.DataFrame:
    """An absences frame a caller passed (``person``, ``start``, ``end``; ``kind`` optional)."""
    missing = [c for c in ("person", "start", "end") if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"absences frame: no {missing[0]!r} column; give person, start and end "
            "(timezone-aware instants)",
            column=missing[0],
        )
    out = {}
    for col in ("start", "end"):
        values = frame[col]
        if pd.api.types.is_datetime64_dtype(values) and not isinstance(
            values.dtype, pd.DatetimeTZDtype
        ):
            raise SchemaError(
                f"absences frame: column {col!r} holds naive timestamps; give timezone-aware "
                "instants",
                column=col,
            )
        out[col] = pd.to_datetime(values, utc=True).astype(TIMESTAMP).array
    return pd.DataFrame(
        {
            "person": _people(frame["person"], aliases),
            **out,
            "kind": "given",
            "zone": "UTC",
        }
    )


def _holidays(
    roster: pd.DataFrame | None, settings: AnalysisSettings, lo: pd.Timestamp, hi: pd.Timestamp
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The public holidays of each (country, subdivision) in [lo, hi], and who is where."""
    empty = pd.DataFrame(
        {"group": pd.Series([], dtype=np.int64), "day": pd.Series([], dtype="datetime64[s]")}
    )
    if roster is None:
        return empty, {}
    people = roster["email"].astype("string").str.strip().str.lower()
    country = _column(roster, "country", settings.holidays_country)
    subdiv = _column(roster, "subdivision", settings.holidays_subdivision)
    subdiv = subdiv.where(country.notna())
    known = country.notna().to_numpy()
    if not known.any():
        return empty, {}
    import holidays as holidays_lib  # the package's import is slow: only when asked for

    years = list(range(lo.year, hi.year + 1))
    frames = []
    group_of: dict[str, int] = {}
    places = pd.DataFrame({"c": country[known], "s": subdiv[known].fillna("")})
    for g, (place, idx) in enumerate(places.groupby(["c", "s"]).groups.items()):
        c, s = (str(x) for x in cast(tuple[str, str], place))
        try:
            days = holidays_lib.country_holidays(str(c), subdiv=str(s) or None, years=years)
        except NotImplementedError:
            raise RosterError(
                f"roster: country {c!r} is not one the holidays package knows; use an ISO "
                "3166 code such as DE, US or GB (or [analysis] holidays_country)"
            ) from None
        except Exception as exc:  # the package raises NotImplementedError / ValueError
            raise RosterError(
                f"roster: subdivision {s!r} of country {c!r} is not known ({exc}); use an "
                "ISO 3166-2 code such as BY for Bavaria, or leave it empty"
            ) from None
        dates = pd.to_datetime(sorted(days.keys()))
        dates = dates[(dates >= lo.tz_localize(None).normalize()) & (dates <= hi.tz_localize(None))]
        for person in people.loc[idx]:
            group_of[str(person)] = g
        frames.append(pd.DataFrame({"group": g, "day": dates.to_numpy(dtype="datetime64[s]")}))
    return (pd.concat(frames, ignore_index=True) if frames else empty), group_of


def _column(roster: pd.DataFrame, name: str, default: str | None) -> pd.Series:
    if name in roster.columns:
        values = roster[name].astype("string").str.strip().str.upper()
        values = values.where(values != "")
    else:
        values = pd.Series(pd.NA, index=roster.index, dtype="string")
    if default:
        values = values.fillna(default.strip().upper())
    return values


def _merge(spans: pd.DataFrame, by: str) -> pd.DataFrame:
    """Overlapping or touching periods of one ``by`` value merged into one (vectorized)."""
    if spans.empty:
        return pd.DataFrame(
            {
                by: pd.Series([], dtype=object),
                "start": pd.Series([], dtype=TIMESTAMP),
                "end": pd.Series([], dtype=TIMESTAMP),
                "kind": pd.Series([], dtype=object),
                "zone": pd.Series([], dtype=object),
            }
        )
    s = spans.sort_values([by, "start"], kind="stable", ignore_index=True)
    key = s[by].to_numpy()
    starts, ends = s["start"].array.asi8, s["end"].array.asi8
    run_end = pd.Series(ends).groupby(key).cummax().to_numpy()
    first_of_key = np.r_[True, key[1:] != key[:-1]]
    prev = np.r_[np.iinfo(np.int64).min, run_end[:-1]]
    at = np.flatnonzero(first_of_key | (starts > prev))  # where a merged period begins
    out = s.iloc[at][[by, "kind", "zone"]].reset_index(drop=True)
    out.insert(1, "start", s["start"].iloc[at].to_numpy())
    out.insert(2, "end", pd.to_datetime(np.maximum.reduceat(ends, at), unit="us", utc=True))
    return out.astype({"start": TIMESTAMP, "end": TIMESTAMP})


def _local_days(s: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """First and last local calendar day of each period (in its own zone)."""
    first = pd.Series(pd.NaT, index=s.index, dtype="datetime64[s]")
    last = first.copy()
    for zone, idx in s.groupby(s["zone"].to_numpy(), sort=False).groups.items():
        try:
            start = s.loc[idx, "start"].dt.tz_convert(str(zone))
            end = (s.loc[idx, "end"] - pd.Timedelta(microseconds=1)).dt.tz_convert(str(zone))
        except (KeyError, ValueError, TypeError):
            start, end = s.loc[idx, "start"], s.loc[idx, "end"] - pd.Timedelta(microseconds=1)
        first.loc[idx] = start.dt.tz_localize(None).dt.normalize().astype("datetime64[s]")
        last.loc[idx] = end.dt.tz_localize(None).dt.normalize().astype("datetime64[s]")
    return first, last


def _local_dates(start: pd.Series, zone: pd.Series) -> np.ndarray:
    """Each instant's local date (``datetime64[s]`` midnight) in its row's zone."""
    out = pd.Series(pd.NaT, index=start.index, dtype="datetime64[s]")
    for z, idx in start.groupby(zone.fillna("UTC").to_numpy(), sort=False).groups.items():
        try:
            local = start.loc[idx].dt.tz_convert(str(z))
        except (KeyError, ValueError, TypeError):
            local = start.loc[idx]
        out.loc[idx] = local.dt.tz_localize(None).dt.normalize().astype("datetime64[s]")
    return np.asarray(out.to_numpy(dtype="datetime64[s]"))


def _last_start(
    group: np.ndarray, start_us: np.ndarray, q_group: np.ndarray, q_us: np.ndarray
) -> np.ndarray:
    """Per query, the position of the last period of its group starting at or before it
    (periods sorted by group, then start; groups integer codes), or -1.

    One ``searchsorted`` on a (group, second) key; exact to the microsecond.
    """
    n = len(q_group)
    if not n or not len(group):
        return np.full(n, -1, dtype=np.int64)
    t0 = min(int(start_us.min()), int(q_us.min())) // 1_000_000
    span = max(int(start_us.max()), int(q_us.max())) // 1_000_000 - t0 + 2
    if span * (int(max(group.max(), q_group.max())) + 2) >= 2**62:  # too wide: merge_asof
        q = pd.DataFrame({"g": q_group, "t": q_us, "q": np.arange(n)}).sort_values("t")
        right = pd.DataFrame({"g": group, "t": start_us, "pos": np.arange(len(group))})
        hit = pd.merge_asof(q, right.sort_values("t"), on="t", by="g")
        out = np.full(n, -1, dtype=np.int64)
        out[hit["q"].to_numpy()] = hit["pos"].fillna(-1).to_numpy(dtype=np.int64)
        return out
    key = group.astype(np.int64) * span + (start_us // 1_000_000 - t0)
    q_key = q_group.astype(np.int64) * span + (q_us // 1_000_000 - t0)
    pos = np.searchsorted(key, q_key, side="right") - 1
    # within the same second: a period starting after the query's microsecond is not before
    later = (pos >= 0) & (start_us[np.maximum(pos, 0)] > q_us)
    pos = np.where(later, pos - 1, pos)
    ok = (pos >= 0) & (group[np.maximum(pos, 0)] == q_group)
    return np.where(ok, pos, -1)


def _covering(people: np.ndarray, when: pd.Series, spans: pd.DataFrame) -> np.ndarray:
    """Per query, the position in ``spans`` (sorted by person, then start) of the period of
    that person holding ``when``, or -1."""
    n = len(people)
    if not n or spans.empty:
        return np.full(n, -1, dtype=np.int64)
    names = spans["person"].to_numpy(dtype=object)
    index = pd.Index(pd.unique(names))
    group = index.get_indexer(names)
    q_group = index.get_indexer(pd.Index(people, dtype=object))
    q_us = np.asarray(when.astype(TIMESTAMP).array.asi8)
    pos = _last_start(group, np.asarray(spans["start"].array.asi8), q_group, q_us)
    pos = np.where(q_group >= 0, pos, -1)
    ends = np.asarray(spans["end"].array.asi8)
    inside = (pos >= 0) & (q_us < ends[np.maximum(pos, 0)])
    return np.where(inside, pos, -1)


def excuse(occ: pd.DataFrame, absences: Absences, as_of: pd.Timestamp) -> pd.DataFrame:
    """Past cancelled or declined slots whose scheduled start falls while either person is
    away (or on a public holiday, by the slot's local date) become ``excused``; a future
    one stays cancelled until its time has passed, like ``held``.

    Adds ``away`` (who was away: the report before the manager), ``away_kind``,
    ``away_from`` / ``away_until`` (first and last local day of that absence). Held and
    scheduled slots are left alone.
    """
    n = len(occ)
    away = np.full(n, None, dtype=object)
    kind = np.full(n, None, dtype=object)
    first = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    last = first.copy()
    codes = occ["outcome"].cat.codes.to_numpy()
    past = (occ["start"] < as_of).to_numpy()
    missed = np.flatnonzero(((codes == CANCELLED) | (codes == DECLINED)) & past)
    if len(missed) and not absences.empty:

        def col(name: str) -> pd.Series:  # one column's missed rows, not the whole frame
            return occ[name].iloc[missed].reset_index(drop=True)

        when = col("original_start")
        spans = absences.spans
        hol = absences.holidays
        day = _local_dates(when, col("timezone")) if len(hol) else None
        hol_key = pd.MultiIndex.from_arrays([hol["group"], hol["day"].astype("datetime64[s]")])
        known = pd.Index(list(absences.group_of), dtype=object)
        groups = np.r_[np.fromiter(absences.group_of.values(), dtype=np.int64), -1]
        # the report first (else the first of the two), then the other person
        a, b = col("person_a").astype(object), col("person_b").astype(object)
        one = col("report").astype(object).fillna(a).to_numpy()
        other = np.where(one == a.to_numpy(), b.to_numpy(), a.to_numpy())
        hit_pos = np.full(len(missed), -1, dtype=np.int64)
        for people in (one, other):
            free = away[missed] == None  # noqa: E711 — elementwise on an object array
            pos = _covering(np.where(free, people, ""), when, spans)
            got = free & (pos >= 0)
            away[missed[got]] = people[got]
            hit_pos[got] = pos[got]
            if day is not None:
                group = groups[known.get_indexer(pd.Index(people, dtype=object))]
                on = free & ~got & pd.MultiIndex.from_arrays([group, day]).isin(hol_key)
                rows = missed[on]
                away[rows] = people[on]
                kind[rows] = "holiday"
                first[rows] = day[on]
                last[rows] = day[on]
        got = hit_pos >= 0
        if got.any():
            used, inverse = np.unique(hit_pos[got], return_inverse=True)
            f, la = _local_days(spans.iloc[used].reset_index(drop=True))
            rows = missed[got]
            kind[rows] = spans["kind"].to_numpy(dtype=object)[hit_pos[got]]
            first[rows] = f.to_numpy(dtype="datetime64[s]")[inverse]
            last[rows] = la.to_numpy(dtype="datetime64[s]")[inverse]
    out = occ
    excused = away != None  # noqa: E711
    out["outcome"] = pd.Categorical.from_codes(
        np.where(excused, EXCUSED, codes), dtype=OUTCOME_DTYPE
    )
    out["away"] = pd.array(away, dtype="string")
    out["away_kind"] = pd.array(kind, dtype="string")
    out["away_from"] = first
    out["away_until"] = last
    return out


def pair_periods(
    keys: np.ndarray, person_a: np.ndarray, person_b: np.ndarray, absences: Absences
) -> pd.DataFrame:
    """Each pair's absence periods (either person away), merged, with the time away before
    each period (``before_us``): the input of :func:`absent_days`."""
    spans = absences.spans
    pair = pd.DataFrame({"pair_key": keys, "a": person_a, "b": person_b})
    parts = [
        pair[["pair_key", side]].rename(columns={side: "person"}).merge(spans, on="person")
        for side in ("a", "b")
    ]
    both = pd.concat(parts, ignore_index=True)
    merged = _merge(both.drop(columns="person"), "pair_key")
    dur = merged["end"].array.asi8 - merged["start"].array.asi8
    merged["before_us"] = (
        pd.Series(dur).groupby(merged["pair_key"].to_numpy()).cumsum().to_numpy() - dur
    )
    return merged


def absent_days(pp: pd.DataFrame, keys: np.ndarray, when: pd.Series) -> np.ndarray:
    """Days each pair (``keys``) had been away in total before ``when`` (float days).

    Away time between two instants is the difference of their values.
    """
    n = len(keys)
    if not n or pp.empty:
        return np.zeros(n)
    t_us = np.asarray(when.astype(TIMESTAMP).array.asi8)
    missing = t_us == np.iinfo(np.int64).min
    t_us = np.where(missing, 0, t_us)
    group = pp["pair_key"].to_numpy(dtype=np.int64)
    shift = -int(min(group.min(), np.min(keys))) if len(group) else 0  # silent pairs are < 0
    s_us, e_us = np.asarray(pp["start"].array.asi8), np.asarray(pp["end"].array.asi8)
    pos = _last_start(group + shift, s_us, np.asarray(keys, dtype=np.int64) + shift, t_us)
    p = np.maximum(pos, 0)
    inside = np.minimum(t_us, e_us[p]) - s_us[p]
    total = np.where(pos >= 0, pp["before_us"].to_numpy(dtype=np.int64)[p] + inside, 0)
    return np.where(missing, 0.0, total / 86_400e6)


def on_leave(
    people: pd.DataFrame, absences: Absences, as_of: pd.Timestamp, min_days: float
) -> pd.DataFrame:
    """Pairs (``people``: ``manager``, ``report``, ``person_a``, ``person_b``) one of whose
    people is away at ``as_of`` for a period at least ``min_days`` long: ``on_leave`` and
    the words for it (``"report out of office 1 Jun – 24 Aug"``)."""
    n = len(people)
    spans = absences.spans
    long = spans[(spans["end"] - spans["start"]) >= pd.Timedelta(days=min_days)]
    long = long[(long["start"] <= as_of) & (long["end"] > as_of)].drop_duplicates("person")
    long = long.reset_index(drop=True)
    long["first_day"], long["last_day"] = _local_days(long)
    flag = np.zeros(n, dtype=bool)
    text = np.full(n, "", dtype=object)
    if n and len(long):
        by = long.set_index("person")
        words = _period_words(by["kind"], by["first_day"], by["last_day"])
        for side, role in (
            ("report", "report"),
            ("manager", "manager"),
            ("person_a", None),
            ("person_b", None),
        ):
            who = people[side].astype(object)
            hit = who.isin(by.index).to_numpy() & ~flag
            if hit.any():
                label = np.full(int(hit.sum()), role, dtype=object) if role else who[hit]
                text[hit] = (
                    pd.Series(label).astype(str) + " " + words.reindex(who[hit]).to_numpy()
                ).to_numpy()
                flag |= hit
    return pd.DataFrame({"on_leave": flag, "leave_text": text}, index=people.index)


_MONTHS = np.array(
    ["", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    dtype=object,
)


def _period_words(kind: pd.Series, first: pd.Series, last: pd.Series) -> pd.Series:
    """``"out of office 12–23 Aug"``, ``"out of office 28 Jul – 3 Aug"``, ``"on public
    holiday 25 Dec"``."""
    f = pd.DatetimeIndex(pd.to_datetime(first.to_numpy()))
    la = pd.DatetimeIndex(pd.to_datetime(last.to_numpy()))
    fd, ld = f.day.astype(str).to_numpy(dtype=object), la.day.astype(str).to_numpy(dtype=object)
    fm, lm = _MONTHS[f.month.to_numpy()], _MONTHS[la.month.to_numpy()]
    one = np.asarray(f == la)
    same_month = np.asarray((f.month == la.month) & (f.year == la.year))
    span = np.where(
        one,
        fd + " " + fm,
        np.where(same_month, fd + "–" + ld + " " + lm, fd + " " + fm + " – " + ld + " " + lm),
    )
    words = kind.map(KIND_WORDS).fillna("away").astype(str).to_numpy(dtype=object)
    return pd.Series(words + " " + span, index=kind.index)


def excused_texts(
    occ: pd.DataFrame, keys: pd.Index, lo: pd.Timestamp, as_of: pd.Timestamp
) -> pd.Series:
    """Per pair key, the absences behind its excused past slots in the window, in words:
    ``"report out of office 12–23 Aug; manager on public holiday 25 Dec"``."""
    ex = occ[(occ["outcome"] == "excused") & (occ["start"] >= lo) & (occ["start"] < as_of)]
    if ex.empty:
        return pd.Series("", index=keys, dtype=object)
    who = ex["away"].astype(object)
    role = np.where(
        who == ex["report"].astype(object),
        "report",
        np.where(who == ex["manager"].astype(object), "manager", who),
    )
    frame = pd.DataFrame(
        {
            "k": ex["pair_key"].to_numpy(),
            "role": role,
            "kind": ex["away_kind"].astype(object).to_numpy(),
            "f": ex["away_from"].to_numpy(),
            "l": ex["away_until"].to_numpy(),
        }
    ).drop_duplicates()  # one absence excuses several slots: worded once
    frame = frame.sort_values(["k", "f"], kind="stable")
    words = _period_words(
        frame["kind"].reset_index(drop=True),
        frame["f"].reset_index(drop=True),
        frame["l"].reset_index(drop=True),
    )
    text = frame["role"].astype(str).to_numpy() + " " + words.to_numpy()
    # up to three absences per pair, joined without a Python loop over pairs
    k = frame["k"].to_numpy()
    rank = frame.groupby("k").cumcount().to_numpy()
    out = pd.Series("", index=keys, dtype=object)
    for r in range(3):
        part = pd.Series(text[rank == r], index=k[rank == r]).reindex(keys)
        sep = "" if r == 0 else "; "
        out = out.where(part.isna(), out + sep + part.fillna(""))
    more = pd.Series(rank >= 3, index=k).groupby(level=0).any().reindex(keys, fill_value=False)
    return out.where(~more, out + "; …")
