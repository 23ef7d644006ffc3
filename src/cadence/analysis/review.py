"""The organisation review's figures (HR), computed once: groups, coverage, cadence buckets,
rates, and their change since the previous review.

Group membership is defined here and only here (:func:`group_keys`): a pair
belongs to the **department** and **team** of its report (``membership =
"report"``, the default) or of its manager (``membership = "manager"``); its
**manager level** is its manager's level in the roster tree (1 = reports to
nobody in the roster) whichever membership is configured; its **manager** is
its manager. A peer pair (no roster) has no manager and takes the department
of neither.

Privacy comes first. A group's size is the number of distinct people whose
1:1s it aggregates (the reports; both people for a peer pair). A group smaller
than ``min_group_size`` is never shown on its own: small groups are pooled
into one "other" row, and when that pool is itself too small, the smallest
shown groups join it until it is not — so no small group can be worked out by
subtracting the shown rows from the total either. The manager drill-down
applies the same rule inside each department (:func:`group_summary`).

**Coverage** is per person, not per pair: a report is *covered* when one of
their direct 1:1 pairs held a 1:1 in the last ``coverage_weeks`` weeks.
Which reports count is one column, ``counted`` of :func:`coverage_people`:
today every report whose pair status is not in :data:`NOT_COUNTED` (a pair
status such as ``on_leave`` listed there is left out of the denominator, the
hook for "coverage not counting people on leave").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from cadence.analysis import display
from cadence.analysis.engine import Analysis
from cadence.errors import ConfigError
from cadence.model import STRING

GroupBy = Literal["department", "team", "manager", "manager_level"]
Membership = Literal["report", "manager"]
GROUPINGS: dict[str, str] = {
    "department": "department",
    "team": "team",
    "manager": "manager",
    "manager_level": "manager level",
}
MEMBERSHIPS = ("report", "manager")
STATUSES = ("healthy", "watch", "at_risk", "lapsed")
COUNTS = ("cancelled", "late_cancelled", "late_unknown", "past")
DEFAULT_MIN_GROUP = 5
DEFAULT_COVERAGE_WEEKS = 4
OTHER = "other groups (each under {k} people)"
SUPPRESSED = "suppressed: fewer than {k} people"
WHOLE = "whole organisation"
# pair statuses whose reports coverage leaves out of its denominator (the leave hook)
NOT_COUNTED: tuple[str, ...] = ("on_leave",)

# How often a pair meets, from its median gap between held 1:1s in the window (days, upper
# bounds, inclusive): the buckets HR tools use. A pair with one held 1:1 and no gap in the
# window meets "less often"; a pair with none held is "none in the window".
BUCKETS = ("weekly", "every 2 weeks", "monthly", "less often", "none in the window")
BUCKET_UPPER_DAYS = {"weekly": 10.5, "every 2 weeks": 21.0, "monthly": 45.0}
NO_SERIES = "no series"
INTENDED = (*BUCKETS[:4], NO_SERIES)

# A labelled external reference, not a target: a 2021 survey of 15,000+ professionals by a
# scheduling vendor found 1:1s cancelled 29.6 % and rescheduled 42.4 % of the time.
REFERENCE_SOURCE = "2021 study of 15,000+ professionals by a scheduling vendor"
REFERENCE: dict[str, float] = {"cancellation_rate": 0.296, "moved_rate": 0.424}
RATES = ("cancellation_rate", "moved_rate", "decline_rate", "late_cancel_rate")


@dataclass(frozen=True)
class ReviewSettings:
    """How the review groups and what it calls recent (the ``[report]`` keys of the config)."""

    min_group_size: int = DEFAULT_MIN_GROUP
    coverage_weeks: int = DEFAULT_COVERAGE_WEEKS
    membership: Membership = "report"

    def __post_init__(self) -> None:
        check_min_group_size(self.min_group_size)
        if int(self.coverage_weeks) < 1:
            raise ConfigError(f"coverage_weeks must be at least 1, got {self.coverage_weeks}")
        if self.membership not in MEMBERSHIPS:
            raise ConfigError(
                f"group membership must be one of {', '.join(MEMBERSHIPS)}, got {self.membership!r}"
            )


def check_min_group_size(k: int) -> int:
    if int(k) < 2:
        raise ConfigError(f"min_group_size must be at least 2, got {k}")
    return int(k)


def manager_levels(roster: pd.DataFrame) -> pd.Series:
    """email → level in the roster tree (1 = reports to nobody in the roster).

    >>> roster = pd.DataFrame({"email": ["a", "b", "c"], "manager_email": [None, "a", "b"]})
    >>> manager_levels(roster).to_dict()
    {'a': 1, 'b': 2, 'c': 3}
    """
    emails = pd.Index(roster["email"].to_numpy(dtype=object))
    parent = emails.get_indexer(pd.Index(roster["manager_email"].to_numpy(dtype=object)))
    level = np.ones(len(emails), dtype=np.int64)
    current = parent.copy()
    for _ in range(len(emails)):  # one step up the tree per pass (the roster has no cycle)
        up = current >= 0
        if not up.any():
            break
        level[up] += 1
        current = np.where(up, parent[np.maximum(current, 0)], -1)
    return pd.Series(level, index=emails)


def _levels(roster: pd.DataFrame) -> pd.Series:
    hit = _CACHE.get("levels")
    if hit is not None and hit[0] is roster:
        return hit[1]  # type: ignore[no-any-return]
    levels = manager_levels(roster)
    _CACHE["levels"] = (roster, levels)
    return levels


def group_keys(analysis: Analysis, by: GroupBy, membership: Membership = "report") -> pd.Series:
    """The group each pair belongs to (the one definition; see the module doc).

    >>> import cadence
    >>> org = cadence.load_demo(30, seed=3, as_of="2026-06-30")
    >>> result = cadence.analyze(org, org.roster, as_of="2026-06-30")
    >>> keys = group_keys(result, "department")
    >>> bool((keys == result.pairs["department"]).all())
    True
    """
    p = analysis.pairs
    if by == "manager":
        return p["manager"].astype(object).fillna("(peer pairs)")
    if by == "manager_level":
        if analysis.roster is None:
            raise ConfigError("grouping by manager level needs a roster")
        levels = _levels(analysis.roster)
        names = pd.Series([f"level {int(v)}" for v in levels.to_numpy()], index=levels.index)
        return p["manager"].astype(object).map(names).fillna("(not in roster)").astype(object)
    if by in ("department", "team"):
        missing = f"(no {by})"
        roster = analysis.roster
        if membership == "report" and by == "department":
            return p["department"].astype(object).fillna(missing)
        if roster is None or by not in roster.columns:
            return pd.Series(missing, index=p.index, dtype=object)
        attribute = roster.set_index("email")[by].astype(object)
        person = p["report"] if membership == "report" else p["manager"]
        return person.astype(object).map(attribute).fillna(missing)
    raise ConfigError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")


def members(p: pd.DataFrame) -> pd.DataFrame:
    """(pair index ``row``, ``person``) for every person whose 1:1s a pair stands for."""
    return _cached_members(p)


def group_sizes(analysis: Analysis, by: GroupBy, membership: Membership = "report") -> pd.Series:
    """People (the privacy size) in each group of ``by``, before any pooling."""
    mem = _cached_members(analysis.pairs)
    key = group_keys(analysis, by, membership).to_numpy(dtype=object)[mem["row"].to_numpy()]
    codes, names = pd.factorize(key)
    person, _ = pd.factorize(mem["person"])
    return pd.Series(_distinct(codes, person, len(names)), index=pd.Index(names, dtype=object))


def _members(p: pd.DataFrame) -> pd.DataFrame:
    report = p["report"].astype(object)
    own = pd.DataFrame({"row": p.index[report.notna()], "person": report[report.notna()]})
    peers = p[report.isna()]
    both = pd.DataFrame(
        {
            "row": np.concatenate([peers.index, peers.index]),
            "person": np.concatenate(
                [peers["person_a"].astype(object), peers["person_b"].astype(object)]
            ),
        }
    )
    return pd.concat([own, both], ignore_index=True)


def cadence_buckets(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per pair: how often it meets (``bucket``) and what its series intend (``intended``).

    >>> p = pd.DataFrame({"median_gap_days": [7.0, 14.0, None, None, 60.0],
    ...                   "held": [9, 6, 1, 0, 2], "target_days": [7.0, 7.0, 14.0, 14.0, 30.0],
    ...                   "target_source": ["rrule", "rrule", "rrule", "default", "inferred"]})
    >>> cadence_buckets(p).to_numpy().tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['weekly', 'weekly'], ['every 2 weeks', 'weekly'], ['less often', 'every 2 weeks'],
     ['none in the window', 'no series'], ['less often', 'no series']]
    """

    def bucket(days: pd.Series) -> np.ndarray:
        bounds = [BUCKET_UPPER_DAYS[b] for b in BUCKETS[:3]]
        d = days.to_numpy(dtype="float64")
        return np.select(
            [d <= bounds[0], d <= bounds[1], d <= bounds[2]],
            list(BUCKETS[:3]),
            BUCKETS[3],
        )

    held = pairs["held"].to_numpy()
    actual = np.where(held == 0, BUCKETS[4], bucket(pairs["median_gap_days"]))
    from_series = pairs["target_source"].astype(str).to_numpy() == "rrule"
    intended = np.where(from_series, bucket(pairs["target_days"]), NO_SERIES)
    return pd.DataFrame(
        {
            "bucket": pd.Categorical(actual, categories=list(BUCKETS)),
            "intended": pd.Categorical(intended, categories=list(INTENDED)),
        },
        index=pairs.index,
    )


