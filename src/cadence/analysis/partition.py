"""The analysis cut by pair: the partition key of every row, and the function of one partition.

After 1:1 detection the analysis is independent per pair, so it can run on many machines
(:mod:`cadence.analysis.dask`, or Spark's ``groupBy("pair_key").applyInPandas``, README
"Beyond one machine"), each partition analyzed by the very same :func:`cadence.analyze`.
What is not per pair, and how it is handled:

- **1:1 detection** reads every calendar copy of an occurrence (``ical_uid``,
  ``original_start``): :func:`one_on_one_rows` runs the analysis' own detection
  (:func:`~cadence.analysis.pairs.one_on_ones`) on rows holding all copies of their
  occurrences (the whole data, or one ``ical_uid`` bucket of it).
- **a series shared by two pairs** (an attendee replaced in a recurring 1:1): a series'
  usual length is measured over all its occurrences, so pairs linked by a series (or an
  ``ical_uid``) are one partition. ``pair_key`` is the key of such a group: the smallest
  ``"person_a person_b"`` in it (the pair's own key when it stands alone, the usual case).
- **absences** (a person's out-of-office and all-day events) excuse every pair that
  person is in: those rows are copied into each of the person's partitions
  (:func:`keyed_rows`); an ``absences=`` frame, the roster (holidays, relations,
  aliases, departments) and the settings are small and go whole to every partition.
- **roster pairs without any 1:1** ("never met") are listed when either person's
  calendar was read: each gets a partition of its own, and every partition gets one
  marker row per person whose calendar was read (a cancelled out-of-office row, which
  no rule counts), so "calendar read" is the same as on the whole data.
- rows that matter to no pair (group meetings, …) are dropped.
- the people and pair categories of the output, the order of the rows and the
  absences listed in :attr:`Analysis.absences <cadence.analysis.engine.Analysis.absences>`
  are made whole again by :func:`combine`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cadence.analysis import absence
from cadence.analysis.engine import PEOPLE, STATUS_ORDER, Analysis, analyze, only_their_people
from cadence.analysis.pairs import RELATIONS, encode, one_on_ones
from cadence.analysis.settings import AnalysisSettings
from cadence.errors import ConfigError
from cadence.model import (
    ATTENDEES,
    EVENTS,
    STRING,
    TIMESTAMP,
    empty,
    normalize_email,
    validate_attendees,
    validate_events,
)
from cadence.org import alias_map, relations, with_clean_addresses

__all__ = [
    "PAIR_KEY",
    "Part",
    "analyze_partition",
    "away_rows",
    "combine",
    "emails",
    "groups",
    "keyed_rows",
    "one_on_one_rows",
    "partition_table",
    "plan",
    "split_rows",
    "stack",
]

PAIR_KEY = "pair_key"  # the partition key: one pair, or the pairs one series links
ROW_KIND = "row_kind"  # "event" or "attendee": both kinds travel in one frame
ROW_SEQ = "row_seq"  # the row's place in its input frame: each partition keeps input order
PAIR = "pair_id"  # "person_a person_b" of a 1:1 row (no email holds a space)
MARKER_ID = "cadence:calendar-read"
MARKER_TIME = pd.Timestamp("2000-01-01", tz="UTC")  # any instant: no rule reads it
KEY = list(EVENTS.key)
ATTENDEE_ONLY = [c for c in ATTENDEES.names if c not in EVENTS.names]
TABLES = ("occurrences", "pairs", "weekly")


@dataclass
class Part:
    """The tables of one partition: its pairs' occurrences, pairs and weekly counts."""

    occurrences: pd.DataFrame
    pairs: pd.DataFrame
    weekly: pd.DataFrame
    copies: int
    as_of: pd.Timestamp
    window: tuple[pd.Timestamp, pd.Timestamp]
    settings: AnalysisSettings


def _settings(settings: AnalysisSettings | None, include_peers: bool | None) -> AnalysisSettings:
    settings = settings or AnalysisSettings()
    if include_peers is not None:
        settings = settings.model_copy(update={"include_peers": include_peers})
    return settings


