"""Privacy for reports: keyed pseudonyms for people, small groups suppressed.

A pseudonym is ``person-`` and the first 10 hex digits of HMAC-SHA256(key,
email): the same person gets the same pseudonym in every report made with the
same key (so reports can be compared week to week), and without the key
nobody can test a guess of who is behind one.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace

import numpy as np
import pandas as pd

from cadence.analysis import Analysis
from cadence.errors import ConfigError
from cadence.model import STRING

PEOPLE_COLUMNS = (
    "manager",
    "report",
    "person_a",
    "person_b",
    "declined_by",
    "cancelled_by",
    "organizer",
)
# Free text that may name people or say what a meeting is about: dropped, not hashed.
TEXT_COLUMNS = ("title",)
ROSTER_PEOPLE = ("email", "manager_email")
ROSTER_DROPPED = ("name", "title", "job_title", "aliases")
MIN_KEY_LENGTH = 16


def pseudonym(email: str, key: str) -> str:
    """The pseudonym of one email under ``key``.

    >>> pseudonym("Ada@Example.com", "a key of sixteen+ chars")
    'person-...'
    >>> pseudonym("ada@example.com", "k" * 16) == pseudonym("ADA@example.com ", "k" * 16)
    True
    """
    digest = hmac.new(key.encode(), email.strip().lower().encode(), hashlib.sha256)
    return "person-" + digest.hexdigest()[:10]


def pseudonym_label(label: str, key: str) -> str:
    """A pair label (``a → b`` or ``a ↔ b``) with both people pseudonymized.

    >>> pseudonym_label("ada@x.com ↔ bob@x.com", "k" * 16).count("person-")
    2
    """
    for arrow in (" → ", " ↔ "):
        if arrow in label:
            a, b = label.split(arrow, 1)
            return f"{pseudonym(a, key)}{arrow}{pseudonym(b, key)}"
    return label


def check_key(key: str | None) -> str:
    """The key, or a :class:`~cadence.errors.ConfigError` that says how to provide one."""
    if not key or len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"pseudonymization needs a secret key of at least {MIN_KEY_LENGTH} characters: "
            "set [report] pseudonym_key or the CADENCE_PSEUDONYM_KEY environment variable"
        )
    return key


def pseudonymize(analysis: Analysis, key: str) -> Analysis:
    """A copy of ``analysis`` in which every email is a pseudonym and titles are gone.

    Pair labels are rebuilt from the pseudonyms; names and job titles are
    dropped from the roster; meeting titles from the occurrences.

    Examples
    --------
    >>> import cadence
    >>> hidden = cadence.report.pseudonymize(result, key="a secret of 16+ characters")
    >>> hidden.pairs["manager"].str.startswith("person-").all()
    np.True_
    """
    check_key(key)
    cache: dict[str, str] = {}

    def hide(value: object) -> object:
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return value
        text = str(value)
        if text not in cache:
            cache[text] = pseudonym(text, key)
        return cache[text]

    def hide_column(col: pd.Series) -> pd.Series:
        if isinstance(col.dtype, pd.CategoricalDtype):
            return col.cat.rename_categories([hide(c) for c in col.cat.categories])
        return col.map(hide, na_action="ignore").astype(col.dtype)

    def hide_pair(col: pd.Series) -> pd.Series:
        def label(text: object) -> object:
            return pseudonym_label(text, key) if isinstance(text, str) else text

        if isinstance(col.dtype, pd.CategoricalDtype):
            return col.cat.rename_categories([label(c) for c in col.cat.categories])
        return col.map(label, na_action="ignore").astype(col.dtype)

    def clean(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for col in PEOPLE_COLUMNS:
            if col in frame.columns:
                frame[col] = hide_column(frame[col])
        if "pair" in frame.columns:
            frame["pair"] = hide_pair(frame["pair"])
        for col in TEXT_COLUMNS:
            if col in frame.columns:
                frame[col] = pd.Series(pd.NA, index=frame.index, dtype=STRING)
        for col in ("series", "ical_uid"):  # provider ids may embed an email
            if col in frame.columns:
                frame[col] = hide_column(frame[col])
        return frame

    roster = analysis.roster
    if roster is not None:
        roster = roster.drop(columns=[c for c in ROSTER_DROPPED if c in roster.columns]).copy()
        for col in ROSTER_PEOPLE:
            if col in roster.columns:
                roster[col] = hide_column(roster[col])
    meta = dict(analysis.meta)
    if "leader" in meta:
        meta["leader"] = hide(meta["leader"])
    return replace(
        analysis,
        occurrences=clean(analysis.occurrences),
        pairs=clean(analysis.pairs),
        weekly=clean(analysis.weekly),
        roster=roster,
        meta={**meta, "pseudonymized": True},
    )
