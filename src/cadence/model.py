"""The normalized calendar model: the frames every source produces, and the records that
cross layers (a :class:`Pull` for the store, a :class:`PullSummary` of a pull, the
:class:`SourceHealth` a report states, the :class:`Snapshot` of an earlier report).

One row of the **events** frame is one occurrence *as seen in one calendar*
(a 1:1 appears in both people's calendars; the store keeps both copies and
analysis merges them). The **attendees** frame is keyed by
``(source, calendar, event_id)``. See ``docs/architecture.md`` for the meaning of
each column; the schemas below are the single source of truth for names and
types, and :func:`validate` is the one place that checks a frame against them.

Canonical dtypes: text is pandas ``string`` (missing = ``pd.NA``), instants are
``datetime64[us, UTC]`` (missing = ``NaT``), flags are ``bool``. Text may also come
dictionary-encoded, as a pandas ``Categorical`` of strings (missing = code -1): what
``Store.frames()`` and the demo hand over, the people columns sharing one categories
Index. :func:`validate` keeps such columns categorical and checks and normalizes their
categories, not their rows, so millions of rows cost what their few distinct values do.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cadence.errors import SchemaError

Kind = Literal["str", "ts", "bool"]

STRING = pd.StringDtype()
TIMESTAMP = pd.DatetimeTZDtype(unit="us", tz="UTC")

SOURCES = frozenset({"google", "graph", "ics", "demo", "caldav"})
STATUSES = frozenset({"confirmed", "tentative", "cancelled"})
EVENT_TYPES = frozenset(
    {
        "default",
        "out_of_office",
        "focus_time",
        "working_location",
        "birthday",
        "from_gmail",
        "other",
    }
)
ROLES = frozenset({"organizer", "required", "optional"})
RESPONSES = frozenset({"accepted", "declined", "tentative", "none"})


@dataclass(frozen=True)
class Column:
    """One column of a normalized frame."""

    name: str
    kind: Kind
    nullable: bool = False
    allowed: frozenset[str] | None = None
    email: bool = False  # lower-cased and stripped by :func:`validate`
    optional: bool = False  # may be left out of a frame (then all missing); implies nullable


@dataclass(frozen=True)
class Schema:
    """A frame's columns and the columns that identify a row."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def dtypes(self) -> dict[str, object]:
        return {c.name: _DTYPES[c.kind] for c in self.columns}


_DTYPES: dict[Kind, Any] = {"str": STRING, "ts": TIMESTAMP, "bool": bool}

EVENTS = Schema(
    name="events",
    columns=(
        Column("source", "str", allowed=SOURCES),
        Column("calendar", "str", email=True),
        Column("event_id", "str"),
        Column("series_id", "str", nullable=True),
        Column("ical_uid", "str"),
        Column("original_start", "ts"),
        Column("start", "ts"),
        Column("end", "ts"),
        Column("timezone", "str", nullable=True),
        Column("all_day", "bool"),
        Column("status", "str", allowed=STATUSES),
        Column("organizer", "str", nullable=True, email=True),
        Column("recurrence", "str", nullable=True),
        Column("event_type", "str", allowed=EVENT_TYPES),
        Column("created", "ts", nullable=True),
        Column("updated", "ts", nullable=True),
        # when this occurrence was cancelled, where the source itself says so (a Google
        # cancelled instance's own `updated`); never a series' last-modified time
        Column("cancelled_at", "ts", nullable=True, optional=True),
    ),
    key=("source", "calendar", "event_id"),
)

ATTENDEES = Schema(
    name="attendees",
    columns=(
        Column("source", "str", allowed=SOURCES),
        Column("calendar", "str", email=True),
        Column("event_id", "str"),
        Column("email", "str", email=True),
        Column("role", "str", allowed=ROLES),
        Column("response", "str", allowed=RESPONSES),
        Column("is_resource", "bool"),
    ),
    key=("source", "calendar", "event_id", "email"),
)


def empty(schema: Schema) -> pd.DataFrame:
    """An empty frame with the schema's columns and canonical dtypes (a copy of one built
    once: every unchanged calendar of a pull hands over two)."""
    return _empty(schema).copy()


