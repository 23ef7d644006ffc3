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

Everything is vectorized on integer microseconds and integer codes of people and pairs
(sorted merged periods, ``searchsorted``, cumulative time away); no loop over people.
"""

from __future__ import annotations

import functools
from typing import cast

import numpy as np
import pandas as pd

from cadence.analysis.outcomes import CANCELLED, DECLINED, EXCUSED, OUTCOME_DTYPE
from cadence.analysis.rhythm import wall_clock_us
from cadence.analysis.settings import AnalysisSettings
from cadence.errors import RosterError, SchemaError
from cadence.model import STRING, TIMESTAMP

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
    years = tuple(range(lo.year, hi.year + 1))
    frames = []
    group_of: dict[str, int] = {}
    places = pd.DataFrame({"c": country[known], "s": subdiv[known].fillna("")})
    for g, (place, idx) in enumerate(places.groupby(["c", "s"]).groups.items()):
        c, s = (str(x) for x in cast(tuple[str, str], place))
        try:
            days = _calendar(c, s, years)
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
        first, end = lo.tz_localize(None).normalize().to_datetime64(), hi.tz_localize(None)
        dates = days[(days >= first) & (days <= end.to_datetime64())]
        group_of.update(dict.fromkeys(map(str, people.loc[idx].tolist()), g))
        frames.append(pd.DataFrame({"group": g, "day": dates}))
    return (pd.concat(frames, ignore_index=True) if frames else empty), group_of


@functools.lru_cache(maxsize=256)
def _calendar(country: str, subdivision: str, years: tuple[int, ...]) -> np.ndarray:
    """The sorted public holidays (``datetime64[s]``) of a country (and subdivision) in some
    years, by the ``holidays`` package; each calendar is built once per process."""
    import holidays as holidays_lib  # the package's import is slow: only when asked for

    days = holidays_lib.country_holidays(country, subdiv=subdivision or None, years=list(years))
    out = np.array(sorted(days.keys()), dtype="datetime64[s]")
    out.flags.writeable = False  # shared by every analysis
    return out


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
    codes = pd.factorize(spans[by], sort=True)[0]
    starts = np.asarray(spans["start"].array.asi8)
    order = np.lexsort((starts, codes))  # by ``by``, then start; stable
    at, ends = _merged(codes[order], starts[order], np.asarray(spans["end"].array.asi8)[order])
    out = spans[[by, "kind", "zone"]].take(order[at]).reset_index(drop=True)
    out.insert(1, "start", _stamps(starts[order][at]))
    out.insert(2, "end", _stamps(ends))
    return out


def _merged(key: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Periods sorted by an integer ``key``, then start (microseconds): where each merged
    period begins, and its end."""
    run_end = pd.Series(ends).groupby(key).cummax().to_numpy()
    first_of_key = np.r_[True, key[1:] != key[:-1]]
    prev = np.r_[np.iinfo(np.int64).min, run_end[:-1]]
    at = np.flatnonzero(first_of_key | (starts > prev))  # where a merged period begins
    return at, np.maximum.reduceat(ends, at)


def _stamps(us: np.ndarray) -> pd.DatetimeIndex:
    """Microseconds since the epoch as UTC instants (``TIMESTAMP``)."""
    return pd.DatetimeIndex(np.asarray(us, dtype=np.int64).view("datetime64[us]")).tz_localize(
        "UTC"
    )


DAY_US = 86_400_000_000


