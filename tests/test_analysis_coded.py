"""The integer-coded hand-off: categorical text (as ``Store.frames()`` and the demo hand it
over) gives the very results of plain string frames, however the categories are laid out."""

from __future__ import annotations

import pandas as pd

from cadence.analysis import analyze
from cadence.sources import demo

from .conftest import AS_OF


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    return frame.astype({c: "string" for c in cats})


def _same(left, right) -> None:
    for name in ("occurrences", "pairs", "weekly"):
        pd.testing.assert_frame_equal(getattr(left, name), getattr(right, name), check_exact=True)


def test_the_demo_hands_over_categorical_people_sharing_one_index(small_org) -> None:
    ev, at = small_org.events, small_org.attendees
    people = ev["calendar"].cat.categories
    for frame, col in ((ev, "organizer"), (at, "email"), (at, "calendar")):
        assert frame[col].cat.categories is people, col
    assert isinstance(ev["event_id"].dtype, pd.CategoricalDtype)


def test_categorical_frames_give_the_results_of_string_frames(small_org) -> None:
    org = small_org
    coded = analyze(org, org.roster, as_of=AS_OF, window="26w")
    text = analyze(
        (_as_text(org.events), _as_text(org.attendees)), org.roster, as_of=AS_OF, window="26w"
    )
    _same(coded, text)
    assert len(coded.occurrences) > 100  # a real organisation, not an empty comparison


def test_each_text_column_alone_as_strings_gives_the_same_results() -> None:
    """Mixed input (some columns categorical, some text, as after editing store frames): the
    results of all-categorical input, e.g. ``ical_uid`` as text beside a categorical
    ``series_id`` whose categories do not hold the ical_uids."""
    org = demo.generate(40, seed=1, as_of=AS_OF, weeks=26, absences=True)
    coded = analyze(org, org.roster, as_of=AS_OF, window="26w")
    for col in ("ical_uid", "series_id", "timezone", "source", "organizer"):
        ev = org.events.astype({col: "string"})
        mixed = analyze((ev, org.attendees), org.roster, as_of=AS_OF, window="26w")
        _same(coded, mixed)


def test_people_columns_with_their_own_categories_and_spellings_are_recoded() -> None:
    org = demo.generate(24, seed=5, as_of=AS_OF, weeks=8, ahead_weeks=2)
    ev, at = org.events.copy(), org.attendees.copy()
    # attendees' emails: their own categories, reversed, one person written in capitals
    shout = ev["organizer"].dropna().iloc[0]
    email = at["email"].astype(object).where(at["email"] != shout, shout.upper() + " ")
    at["email"] = pd.Categorical(email, categories=sorted(set(email), reverse=True))
    ev["event_id"] = ev["event_id"].cat.reorder_categories(ev["event_id"].cat.categories[::-1])
    coded = analyze((ev, at), org.roster, as_of=AS_OF, window="8w")
    text = analyze(
        (_as_text(org.events), _as_text(org.attendees)), org.roster, as_of=AS_OF, window="8w"
    )
    _same(coded, text)
    assert (coded.occurrences["person_a"] == shout).any() or (
        coded.occurrences["person_b"] == shout
    ).any()


def test_the_copy_order_is_the_full_lexsort_of_its_four_keys() -> None:
    """classify's cheaper order picks the same copy as np.lexsort of every key: many ties
    on each key (several copies per occurrence, some both or neither the organizer's, equal
    update times, equal calendars), in shuffled and in sorted input order."""
    import numpy as np

    from cadence.analysis.outcomes import _copy_order

    rng = np.random.default_rng(5)
    for n, spread in ((1, 1), (50, 3), (2_000, 40), (20_000, 5_000)):
        inst = rng.integers(0, spread, n)
        is_org = rng.random(n) < 0.4
        newest_first = rng.integers(-3, 3, n)
        cal = rng.integers(0, 4, n)
        for order_in in (np.arange(n), np.argsort(inst, kind="stable")):
            keys = (cal[order_in], newest_first[order_in], is_org[order_in], inst[order_in])
            want = np.lexsort((keys[0], keys[1], ~keys[2], keys[3]))
            got = _copy_order(keys[3], keys[2], keys[1], keys[0])
            assert got.tolist() == want.tolist()