def coverage_people(analysis: Analysis, weeks: int = DEFAULT_COVERAGE_WEEKS) -> pd.DataFrame:
    """One row per report (distinct person): ``row`` (their first direct pair), ``covered``
    (a held 1:1 with a direct manager in the last ``weeks`` weeks) and ``counted`` (in the
    denominator; ``False`` for pairs whose status is in :data:`NOT_COUNTED`).

    Only direct pairs (relation ``report``) count: a skip-level 1:1 does not cover anyone.

    >>> import cadence
    >>> org = cadence.load_demo(30, seed=3, as_of="2026-06-30")
    >>> people = coverage_people(cadence.analyze(org, org.roster, as_of="2026-06-30"))
    >>> bool(people["person"].is_unique)
    True
    """
    if int(weeks) < 1:
        raise ConfigError(f"coverage_weeks must be at least 1, got {weeks}")
    span = pd.Timedelta(weeks=int(weeks))
    lo, hi = analysis.window
    if span > hi - lo:
        raise ConfigError(
            f"coverage_weeks ({weeks}) is longer than the analysis window "
            f"({(hi - lo).days} days): lower [report] coverage_weeks or widen [analysis] window"
        )
    p = analysis.pairs
    direct = p[p["report"].notna() & (p["relation"].astype(str) == "report")]
    recent = (direct["last_held"] >= analysis.as_of - span).fillna(False).to_numpy(dtype=bool)
    counted = ~direct["status"].astype(str).isin(NOT_COUNTED).to_numpy()
    frame = pd.DataFrame(
        {
            "row": direct.index,
            "person": direct["report"].astype(object).to_numpy(),
            "covered": recent,
            "counted": counted,
        }
    )
    out = frame.groupby("person", sort=False).agg(
        row=("row", "first"), covered=("covered", "any"), counted=("counted", "any")
    )
    return out.reset_index()


