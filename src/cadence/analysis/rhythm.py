"""The rhythm of each pair: target interval, replacements, gaps, adherence and drift.

Vocabulary (``shared/DESIGN.md``):

- **target interval**: from the RRULE of the series in force at each point in
  time (weekly → 7 d, every 2 weeks → 14 d, monthly → 30 d); else from
  settings; else inferred from the median gap of held meetings (flagged).
- **replaced**: a missed (cancelled or declined) past occurrence followed by an
  ad-hoc 1:1 of the same pair within ``replaced_within`` (half) of the target interval.
- **shortened**: scheduled shorter than ``shortened_ratio`` × the series' usual length.
- **gap**: days between consecutive held 1:1s (ad-hoc ones count), measured on
  present time: the days either person was away (:mod:`.absence`) left out.
- **adherence**: held 1:1s in the window ÷ the 1:1s the targets in force expect.
- **drift**: recent median gap ÷ target; also how the local start time and the
  scheduled length moved between the first and the second half of the window.

Everything is grouped by an integer ``pair_key``; no Python loop over pairs.
(The module is ``rhythm``, not ``cadence``: that is the package's name.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cadence.analysis.settings import AnalysisSettings

_FREQ_DAYS = {"DAILY": 1.0, "WEEKLY": 7.0, "MONTHLY": 30.0, "YEARLY": 365.0}
TARGET_SOURCE = pd.CategoricalDtype(["rrule", "config", "inferred", "default"])


@dataclass(frozen=True)
class PairOrder:
    """The occurrences in (``pair_key``, ``start``) order, ties in row order: each pair one
    run of rows. Built once per analysis (:func:`pair_order`); the per-pair figures below
    read their rows through it instead of sorting and grouping a frame again."""

    order: np.ndarray  # row positions in that order
    keys: np.ndarray  # the distinct pair keys, ascending
    group: np.ndarray  # per sorted row: its pair's position in ``keys``
    bounds: np.ndarray  # each pair's first sorted row, then the number of rows
    start: np.ndarray  # the sorted starts, int64 nanoseconds
    row_group: np.ndarray  # per row (in the frame's order): its pair's position in ``keys``

    def first(self, mask: np.ndarray) -> np.ndarray:
        """Per pair, the first sorted row where ``mask`` (sorted) holds; -1 where none."""
        if not len(self.keys):
            return np.zeros(0, dtype=np.int64)
        n = len(self.order)
        pos = np.minimum.reduceat(np.where(mask, np.arange(n), n), self.bounds[:-1])
        return np.where(pos < n, pos, -1)

    def last(self, mask: np.ndarray) -> np.ndarray:
        """Per pair, the last sorted row where ``mask`` (sorted) holds; -1 where none."""
        if not len(self.keys):
            return np.zeros(0, dtype=np.int64)
        return np.maximum.reduceat(np.where(mask, np.arange(len(self.order)), -1), self.bounds[:-1])


def pair_order(occ: pd.DataFrame) -> PairOrder:
    """:class:`PairOrder` of ``occ`` (``pair_key``, ``start``)."""
    key = occ["pair_key"].to_numpy().astype(np.int64)
    start = ns(occ["start"])
    order = sort_order(key, start)
    sorted_key = key[order]
    new = np.r_[True, sorted_key[1:] != sorted_key[:-1]] if len(key) else np.zeros(0, bool)
    bounds = np.r_[np.flatnonzero(new), len(key)]
    group = np.cumsum(new) - 1
    row_group = np.empty(len(key), dtype=np.int64)
    row_group[order] = group
    return PairOrder(order, sorted_key[bounds[:-1]], group, bounds, start[order], row_group)


def sort_order(key: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Positions sorting by ``key`` then ``values`` (int64), ties in row order: a stable
    lexsort, done as one sort of a combined integer when it fits in 63 bits."""
    n = len(key)
    if not n:
        return np.zeros(0, dtype=np.int64)
    codes, uniques = pd.factorize(values)
    low = int(key.min())
    if int(key.max()) - low + 1 > (2**62 // max(len(uniques), 1)) // n:
        return np.lexsort((values, key))
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.argsort(uniques)] = np.arange(len(uniques))
    combined = ((key - low) * len(uniques) + rank[codes]) * n + np.arange(n)
    return np.sort(combined) % n


def ns(values: pd.Series) -> np.ndarray:
    """Instants as int64 nanoseconds since the epoch (NaT as the minimum int64)."""
    return np.asarray(pd.DatetimeIndex(values).as_unit("ns").asi8)


def days_ns(delta: np.ndarray) -> np.ndarray:
    """int64 nanosecond timedeltas → float days, as :func:`days` computes them."""
    return np.asarray(pd.TimedeltaIndex(delta.view("m8[ns]")).total_seconds()) / 86_400


