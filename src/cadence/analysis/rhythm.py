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

import numpy as np
import pandas as pd

from cadence.analysis.settings import AnalysisSettings

_FREQ_DAYS = {"DAILY": 1.0, "WEEKLY": 7.0, "MONTHLY": 30.0, "YEARLY": 365.0}
TARGET_SOURCE = pd.CategoricalDtype(["rrule", "config", "inferred", "default"])


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


def occurrence_targets(occ: pd.DataFrame) -> pd.Series:
    """The target in force at each occurrence: its own RRULE, else the pair's latest series
    occurrence before it, else the pair's next one. NaN for pairs without any series."""
    own = occ["rule_days"]
    series = occ.loc[own.notna(), ["pair_key", "start"]].assign(t=own[own.notna()])
    series = series.sort_values("start", kind="stable")
    probe = occ[["pair_key", "start"]].reset_index().sort_values("start", kind="stable")
    back = pd.merge_asof(probe, series, on="start", by="pair_key", direction="backward")
    fwd = pd.merge_asof(probe, series, on="start", by="pair_key", direction="forward")
    found = back["t"].fillna(fwd["t"])
    found.index = probe["index"].to_numpy()
    return own.fillna(found.reindex(occ.index))


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
    live = occ["outcome"] != "cancelled"
    minutes = days(occ["duration"]) * 1440
    usual = minutes[live & ~occ["adhoc"]].groupby(occ["series"], observed=True).median()
    typical = occ["series"].map(usual).astype(float)
    short = live & ~occ["adhoc"] & (minutes < typical * ratio)
    return pd.Series(short.fillna(False).astype(bool), index=occ.index)


def pair_targets(
    occ: pd.DataFrame, as_of: pd.Timestamp, settings: AnalysisSettings
) -> pd.DataFrame:
    """Per pair: the target in force at ``as_of`` and where it came from."""
    keys = pd.Index(np.unique(occ["pair_key"]), name="pair_key")
    rr = occ.loc[occ["rule_days"].notna(), ["pair_key", "start", "rule_days"]]
    rr = rr.rename(columns={"rule_days": "t"}).sort_values("start", kind="stable")
    before = rr[rr["start"] <= as_of].groupby("pair_key")["t"].last()
    after = rr[rr["start"] > as_of].groupby("pair_key")["t"].first()
    target = before.reindex(keys).fillna(after.reindex(keys))
    source = pd.Series("default", index=keys, dtype="object")
    source[target.notna()] = "rrule"
    if settings.target_days is not None:
        source[target.isna()] = "config"
        target = target.fillna(settings.target_days)
    held = occ.loc[occ["outcome"] == "held", ["pair_key", "start"]].sort_values(
        "start", kind="stable"
    )
    gaps = days(held.groupby("pair_key")["start"].diff())
    inferred = gaps.groupby(held["pair_key"]).median()
    counts = gaps.groupby(held["pair_key"]).count()
    inferred = inferred[counts >= settings.infer_min_gaps].reindex(keys)
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
) -> pd.Series:
    """How many 1:1s the targets in force expect between each pair's span start and ``as_of``.

    Each series occurrence carries its RRULE's target until the pair's next
    series occurrence (the last one until ``as_of``): a pair that moved from
    weekly to fortnightly expects one meeting a week, then one a fortnight.
    Pairs without a series expect one meeting per pair-level target.
    """
    has_rule = occ["rule_days"].notna()
    rr = occ.loc[has_rule, ["pair_key", "original_start", "rule_days"]]
    rr = rr.rename(columns={"rule_days": "t"}).sort_values(["pair_key", "original_start"])
    us = _us(rr["original_start"])
    nxt = rr.groupby("pair_key")["original_start"].shift(-1)
    first = (~rr["pair_key"].duplicated()).to_numpy()
    now = as_of.value // 1000
    lo = _us(span_start.reindex(rr["pair_key"]))
    start = np.maximum(np.where(first, lo, us), lo)
    end = np.minimum(np.where(nxt.isna(), now, _us(nxt.fillna(as_of))), now)
    seg_days = np.maximum((end - start) / 86_400e6, 0.0)
    from_series = pd.Series(seg_days / rr["t"].to_numpy(), index=rr["pair_key"].to_numpy())
    expected = from_series.groupby(level=0).sum()
    span_days = days(as_of - span_start).clip(lower=0)
    plain = span_days / pair_target.reindex(span_start.index)
    return expected.reindex(span_start.index).fillna(plain)


def _us(values: pd.Series) -> np.ndarray:
    """Instants as int64 microseconds since the epoch (UTC)."""
    return np.asarray(values.dt.tz_convert("UTC").astype("datetime64[us, UTC]").array.asi8)


def local_hour(start: pd.Series, timezone: pd.Series) -> pd.Series:
    """Local start time of day in hours (per-row IANA zone; UTC where unknown)."""
    out = np.full(len(start), np.nan)
    codes, zones = pd.factorize(timezone.astype(object).fillna("UTC").to_numpy(dtype=object))
    instants = pd.DatetimeIndex(start.dt.tz_convert("UTC"))
    # one conversion per zone, on positions: the wall-clock minute of the day, as integers
    for code, zone in enumerate(zones):
        at = np.flatnonzero(codes == code)
        try:
            local = instants[at].tz_convert(str(zone))
        except (KeyError, ValueError, TypeError):
            local = instants[at]
        wall_us = np.asarray(local.tz_localize(None).as_unit("us").asi8)
        minute = (wall_us // 60_000_000) % 1440
        out[at] = minute // 60 + (minute % 60) / 60
    return pd.Series(out, index=start.index)


def gap_metrics(
    occ: pd.DataFrame,
    lo: pd.Timestamp,
    as_of: pd.Timestamp,
    targets: pd.Series,
    settings: AnalysisSettings,
) -> pd.DataFrame:
    """Per pair: median and longest gap, regularity, recent median gap, last held, days since."""
    cols = ["pair_key", "start"] + (["absent_before"] if "absent_before" in occ.columns else [])
    held = occ.loc[occ["outcome"] == "held", cols].sort_values(["pair_key", "start"])
    gap = days(held.groupby("pair_key")["start"].diff())
    if "absent_before" in held.columns:  # present time: the days either person was away
        gap = gap - held.groupby("pair_key")["absent_before"].diff()
    in_window = (held["start"] >= lo) & gap.notna()
    g = pd.DataFrame({"pair_key": held["pair_key"], "gap": gap, "end": held["start"]})[in_window]
    by = g.groupby("pair_key")["gap"]
    recent_span = np.maximum(
        settings.recent_weeks * 7,
        settings.recent_min_targets * targets.reindex(g["pair_key"]).to_numpy(),
    )
    recent = g[days(as_of - g["end"]) <= recent_span]
    last_held = held.groupby("pair_key")["start"].max()
    out = pd.DataFrame(
        {
            "median_gap_days": by.median(),
            "longest_gap_days": by.max(),
            "regularity": (by.std(ddof=0) / by.mean()).where(by.count() >= 2),
            "recent_median_gap_days": recent.groupby("pair_key")["gap"].median(),
            "last_held": last_held,
        }
    )
    return out