@functools.cache
def _empty(schema: Schema) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series(dtype=_DTYPES[c.kind]) for c in schema.columns})


def empty_events() -> pd.DataFrame:
    """An empty events frame."""
    return empty(EVENTS)


def empty_attendees() -> pd.DataFrame:
    """An empty attendees frame."""
    return empty(ATTENDEES)


def normalize_email(values: pd.Series) -> pd.Series:
    """Lower-case and strip e-mail addresses (vectorized); ``mailto:`` prefixes are dropped."""
    # Few distinct addresses, many rows: normalize the distinct values once, then take.
    # Python objects are hashed as they are; Arrow text by Arrow, without making objects
    text = values.to_numpy(dtype=object) if values.dtype == object else values
    codes, uniques = pd.factorize(text)
    try:
        raw = pa.array(np.asarray(uniques, dtype=object), type=pa.large_string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        # non-text values (numbers, flags): as text, the way astype("string") writes them
        codes, uniques = pd.factorize(values.astype(STRING))
        raw = pa.array(np.asarray(uniques, dtype=object), type=pa.large_string())
    clean = pd.array(_clean_emails(raw), dtype=STRING)
    # take() with allow_fill maps the missing-value code -1 to NA, even when every value is NA
    return pd.Series(clean.take(codes, allow_fill=True), index=values.index, copy=False)


def _clean_emails(texts: pa.Array) -> pa.Array:
    """Addresses stripped, lower-cased, without a ``mailto:`` prefix (Arrow's Unicode rules:
    what pandas' ``str.strip().str.lower().str.removeprefix()`` runs, without its wrappers)."""
    lower = pc.utf8_lower(pc.utf8_trim_whitespace(texts))
    prefix = len("mailto:")
    return pc.if_else(
        pc.starts_with(lower, pattern="mailto:"), pc.utf8_slice_codeunits(lower, prefix), lower
    )


def normalize_email_categories(values: pd.Series) -> pd.Series:
    """:func:`normalize_email` for a categorical column, on its categories: rows that differ
    only in case, spaces or a ``mailto:`` prefix end up under one category (codes merged)."""
    cats = values.cat.categories
    raw = cats.to_numpy(dtype=object)
    clean = np.asarray(_clean_emails(pa.array(raw, type=pa.large_string())), dtype=object)
    if bool((clean == raw).all()):
        return values  # already clean: the rows are not touched
    mapping, uniques = pd.factorize(clean)
    codes = values.cat.codes.to_numpy()
    merged = np.r_[mapping, -1].astype(codes.dtype)[codes]  # code -1 (missing) stays -1
    dtype = pd.CategoricalDtype(pd.Index(uniques, dtype=STRING))
    return pd.Series(
        pd.Categorical.from_codes(merged, dtype=dtype), index=values.index, name=values.name
    )


def validate(
    frame: pd.DataFrame, schema: Schema, *, check_key: bool = True, normalize: bool = True
) -> pd.DataFrame:
    """Check ``frame`` against ``schema`` and return it with canonical dtypes.

    Returns a new frame holding exactly the schema's columns, in schema order,
    with e-mail columns normalized (unless ``normalize=False``, for callers that
    normalize the distinct values themselves). Categorical text columns stay categorical
    (their categories checked and normalized; see the module's docstring). Raises
    :class:`~cadence.errors.SchemaError` naming the first bad column: missing, of the
    wrong type, null where nulls
    are not allowed, holding a value outside its vocabulary, a naive
    timestamp, or a duplicated key.

    Examples
    --------
    >>> import pandas as pd
    >>> from cadence.model import ATTENDEES, validate
    >>> validate(pd.DataFrame({"source": ["demo"]}), ATTENDEES)
    Traceback (most recent call last):
    ...
    cadence.errors.SchemaError: attendees frame: missing column(s) 'calendar', 'event_id', ...
    """
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"{schema.name} frame: expected a pandas DataFrame, got {type(frame)!r}")
    missing = [c.name for c in schema.columns if c.name not in frame.columns and not c.optional]
    if missing:
        raise SchemaError(
            f"{schema.name} frame: missing column(s) {', '.join(map(repr, missing))}; "
            f"expected columns: {', '.join(schema.names)}",
            column=missing[0],
        )
    index = pd.RangeIndex(len(frame))
    renumber = not frame.index.equals(index)
    columns: dict[str, pd.Series] = {}
    for col in schema.columns:
        if col.name not in frame.columns:  # an optional column left out: all missing
            columns[col.name] = pd.Series(pd.NA, index=index, dtype=_DTYPES[col.kind])
            continue
        values = frame[col.name].reset_index(drop=True) if renumber else frame[col.name]
        columns[col.name] = _conform(values, col, schema, normalize)
    # one frame, no insert per column; concat is half the DataFrame constructor's cost and,
    # like it, shares unchanged columns copy-on-write (the caller's frame is never written)
    out = pd.concat(columns, axis=1)
    # concat keeps an index equal to 0..n-1 by value (int, float, named...) and passes the
    # input's attrs and flags on: the output is always a fresh frame on a plain RangeIndex
    out.index = index
    if out.attrs:
        out.attrs = {}
    if not out.flags.allows_duplicate_labels:
        out = out.set_flags(allows_duplicate_labels=True)  # a shallow copy, only then
    if check_key:
        _check_key(out, schema)
    if schema is EVENTS:
        bad = out["end"] < out["start"]
        if bad.any():
            first = out.loc[bad, "event_id"].iloc[0]
            raise SchemaError(
                f"events frame: column 'end' is before 'start' in {int(bad.sum())} row(s) "
                f"(first event_id {first!r}); an occurrence must end at or after its start",
                column="end",
            )
    return out