@dataclass
class _Base:
    """What every grouping of one analysis shares, computed once (plain numpy arrays)."""

    pairs: pd.DataFrame
    weeks: int
    member_row: np.ndarray  # (pair row, person code) of every person a pair stands for
    member_person: np.ndarray
    manager: np.ndarray  # manager code per pair, -1 for none
    status: np.ndarray
    counts: dict[str, np.ndarray]
    expected: np.ndarray
    adherence: pd.Series
    people_row: np.ndarray  # per counted report: their first direct pair, and covered
    people_covered: np.ndarray
    bucket: np.ndarray
    intended: np.ndarray
    whole: pd.DataFrame | None = None
    whole_sources: Any = None


_CACHE: dict[str, Any] = {}
_SUMMED = (
    "held",
    "cancelled",
    "late_cancelled",
    "late_unknown",
    "declined",
    "moved",
    "excused",
    "past",
)


def _base(analysis: Analysis, weeks: int) -> _Base:
    """The shared arrays of ``analysis`` (the last one is kept: a report asks for several
    groupings of the same analysis in a row)."""
    p = analysis.pairs
    hit = _CACHE.get("base")
    if hit is not None and hit.pairs is p and hit.weeks == int(weeks):
        return hit  # type: ignore[no-any-return]
    mem = members(p)
    person, _ = pd.factorize(mem["person"])
    manager, _ = pd.factorize(p["manager"].astype(object))
    people = coverage_people(analysis, weeks)
    counted = people[people["counted"]]
    b = cadence_buckets(p)
    base = _Base(
        pairs=p,
        weeks=int(weeks),
        member_row=mem["row"].to_numpy(dtype=np.int64),
        member_person=person.astype(np.int64),
        manager=manager.astype(np.int64),
        status=p["status"].astype(str).to_numpy(dtype=object),
        counts={c: p[c].to_numpy(dtype="float64") for c in _SUMMED},
        expected=p["expected"].to_numpy(dtype="float64"),
        adherence=pd.Series(p["adherence"].astype("float64").to_numpy()),
        people_row=counted["row"].to_numpy(dtype=np.int64),
        people_covered=counted["covered"].to_numpy(dtype=bool),
        bucket=b["bucket"].astype(str).to_numpy(dtype=object),
        intended=b["intended"].astype(str).to_numpy(dtype=object),
    )
    _CACHE["base"] = base
    return base