def _local_days(s: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """First and last local calendar day of each period (in its own zone)."""
    zone = s["zone"]
    start = wall_clock_us(np.asarray(s["start"].array.asi8), zone)
    end = wall_clock_us(np.asarray(s["end"].array.asi8) - 1, zone)
    none = zone.isna().to_numpy()  # no zone: no day (as a group by zone leaves it out)

    def day(us: np.ndarray) -> pd.Series:
        d = (us // DAY_US * 86_400).view("datetime64[s]").copy()
        d[none] = np.datetime64("NaT")
        return pd.Series(d, index=s.index, dtype="datetime64[s]")

    return day(start), day(end)


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


def _pool_codes(columns: list[pd.Series], rows: np.ndarray) -> tuple[pd.Index, list[np.ndarray]]:
    """The distinct values of some people columns at ``rows`` as one pool of names, and each
    column's positions in it (-1: missing). Categorical columns are read by their codes (the
    people columns share their categories: then nothing is looked up)."""
    parts: list[tuple[np.ndarray, pd.Index]] = []
    for values in columns:
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = values.cat.codes.to_numpy()[rows].astype(np.int64)
            names = values.cat.categories
        else:
            found, uniques = pd.factorize(values.iloc[rows])
            codes, names = np.asarray(found, dtype=np.int64), pd.Index(uniques)
        parts.append((codes, names))
    pool = pd.Index(parts[0][1] if parts else [], dtype=object)
    out = []
    for codes, names in parts:
        if names is parts[0][1] or names.equals(pool):
            out.append(codes)
            continue
        at = pool.get_indexer(pd.Index(names, dtype=object))
        new = np.flatnonzero(at < 0)
        if len(new):  # names not seen yet: appended to the pool
            at[new] = len(pool) + np.arange(len(new))
            pool = pool.append(pd.Index(names[new], dtype=object))
        out.append(np.where(codes >= 0, at[np.maximum(codes, 0)], -1))
    return pool, out


def _day_table(hol: pd.DataFrame) -> tuple[np.ndarray, int]:
    """The holidays (``group``, ``day``) as a table of flags, ``table[group * width + day -
    day0]`` (day numbers since the epoch; ``width``: the days from the first to the last
    holiday), and ``day0``."""
    day = hol["day"].to_numpy(dtype="datetime64[s]").astype(np.int64) // 86_400
    group = hol["group"].to_numpy(dtype=np.int64)
    if not len(day):
        return np.zeros(0, dtype=bool), 0
    day0 = int(day.min())
    width = int(day.max()) - day0 + 1
    table = np.zeros(width * (int(group.max()) + 1), dtype=bool)
    table[group * width + day - day0] = True
    return table, day0


def _on_holiday(
    group: np.ndarray, day: np.ndarray, table: np.ndarray, day0: int, n_groups: int
) -> np.ndarray:
    """Whether each (holiday group, day number) is a holiday (group -1: never)."""
    if not len(table):
        return np.zeros(len(group), dtype=bool)
    width = len(table) // n_groups
    rel = day - day0
    ok = (group >= 0) & (group < n_groups) & (rel >= 0) & (rel < width)
    return np.asarray(ok & table[np.where(ok, group * width + rel, 0)])


def excuse(occ: pd.DataFrame, absences: Absences, as_of: pd.Timestamp) -> pd.DataFrame:
    """Past cancelled or declined slots whose scheduled start falls while either person is
    away (or on a public holiday, by the slot's local date) become ``excused``; a future
    one stays cancelled until its time has passed, like ``held``.

    Adds ``away`` (who was away: the report before the manager), ``away_kind``,
    ``away_from`` / ``away_until`` (first and last local day of that absence). Held and
    scheduled slots are left alone.
    """
    n = len(occ)
    away = np.full(n, -1, dtype=np.int64)  # positions in ``pool``
    kind = np.full(n, -1, dtype=np.int64)  # positions in ``kinds``
    first = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    last = first.copy()
    pool: pd.Index = pd.Index([], dtype=object)
    kinds: pd.Index = pd.Index([], dtype=object)
    codes = occ["outcome"].cat.codes.to_numpy()
    past = (occ["start"] < as_of).to_numpy()
    missed = np.flatnonzero(((codes == CANCELLED) | (codes == DECLINED)) & past)
    if len(missed) and not absences.empty:
        spans = absences.spans
        kind_codes, span_kinds = pd.factorize(spans["kind"])
        kinds = pd.Index(pd.unique(np.append(np.asarray(span_kinds, dtype=object), "holiday")))
        span_kind = kinds.get_indexer(pd.Index(span_kinds, dtype=object))[kind_codes]
        holiday = int(kinds.get_indexer(pd.Index(["holiday"], dtype=object))[0])
        when = np.asarray(occ["original_start"].array.asi8)[missed]
        unknown = when == np.iinfo(np.int64).min  # no instant: never away
        when = np.where(unknown, 0, when)
        pool, (a, b, report) = _pool_codes(
            [occ["person_a"], occ["person_b"], occ["report"]], missed
        )
        # the report first (else the first of the two), then the other person
        one = np.where(report >= 0, report, a)
        other = np.where(one == a, b, a)
        span_group, index = pd.factorize(spans["person"])  # sorted by person: ascending
        span_of = np.r_[index.get_indexer(pool), -1]  # pool person → span group
        span_start = np.asarray(spans["start"].array.asi8)
        span_end = np.asarray(spans["end"].array.asi8)
        hol = absences.holidays
        if len(hol):
            known = pd.Index(list(absences.group_of), dtype=object)
            groups = np.fromiter(absences.group_of.values(), dtype=np.int64, count=len(known))
            group_of = np.r_[groups, -1][np.r_[known.get_indexer(pool), -1]]
            table, day0 = _day_table(hol)
            n_groups = int(hol["group"].max()) + 1
            zone = occ["timezone"].iloc[missed].reset_index(drop=True)
            day = wall_clock_us(when, zone) // DAY_US
        got_away = np.full(len(missed), -1, dtype=np.int64)
        got_kind = np.full(len(missed), -1, dtype=np.int64)
        got_first = np.full(len(missed), np.iinfo(np.int64).min, dtype=np.int64)  # in days
        hit_pos = np.full(len(missed), -1, dtype=np.int64)
        for people in (one, other):
            free = got_away < 0
            q_group = np.where(free & ~unknown, span_of[people], -1)
            pos = _last_start(span_group, span_start, q_group, when)
            pos = np.where(q_group >= 0, pos, -1)
            got = (pos >= 0) & (when < span_end[np.maximum(pos, 0)]) if len(spans) else pos >= 0
            got_away[got] = people[got]
            hit_pos[got] = pos[got]
            if len(hol):
                on = (
                    free
                    & ~got
                    & ~unknown
                    & _on_holiday(group_of[people], day, table, day0, n_groups)
                )
                got_away[on] = people[on]
                got_kind[on] = holiday
                got_first[on] = day[on]
        rows = missed[got_away >= 0]
        away[rows] = got_away[got_away >= 0]
        on = got_kind >= 0
        kind[missed[on]] = holiday
        first[missed[on]] = (got_first[on] * 86_400).view("datetime64[s]")
        last[missed[on]] = first[missed[on]]
        got = hit_pos >= 0
        if got.any():
            used, inverse = np.unique(hit_pos[got], return_inverse=True)
            f, la = _local_days(spans.iloc[used].reset_index(drop=True))
            rows = missed[got]
            kind[rows] = span_kind[hit_pos[got]]
            first[rows] = f.to_numpy(dtype="datetime64[s]")[inverse]
            last[rows] = la.to_numpy(dtype="datetime64[s]")[inverse]
    out = occ
    out["outcome"] = pd.Categorical.from_codes(
        np.where(away >= 0, EXCUSED, codes), dtype=OUTCOME_DTYPE
    )
    # categorical until the output (engine._as_text): text only for the rows shown
    out["away"] = pd.Categorical.from_codes(away, categories=pd.Index(pool, dtype=STRING))
    out["away_kind"] = pd.Categorical.from_codes(kind, categories=pd.Index(kinds, dtype=STRING))
    out["away_from"] = first
    out["away_until"] = last
    return out


def pair_periods(
    keys: np.ndarray, person_a: np.ndarray, person_b: np.ndarray, absences: Absences
) -> pd.DataFrame:
    """Each pair's absence periods (either person away), merged, with the time away before
    each period (``before_us``): the input of :func:`absent_days`."""
    spans = absences.spans
    group, index = pd.factorize(spans["person"])  # spans are sorted by person: ascending
    offset = np.searchsorted(group, np.arange(len(index) + 1))  # each person's first span
    pair_of, span_at = [], []
    for side in (person_a, person_b):  # each pair's periods of its first, then second person
        g = index.get_indexer(pd.Index(side, dtype=object))
        count = np.where(g >= 0, offset[g + 1] - offset[np.maximum(g, 0)], 0)
        pair = np.repeat(np.arange(len(g)), count)
        begin = np.cumsum(count) - count
        pair_of.append(pair)
        span_at.append(offset[np.maximum(g, 0)][pair] + np.arange(len(pair)) - begin[pair])
    pos = np.concatenate(span_at)
    if not len(pos):
        empty = _merge(spans.iloc[:0].rename(columns={"person": "pair_key"}), "pair_key")
        empty["before_us"] = pd.Series([], dtype=np.int64)
        return empty
    key = np.asarray(keys)[np.concatenate(pair_of)]
    starts = np.asarray(spans["start"].array.asi8)[pos]
    order = np.lexsort((starts, key))  # by pair, then start; stable
    key, pos, starts = key[order], pos[order], starts[order]
    at, ends = _merged(key, starts, np.asarray(spans["end"].array.asi8)[pos])
    merged = spans[["kind", "zone"]].take(pos[at]).reset_index(drop=True)
    merged.insert(0, "pair_key", key[at])
    merged.insert(1, "start", _stamps(starts[at]))
    merged.insert(2, "end", _stamps(ends))
    dur = ends - starts[at]
    merged["before_us"] = pd.Series(dur).groupby(key[at]).cumsum().to_numpy() - dur
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
    kinds, names = pd.factorize(kind.to_numpy(dtype=object))  # missing: -1
    f = first.to_numpy(dtype="datetime64[s]").astype(np.int64)
    la = last.to_numpy(dtype="datetime64[s]").astype(np.int64)
    return pd.Series(_words(kinds, pd.Index(names), f, la), index=kind.index)


def _words(kinds: np.ndarray, names: pd.Index, f: np.ndarray, la: np.ndarray) -> np.ndarray:
    """:func:`_period_words` of kind codes (into ``names``; -1: missing) and first and last
    days (seconds since the epoch); each distinct (kind, first, last) is worded once."""
    order = np.lexsort((la, f, kinds))
    new = np.r_[True, np.diff(kinds[order]) != 0] | np.r_[True, np.diff(f[order]) != 0]
    new |= np.r_[True, np.diff(la[order]) != 0]
    which = np.empty(len(order), dtype=np.int64)
    which[order] = np.cumsum(new) - 1  # each row's distinct (kind, first, last)
    one_of = order[new]
    fd, fm, fy = _day_month_year(f[one_of])
    ld, lm, ly = _day_month_year(la[one_of])
    fds, lds = fd.astype(str).astype(object), ld.astype(str).astype(object)
    fms, lms = _MONTHS[fm], _MONTHS[lm]
    span = np.where(
        (f[one_of] // 86_400) == (la[one_of] // 86_400),
        fds + " " + fms,
        np.where(
            (fm == lm) & (fy == ly),
            fds + "–" + lds + " " + lms,
            fds + " " + fms + " – " + lds + " " + lms,
        ),
    )
    word = np.asarray([KIND_WORDS.get(str(x), "away") for x in names] + ["away"], dtype=object)
    words: np.ndarray = (word[kinds[one_of]] + " " + span)[which]
    return words


def _day_month_year(seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Day of month, month (1–12) and year of each instant (seconds since the epoch)."""
    day = seconds.view("datetime64[s]").astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    m = month.astype(np.int64)
    return (day - month).astype(np.int64) + 1, m % 12 + 1, m // 12 + 1970


def excused_texts(
    occ: pd.DataFrame, keys: pd.Index, lo: pd.Timestamp, as_of: pd.Timestamp
) -> pd.Series:
    """Per pair key, the absences behind its excused past slots in the window, in words:
    ``"report out of office 12–23 Aug; manager on public holiday 25 Dec"``."""
    start = occ["start"]
    rows = np.flatnonzero(
        ((occ["outcome"] == "excused") & (start >= lo) & (start < as_of)).to_numpy()
    )
    if not len(rows):
        return pd.Series("", index=keys, dtype=object)
    pool, (report, manager, who) = _pool_codes([occ["report"], occ["manager"], occ["away"]], rows)
    # the role: "report", "manager", else who it was (missing: "<NA>"); a person named
    # "report" is the same role
    n = len(pool)
    named = pool.get_indexer(pd.Index(["report", "manager", "<NA>"], dtype=object))
    as_role = np.arange(n + 3)
    as_role[named[named >= 0]] = n + np.flatnonzero(named >= 0)
    role = np.where(
        (who >= 0) & (who == report),
        n,
        np.where((who >= 0) & (who == manager), n + 1, np.where(who >= 0, who, n + 2)),
    )
    role = as_role[role]
    kind, kinds = pd.factorize(occ["away_kind"].iloc[rows])
    k = occ["pair_key"].to_numpy()[rows]
    f = occ["away_from"].to_numpy(dtype="datetime64[s]")[rows].astype(np.int64)
    la = occ["away_until"].to_numpy(dtype="datetime64[s]")[rows].astype(np.int64)
    # one absence excuses several slots: worded once (the first of each, in row order)
    order = np.lexsort((la, f, kind, role, k))
    new = np.zeros(len(order), dtype=bool)
    new[0] = True
    for col in (k, role, kind, f, la):
        new[1:] |= col[order][1:] != col[order][:-1]
    keep = np.sort(order[new])
    # by pair, then first day (a missing day last), stable
    last_day = np.where(f == np.iinfo(np.int64).min, np.iinfo(np.int64).max, f)
    keep = keep[np.lexsort((last_day[keep], k[keep]))]
    words = _words(np.asarray(kind)[keep], pd.Index(kinds), f[keep], la[keep])
    rk = role[keep]
    names = pool[np.minimum(rk, n - 1)].to_numpy(dtype=object) if n else np.full(len(rk), "")
    label = np.where(rk == n, "report", np.where(rk == n + 1, "manager", "<NA>"))
    text = np.where(rk < n, names, label.astype(object)) + " " + words
    # up to three absences per pair, joined without a Python loop over pairs
    k = k[keep]
    first = np.r_[True, k[1:] != k[:-1]]
    rank = np.arange(len(k)) - np.maximum.accumulate(np.where(first, np.arange(len(k)), 0))
    at = keys.get_indexer(pd.Index(k))
    out = np.full(len(keys), "", dtype=object)
    for r in range(3):
        sel = (rank == r) & (at >= 0)
        out[at[sel]] = out[at[sel]] + ("" if r == 0 else "; ") + text[sel]
    more = np.zeros(len(keys), dtype=bool)
    more[at[(rank >= 3) & (at >= 0)]] = True
    out[more] = out[more] + "; …"
    return pd.Series(out, index=keys, dtype=object)