def validate_events(
    frame: pd.DataFrame, *, check_key: bool = True, normalize: bool = True
) -> pd.DataFrame:
    """:func:`validate` against the events schema."""
    return validate(frame, EVENTS, check_key=check_key, normalize=normalize)


def validate_attendees(
    frame: pd.DataFrame, *, check_key: bool = True, normalize: bool = True
) -> pd.DataFrame:
    """:func:`validate` against the attendees schema."""
    return validate(frame, ATTENDEES, check_key=check_key, normalize=normalize)


def _conform(values: pd.Series, col: Column, schema: Schema, normalize: bool = True) -> pd.Series:
    where = f"{schema.name} frame: column {col.name!r}"
    if col.kind == "ts":
        out = _as_utc(values, where, col)
    elif col.kind == "bool":
        if values.isna().any():
            raise SchemaError(
                f"{where} has missing values; it must be True or False", column=col.name
            )
        if values.dtype != bool:
            uniq = set(pd.unique(values))
            if not uniq <= {True, False}:
                raise SchemaError(
                    f"{where} must hold booleans, got {sorted(map(repr, uniq))[:3]}",
                    column=col.name,
                )
        out = values.astype(bool)
    elif isinstance(values.dtype, pd.CategoricalDtype):
        return _conform_categorical(values, col, where, normalize)
    else:
        if not pd.api.types.is_string_dtype(values):  # objects: each must be text
            _check_text(values.to_numpy(dtype=object), col, where)
        out = normalize_email(values) if col.email and normalize else values.astype(STRING)
    # checked on the array: a calendar's hundred rows cost microseconds here, where each
    # Series method costs tens
    values_out = out.array
    if not col.nullable:  # counted only where it matters
        _check_present(int(values_out.isna().sum()), col, where)
    if col.allowed is not None:
        _check_allowed({v for v in values_out.unique() if not pd.isna(v)}, col, where)
    return out


def _check_text(values: np.ndarray, col: Column, where: str) -> None:
    """Every value present is text (``infer_dtype`` checks them in C; the rows only on
    failure)."""
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return
    bad = [v for v in values[~pd.isna(values)] if not isinstance(v, str)]
    if bad:
        raise SchemaError(
            f"{where} must hold text, got {bad[0]!r} ({type(bad[0]).__name__})", column=col.name
        )


