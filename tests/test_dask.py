"""cadence.analyze on a local dask.distributed cluster gives what it gives on one machine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dask.dataframe as dd
import pandas as pd
import pytest
from distributed import Client, LocalCluster

import cadence
from cadence.analysis import dask as on_dask

AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def org() -> Any:
    return cadence.load_demo(40, seed=1, as_of=AS_OF, absences=True)


def _same(got: cadence.Analysis, want: cadence.Analysis) -> None:
    for name, keys in (
        ("occurrences", ["pair", "start", "ical_uid"]),
        ("pairs", ["pair"]),
        ("weekly", ["pair", "week"]),
    ):
        a = getattr(got, name).sort_values(keys, ignore_index=True)
        b = getattr(want, name).sort_values(keys, ignore_index=True)
        pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(got.absences, want.absences)
    assert got.meta == want.meta


def test_pandas_frames_on_the_cluster_equal_one_machine(client: Client, org: Any) -> None:
    want = cadence.analyze(org, org.roster, as_of=AS_OF)
    got = on_dask.analyze(org, org.roster, as_of=AS_OF, npartitions=2)
    assert (want.occurrences["outcome"] == "excused").any()  # the leave is in the data
    assert want.pairs["on_leave"].any()
    _same(got, want)
    # not only equal after sorting: in the very order analyze() gives
    pd.testing.assert_frame_equal(got.pairs, want.pairs)


def test_dask_frames_keyed_on_the_cluster_equal_one_machine(client: Client, org: Any) -> None:
    # one pair's 1:1s removed: it is a roster pair that never met, as on one machine
    events, attendees = org.events, org.attendees
    report = org.roster.loc[org.roster["manager_email"].notna(), "email"].iloc[0]
    drop = events["ical_uid"].isin(
        attendees.loc[attendees["email"] == report].merge(
            events, on=["source", "calendar", "event_id"]
        )["ical_uid"]
    ) & (events["event_type"] == "default")
    gone = events.loc[drop, ["source", "calendar", "event_id"]]
    events = events[~drop]
    attendees = attendees.merge(gone, how="left", indicator=True)
    attendees = attendees[attendees["_merge"] == "left_only"].drop(columns="_merge")
    want = cadence.analyze((events, attendees), org.roster, as_of=AS_OF)
    assert want.pairs.loc[want.pairs["report"] == report, "never_met"].tolist() == [True]
    data = (dd.from_pandas(events, npartitions=3), dd.from_pandas(attendees, npartitions=3))
    got = on_dask.analyze(data, org.roster, as_of=AS_OF, npartitions=2)
    _same(got, want)