def medians(values: np.ndarray, group: np.ndarray, size: int) -> np.ndarray:
    """Per group position (``0 .. size - 1``), the median of ``values``; NaN where none."""
    out = np.full(size, np.nan)
    if len(values):
        found = pd.Series(values).groupby(group).median()
        out[found.index.to_numpy()] = found.to_numpy()
    return out


def days(delta: pd.Series) -> pd.Series:
    """Timedeltas → float days."""
    return pd.Series(delta.dt.total_seconds() / 86_400, index=delta.index)


def rrule_days(recurrence: pd.Series) -> pd.Series:
    """Target interval in days implied by each RRULE text (NaN where there is none).

    ``FREQ=WEEKLY;INTERVAL=2`` → 14; ``FREQ=WEEKLY;BYDAY=MO,TH`` → 3.5;
    ``FREQ=MONTHLY`` → 30. Parsed once per distinct rule.

    >>> rules = pd.Series(["FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", "RRULE:FREQ=MONTHLY", None])
    >>> rrule_days(rules).tolist()
    [14.0, 30.0, nan]
    """
    codes, uniques = pd.factorize(recurrence)
    parsed = np.array([_rule_days(str(u)) for u in uniques] + [np.nan])
    return pd.Series(parsed[codes], index=recurrence.index)


def _rule_days(rule: str) -> float:
    parts = dict(
        p.split("=", 1) for p in re.split(r"[;\n]", rule.upper().replace("RRULE:", "")) if "=" in p
    )
    base = _FREQ_DAYS.get(parts.get("FREQ", ""), np.nan)
    try:
        interval = max(1, int(parts.get("INTERVAL", "1")))
    except ValueError:
        interval = 1
    per_period = (
        len(parts["BYDAY"].split(",")) if parts.get("FREQ") == "WEEKLY" and "BYDAY" in parts else 1
    )
    return float(base * interval / per_period)


def occurrence_targets(occ: pd.DataFrame, by: PairOrder | None = None) -> pd.Series:
    """The target in force at each occurrence: its own RRULE, else the pair's latest series
    occurrence before it, else the pair's next one. NaN for pairs without any series.

    Of several series occurrences at one instant, the latest is the last in row order and
    the next the first (``by``: :func:`pair_order` of ``occ``, computed when not given)."""
    by = by if by is not None else pair_order(occ)
    n = len(by.order)
    own = occ["rule_days"].to_numpy(dtype=float)
    if not n:
        return pd.Series(own, index=occ.index)
    t = own[by.order]
    has = ~np.isnan(t)
    at = np.arange(n)
    # the rows of one pair at one instant: each row looks up from its instant's last row
    # (latest before) and its first (next after)
    tie = np.r_[True, (by.group[1:] != by.group[:-1]) | (by.start[1:] != by.start[:-1])]
    tie_id = np.cumsum(tie) - 1
    tie_first = np.flatnonzero(tie)
    tie_last = np.r_[tie_first[1:], n] - 1
    back = np.maximum.accumulate(np.where(has, at, -1))[tie_last[tie_id]]
    fwd = np.minimum.accumulate(np.where(has, at, n)[::-1])[::-1][tie_first[tie_id]]
    back_ok = (back >= 0) & (by.group[np.maximum(back, 0)] == by.group)
    fwd_ok = (fwd < n) & (by.group[np.minimum(fwd, n - 1)] == by.group)
    found = np.where(
        back_ok, t[np.maximum(back, 0)], np.where(fwd_ok, t[np.minimum(fwd, n - 1)], np.nan)
    )
    out = np.empty(n)
    out[by.order] = np.where(has, t, found)
    return pd.Series(out, index=occ.index)


def mark_replaced(occ: pd.DataFrame, as_of: pd.Timestamp, within: float = 0.5) -> pd.Series:
    """True for missed past occurrences that an ad-hoc 1:1 made up for.

    The ad-hoc 1:1 (held) must come after the miss, within ``within`` × the
    target in force (``AnalysisSettings.replaced_within``, half by default).

    >>> t = lambda d: pd.Timestamp(d, tz="UTC")
    >>> occ = pd.DataFrame({
    ...     "pair_key": [0, 0, 0],
    ...     "start": [t("2026-06-01"), t("2026-06-03"), t("2026-06-08")],
    ...     "outcome": ["cancelled", "held", "held"],
    ...     "adhoc": [False, True, False],
    ...     "target_days": [7.0, 7.0, 7.0],
    ... })
    >>> mark_replaced(occ, t("2026-06-30")).tolist()
    [True, False, False]
    """
    missed = occ["outcome"].isin(["cancelled", "declined"]) & (occ["start"] < as_of)
    stand_in = occ["adhoc"] & (occ["outcome"] == "held")
    left = (
        occ.loc[missed, ["pair_key", "start", "target_days"]]
        .reset_index()
        .sort_values("start", kind="stable")
    )
    right = occ.loc[stand_in, ["pair_key", "start"]].rename(columns={"start": "adhoc_start"})
    right = right.sort_values("adhoc_start")
    if left.empty or right.empty:
        return pd.Series(False, index=occ.index)
    hit = pd.merge_asof(
        left,
        right,
        left_on="start",
        right_on="adhoc_start",
        by="pair_key",
        direction="forward",
        allow_exact_matches=False,
    )
    close = days(hit["adhoc_start"] - hit["start"]) <= hit["target_days"] * within
    hit = hit[close.fillna(False)]
    # one catch-up makes up for one miss: the closest one before it
    hit = hit.sort_values("start", kind="stable").drop_duplicates(
        ["pair_key", "adhoc_start"], keep="last"
    )
    out = pd.Series(False, index=occ.index)
    out.loc[hit["index"].to_numpy()] = True
    return out


