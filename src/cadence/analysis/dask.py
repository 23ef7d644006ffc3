"""``cadence.analyze`` on Dask: the rows partitioned by pair, each partition analyzed by the
same pandas code (:mod:`cadence.analysis.partition`), on whatever scheduler is active (a
``dask.distributed`` client when there is one). Needs the extra: ``pip install
'cadence[dask]'``; Dask is imported only when this runs.

>>> import cadence
>>> from cadence.analysis import dask as on_dask
>>> org = cadence.load_demo(20, seed=2, as_of="2026-06-30")
>>> result = on_dask.analyze(org, org.roster, as_of="2026-06-30", npartitions=2)
>>> one = cadence.analyze(org, org.roster, as_of="2026-06-30")
>>> result.pairs.equals(one.pairs) and result.occurrences.equals(one.occurrences)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cadence.analysis import absence
from cadence.analysis import partition as part
from cadence.analysis.engine import Analysis, _check_covered
from cadence.analysis.settings import AnalysisSettings
from cadence.analysis.window import parse_window
from cadence.errors import SchemaError
from cadence.model import STRING, validate_events
from cadence.org import alias_map, with_clean_addresses

if TYPE_CHECKING:
    import dask.dataframe as dd

__all__ = ["analyze", "keyed_rows"]


def analyze(
    data: Any,
    roster: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | str | None = None,
    window: str | pd.Timedelta | None = None,
    settings: AnalysisSettings | None = None,
    include_peers: bool | None = None,
    absences: pd.DataFrame | None = None,
    npartitions: int | None = None,
) -> Analysis:
    """:func:`cadence.analyze` with the work spread over a Dask cluster, pair by pair.

    ``data``: ``(events, attendees)`` as ``dask.dataframe`` or pandas frames, or anything
    with ``.events`` and ``.attendees`` (a demo organisation, ``store.frames()``). The
    roster, the ``absences`` frame and the settings go whole to every partition.
    ``npartitions``: how many pair partitions (default: the events' partition count, or 4
    for pandas frames). The result is the one :func:`cadence.analyze` gives on one machine.
    """
    import dask

    settings = settings or AnalysisSettings()
    if window is not None:
        parse_window(window)
        settings = settings.model_copy(update={"window": str(window)})
    if include_peers is not None:
        settings = settings.model_copy(update={"include_peers": include_peers})
    as_of_ts = _as_of(as_of)  # once: "now" must not differ between the machines
    lo = as_of_ts - parse_window(settings.window)
    events, attendees = _frames(data)
    _check_covered(getattr(data, "span", None), lo, as_of_ts)
    roster = with_clean_addresses(roster) if roster is not None else None
    rows, facts = keyed_rows(events, attendees, roster, settings, npartitions=npartitions)
    if isinstance(rows, pd.DataFrame):  # keyed here: cut here, no shuffle needed
        n = npartitions or 4
        bucket = _bucket(rows[part.PAIR_KEY], n).to_numpy()
        chunks: list[Any] = _scatter([rows[bucket == i] for i in range(n)])
        empty = rows.iloc[:0]
    else:  # keyed on the cluster: shuffled there
        n = npartitions or rows.npartitions
        chunks = rows.shuffle(part.PAIR_KEY, npartitions=n).to_delayed()
        empty = rows._meta
    shared = dask.delayed(roster), dask.delayed(absences)
    tasks = [
        dask.delayed(_analyze_partition)(chunk, *shared, as_of_ts, settings) for chunk in chunks
    ]
    parts = [p for p in dask.compute(*tasks) if p is not None]
    aliases = alias_map(roster) if roster is not None else None
    absent = validate_events(facts["absent"], check_key=False, normalize=False)
    first = facts["first"]  # the first 1:1 copy: the holidays listed start there
    since = lo if pd.isna(first) else min(first, lo)
    away = absence.periods(absent, roster, settings, since, as_of_ts, aliases, given=absences)
    if not parts:  # no 1:1 and no roster pair: what one machine says about empty data
        parts = [part.analyze_partition(empty, roster, as_of=as_of_ts, settings=settings)]
    return part.combine(
        parts,
        facts["emails"],
        roster,
        away=away,
        meta={"event_rows": facts["event_rows"], "attendee_rows": facts["attendee_rows"]},
    )


def _analyze_partition(
    rows: pd.DataFrame,
    roster: pd.DataFrame | None,
    absences: pd.DataFrame | None,
    as_of: pd.Timestamp,
    settings: AnalysisSettings,
) -> part.Part | None:
    if rows.empty:
        return None
    return part.analyze_partition(rows, roster, as_of=as_of, settings=settings, absences=absences)


def keyed_rows(
    events: pd.DataFrame | dd.DataFrame,
    attendees: pd.DataFrame | dd.DataFrame,
    roster: pd.DataFrame | None = None,
    settings: AnalysisSettings | None = None,
    *,
    npartitions: int | None = None,
) -> tuple[pd.DataFrame | dd.DataFrame, dict[str, Any]]:
    """The rows with their ``pair_key`` (:func:`cadence.analysis.partition.keyed_rows`), and
    what the whole data says that no partition sees (``emails``,
    the possible absence rows, the first 1:1 start, the row counts).

    Pandas frames are keyed on this machine (a pandas frame back); dask frames on the
    cluster (a dask frame back): rows bucketed by ``ical_uid`` (every copy of an occurrence
    in one bucket), 1:1s found per bucket.
    """
    import dask
    import dask.dataframe as dd

    settings = settings or AnalysisSettings()
    aliases = alias_map(roster) if roster is not None else None
    if isinstance(events, pd.DataFrame) and isinstance(attendees, pd.DataFrame):
        rows = part.keyed_rows(events, attendees, roster, settings)
        # the 1:1 copies: the rows copied in (absences, markers) are never timed default events
        one = (rows[part.ROW_KIND] == "event") & (rows["event_type"] == "default")
        ev = rows[(one & ~rows["all_day"].fillna(True)).to_numpy()]
        facts = {
            "emails": part.emails(
                [
                    events["calendar"],
                    events["organizer"],
                    attendees["email"],
                    attendees["calendar"],
                ],
                aliases,
            ),
            "absent": part.away_rows(events),
            "first": _first(ev),
            "event_rows": len(events),
            "attendee_rows": len(attendees),
        }
        return rows, facts
    if isinstance(events, pd.DataFrame):
        events = dd.from_pandas(events, npartitions=npartitions or 4)
    if isinstance(attendees, pd.DataFrame):
        attendees = dd.from_pandas(attendees, npartitions=npartitions or 4)
    n = npartitions or events.npartitions
    ev = _numbered(events)
    at = _numbered(attendees)
    uid = ev[[*part.KEY, "ical_uid"]]
    at = at.merge(uid, on=part.KEY, how="left")
    meta = part.stack(ev._meta, at._meta.drop(columns="ical_uid"))
    stacked = dd.concat(
        [
            ev.map_partitions(_conform, meta, "event", meta=meta),
            at.map_partitions(_conform, meta, "attendee", meta=meta),
        ]
    )
    stacked = stacked.assign(
        bucket=stacked["ical_uid"].map_partitions(_bucket, n, meta=("b", "i8"))
    )
    by_uid = stacked.shuffle("bucket", npartitions=n)
    found_meta = part.one_on_one_rows(*part.split_rows(meta), roster, settings)
    found = by_uid.map_partitions(_one_on_ones, roster, settings, meta=found_meta)
    found = found.persist()
    is_ev = found[found[part.ROW_KIND] == "event"]
    pairs_d = is_ev[part.PAIR_COLUMNS].drop_duplicates(subset=[part.PAIR])
    links_d = is_ev[part.LINK_COLUMNS].drop_duplicates()
    absent_d = ev.map_partitions(part.away_rows)
    cal = [events["calendar"], events["organizer"], attendees["email"], attendees["calendar"]]
    uniques = [c.dropna().unique() for c in cal]
    # coded input: one machine takes every category of the people columns, used or not
    known = [
        pd.Series(c.dtype.categories)
        for c in cal
        if isinstance(c.dtype, pd.CategoricalDtype) and c.dtype.categories is not None
    ]
    pairs, links, absent, first, n_ev, n_at, *people = dask.compute(
        pairs_d,
        links_d,
        absent_d,
        is_ev["start"].min(),
        events.shape[0],
        attendees.shape[0],
        *uniques,
    )
    key_of, extra = part.plan(
        pairs.drop_duplicates(part.PAIR),
        links,
        absent,
        part.emails([pd.Series(people[0])], aliases),
        roster,
        settings,
    )
    keyed = found.map_partitions(_key, key_of, meta=_key(found_meta, key_of.iloc[:0]))
    if len(extra):
        # coded input (categorical columns) cannot take the extra rows' new values: those
        # columns travel as text from here on (the partition function reads either)
        coded = [
            c
            for c, t in keyed._meta.dtypes.items()
            if isinstance(t, pd.CategoricalDtype) and c in extra.columns
        ]
        if coded:
            keyed = keyed.astype(dict.fromkeys(coded, STRING))
        extra = extra.reindex(columns=keyed._meta.columns).astype(keyed._meta.dtypes.to_dict())
        keyed = dd.concat([keyed, dd.from_pandas(extra, npartitions=1)])
    facts = {
        "emails": part.emails([*(pd.Series(p) for p in people), *known], aliases),
        "absent": absent,
        "first": first,
        "event_rows": int(n_ev),
        "attendee_rows": int(n_at),
    }
    return keyed, facts


def _first(ev: pd.DataFrame) -> Any:
    return ev["start"].min() if len(ev) else pd.NaT


def _numbered(frame: dd.DataFrame) -> dd.DataFrame:
    """A ``row_seq`` column: the row's place in the whole frame (partition order)."""
    lengths = frame.map_partitions(len).compute().tolist()
    starts = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64).tolist()

    def number(df: pd.DataFrame, partition_info: dict[str, Any] | None = None) -> pd.DataFrame:
        i = partition_info["number"] if partition_info else 0
        return df.assign(**{part.ROW_SEQ: np.arange(len(df), dtype=np.int64) + starts[i]})

    meta = frame._meta.assign(**{part.ROW_SEQ: np.array([], dtype=np.int64)})
    return frame.map_partitions(number, meta=meta)