def _cached_members(p: pd.DataFrame) -> pd.DataFrame:
    hit = _CACHE.get("members")
    if hit is not None and hit[0] is p:
        return hit[1]  # type: ignore[no-any-return]
    mem = _members(p)
    _CACHE["members"] = (p, mem)
    return mem


def _distinct(groups: np.ndarray, items: np.ndarray, n: int) -> np.ndarray:
    """Per group code 0..n-1: how many distinct non-negative ``items`` it holds."""
    keep = items >= 0
    pairs = np.unique(groups[keep] * (int(items.max(initial=0)) + 1) + items[keep])
    return np.bincount(pairs // (int(items.max(initial=0)) + 1), minlength=n)


def _rollup(base: _Base, key: pd.Series) -> pd.DataFrame:
    """Figures per group of ``key`` (one value per pair), counted with ``bincount``."""
    codes, names = pd.factorize(key.to_numpy(dtype=object), sort=True)
    n = len(names)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values, minlength=n)

    def count(values: np.ndarray, name: str) -> np.ndarray:
        return np.bincount(codes, weights=values == name, minlength=n).astype(np.int64)

    sums = {c: total(v) for c, v in base.counts.items()}
    past = pd.Series(sums["past"]).where(lambda x: x > 0).to_numpy()
    expected = total(base.expected)
    pcodes = codes[base.people_row]
    reports = np.bincount(pcodes, minlength=n)
    uncovered = np.bincount(pcodes, weights=~base.people_covered, minlength=n)
    adherence = base.adherence.groupby(codes)
    late = sums["late_cancelled"]
    out = pd.DataFrame(
        {
            "people": _distinct(codes[base.member_row], base.member_person, n),
            "managers": _distinct(codes, base.manager, n),
            "pairs": np.bincount(codes, minlength=n),
            "reports": reports,
            "uncovered": uncovered,
            **{s: count(base.status, s) for s in STATUSES},
            "held": sums["held"],
            "expected": np.round(expected, 1),
            "adherence": sums["held"] / np.where(expected > 0, expected, np.nan),
            "adherence_p25": adherence.quantile(0.25).reindex(range(n)).to_numpy(),
            "adherence_median": adherence.median().reindex(range(n)).to_numpy(),
            "adherence_p75": adherence.quantile(0.75).reindex(range(n)).to_numpy(),
            "cancellation_rate": sums["cancelled"] / past,
            # known late only; NaN where none is known and some are unknown (never a 0 % for
            # what the sources cannot show); a lower bound while late_unknown > 0
            "late_cancel_rate": np.where(
                (late > 0) | (sums["late_unknown"] == 0), late / past, np.nan
            ),
            "cancelled": sums["cancelled"],
            "late_cancelled": late,
            "late_unknown": sums["late_unknown"],
            "declined": sums["declined"],
            "moved": sums["moved"],
            "past": sums["past"],
            "decline_rate": sums["declined"] / past,
            "moved_rate": sums["moved"] / past,
            # slots missed while someone was away (out of office, public holiday): not misses
            "excused": sums["excused"],
            "excused_rate": sums["excused"] / past,
        },
        index=pd.Index(names, dtype=object),
    )
    out["uncovered_share"] = out["uncovered"] / out["reports"].where(out["reports"] > 0)
    for s in STATUSES:
        out[f"{s}_share"] = out[s] / out["pairs"]
    out["attention_share"] = (out["lapsed"] + out["at_risk"]) / out["pairs"]
    for col, values, labels in (
        ("bucket", base.bucket, BUCKETS),
        ("intended", base.intended, INTENDED),
    ):
        for name in labels:
            out[f"{col}:{name}"] = count(values, name)
    return out