def _check_present(missing: int, col: Column, where: str) -> None:
    """A required column may hold no missing value."""
    if not col.nullable and missing:
        raise SchemaError(
            f"{where} has {missing} missing value(s); it is required", column=col.name
        )


def _check_allowed(present: set[Any], col: Column, where: str) -> None:
    """Every value in use must be in the column's vocabulary."""
    bad_values = sorted(present - (col.allowed or frozenset()))
    if bad_values:
        raise SchemaError(
            f"{where} has unexpected value(s) {', '.join(map(repr, bad_values[:5]))}; "
            f"allowed: {', '.join(sorted(col.allowed or ()))}",
            column=col.name,
        )


def _conform_categorical(values: pd.Series, col: Column, where: str, normalize: bool) -> pd.Series:
    """A categorical text column, checked on its categories and the codes in use."""
    cats = values.cat.categories
    # numbers, or objects an e-mail column would normalize (a number among them would fail in
    # Arrow): each must be text
    if not pd.api.types.is_string_dtype(cats.dtype) or (col.email and cats.dtype == object):
        _check_text(cats.to_numpy(dtype=object), col, where)
    if col.email and normalize:
        values = normalize_email_categories(values)
    codes = values.cat.codes.to_numpy()
    if not col.nullable and len(codes) and codes.min() < 0:  # counted only when it fails
        _check_present(int((codes < 0).sum()), col, where)
    cats = values.cat.categories
    if col.allowed is not None and not set(cats) <= col.allowed:  # rows only then
        used = np.bincount(codes[codes >= 0], minlength=len(cats)) > 0
        _check_allowed(set(cats[used]), col, where)
    return values


def _as_utc(values: pd.Series, where: str, col: Column) -> pd.Series:
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        # == TIMESTAMP holds for any UTC-like zone object (dateutil's, pytz's, ZoneInfo's):
        # only the canonical one is handed back as it is
        if dtype.unit == TIMESTAMP.unit and dtype.tz is TIMESTAMP.tz:
            return values
        return cast(pd.Series, values.dt.tz_convert("UTC").astype(TIMESTAMP))
    if pd.api.types.is_datetime64_dtype(values.dtype):
        raise SchemaError(
            f"{where} holds naive timestamps; make them timezone-aware UTC "
            "(e.g. series.dt.tz_localize('UTC'))",
            column=col.name,
        )
    if values.isna().all():
        return pd.Series(pd.NaT, index=values.index, dtype=TIMESTAMP)
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) == "datetime":
        # a connector's aware instants in one zone: no parsing (8x cheaper on a calendar);
        # mixed zones or naive ones go the general way below
        try:
            index = pd.DatetimeIndex(values.to_numpy(dtype=object))
        except (ValueError, TypeError):
            index = None
        if index is not None and isinstance(index.dtype, pd.DatetimeTZDtype):
            utc = index.tz_convert("UTC").astype(TIMESTAMP)
            return pd.Series(utc, index=values.index, copy=False)
    try:
        parsed = pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise SchemaError(
            f"{where} must hold timezone-aware timestamps (or ISO 8601 text): {exc}",
            column=col.name,
        ) from exc
    return parsed.astype(TIMESTAMP)


_SMALL = 5_000  # rows: below this, Python's set beats pandas' per-call overhead


def _check_key(frame: pd.DataFrame, schema: Schema) -> None:
    if len(frame) <= _SMALL:  # one calendar's rows: a set of tuples, no hashing frame
        keys = zip(*(frame[k].tolist() for k in schema.key), strict=True)
        if len(set(keys)) == len(frame):
            return
    dup = frame.duplicated(list(schema.key), keep=False)
    if dup.any():
        first = frame.loc[dup, list(schema.key)].iloc[0].tolist()
        raise SchemaError(
            f"{schema.name} frame: {int(dup.sum())} rows share a key "
            f"({', '.join(schema.key)}), e.g. {first}; each key must appear once",
            column=schema.key[-1],
        )


# -- records that cross layers ------------------------------------------------------------------


