"""The normalized model: one validator, errors that name the bad column."""

from __future__ import annotations

import pandas as pd
import pytest

from cadence.errors import SchemaError
from cadence.model import ATTENDEES, EVENTS, STRING, TIMESTAMP, empty_events, validate

from .helpers import attendee, event


def test_valid_frame_gets_canonical_dtypes_and_schema_order() -> None:
    raw = pd.DataFrame([event(organizer="  Ann@Example.COM "), event(event_id="e2")])
    raw = raw[list(reversed(raw.columns))].assign(extra="dropped")
    out = validate(raw, EVENTS)
    assert list(out.columns) == EVENTS.names
    assert out["start"].dtype == TIMESTAMP
    assert out["series_id"].dtype == STRING
    assert out["all_day"].dtype == bool
    assert out["organizer"].tolist() == ["ann@example.com", "ann@example.com"]


def test_iso_text_and_other_zones_become_utc() -> None:
    raw = pd.DataFrame([event(start="2026-06-01T11:00:00+02:00", end="2026-06-01T09:30:00Z")])
    out = validate(raw, EVENTS)
    assert out.loc[0, "start"] == pd.Timestamp("2026-06-01 09:00", tz="UTC")


def test_instants_as_python_objects_in_one_zone_or_several_become_the_same_utc() -> None:
    import datetime as dt

    berlin = pd.Timestamp("2026-06-01 11:00", tz="Europe/Berlin")  # 09:00 UTC
    plus2 = dt.datetime(2026, 6, 1, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    utc = pd.Timestamp("2026-06-01 09:00", tz="UTC")
    for starts in ([berlin, berlin], [plus2, plus2], [utc, berlin], [plus2, utc]):
        raw = pd.DataFrame([event(event_id=f"e{i}") for i in range(2)])
        raw["start"] = pd.Series(starts, dtype=object)
        raw["end"] = pd.Series([utc + pd.Timedelta(minutes=30)] * 2, dtype=object)
        out = validate(raw, EVENTS)
        assert out["start"].dtype == TIMESTAMP
        assert out["start"].tolist() == [utc, utc], starts


def test_addresses_are_cleaned_alike_from_objects_and_from_text_columns() -> None:
    emails = ["  Ann@Example.COM ", "MAILTO:bob@example.com", "İlke@Example.com", None]
    # Arrow's Unicode lower case (one code point for one): what the store and analysis use
    expected = ["ann@example.com", "bob@example.com", "ilke@example.com", None]
    for dtype in (object, "str", STRING):
        raw = pd.DataFrame([event(event_id=f"e{i}") for i in range(4)])
        raw["organizer"] = pd.Series(emails, dtype=dtype)
        out = validate(raw, EVENTS)["organizer"]
        assert out.dtype == STRING
        assert [None if pd.isna(v) else v for v in out] == expected, dtype


@pytest.mark.parametrize(
    ("mutate", "column", "words"),
    [
        (lambda df: df.drop(columns=["ical_uid"]), "ical_uid", "missing column"),
        (lambda df: df.assign(status="maybe"), "status", "'maybe'"),
        (lambda df: df.assign(event_id=None), "event_id", "missing value"),
        (lambda df: df.assign(start=pd.Timestamp("2026-06-01 09:00")), "start", "naive"),
        (lambda df: df.assign(start="not a time"), "start", "timezone-aware"),
        (lambda df: df.assign(timezone=42), "timezone", "must hold text"),
        (lambda df: df.assign(all_day="yes"), "all_day", "booleans"),
        (lambda df: df.assign(end=pd.Timestamp("2026-06-01 08:00", tz="UTC")), "end", "before"),
        (
            lambda df: df.assign(source="outlook"),
            "source",
            "allowed: caldav, demo, google, graph, ics",
        ),
    ],
)
def test_bad_events_name_the_column(mutate, column: str, words: str) -> None:
    with pytest.raises(SchemaError, match=column) as info:
        validate(mutate(pd.DataFrame([event()])), EVENTS)
    assert info.value.column == column
    assert words in str(info.value)


def test_duplicate_key_is_an_error() -> None:
    with pytest.raises(SchemaError, match="share a key"):
        validate(pd.DataFrame([attendee(), attendee(email="ANN@example.com ")]), ATTENDEES)


@pytest.mark.parametrize("rows", [3, 6_000])  # one calendar's rows (a set), a big frame (pandas)
def test_duplicate_key_found_in_small_and_big_frames(rows: int) -> None:
    frame = pd.DataFrame([event(event_id=f"e{i}") for i in range(rows)])
    assert len(validate(frame, EVENTS)) == rows
    frame.loc[rows - 1, "event_id"] = "e0"  # the last row repeats the first's key
    with pytest.raises(SchemaError, match="2 rows share a key") as info:
        validate(frame, EVENTS)
    assert "'e0'" in str(info.value)


def test_text_column_of_non_text_objects_names_the_value() -> None:
    """An object column mixing text and numbers is refused with the first non-text value."""
    frame = pd.DataFrame([event(), event(event_id="e2")]).astype({"timezone": object})
    frame.loc[1, "timezone"] = 3.5
    with pytest.raises(SchemaError, match=r"must hold text, got 3.5 \(float\)"):
        validate(frame, EVENTS)
    frame.loc[1, "timezone"] = None  # missing is allowed in a nullable text column
    assert validate(frame, EVENTS)["timezone"].isna().tolist() == [False, True]


def test_not_a_dataframe() -> None:
    with pytest.raises(SchemaError, match="expected a pandas DataFrame"):
        validate([event()], EVENTS)  # type: ignore[arg-type]


def test_empty_frames_validate() -> None:
    out = validate(empty_events(), EVENTS)
    assert out.empty
    assert dict(out.dtypes) == {k: pd.api.types.pandas_dtype(v) for k, v in EVENTS.dtypes.items()}


# -- dictionary-encoded (categorical) text: checked and normalized on the categories ---------


def _categorical(raw: pd.DataFrame) -> pd.DataFrame:
    text = [c for c in raw.columns if raw[c].dtype == object or raw[c].dtype == "str"]
    return raw.astype({c: "category" for c in text})


def test_categorical_text_stays_categorical_with_emails_normalized_and_merged() -> None:
    raw = _categorical(
        pd.DataFrame(
            [
                attendee(email="Ann@Example.com "),
                attendee(email="bob@example.com"),
                attendee(calendar="bob@example.com", email="mailto:ANN@example.com"),
            ]
        )
    )
    out = validate(raw, ATTENDEES)
    assert isinstance(out["email"].dtype, pd.CategoricalDtype)
    assert isinstance(out["role"].dtype, pd.CategoricalDtype)
    # three spellings of two people: two categories, the rows read as the string path gives
    assert sorted(out["email"].cat.categories) == ["ann@example.com", "bob@example.com"]
    assert out["email"].tolist() == ["ann@example.com", "bob@example.com", "ann@example.com"]
    as_text = validate(raw.astype(object), ATTENDEES)
    assert out.astype(object).equals(as_text.astype(object))


def test_categorical_vocabulary_is_checked_on_the_categories_in_use() -> None:
    raw = _categorical(pd.DataFrame([event()]))
    unused = raw.assign(status=raw["status"].cat.add_categories(["maybe"]))
    assert validate(unused, EVENTS)["status"].tolist() == ["confirmed"]  # never used: fine
    used = raw.assign(status=pd.Categorical(["maybe"]))
    with pytest.raises(SchemaError, match="'maybe'") as info:
        validate(used, EVENTS)
    assert info.value.column == "status"
    missing = raw.assign(event_id=pd.Categorical([None], categories=["e1"]))  # code -1
    with pytest.raises(SchemaError, match="1 missing value"):
        validate(missing, EVENTS)
    numbers = raw.assign(timezone=pd.Categorical([42]))
    with pytest.raises(SchemaError, match="must hold text"):
        validate(numbers, EVENTS)


# -- what the output is made of, whatever the input's index, attrs, flags or zone object ----


@pytest.mark.parametrize(
    "index",
    [
        pd.Index([0, 1]),  # int64, equal to RangeIndex(2) by value
        pd.Index([0.0, 1.0]),
        pd.Index([0, 1], dtype="uint64"),
        pd.Index([0, 1], dtype=object),
        pd.Index([0, 1], dtype="category"),
        pd.RangeIndex(2, name="row"),
        pd.Index([5, 7], name="row"),
    ],
    ids=repr,
)
def test_output_index_is_always_an_unnamed_range_index(index: pd.Index) -> None:
    raw = pd.DataFrame([event(), event(event_id="e2")], index=index)
    for frame in (raw, raw.assign(cancelled_at=pd.Series(pd.NaT, index=index, dtype=TIMESTAMP))):
        out = validate(frame, EVENTS)
        assert type(out.index) is pd.RangeIndex
        assert out.index.equals(pd.RangeIndex(2))
        assert out.index.name is None
        assert out["start"].index.equals(pd.RangeIndex(2))


def test_output_has_no_attrs_and_default_flags() -> None:
    raw = pd.DataFrame([event(), event(event_id="e2")]).assign(
        cancelled_at=pd.Series(pd.NaT, index=range(2), dtype=TIMESTAMP)
    )
    raw.attrs["source"] = "caller's"
    flagged = raw.set_flags(allows_duplicate_labels=False)
    for frame in (raw, flagged):
        for normalize in (True, False):
            out = validate(frame, EVENTS, normalize=normalize)
            assert out.attrs == {}
            assert out.flags.allows_duplicate_labels is True
    assert raw.attrs == {"source": "caller's"}  # the caller's frame is left alone
    assert flagged.flags.allows_duplicate_labels is False


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("column", ["organizer", "calendar"])
def test_categorical_email_column_with_a_non_text_category_is_a_schema_error(
    column: str, normalize: bool
) -> None:
    raw = pd.DataFrame([event(), event(event_id="e2")])
    raw[column] = pd.Categorical(["a@example.com", 1])
    with pytest.raises(SchemaError, match=r"must hold text, got 1 \(int\)") as info:
        validate(raw, EVENTS, normalize=normalize)
    assert info.value.column == column
    assert column in str(info.value)


def test_normalize_email_of_non_text_values_gives_them_as_text() -> None:
    """What the pandas-string version gave (``astype("string")``), never an Arrow error."""
    from cadence.model import normalize_email

    mixed = pd.Series([1, " A@x.com", None, 1.5, True], dtype=object, index=[3, 4, 5, 6, 7])
    out = normalize_email(mixed)
    assert out.dtype == STRING
    assert out.index.equals(mixed.index)
    assert [None if pd.isna(v) else v for v in out] == ["1", "a@x.com", None, "1.5", "true"]
    assert normalize_email(pd.Series([2, 1, 2])).tolist() == ["2", "1", "2"]
    assert normalize_email(pd.Series([1.0, float("nan")])).isna().tolist() == [False, True]


def _utc_zones() -> list[object]:
    import datetime as dt
    from zoneinfo import ZoneInfo

    import dateutil.tz

    zones: list[object] = [dateutil.tz.tzutc(), ZoneInfo("UTC"), dt.timezone(dt.timedelta(0))]
    try:
        import pytz
    except ImportError:  # not a dependency of the project
        return zones
    return [*zones, pytz.utc]


@pytest.mark.parametrize("zone", _utc_zones(), ids=repr)
def test_instants_in_another_utc_zone_object_get_the_canonical_dtype(zone: object) -> None:
    raw = pd.DataFrame([event(), event(event_id="e2")])
    for c in ("original_start", "start", "end", "created", "updated"):
        raw[c] = raw[c].astype(TIMESTAMP).dt.tz_convert(zone)
    raw["cancelled_at"] = raw["start"]
    out = validate(raw, EVENTS)
    for c in ("original_start", "start", "end", "created", "updated", "cancelled_at"):
        assert out[c].dtype.tz is TIMESTAMP.tz, c
        assert str(out[c].dtype) == "datetime64[us, UTC]"
    assert out.loc[0, "start"] == pd.Timestamp("2026-06-01 09:00", tz="UTC")