def _pool(
    size: pd.Series, mem: pd.DataFrame, mkey: np.ndarray, k: int, small: set[Any]
) -> set[Any]:
    """``small`` plus the smallest groups of ``size`` that must join it for the pool to reach k."""
    if not small:
        return small
    keys = pd.Series(mkey)
    person = mem["person"].to_numpy()

    def pooled(groups: set[Any]) -> int:
        return int(pd.unique(person[keys.isin(list(groups)).to_numpy()]).size)

    count = pooled(small)
    for name in size[~size.index.isin(list(small))].sort_values().index:
        if count >= k or len(small) == len(size):
            break
        small = small | {name}
        count = pooled(small)
    return small


def group_summary(
    analysis: Analysis,
    by: GroupBy = "department",
    *,
    min_group_size: int = DEFAULT_MIN_GROUP,
    coverage_weeks: int = DEFAULT_COVERAGE_WEEKS,
    membership: Membership = "report",
) -> pd.DataFrame:
    """One row per group: people, pairs, coverage, status counts and shares, adherence,
    rates, cadence buckets (``bucket:<name>`` and ``intended:<name>`` pair counts).

    Groups under ``min_group_size`` people are pooled (see the module doc);
    ``suppressed`` marks a row whose figures are withheld. The last row is the
    whole organisation. For ``by="manager"`` each row has the ``department`` most
    of its pairs belong to (a shown department, else the "other groups" pool) and
    its ``level``; inside each department the managers not shown cover no one or
    at least ``min_group_size`` people, so no small team can be worked out from a
    department's row either.

    Examples
    --------
    >>> import cadence
    >>> org = cadence.load_demo(60, seed=3, as_of="2026-06-30")
    >>> result = cadence.analyze(org, org.roster, as_of="2026-06-30")
    >>> table = group_summary(result, "department", min_group_size=5)
    >>> bool((table.loc[~table["suppressed"], "people"] >= 5).all())
    True
    >>> table["group"].iloc[-1]
    'whole organisation'
    """
    k = check_min_group_size(min_group_size)
    p = analysis.pairs
    if p.empty:
        return _empty()
    base = _base(analysis, coverage_weeks)
    pooled_key, dept_of, small = _pooled(analysis, by, k, membership)
    other = OTHER.format(k=k)
    table = _rollup(base, pooled_key)
    table.index.name = "group"
    table = table.reset_index()
    table["group"] = table["group"].astype(str)
    table["pooled_groups"] = np.where(table["group"] == other, len(small), 1)
    if base.whole is None:  # the same for every grouping
        base.whole = _rollup(base, pd.Series(WHOLE, index=p.index)).reset_index(names="group")
        base.whole["pooled_groups"] = 0
    total = base.whole
    named = table[table["group"] != other]
    ranked = (
        named.sort_values("group")
        if by == "manager_level"
        else named.sort_values(["uncovered_share", "attention_share"], ascending=False)
    )
    table = pd.concat([ranked, table[table["group"] == other], total], ignore_index=True)
    table["suppressed"] = table["people"] < k
    figures = [c for c in table.columns if c not in ("group", "suppressed", "pooled_groups")]
    suppressed = table["suppressed"].to_numpy()
    values = table[figures].to_numpy(dtype="float64")
    values[suppressed] = np.nan
    table = table.drop(columns=figures).join(pd.DataFrame(values, columns=figures))
    table.loc[table["suppressed"] & (table["group"] != other), "group"] = SUPPRESSED.format(k=k)
    whole_counts = ("people", "managers", "pairs", "reports", "uncovered", *STATUSES, "held")
    counts = [*whole_counts, *COUNTS, "declined", "moved", "excused"]
    counts += [c for c in figures if c.startswith(("bucket:", "intended:"))]
    table = table.astype({c: "Int64" for c in counts})
    table = table[["group", *figures, "pooled_groups", "suppressed"]]
    # the sources that cannot show when a cancellation happened, per row (codes, as on pairs)
    groups = pd.Index(table["group"])
    codes = display.source_codes(p["late_unknown_sources"], pooled_key, groups)
    if base.whole_sources is None:
        base.whole_sources = display.source_codes(
            p["late_unknown_sources"], pd.Series(0, index=p.index), pd.Index([0])
        ).iloc[0]
    whole = base.whole_sources
    table["late_unknown_sources"] = pd.array(
        np.where(groups == WHOLE, whole, codes.to_numpy(dtype=object)), dtype=STRING
    )
    table.loc[table["suppressed"], "late_unknown_sources"] = pd.NA
    if by == "manager":
        levels = _levels(analysis.roster) if analysis.roster is not None else pd.Series()
        named_rows = ~table["group"].isin([other, WHOLE]) & ~table["suppressed"]
        mapped = table["group"].map(dept_of if dept_of is not None else {})
        table["department"] = mapped.where(named_rows).astype(STRING)
        table["level"] = table["group"].map(levels).where(named_rows).astype("Float64")
        table["level"] = table["level"].round().astype("Int64")
    return table