def stack(events: pd.DataFrame, attendees: pd.DataFrame) -> pd.DataFrame:
    """Events and attendees in one frame (``row_kind``); a column the other kind lacks is NA."""
    ev = events.assign(**{ROW_KIND: "event"})
    at = attendees.assign(**{ROW_KIND: "attendee"})
    ev = ev.astype({"all_day": "boolean"})
    at = at.astype({"is_resource": "boolean"})
    out = pd.concat([ev, at], ignore_index=True)
    return out.astype({ROW_KIND: STRING})


def split_rows(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``(events, attendees)`` frames of a stacked partition, in input order, without
    the partition's own columns (what :func:`cadence.analyze` reads)."""
    kind = rows[ROW_KIND].astype(str).to_numpy()
    own = {PAIR_KEY, ROW_KIND, ROW_SEQ, PAIR, "person_a", "person_b", "manager", "report"}
    ev = rows[kind == "event"].sort_values(ROW_SEQ, kind="stable")
    ev = ev.drop_duplicates(KEY)  # a person's absence copied to two pairs of one partition
    at = rows[kind == "attendee"].sort_values(ROW_SEQ, kind="stable")
    ev_cols = [c for c in ev.columns if c not in own and c not in ATTENDEE_ONLY]
    events = ev[ev_cols].astype({"all_day": bool}).reset_index(drop=True)
    attendees = at[ATTENDEES.names].astype({"is_resource": bool}).reset_index(drop=True)
    return events, attendees


def one_on_one_rows(
    events: pd.DataFrame,
    attendees: pd.DataFrame,
    roster: pd.DataFrame | None = None,
    settings: AnalysisSettings | None = None,
    *,
    include_peers: bool | None = None,
) -> pd.DataFrame:
    """The event and attendee rows of the 1:1s, stacked, each with its pair.

    The rows must hold every calendar copy of their occurrences (the whole data, or one
    ``ical_uid`` bucket of it): detection is the analysis' own. Adds ``pair_id``
    (``"person_a person_b"``), ``person_a``, ``person_b``, ``manager``, ``report``
    (normalized emails; NA without a roster) and ``row_seq`` when the frames lack it.
    """
    settings = _settings(settings, include_peers)
    events, attendees = _with_seq(events), _with_seq(attendees)
    ev = validate_events(events, check_key=False, normalize=False)
    at = validate_attendees(attendees, check_key=False, normalize=False)
    rel = None
    aliases = None
    if roster is not None:
        roster = with_clean_addresses(roster)
        rel = relations(roster, skip_levels=settings.include_skip_levels)
        aliases = alias_map(roster)
    coded = encode(ev, at, aliases)
    copies = one_on_ones(coded, rel, include_peers=settings.include_peers)
    e = np.r_[coded.emails.to_numpy(dtype=object), None]  # code -1 reads None
    row_pair = np.full(len(events), -1, dtype=np.int64)
    row_pair[copies["row"].to_numpy()] = np.arange(len(copies))
    att_copy = row_pair[coded.att_row]
    # the text of each distinct pair once, taken per row (no string built per row)
    n = max(len(coded.emails), 1)
    pc, _ = pd.factorize(copies["a"].to_numpy().astype(np.int64) * n + copies["b"].to_numpy())
    one = np.unique(pc, return_index=True)[1]  # a copy of each pair
    text = {
        col: pd.array(e[copies[col].to_numpy()[one]], dtype=STRING)
        for col in ("a", "b", "manager", "report")
    }
    text[PAIR] = pd.array(
        e[copies["a"].to_numpy()[one]] + " " + e[copies["b"].to_numpy()[one]], dtype=STRING
    )
    names = {PAIR: PAIR, "a": "person_a", "b": "person_b", "manager": "manager", "report": "report"}

    def tag(frame: pd.DataFrame, copy: np.ndarray) -> pd.DataFrame:
        return frame.assign(**{names[c]: text[c].take(pc[copy]) for c in names})

    ev_rows = tag(events.iloc[copies["row"].to_numpy()], np.arange(len(copies)))
    keep = att_copy >= 0
    at_rows = tag(attendees[keep], att_copy[keep])
    return stack(ev_rows, at_rows)


def _with_seq(frame: pd.DataFrame) -> pd.DataFrame:
    if ROW_SEQ in frame.columns:
        return frame
    return frame.assign(**{ROW_SEQ: np.arange(len(frame), dtype=np.int64)})


def groups(links: pd.DataFrame) -> pd.Series:
    """Pair id → its ``pair_key``, from the 1:1 event rows' ``pair_id``, ``series_id`` and
    ``ical_uid`` (``links``): pairs sharing a value a series is known by
    (:func:`~cadence.analysis.outcomes.classify`) are one group, keyed by its smallest pair id.
    """
    p_code, p_names = pd.factorize(links[PAIR], sort=True)
    n_code, n_names = pd.factorize(pd.concat([links["series_id"], links["ical_uid"]]))
    p_code = np.r_[p_code, p_code]
    known = n_code >= 0  # a missing series_id links nothing
    edge = np.unique(p_code[known].astype(np.int64) * len(n_names) + n_code[known])
    p_code, n_code = edge // max(len(n_names), 1), edge % max(len(n_names), 1)
    label = np.arange(len(p_names))
    while True:  # each component's smallest pair, by label propagation
        node = np.full(len(n_names), len(p_names), dtype=np.int64)
        np.minimum.at(node, n_code, label[p_code])
        new = label.copy()
        np.minimum.at(new, p_code, node[n_code])
        if (new == label).all():
            break
        label = new
    names = np.asarray(p_names, dtype=object)
    return pd.Series(names[label], index=pd.Index(names))


def away_rows(events: pd.DataFrame) -> pd.DataFrame:
    """Rows that may be absences (out of office, all-day): the analysis' own rule
    (:func:`~cadence.analysis.absence.periods`) picks among them."""
    away = (events["event_type"] == "out_of_office") | events["all_day"].astype(bool)
    return events[away.to_numpy()]


def _people(values: pd.Series, aliases: dict[str, str] | None) -> pd.Series:
    clean = normalize_email(values)
    return clean.replace(aliases) if aliases else clean


PAIR_COLUMNS = [PAIR, "person_a", "person_b", "manager", "report"]
LINK_COLUMNS = [PAIR, "series_id", "ical_uid"]


def keyed_rows(
    events: pd.DataFrame,
    attendees: pd.DataFrame,
    roster: pd.DataFrame | None = None,
    settings: AnalysisSettings | None = None,
    *,
    include_peers: bool | None = None,
) -> pd.DataFrame:
    """Every row a partition needs, with its ``pair_key`` (pure pandas, one machine).

    The 1:1 rows of each pair group, each person's possible absence rows copied into each
    of their groups, one marker row per (group, person whose calendar was read), and a
    group per roster pair without a 1:1. Group by ``pair_key`` and hand each group to
    :func:`analyze_partition`.
    """
    settings = _settings(settings, include_peers)
    events, attendees = _with_seq(events), _with_seq(attendees)
    roster = with_clean_addresses(roster) if roster is not None else None
    found = one_on_one_rows(events, attendees, roster, settings)
    ev = found[(found[ROW_KIND] == "event").to_numpy()]
    aliases = alias_map(roster) if roster is not None else None
    key_of, extra = plan(
        ev[PAIR_COLUMNS].drop_duplicates(PAIR),
        ev[LINK_COLUMNS],
        away_rows(events),
        emails([events["calendar"]], aliases),
        roster,
        settings,
    )
    found = found.assign(**{PAIR_KEY: found[PAIR].map(key_of).astype(STRING)})
    found = found.drop(columns=PAIR_COLUMNS)  # the pair key is all a partition needs
    return pd.concat([found, extra], ignore_index=True) if len(extra) else found


def plan(
    pairs: pd.DataFrame,
    links: pd.DataFrame,
    absent: pd.DataFrame,
    read: Iterable[str],
    roster: pd.DataFrame | None,
    settings: AnalysisSettings,
) -> tuple[pd.Series, pd.DataFrame]:
    """The pair groups and the rows copied into them, from the 1:1 pairs (``pairs``:
    ``pair_id``, ``person_a``, ``person_b``, ``manager``, ``report``), their series
    (``links``: ``pair_id``, ``series_id``, ``ical_uid``), the possible absence rows
    (:func:`away_rows`) and the people whose calendar was read (normalized emails).

    Returns pair id → ``pair_key``, and the stacked absence and marker rows, keyed.
    """
    roster = with_clean_addresses(roster) if roster is not None else None
    key_of = groups(links)
    pairs = pairs.assign(**{PAIR_KEY: pairs[PAIR].map(key_of).to_numpy()})
    read_set = pd.Index(pd.unique(np.asarray(list(read), dtype=object)))
    silent = _silent(pairs, read_set, roster, settings)
    member = pd.concat(
        [
            pd.DataFrame({PAIR_KEY: k[PAIR_KEY].to_numpy(), "person": k[side].to_numpy()})
            for k in (pairs, silent)
            for side in ("person_a", "person_b")
        ],
        ignore_index=True,
    ).astype({PAIR_KEY: STRING, "person": STRING})
    member = member.drop_duplicates()
    aliases = alias_map(roster) if roster is not None else None
    away = absent.assign(person=_people(absent["calendar"], aliases).to_numpy())
    copied = away.merge(member, on="person").drop(columns="person")
    markers = _markers(member[member["person"].isin(read_set)], absent)
    extra = [stack(f, _no_attendees()) for f in (copied, markers) if len(f)]
    if not extra:
        return key_of, pd.DataFrame()
    return key_of, pd.concat(extra, ignore_index=True).astype({PAIR_KEY: STRING})


def _no_attendees() -> pd.DataFrame:
    return empty(ATTENDEES).assign(**{ROW_SEQ: pd.Series(dtype=np.int64)})


def _silent(
    pairs: pd.DataFrame, read: pd.Index, roster: pd.DataFrame | None, settings: AnalysisSettings
) -> pd.DataFrame:
    """Roster pairs with no 1:1 and a calendar read: each its own group (``"a b"``)."""
    cols = [PAIR_KEY, "person_a", "person_b"]
    if roster is None:
        return pd.DataFrame({c: pd.Series(dtype=STRING) for c in cols})
    rel = relations(roster, skip_levels=settings.include_skip_levels)
    have = pd.MultiIndex.from_arrays(
        [pairs["manager"].astype(object), pairs["report"].astype(object)]
    )
    m, r = rel["manager"].to_numpy(dtype=object), rel["report"].to_numpy(dtype=object)
    seen = pd.Index(m).isin(read) | pd.Index(r).isin(read)
    keep = ~pd.MultiIndex.from_arrays([m, r]).isin(have) & seen
    a, b = np.minimum(m[keep], r[keep]), np.maximum(m[keep], r[keep])
    return pd.DataFrame(
        {PAIR_KEY: a + " " + b, "person_a": a, "person_b": b}, dtype=STRING
    ).drop_duplicates()


def _markers(who: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """One row per (group, person): a cancelled out-of-office row on the person's calendar.

    It makes the calendar count as read and nothing else: 1:1 detection skips it (not a
    timed default event) and so do absences (cancelled).
    """
    n = len(who)
    ts = pd.Series([MARKER_TIME] * n, dtype=TIMESTAMP)
    out = pd.DataFrame(
        {
            "source": pd.array(["demo"] * n, dtype=STRING),
            "calendar": who["person"].to_numpy(),
            "event_id": MARKER_ID,
            "series_id": pd.array([pd.NA] * n, dtype=STRING),
            "ical_uid": MARKER_ID,
            "original_start": ts,
            "start": ts,
            "end": ts,
            "timezone": pd.array([pd.NA] * n, dtype=STRING),
            "all_day": False,
            "status": "cancelled",
            "organizer": pd.array([pd.NA] * n, dtype=STRING),
            "recurrence": pd.array([pd.NA] * n, dtype=STRING),
            "event_type": "out_of_office",
            "created": pd.Series([pd.NaT] * n, dtype=TIMESTAMP),
            "updated": pd.Series([pd.NaT] * n, dtype=TIMESTAMP),
            ROW_SEQ: np.int64(-1),
            PAIR_KEY: who[PAIR_KEY].to_numpy(),
        }
    )
    for col in like.columns:  # the optional columns of the input (cancelled_at, evidence)
        if col not in out.columns:
            out[col] = pd.Series(pd.NA, index=out.index).astype(like[col].dtype)
    return out[[c for c in like.columns if c in out.columns] + [PAIR_KEY]]


def analyze_partition(
    rows: pd.DataFrame,
    roster: pd.DataFrame | None = None,
    **options: Any,
) -> Part:
    """Analyze one partition (one or many ``pair_key`` groups) with :func:`cadence.analyze`.

    ``options`` are :func:`cadence.analyze`'s (``as_of``, ``window``, ``settings``,
    ``include_peers``, ``absences``), the same for every partition (give ``as_of``: "now"
    would differ between machines). Returns the tables of the partition's own pairs;
    :func:`combine` joins the parts.
    """
    events, attendees = split_rows(rows)
    result = analyze((events, attendees), roster, **options)
    owned = set(rows[PAIR_KEY].dropna().astype(str))
    p = result.pairs
    key = p["person_a"].astype(object) + " " + p["person_b"].astype(object)
    mine = ~p["never_met"].to_numpy(dtype=bool) | key.isin(owned).to_numpy()
    return Part(
        occurrences=result.occurrences,
        pairs=p[mine],
        weekly=result.weekly,
        copies=int(result.meta["copies"]),
        as_of=result.as_of,
        window=result.window,
        settings=result.settings,
    )


def partition_table(
    rows: pd.DataFrame, table: str, roster: pd.DataFrame | None = None, **options: Any
) -> pd.DataFrame:
    """One table of :func:`analyze_partition` (``"occurrences"``, ``"pairs"``, ``"weekly"``)
    with plain columns (categories as text): what Spark's ``applyInPandas`` wants back."""
    if table not in TABLES:
        raise ConfigError(f"table {table!r}: use one of {', '.join(TABLES)}")
    frame: pd.DataFrame = getattr(analyze_partition(rows, roster, **options), table)
    return frame.astype(
        {c: STRING for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    )


def combine(
    parts: Iterable[Part],
    emails: Iterable[str],
    roster: pd.DataFrame | None = None,
    *,
    away: absence.Absences | None = None,
    meta: dict[str, int] | None = None,
) -> Analysis:
    """The :class:`~cadence.analysis.engine.Analysis` of the whole data from its parts.

    ``emails``: every normalized address in the data (the people columns are coded on
    them, then cut to those they hold, as on one machine). Rows come back in
    :func:`cadence.analyze`'s order.
    """
    parts = list(parts)
    roster = with_clean_addresses(roster) if roster is not None else None
    if not parts:
        raise ConfigError(
            "combine() needs at least one part; give it what analyze_partition returned"
        )
    people = pd.CategoricalDtype(sorted(set(emails)))
    pairs = pd.concat([p.pairs for p in parts], ignore_index=True)
    met = pairs[~pairs["never_met"].to_numpy(dtype=bool)]
    # pair labels in pair order (person_a, person_b), as on one machine
    met = met.sort_values(["person_a", "person_b"])
    labels = pd.CategoricalDtype(met["pair"].astype(str).tolist())
    # never-met pairs join as text: the relation categories are then the values found
    relation: Any = "category" if pairs["never_met"].any() else RELATIONS
    pairs["relation"] = pairs["relation"].astype(object).astype(relation)
    pairs = pairs.assign(_order=pairs["status"].map(STATUS_ORDER).astype(int))
    pairs = pairs.sort_values(["_order", "health_score", "pair"], ignore_index=True)
    pairs = pairs.drop(columns="_order")
    tables = {}
    for name, order in (("occurrences", ["pair", "start"]), ("weekly", ["pair", "week"])):
        frame = pd.concat([getattr(p, name) for p in parts], ignore_index=True)
        like = getattr(parts[0], name)
        for col in frame.columns:
            if col == "pair":
                frame[col] = frame[col].astype(object).astype(labels)
            elif col in PEOPLE:
                frame[col] = frame[col].astype(object).astype(people)
            elif isinstance(like[col].dtype, pd.CategoricalDtype):
                frame[col] = frame[col].astype(object).astype(like[col].dtype)
        tables[name] = frame.sort_values(order, ignore_index=True)
    tables["occurrences"] = only_their_people(tables["occurrences"])
    first = parts[0]
    return Analysis(
        occurrences=tables["occurrences"],
        pairs=pairs,
        weekly=tables["weekly"],
        as_of=first.as_of,
        window=first.window,
        settings=first.settings,
        roster=roster,
        meta={**(meta or {}), "copies": sum(p.copies for p in parts)},
        away=away,
    )


def emails(frames: Iterable[pd.Series], aliases: dict[str, str] | None = None) -> list[str]:
    """The distinct normalized addresses (aliases mapped) of some email columns, sorted."""
    raw = pd.concat([pd.Series(pd.unique(f.dropna())) for f in frames], ignore_index=True)
    return sorted(set(_people(raw.astype(STRING), aliases).dropna().unique()))