@dataclass(frozen=True)
class Frames:
    """An events frame and its attendees frame: what :func:`cadence.analyze` reads.

    :meth:`cadence.Store.frames` returns one (its events carry the store's
    bookkeeping columns such as ``vanished_at``); so does :func:`cadence.load_store`,
    with the roster a directory pull stored (``None`` when there is none). ``span``
    is the stretch of time the data covers, when known: an analysis window outside
    it would report what was never loaded.
    """

    events: pd.DataFrame
    attendees: pd.DataFrame
    roster: pd.DataFrame | None = None
    span: tuple[pd.Timestamp, pd.Timestamp] | None = None  # the time the data covers


@dataclass(frozen=True)
class Pull:
    """What one pull of one source read, ready to be written in one transaction.

    ``calendars`` are the calendars this pull covers (rows of others are an
    error). ``window`` (start, end) marks a *full* pull: every stored
    occurrence of those calendars overlapping the window that the pull does not
    contain has vanished. Without a window the pull is incremental (a delta)
    and nothing vanishes by absence. ``cursors`` maps calendar → sync cursor
    (``None`` clears it).
    """

    source: str
    calendars: Sequence[str]
    events: pd.DataFrame
    attendees: pd.DataFrame
    seen_at: pd.Timestamp
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None
    cursors: Mapping[str, str | None] = field(default_factory=dict)


@dataclass
class CalendarPull:
    """What a connector read of one calendar, for the sync engine to write.

    ``window`` set: a full pull of that window (what is stored there and not in
    this pull has vanished); ``None``: a delta. ``cursor`` is the provider's
    sync cursor to keep (``None`` keeps none). ``problems`` are things skipped
    on the way (a broken event), ``stats`` source-specific counters that the
    summary adds up (``masters_fetched``, ``files``…).
    """

    calendar: str
    events: pd.DataFrame
    attendees: pd.DataFrame
    window: tuple[pd.Timestamp, pd.Timestamp] | None
    cursor: str | None = None
    requests: int = 0
    items: int = 0
    resynced: bool = False
    problems: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def full(self) -> bool:
        return self.window is not None


@dataclass
class PullSummary:
    """What pulling one source did: counts over its calendars, and which ones failed.

    ``error`` says why the source as a whole could not start (a sign-in that
    failed); then every calendar it would have pulled is in ``failed`` too.
    ``roster_people`` counts the roster read from the provider's directory.
    """

    source: str
    calendars: int = 0
    full: int = 0
    incremental: int = 0
    resynced: int = 0
    requests: int = 0
    items: int = 0
    rows_written: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    roster_people: int | None = None

    def add(self, result: CalendarPull) -> None:
        """Count one calendar's successful pull in."""
        self.full += result.full
        self.incremental += not result.full
        self.resynced += result.resynced
        self.requests += result.requests
        self.items += result.items
        self.problems.extend(result.problems)
        for key, value in result.stats.items():
            self.stats[key] = self.stats.get(key, 0) + value

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the store's ``runs`` table."""
        return {
            "source": self.source,
            "calendars": self.calendars,
            "full": self.full,
            "incremental": self.incremental,
            "resynced": self.resynced,
            "requests": self.requests,
            "items": self.items,
            "rows_written": self.rows_written,
            "failed": dict(self.failed),
            "problems": list(self.problems),
            "error": self.error,
            "roster_people": self.roster_people,
            **self.stats,
        }


STALE_AFTER = pd.Timedelta(days=8)


@dataclass(frozen=True)
class SourceHealth:
    """A source as a report states it: when it last pulled and whether it is failing."""

    name: str
    last_success: pd.Timestamp | None
    error: str | None = None
    stale_after: pd.Timedelta = STALE_AFTER

    def stale(self, as_of: pd.Timestamp) -> bool:
        """Never pulled, or last pulled longer ago than ``stale_after``."""
        return self.last_success is None or as_of - self.last_success > self.stale_after


@dataclass(frozen=True)
class Snapshot:
    """What an earlier report showed: its ``as_of``, summary figures and pair statuses."""

    as_of: pd.Timestamp
    cards: dict[str, Any]
    pairs: pd.DataFrame