def pair_groups(
    analysis: Analysis,
    by: GroupBy,
    *,
    min_group_size: int = DEFAULT_MIN_GROUP,
    membership: Membership = "report",
) -> pd.Series:
    """The row of :func:`group_summary` each pair is counted in (its group, or the pool)."""
    return _pooled(analysis, by, check_min_group_size(min_group_size), membership)[0]


def _pooled(
    analysis: Analysis, by: GroupBy, k: int, membership: Membership
) -> tuple[pd.Series, pd.Series | None, set[Any]]:
    p = analysis.pairs
    key = group_keys(analysis, by, membership)
    mem = _cached_members(p)
    mkey = key.to_numpy(dtype=object)[mem["row"].to_numpy()]
    codes, names = pd.factorize(mkey)
    person, _ = pd.factorize(mem["person"])
    size = pd.Series(_distinct(codes, person, len(names)), index=pd.Index(names, dtype=object))
    small = _pool(size, mem, mkey, k, set(size[size < k].index))
    dept_of: pd.Series | None = None
    if by == "manager" and analysis.roster is not None:
        dept_of, small = _within_departments(analysis, key, mem, size, small, k, membership)
    pooled_key = key.where(~key.isin(list(small)), OTHER.format(k=k))
    return pooled_key, dept_of, small


def _within_departments(
    analysis: Analysis,
    key: pd.Series,
    mem: pd.DataFrame,
    size: pd.Series,
    small: set[Any],
    k: int,
    membership: Membership,
) -> tuple[pd.Series, set[Any]]:
    """Each manager's department (most of their pairs'), and the managers to pool so that in
    every department the hidden managers' people are none or at least ``k``."""
    dept = group_keys(analysis, "department", membership)
    shown_depts = _shown(dept, mem, k)
    dept = dept.where(dept.isin(list(shown_depts)), OTHER.format(k=k))
    tally = pd.DataFrame({"m": key.to_numpy(), "d": dept.to_numpy()}).value_counts()
    ranked = tally.reset_index().sort_values(["m", "count", "d"], ascending=[True, False, True])
    dept_of: pd.Series = ranked.drop_duplicates(subset=["m"]).set_index("m")["d"]
    rows = mem["row"].to_numpy()
    in_dept = pd.Series(dept.to_numpy(dtype=object)[rows])
    manager = pd.Series(key.to_numpy(dtype=object)[rows])
    person = mem["person"].to_numpy()
    for name in pd.unique(dept_of):
        mine = dept_of.index[dept_of == name]
        hidden = [m for m in mine if m in small]
        shown = size.reindex(mine).drop(hidden).sort_values()
        here = (in_dept == name).to_numpy()
        for m in shown.index:
            if not hidden:
                break
            count = pd.unique(person[here & manager.isin(hidden).to_numpy()]).size
            if count >= k:
                break
            hidden.append(m)
            small = small | {m}
    return dept_of, small


def _shown(key: pd.Series, mem: pd.DataFrame, k: int) -> set[Any]:
    """The groups of ``key`` that :func:`group_summary` shows on their own."""
    mkey = key.loc[mem["row"]].to_numpy()
    size = mem.groupby(mkey)["person"].nunique()
    small = _pool(size, mem, mkey, k, set(size[size < k].index))
    return set(size.index) - small


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        columns=["group", "people", "pairs", *STATUSES, "suppressed", "pooled_groups"]
    )


