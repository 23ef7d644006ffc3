"""The sync engine: any connector into the store — a mixed Google + Microsoft organisation, a
source that cannot sign in, batching, and a connector that is a plain test double."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import cadence
from cadence import sync
from cadence.errors import ConfigError, GraphError
from cadence.model import CalendarPull
from cadence.sources import demo
from cadence.sources.connector import PullContext
from cadence.sources.google import GoogleConnector, auth
from cadence.sources.graph import GraphConnector
from cadence.sources.graph import auth as ms_auth
from cadence.store import Store

from .conftest import AS_OF
from .fake_google import FakeGoogle, user_token_file
from .fake_google import serve as serve_google
from .fake_graph import CLIENT_ID, SECRET, TENANT, FakeGraph, Rewrite
from .fake_graph import serve as serve_graph

COLS = ["pair", "held", "cancelled", "declined", "moved", "status", "target_days"]


def pairs(data: Any, roster: pd.DataFrame) -> pd.DataFrame:
    found = cadence.analyze(data, roster, as_of=AS_OF)
    return found.pairs[COLS].sort_values("pair", ignore_index=True)


def test_a_mixed_organisation_counts_a_crossing_invite_once(tmp_path: Path) -> None:
    """Half the people on Google, half on Microsoft 365: a 1:1 between the two halves has one
    copy in each system (same series UID); it must be one occurrence, as if from one source."""
    org = demo.generate(14, seed=4, as_of=AS_OF)
    last = org.pulls()[-1]
    people = sorted(org.roster["email"])
    on_google, on_graph = people[::2], people[1::2]

    def part(cals: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        return (
            last.events[last.events["calendar"].isin(cals)],
            last.attendees[last.attendees["calendar"].isin(cals)],
        )

    crossing = last.events.groupby("ical_uid")["calendar"].agg(
        lambda c: bool(set(c) & set(on_google)) and bool(set(c) & set(on_graph))
    )
    assert crossing.sum() > 0  # the split really makes invites cross between the systems
    store = tmp_path / "mixed.sqlite"
    with serve_google(FakeGoogle(page_size=7)) as g, serve_graph(FakeGraph(page_size=7)) as m:
        g.load(*part(on_google))
        m.load(*part(on_graph))
        token = user_token_file(tmp_path / "token.json", g)
        creds = auth.user_credentials(token, token_uri=g.url + "token")
        app_token = ms_auth.application_token(
            CLIENT_ID,
            TENANT,
            SECRET,
            graph_url=m.graph,
            authority_host=m.authority_host,
            http_client=Rewrite(m),
        )
        with Store(store) as db:
            google = GoogleConnector(lambda: lambda _c: creds, calendars=on_google, root=g.url)
            graph = GraphConnector(lambda: app_token, mailboxes=on_graph, graph_url=m.graph)
            for connector in (google, graph):
                assert sync.pull(db, connector, now=AS_OF).failed == {}
            assert set(db.events()["source"]) == {"google", "graph"}
    with Store(tmp_path / "direct.sqlite") as direct:
        direct.write_pull(last)
    got = pairs(cadence.load_store(store), org.roster)
    want = pairs(cadence.load_store(tmp_path / "direct.sqlite"), org.roster)
    pd.testing.assert_frame_equal(got, want)
    analysed = cadence.analyze(cadence.load_store(store), org.roster, as_of=AS_OF)
    both = analysed.occurrences[analysed.occurrences["copies"] == 2]
    assert len(both) > 0 and both.duplicated(["ical_uid", "original_start"]).sum() == 0


class Twin:
    """A connector that is a test double: calendars from a demo org, faults on demand."""

    source = "demo"
    section = "demo"
    unit = "calendars"
    workers = 2

    def __init__(self, org: demo.DemoOrg, *, sign_in_error: Exception | None = None) -> None:
        self.inner = demo.DemoConnector(org)
        self.sign_in_error = sign_in_error
        self.broken: set[str] = set()
        self.malformed: set[str] = set()
        self.closed = False

    def open(self) -> None:
        if self.sign_in_error is not None:
            raise self.sign_in_error

    def targets(self, roster: pd.DataFrame | None) -> list[str]:
        return self.inner.targets(roster)

    def pull_one(self, context: PullContext) -> CalendarPull:
        if context.calendar in self.broken:
            raise KeyError("a bug in a connector")  # not a SourceError: still one calendar's
        result = self.inner.pull_one(context)
        if context.calendar in self.malformed:  # rows that do not fit the model
            result.events = result.events.assign(end=result.events["start"] - pd.Timedelta(1))
        return result

    def directory_roster(self) -> pd.DataFrame | None:
        return None

    def check(self, *, offline: bool) -> str:
        return "ok"

    def close(self) -> None:
        self.closed = True


def test_a_source_that_cannot_sign_in_records_every_calendar_and_keeps_what_is_stored(
    tmp_path: Path,
) -> None:
    org = demo.generate(8, seed=2, as_of=AS_OF)
    with Store(tmp_path / "s.sqlite") as db:
        first = sync.pull(db, Twin(org), now=AS_OF - pd.Timedelta(days=7))
        before = db.events()
        twin = Twin(
            org, sign_in_error=ConnectionError("login.example.com: Name or service unknown")
        )
        summary = sync.pull(db, twin, now=AS_OF)
        assert twin.closed
        assert summary.error == "ConnectionError: login.example.com: Name or service unknown"
        assert sorted(summary.failed) == sorted(org.calendars)
        pd.testing.assert_frame_equal(db.events(), before)  # nothing lost
        (health,) = db.source_health()
        assert health.error is not None and "Name or service unknown" in health.error
        assert db.runs()["status"].tolist() == ["ok", "failed"]
    assert first.failed == {} and first.full == len(org.calendars)


def test_a_config_error_is_raised_not_recorded(tmp_path: Path) -> None:
    org = demo.generate(8, seed=2, as_of=AS_OF)
    with Store(tmp_path / "s.sqlite") as db:
        twin = Twin(org, sign_in_error=ConfigError("[demo] is wrong"))
        with pytest.raises(ConfigError):
            sync.pull(db, twin, now=AS_OF)
        assert db.runs()["status"].tolist() == ["failed"]  # never left "running"
        assert db.sync_states().empty


def test_one_broken_calendar_fails_alone_and_batches_write_the_rest(tmp_path: Path) -> None:
    org = demo.generate(12, seed=3, as_of=AS_OF)
    twin = Twin(org)
    twin.broken = {org.calendars[3]}
    seen: list[tuple[str, int, int]] = []
    with Store(tmp_path / "s.sqlite") as db:
        summary = sync.pull(db, twin, now=AS_OF, batch_size=4, progress=lambda *a: seen.append(a))
        assert summary.failed == {org.calendars[3]: "KeyError: 'a bug in a connector'"}
        assert set(db.events()["calendar"]) == set(org.calendars) - {org.calendars[3]}
        runs = db.runs()
    assert [s[1] for s in seen] == list(range(1, 13)) and {s[2] for s in seen} == {12}
    assert runs["status"].tolist() == ["partial"]
    assert runs["summary"].iloc[0]["failed"] == summary.failed


def test_an_unreachable_microsoft_authority_is_that_sources_failure(tmp_path: Path) -> None:
    """msal contacts the authority when the client is made: that is sign-in, in open()."""
    graph = GraphConnector(
        lambda: ms_auth.token_provider(
            auth="application",
            client_id=CLIENT_ID,
            tenant=TENANT,
            cache_file=tmp_path / "cache.json",
            secret=SECRET,
            certificate_file=None,
            certificate_thumbprint=None,
            authority_host="https://127.0.0.1:9",  # nothing listens there
        ),
        mailboxes=["ann@example.com", "bob@example.com"],
        retries=0,
    )
    with Store(tmp_path / "s.sqlite") as db:
        summary = sync.pull(db, graph, now=AS_OF)
        assert summary.error and sorted(summary.failed) == ["ann@example.com", "bob@example.com"]
        assert {s.error is not None for s in db.source_health()} == {True}


def test_a_graph_error_in_one_mailbox_names_it(tmp_path: Path) -> None:
    def token() -> str:
        raise GraphError("the sign-in has expired; run `cadence auth microsoft` again")

    graph = GraphConnector(lambda: token, mailboxes=["ann@example.com"])
    with Store(tmp_path / "s.sqlite") as db:
        summary = sync.pull(db, graph, now=AS_OF)
    assert summary.error == "the sign-in has expired; run `cadence auth microsoft` again"


def test_a_calendar_whose_rows_do_not_fit_the_model_fails_alone(tmp_path: Path) -> None:
    org = demo.generate(10, seed=5, as_of=AS_OF)
    twin = Twin(org)
    bad = org.calendars[2]
    twin.malformed = {bad}
    with Store(tmp_path / "s.sqlite") as db:
        summary = sync.pull(db, twin, now=AS_OF, batch_size=50)
        assert list(summary.failed) == [bad] and "'end' is before 'start'" in summary.failed[bad]
        assert set(db.events()["calendar"]) == set(org.calendars) - {bad}  # the batch landed
        assert db.sync_state("demo", bad).last_error == summary.failed[bad]


def test_stored_rows_are_read_back_only_for_calendars_the_store_holds(tmp_path: Path) -> None:
    org = demo.generate(8, seed=2, as_of=AS_OF)
    first, rest = org.calendars[:3], org.calendars[3:]
    seen: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}

    class Reading(Twin):
        def pull_one(self, context: PullContext) -> CalendarPull:
            stored = context.stored()
            seen[context.calendar] = (stored.events, stored.attendees)
            return super().pull_one(context)

    with Store(tmp_path / "s.sqlite") as db:
        twin = Reading(org)
        twin.targets = lambda roster: list(first)  # type: ignore[method-assign]
        sync.pull(db, twin, now=AS_OF)
        assert db.calendars("demo") == set(first) and db.calendars("google") == set()
        reads: list[Any] = []
        real = Store.events

        def counted(self: Store, **kwargs: Any) -> pd.DataFrame:
            reads.append(kwargs.get("calendars"))
            return real(self, **kwargs)

        Store.events = counted  # type: ignore[method-assign]
        try:
            sync.pull(db, Reading(org), now=AS_OF)
        finally:
            Store.events = real  # type: ignore[method-assign]
        own = {c: len(db.events(calendars=[c])) for c in org.calendars}
    # a held calendar reads its own rows; one never pulled reads nothing, and gets the
    # frames an empty read gives (same columns and dtypes)
    assert sorted(c for r in reads if r for c in r) == sorted(first)
    for calendar in first:
        events, _ = seen[calendar]
        assert set(events["calendar"]) == {calendar} and len(events) == own[calendar] > 0
    empty_events, empty_attendees = seen[rest[0]]
    held_events, held_attendees = seen[first[0]]
    assert empty_events.empty and empty_attendees.empty

    def kinds(frame: pd.DataFrame) -> dict[str, str]:  # categories are the values in use
        return {c: "category" if d == "category" else str(d) for c, d in frame.dtypes.items()}

    assert kinds(empty_events) == kinds(held_events)
    assert kinds(empty_attendees) == kinds(held_attendees)