def mark_shortened(occ: pd.DataFrame, ratio: float) -> pd.Series:
    """Series occurrences scheduled shorter than ``ratio`` × the series' median length."""
    live = (occ["outcome"] != "cancelled").to_numpy(dtype=bool)
    own = live & ~occ["adhoc"].to_numpy(dtype=bool)
    minutes = days_ns(occ["duration"].array.as_unit("ns").asi8) * 1440
    series, names = pd.factorize(occ["series"])  # no series: -1
    counted = own & (series >= 0)
    usual = np.r_[medians(minutes[counted], series[counted], len(names)), np.nan]
    typical = usual[series]  # -1: the last, NaN
    return pd.Series(own & (minutes < typical * ratio), index=occ.index)


def held_gaps(occ: pd.DataFrame, by: PairOrder) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The held 1:1s in ``by``'s order: their sorted positions, their pair's position, and
    the days since the pair's previous held 1:1 (NaN for a pair's first)."""
    held = np.flatnonzero((occ["outcome"] == "held").to_numpy(dtype=bool)[by.order])
    group = by.group[held]
    same = np.r_[False, group[1:] == group[:-1]] if len(held) else np.zeros(0, dtype=bool)
    gap = np.full(len(held), np.nan)
    gap[same] = days_ns(np.diff(by.start[held]))[same[1:]]
    return held, group, gap


def pair_targets(
    occ: pd.DataFrame,
    as_of: pd.Timestamp,
    settings: AnalysisSettings,
    by: PairOrder | None = None,
) -> pd.DataFrame:
    """Per pair: the target in force at ``as_of`` and where it came from.

    The rule of the pair's last series occurrence by ``as_of`` (of several at one instant,
    the last in row order), else of its first after; else the settings; else the median
    gap of its held 1:1s; else the fallback."""
    by = by if by is not None else pair_order(occ)
    keys = pd.Index(by.keys, name="pair_key")
    t = occ["rule_days"].to_numpy(dtype=float)[by.order]
    has = ~np.isnan(t)
    now = as_of.value
    before = by.last(has & (by.start <= now))
    after = by.first(has & (by.start > now))
    found = np.where(
        before >= 0, t[np.maximum(before, 0)], np.where(after >= 0, t[np.maximum(after, 0)], np.nan)
    )
    target = pd.Series(found, index=keys)
    source = pd.Series("default", index=keys, dtype="object")
    source[target.notna()] = "rrule"
    if settings.target_days is not None:
        source[target.isna()] = "config"
        target = target.fillna(settings.target_days)
    _, group, gap = held_gaps(occ, by)
    same = ~np.isnan(gap)
    gaps, gap_group = gap[same], group[same]
    inferred = pd.Series(medians(gaps, gap_group, len(keys)), index=keys)
    counts = np.bincount(gap_group, minlength=len(keys))
    inferred = inferred.where(counts >= settings.infer_min_gaps)
    use = target.isna() & inferred.notna()
    source[use] = "inferred"
    target = target.fillna(inferred)
    target = target.fillna(settings.fallback_target_days)
    return pd.DataFrame(
        {
            "target_days": target.astype(float),
            "target_source": pd.Categorical(source, dtype=TARGET_SOURCE),
        },
        index=keys,
    )


def expected_meetings(
    occ: pd.DataFrame,
    span_start: pd.Series,
    as_of: pd.Timestamp,
    pair_target: pd.Series,
    by: PairOrder | None = None,
) -> pd.Series:
    """How many 1:1s the targets in force expect between each pair's span start and ``as_of``.

    Each series occurrence carries its RRULE's target until the pair's next
    series occurrence (the last one until ``as_of``): a pair that moved from
    weekly to fortnightly expects one meeting a week, then one a fortnight.
    Pairs without a series expect one meeting per pair-level target.
    """
    by = by if by is not None else pair_order(occ)
    rule = occ["rule_days"].to_numpy(dtype=float)
    rows = np.flatnonzero(~np.isnan(rule))
    group = by.row_group[rows]
    original = _us(occ["original_start"])[rows]
    order = sort_order(group, original)  # by pair, then original start
    rows, group, us = rows[order], group[order], original[order]
    last = np.r_[group[1:] != group[:-1], True] if len(rows) else np.zeros(0, bool)
    first = np.r_[True, last[:-1]] if len(rows) else last
    now = as_of.value // 1000
    span = span_start.reindex(pd.Index(by.keys))
    lo = _us(span)[group]
    start = np.maximum(np.where(first, lo, us), lo)
    nxt = np.r_[us[1:], now] if len(rows) else us
    end = np.minimum(np.where(last, now, nxt), now)
    seg_days = np.maximum((end - start) / 86_400e6, 0.0)
    from_series = pd.Series(seg_days / rule[rows], index=by.keys[group])
    expected = from_series.groupby(level=0).sum()
    span_days = days(as_of - span_start).clip(lower=0)
    plain = span_days / pair_target.reindex(span_start.index)
    return expected.reindex(span_start.index).fillna(plain)


def _us(values: pd.Series) -> np.ndarray:
    """Instants as int64 microseconds since the epoch (UTC)."""
    return np.asarray(values.dt.tz_convert("UTC").astype("datetime64[us, UTC]").array.asi8)


def wall_clock_us(us: np.ndarray, zone: pd.Series) -> np.ndarray:
    """Each instant (int64 microseconds, UTC) as its local wall-clock time in its row's IANA
    zone, one conversion per distinct zone; an unknown or unreadable zone reads as UTC."""
    out = np.asarray(us, dtype=np.int64).copy()
    codes, zones = pd.factorize(zone)
    for z, name in enumerate(zones):
        rows = np.flatnonzero(codes == z)
        stamps = pd.DatetimeIndex(out[rows].view("datetime64[us]")).tz_localize("UTC")
        try:
            local = stamps.tz_convert(str(name))
        except (KeyError, ValueError, TypeError):
            continue
        out[rows] = local.tz_localize(None).asi8
    return out


def local_hour(start: pd.Series, timezone: pd.Series) -> pd.Series:
    """Local start time of day in hours (per-row IANA zone; UTC where unknown)."""
    us = np.asarray(pd.DatetimeIndex(start).tz_convert("UTC").as_unit("us").asi8)
    minute = (wall_clock_us(us, timezone) // 60_000_000) % 1440
    return pd.Series(minute // 60 + (minute % 60) / 60, index=start.index)


def gap_metrics(
    occ: pd.DataFrame,
    lo: pd.Timestamp,
    as_of: pd.Timestamp,
    targets: pd.Series,
    settings: AnalysisSettings,
    by: PairOrder | None = None,
) -> pd.DataFrame:
    """Per pair (every key of ``by``): median and longest gap, regularity, recent median gap,
    last held."""
    by = by if by is not None else pair_order(occ)
    size = len(by.keys)
    held, group, gap = held_gaps(occ, by)
    when = by.start[held]
    same = ~np.isnan(gap)
    if "absent_before" in occ.columns:  # present time: the days either person was away
        absent = occ["absent_before"].to_numpy(dtype=float)[by.order[held]]
        gap[same] = gap[same] - np.diff(absent)[same[1:]]
    in_window = (when >= lo.value) & ~np.isnan(gap)
    g, gap_group, end = gap[in_window], group[in_window], when[in_window]
    target = targets.reindex(pd.Index(by.keys)).to_numpy(dtype=float)
    recent_span = np.maximum(
        settings.recent_weeks * 7, settings.recent_min_targets * target[gap_group]
    )
    recent = days_ns(as_of.value - end) <= recent_span
    out = pd.DataFrame(index=pd.Index(by.keys, name="pair_key"))
    for name in ("median_gap_days", "longest_gap_days", "regularity"):
        out[name] = np.nan
    if len(g):
        each = pd.Series(g).groupby(gap_group)
        at = each.size().index.to_numpy()
        out.iloc[at, 0] = each.median().to_numpy()
        out.iloc[at, 1] = each.max().to_numpy()
        out.iloc[at, 2] = (each.std(ddof=0) / each.mean()).where(each.count() >= 2).to_numpy()
    out["recent_median_gap_days"] = medians(g[recent], gap_group[recent], size)
    held_mask = np.zeros(len(by.order), dtype=bool)
    held_mask[held] = True
    last = by.last(held_mask)
    rows = np.where(last >= 0, by.order[np.maximum(last, 0)], -1)
    out["last_held"] = occ["start"].array.take(rows, allow_fill=True)
    return out