# -- the whole organisation and its change ---------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """Organisation-wide coverage: ``uncovered`` of ``reports`` had no held 1:1 with a direct
    manager in the last ``weeks`` weeks."""

    weeks: int
    reports: int
    uncovered: int

    @property
    def uncovered_share(self) -> float | None:
        return self.uncovered / self.reports if self.reports else None


def coverage(analysis: Analysis, weeks: int = DEFAULT_COVERAGE_WEEKS) -> Coverage:
    """The headline figure of the review.

    >>> import cadence
    >>> org = cadence.load_demo(60, seed=3, as_of="2026-06-30")
    >>> c = coverage(cadence.analyze(org, org.roster, as_of="2026-06-30"), weeks=4)
    >>> 0 <= c.uncovered <= c.reports
    True
    """
    people = coverage_people(analysis, weeks)
    counted = people[people["counted"]]
    return Coverage(int(weeks), len(counted), int((~counted["covered"]).sum()))


# the figures a snapshot keeps per group, so the next review can say what changed
SNAPSHOT_FIGURES = ("people", "uncovered_share", *RATES, "lapsed", "at_risk")
SNAPSHOT_GROUPINGS: tuple[GroupBy, ...] = ("department", "manager", "manager_level")


def review_cards(analysis: Analysis, settings: ReviewSettings | None = None) -> dict[str, Any]:
    """JSON-ready review figures for a snapshot: the coverage and, per grouping, each
    group's figures (unpooled: what is shown is decided when the next review compares).

    >>> import cadence
    >>> org = cadence.load_demo(60, seed=3, as_of="2026-06-30")
    >>> kept = review_cards(cadence.analyze(org, org.roster, as_of="2026-06-30"))
    >>> sorted(kept["review"]["groups"])
    ['department', 'manager', 'manager_level']
    """
    s = settings or ReviewSettings()
    cov = coverage(analysis, s.coverage_weeks) if not analysis.pairs.empty else None
    groups: dict[str, dict[str, dict[str, float | None]]] = {}
    p = analysis.pairs
    if not p.empty:
        base = _base(analysis, s.coverage_weeks)
        for by in SNAPSHOT_GROUPINGS:
            if by == "manager_level" and analysis.roster is None:
                continue
            key = group_keys(analysis, by, s.membership)
            table = _rollup(base, key)[list(SNAPSHOT_FIGURES)]
            groups[by] = {
                str(name): {str(c): _json(v) for c, v in row.items()}
                for name, row in table.to_dict("index").items()
            }
    return {
        "uncovered_share": cov.uncovered_share if cov else None,
        "review": {
            "coverage_weeks": s.coverage_weeks,
            "membership": s.membership,
            "groups": groups,
        },
    }


def _json(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def group_changes(
    table: pd.DataFrame,
    by: GroupBy,
    previous_cards: dict[str, Any],
    *,
    min_group_size: int,
    flagged: pd.Series | None = None,
    recovered: pd.Series | None = None,
) -> pd.DataFrame:
    """Per row of a :func:`group_summary` table: the change of its coverage and rates since
    the previous review (``Δuncovered_share``, ``Δcancellation_rate`` …, in shares), and
    how many of its pairs were newly flagged or recovered (``flagged`` and ``recovered``:
    the group of each such pair).

    A change is given only for a group shown now that had at least ``min_group_size``
    people then too (NaN otherwise): a delta must not reveal a small group's past.
    """
    before = previous_cards.get("review", {}).get("groups", {}).get(by, {})
    out = pd.DataFrame(index=table.index)
    shown = ~table["suppressed"].astype(bool) & ~table["group"].str.startswith("other groups")
    for fig in ("uncovered_share", *RATES):
        was = table["group"].map(
            lambda g, f=fig: (
                before[g].get(f)
                if g in before and (before[g].get("people") or 0) >= min_group_size
                else None
            )
        )
        was = pd.to_numeric(was, errors="coerce")
        if fig in previous_cards:  # the whole organisation: the snapshot's own figures
            was = was.where(table["group"] != WHOLE, _json(previous_cards.get(fig)))
        now = pd.to_numeric(table[fig], errors="coerce")
        out[f"Δ{fig}"] = (now - was).where(shown | (table["group"] == WHOLE))
    for name, pairs in (("newly_flagged", flagged), ("recovered", recovered)):
        if pairs is None:
            out[name] = pd.array([pd.NA] * len(table), dtype="Int64")
            continue
        counts = pairs.value_counts()
        values = table["group"].map(counts).fillna(0)
        values = values.where(table["group"] != WHOLE, len(pairs))
        kept = values.where(shown | (table["group"] == WHOLE)).astype("Float64")
        out[name] = kept.round().astype("Int64")
    return out