def _conform(df: pd.DataFrame, meta: pd.DataFrame, kind: str) -> pd.DataFrame:
    """One kind's rows in the stacked frame's columns (the other kind's columns NA)."""
    out = df.assign(**{part.ROW_KIND: kind})
    for col in meta.columns:
        if col not in out.columns:
            out[col] = pd.Series(pd.NA, index=out.index, dtype=meta[col].dtype)
    return out[list(meta.columns)].astype(meta.dtypes.to_dict())


def _scatter(chunks: list[pd.DataFrame]) -> list[Any]:
    """The chunks sent to the workers of the active ``distributed`` client (futures), so
    they do not travel inside the task graph; without a client, the chunks themselves."""
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):  # no distributed, or no client: Dask's local threads
        return list(chunks)
    return list(client.scatter(chunks))


def _bucket(uid: pd.Series, n: int) -> pd.Series:
    """A stable bucket per value (the same on every machine and every run)."""
    values = uid.astype(object).to_numpy()
    return pd.Series((pd.util.hash_array(values) % np.uint64(n)).astype(np.int64), index=uid.index)


def _one_on_ones(
    rows: pd.DataFrame, roster: pd.DataFrame | None, settings: AnalysisSettings
) -> pd.DataFrame:
    events, attendees = part.split_rows(rows.drop(columns="bucket"))
    return part.one_on_one_rows(events, attendees, roster, settings)


def _key(rows: pd.DataFrame, key_of: pd.Series) -> pd.DataFrame:
    keyed = rows.assign(**{part.PAIR_KEY: rows[part.PAIR].map(key_of).astype(STRING)})
    return keyed.drop(columns=part.PAIR_COLUMNS)


def _frames(data: Any) -> tuple[Any, Any]:
    if isinstance(data, tuple):
        return data
    events, attendees = getattr(data, "events", None), getattr(data, "attendees", None)
    if events is None or attendees is None:
        raise SchemaError(
            "cadence.analysis.dask.analyze() reads frames: pass (events, attendees) as dask or "
            f"pandas frames, or an object with .events and .attendees, not {type(data).__name__}"
        )
    return events, attendees


def _as_of(value: pd.Timestamp | str | None) -> pd.Timestamp:
    if value is None:
        return pd.Timestamp.now(tz="UTC")
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
