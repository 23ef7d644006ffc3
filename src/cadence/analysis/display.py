"""How figures and unknowns are written: one helper per kind of number.

The reasons, the report's cards and table, the CLI summary and the exports
all write their numbers through these helpers, so a figure reads the same
wherever it appears:

- a **count that may be fractional** (expected 1:1s, a target of 3.5 days)
  has at most one decimal, and none when it is whole: ``6``, ``6.5``;
- **days since** something are whole days, rounded down (a 1:1 69.5 days ago
  was 69 days ago); other spans of days (gaps, targets) are
  :func:`counts_text` of the rounded value;
- a **share** is a whole percentage: ``92 %``;
- an **unknown** is said in words and names the sources that cannot know it
  (``not known from .ics / Outlook data``), never shown as 0.

Every helper takes a Series (the reasons are built for all pairs at once);
the ``*_text`` scalar versions are for single figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.model import STRING

# The name a reader knows each source by, in the order they are listed.
SOURCE_NAMES = {
    "ics": ".ics",
    "graph": "Outlook",
    "google": "Google",
    "demo": "demo",
    "caldav": "CalDAV",
}


def counts(values: pd.Series) -> pd.Series:
    """Counts with at most one decimal, none when whole (``6.0`` → ``"6"``, ``6.46`` → ``"6.5"``).

    >>> counts(pd.Series([6.0, 6.46, 6.04, 3.5, None])).tolist()
    ['6', '6.5', '6', '3.5', '–']
    """
    x = pd.Series(values, dtype="float64").round(1)
    known = x.notna().to_numpy()
    tenths = np.abs(np.where(known, x.to_numpy() * 10, 0)).round().astype(np.int64)
    negative = np.where(known, x.to_numpy(), 0) < 0
    # few distinct values, many rows: each distinct (sign, tenths) is written once
    keys, inverse = np.unique(tenths * 2 + negative, return_inverse=True)

    def write(key: int) -> str:
        whole, tenth = divmod(key // 2, 10)
        return ("-" if key % 2 else "") + str(whole) + (f".{tenth}" if tenth else "")

    written = np.array([write(k) for k in keys.tolist()] + ["–"], dtype=object)
    return pd.Series(
        written[np.where(known, inverse.reshape(-1), len(keys))], index=values.index, dtype=object
    )


def count_text(value: float | None) -> str:
    """:func:`counts` of one number.

    >>> count_text(6.5), count_text(7.0), count_text(None)
    ('6.5', '7', '–')
    """
    return str(counts(pd.Series([value], dtype="float64")).iloc[0])


def whole_days(values: pd.Series) -> pd.Series:
    """Days (float) → whole days rounded down, as a nullable integer (``Int64``).

    >>> whole_days(pd.Series([69.5, 0.2, None])).tolist()
    [69, 0, <NA>]
    """
    return pd.Series(np.floor(pd.Series(values, dtype="float64")), index=values.index).astype(
        "Int64"
    )


def pcts(shares: pd.Series) -> pd.Series:
    """Shares → whole percentages (``0.923`` → ``"92 %"``); ``–`` where unknown.

    >>> pcts(pd.Series([0.923, 1.0, None])).tolist()
    ['92 %', '100 %', '–']
    """
    x = (pd.Series(shares, dtype="float64") * 100).round()
    return (x.astype("Int64").astype(str) + " %").where(x.notna(), "–")


def pct_text(share: float | None) -> str:
    """:func:`pcts` of one share.

    >>> pct_text(0.0625), pct_text(None)
    ('6 %', '–')
    """
    return str(pcts(pd.Series([share], dtype="float64")).iloc[0])


def held_of_expected(held: pd.Series, expected: pd.Series) -> pd.Series:
    """``"6 of 6.5"``: held 1:1s of the expected ones.

    >>> held_of_expected(pd.Series([6]), pd.Series([6.5])).tolist()
    ['6 of 6.5']
    """
    return held.astype("Int64").astype(str) + " of " + counts(expected)


TARGET_NOTES = {
    "rrule": "",
    "config": " (set in the config)",
    "inferred": " (inferred from their gaps)",
    "default": " (assumed)",
}


def target_notes(sources: pd.Series) -> pd.Series:
    """What to say after a target that is not the series' own RRULE.

    A target from the RRULE is the pair's agreement; any other is marked, so a
    reader never takes an assumed 14 days for something the pair agreed on.

    >>> target_notes(pd.Series(["rrule", "default"])).tolist()
    ['', ' (assumed)']
    """
    return pd.Series(sources, dtype=object).map(TARGET_NOTES).fillna("")


def source_codes(sources: pd.Series, groups: pd.Series, keys: pd.Index) -> pd.Series:
    """Per group (``keys``), the sources among ``sources`` as codes: ``"ics, graph"``; NA if none.

    ``sources`` holds one source per row, or code lists this function made (so pairs'
    codes combine into a group's). Listed in :data:`SOURCE_NAMES` order. One pass per
    source, none per group.

    >>> sources, groups = pd.Series(["graph", "ics", "ics"]), pd.Series([0, 0, 1])
    >>> codes = source_codes(sources, groups, pd.Index([0, 1, 2]))
    >>> codes.tolist()
    ['ics, graph', 'ics', <NA>]
    """
    text = pd.Series("", index=keys, dtype=object)
    # a value is one source code, or codes as this function writes them ("ics, graph"):
    # split once per distinct value, then look each row's value up
    found, uniques = pd.factorize(pd.Series(sources, dtype=object))
    listed = [{c.strip() for c in str(u).split(",")} for u in uniques]
    for code in SOURCE_NAMES:
        member = np.array([code in names for names in listed] + [False])
        mine = pd.Series(member[found], index=groups.index)
        has = mine.groupby(groups.to_numpy()).any().reindex(keys, fill_value=False)
        text = text + np.where(has.to_numpy(dtype=bool), code + ", ", "")
    text = text.str.removesuffix(", ")
    return text.where(text != "").astype(STRING)


def source_names(codes: pd.Series) -> pd.Series:
    """Source codes (``"ics, graph"``) → the names readers know (``".ics / Outlook"``).

    Parsed once per distinct value.

    >>> source_names(pd.Series(["ics, graph", None])).tolist()
    ['.ics / Outlook', '']
    """
    found, uniques = pd.factorize(pd.Series(codes, dtype=object))
    names = [
        " / ".join(SOURCE_NAMES.get(c.strip(), c.strip()) for c in str(u).split(","))
        for u in uniques
    ]
    return pd.Series(np.array([*names, ""], dtype=object)[found], index=codes.index)


def late_texts(
    late: pd.Series, unknown: pd.Series, cancelled: pd.Series, sources: pd.Series
) -> pd.Series:
    """How late the cancellations were, said plainly where the sources cannot tell.

    ``late`` and ``unknown`` count cancellations known to be late and those whose
    timing is unknown; ``sources`` names the sources of the unknown ones (codes).

    >>> texts = late_texts(pd.Series([2, 0, 1, 0]), pd.Series([0, 3, 2, 0]),
    ...                    pd.Series([5, 3, 6, 0]), pd.Series([None, "ics, graph", "ics", None]))
    >>> texts.tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['2 late', 'late: not known from .ics / Outlook data',
     '1 late, 2 not known from .ics data', '0 late']
    """
    names = source_names(sources)
    known = late.astype("Int64").astype(str) + " late"
    all_unknown = "late: not known from " + names + " data"
    some_unknown = (
        known + ", " + unknown.astype("Int64").astype(str) + " not known from " + names + " data"
    )
    return pd.Series(
        np.where(
            unknown.to_numpy() == 0,
            known,
            np.where(
                (late.to_numpy() == 0) & (unknown.to_numpy() == cancelled.to_numpy()),
                all_unknown,
                some_unknown,
            ),
        ),
        index=late.index,
        dtype=object,
    )


def late_text(late: int, unknown: int, cancelled: int, sources: str | None) -> str:
    """:func:`late_texts` of one set of counts.

    >>> late_text(0, 4, 4, "ics")
    'late: not known from .ics data'
    """
    return str(
        late_texts(
            pd.Series([late]), pd.Series([unknown]), pd.Series([cancelled]), pd.Series([sources])
        ).iloc[0]
    )


def late_shares(
    late: pd.Series,
    unknown: pd.Series,
    cancelled: pd.Series,
    past: pd.Series,
    sources: pd.Series,
) -> pd.Series:
    """Late cancellations as a share of past slots, said plainly where the sources cannot tell.

    Known only: ``"3 % late"``. Some unknown: ``"at least 3 % late; 4 not known from .ics
    data"``. Nothing known: ``"late: not known from .ics data"``: never a 0 % for unknown.

    >>> shares = late_shares(pd.Series([3, 0, 0]), pd.Series([0, 4, 2]), pd.Series([5, 4, 6]),
    ...                      pd.Series([100, 100, 100]), pd.Series([None, "ics", "graph"]))
    >>> shares.tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['3 % late', 'late: not known from .ics data',
     'none known late; 2 not known from Outlook data']
    """
    names = source_names(sources)
    rate = pcts(late / past.where(past > 0))
    n_unknown = unknown.astype("Int64").astype(str)
    tail = n_unknown + " not known from " + names + " data"
    u, lt, c = (x.to_numpy() for x in (unknown, late, cancelled))
    return pd.Series(
        np.select(
            [u == 0, (lt == 0) & (u == c), lt == 0],
            [
                rate + " late",
                "late: not known from " + names + " data",
                "none known late; " + tail,
            ],
            "at least " + rate + " late; " + tail,
        ),
        index=late.index,
        dtype=object,
    )
