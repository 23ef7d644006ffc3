"""Which event copies are 1:1s, and between which pair of people.

A **1:1** is a timed (not all-day) event of type ``default`` whose human
participants (organizer included, resources excluded) are exactly two distinct
people, counted over every calendar copy of the occurrence (copies share
``(ical_uid, original_start)``). Without a roster every pair of people is a
pair (``person_a`` < ``person_b``). With one, pairs are oriented
(``manager``, ``report``) and only manager–report pairs count, plus
skip-levels and peers when the settings ask for them (``relation`` says which).

Everything here works on integer codes: emails are coded once (sorted, so code
order is email order), event copies are keyed by their row, occurrences by an
instance code. Strings come back only in the output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cadence.errors import SchemaError
from cadence.model import EVENTS, STRING, normalize_email

KEY = list(EVENTS.key)
RELATION_CODE = {"report": 0, "skip_level": 1, "peer": 2, "pair": 3}
RELATIONS: pd.CategoricalDtype = pd.CategoricalDtype(list(RELATION_CODE))


@dataclass
class Coded:
    """Events and attendees as integer codes (built once by :func:`encode`)."""

    emails: pd.Index  # code → email, sorted
    events: pd.DataFrame  # the validated events frame (strings kept for output)
    calendar: np.ndarray  # per event row: email code of the calendar
    organizer: np.ndarray  # per event row: email code (-1 when unknown)
    instance: np.ndarray  # per event row: occurrence code shared by all its copies
    att_row: np.ndarray  # per attendee row: the event row it belongs to
    att_email: np.ndarray  # per attendee row: email code
    att_declined: np.ndarray  # per attendee row: response == declined
    att_resource: np.ndarray  # per attendee row: is_resource


def codes_of(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """A text column as (integer codes, distinct values): a categorical's own codes (no
    string is hashed), else the strings factorized once. Missing is code -1."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return np.asarray(values.cat.codes.to_numpy(), dtype=np.int64), values.cat.categories
    codes, uniques = pd.factorize(values)
    return np.asarray(codes, dtype=np.int64), pd.Index(uniques)


def shared_codes(columns: list[pd.Series]) -> tuple[list[np.ndarray], pd.Index]:
    """Codes of several text columns over one set of distinct values.

    Columns sharing their categories (one categories Index, as ``Store.frames()`` hands
    over) keep their codes; otherwise each column's few distinct values are coded into
    the union, and its rows only remapped.
    """
    coded = [codes_of(c) for c in columns]
    first = coded[0][1]
    if all(u is first or (len(u) == len(first) and u.equals(first)) for _, u in coded[1:]):
        return [c for c, _ in coded], first
    union_codes, union = pd.factorize(
        pd.concat([pd.Series(u, dtype=object) for _, u in coded], ignore_index=True)
    )
    out, at = [], 0
    for codes, u in coded:
        out.append(np.r_[union_codes[at : at + len(u)], -1][codes])
        at += len(u)
    return out, pd.Index(union)


def encode(
    events: pd.DataFrame, attendees: pd.DataFrame, aliases: dict[str, str] | None = None
) -> Coded:
    """Code emails, event keys and occurrences; check keys are unique and attendees belong.

    Emails are normalized (and ``aliases`` mapped to the person's main address) on the
    distinct values, so ``"Ann@X.com"``, ``"ann@x.com "`` and an alias share one code.
    Categorical columns (the store's hand-off) are read through their codes.
    """
    (calendar, organizer, att_email, att_cal), raw = shared_codes(
        [events["calendar"], events["organizer"], attendees["email"], attendees["calendar"]]
    )
    # Normalize the few distinct addresses (not the millions of rows), merge the variants,
    # and order codes like the emails (so person_a < person_b): all on the uniques.
    clean = normalize_email(pd.Series(raw, dtype=STRING))
    if aliases:
        clean = clean.replace(aliases)
    rank, emails = pd.factorize(clean.to_numpy(dtype=object), sort=True)
    ranked = np.r_[rank, -1]  # code -1 (missing) picks the appended -1
    calendar, organizer = ranked[calendar], ranked[organizer]
    att_email, att_cal = ranked[att_email], ranked[att_cal]
    n_email = max(len(emails), 1)

    # one integer per (source, calendar, event_id), shared by both frames
    (ev_id, at_id), id_values = shared_codes([events["event_id"], attendees["event_id"]])
    (ev_src, at_src), _ = shared_codes([events["source"], attendees["source"]])
    n_id = max(len(id_values), 1)
    ev_key = (ev_src * n_email + calendar) * n_id + ev_id
    at_key = (at_src * n_email + att_cal) * n_id + at_id

    index = pd.Index(ev_key)
    try:  # get_indexer refuses a non-unique index: the key check comes for free
        att_row = index.get_indexer(at_key)
    except pd.errors.InvalidIndexError:
        dup = events.loc[index.duplicated(keep=False), KEY].iloc[0].tolist()
        raise SchemaError(
            f"events frame: rows share a key ({', '.join(KEY)}), e.g. {dup}; "
            "each key must appear once",
            column="event_id",
        ) from None
    if (att_row < 0).any():
        bad = attendees.loc[att_row < 0, "event_id"].iloc[0]
        raise SchemaError(
            f"attendees frame: {int((att_row < 0).sum())} row(s) belong to no event, "
            f"e.g. event_id {bad!r}; give attendees only for events in the events frame",
            column="event_id",
        )
    uid, _ = codes_of(events["ical_uid"])
    start_code, _ = pd.factorize(events["original_start"].array.asi8)
    instance, _ = pd.factorize(uid * (int(start_code.max(initial=0)) + 1) + start_code)
    return Coded(
        emails=pd.Index(emails),
        events=events,
        calendar=calendar,
        organizer=organizer,
        instance=instance,
        att_row=att_row,
        att_email=att_email,
        att_declined=(attendees["response"] == "declined").to_numpy(),
        att_resource=attendees["is_resource"].to_numpy(),
    )


def one_on_ones(
    coded: Coded,
    relations: pd.DataFrame | None = None,
    *,
    include_peers: bool = False,
) -> pd.DataFrame:
    """The event copies that are 1:1s: one row per copy, integer-coded.

    Columns: ``row`` (event row), ``instance``, ``a``, ``b`` (email codes, a < b),
    ``cal``, ``org``, ``manager``, ``report`` (codes, -1 without a roster) and
    ``relation``.
    """
    ev = coded.events
    candidate = (~ev["all_day"] & (ev["event_type"] == "default")).to_numpy()
    # human participants per occurrence: attendees that are not resources, plus organizers
    keep_att = ~coded.att_resource & candidate[coded.att_row]
    rows = np.concatenate(
        [coded.att_row[keep_att], np.flatnonzero(candidate & (coded.organizer >= 0))]
    )
    who = np.concatenate(
        [coded.att_email[keep_att], coded.organizer[candidate & (coded.organizer >= 0)]]
    )
    n_email = max(len(coded.emails), 1)
    inst = coded.instance[rows]
    n_inst = int(coded.instance.max(initial=-1)) + 1
    # Exactly two distinct people ⇔ the smallest and largest differ and nobody is in between:
    # all O(n), no hashing or sorting.
    first = np.full(n_inst, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n_inst, -1, dtype=np.int64)
    np.minimum.at(first, inst, who)
    np.maximum.at(last, inst, who)
    between = (who != first[inst]) & (who != last[inst])
    crowded = np.bincount(inst[between], minlength=n_inst) > 0
    two = (last >= 0) & (first != last) & ~crowded

    copy_rows = np.flatnonzero(candidate & two[coded.instance])
    copy_inst = coded.instance[copy_rows]
    out = pd.DataFrame(
        {
            "row": copy_rows,
            "instance": copy_inst,
            "a": first[copy_inst],
            "b": last[copy_inst],
            "cal": coded.calendar[copy_rows],
            "org": coded.organizer[copy_rows],
        }
    )
    if relations is None:
        out["manager"] = -1
        out["report"] = -1
        out["relation"] = pd.Categorical.from_codes(
            np.full(len(out), RELATION_CODE["pair"], dtype=np.int64), dtype=RELATIONS
        )
        return out
    m = coded.emails.get_indexer(pd.Index(relations["manager"]))
    r = coded.emails.get_indexer(pd.Index(relations["report"]))
    known = (m >= 0) & (r >= 0)
    rel_index = pd.Index(m[known].astype(np.int64) * n_email + r[known])
    rel_kind = relations["relation"].map(RELATION_CODE).to_numpy()[known]
    fwd = rel_index.get_indexer(
        out["a"].to_numpy().astype(np.int64) * n_email + out["b"].to_numpy()
    )
    bwd = rel_index.get_indexer(
        out["b"].to_numpy().astype(np.int64) * n_email + out["a"].to_numpy()
    )
    is_fwd, is_bwd = fwd >= 0, (fwd < 0) & (bwd >= 0)
    out["manager"] = np.where(is_fwd, out["a"], np.where(is_bwd, out["b"], -1))
    out["report"] = np.where(is_fwd, out["b"], np.where(is_bwd, out["a"], -1))
    kinds = np.r_[rel_kind, -1]  # -1: no relation (position len(rel_kind) when not found)
    kind = np.where(is_fwd, kinds[fwd], np.where(is_bwd, kinds[bwd], -1))
    if include_peers:
        kind = np.where(kind >= 0, kind, RELATION_CODE["peer"])
    out["relation"] = pd.Categorical.from_codes(np.asarray(kind, dtype=np.int64), dtype=RELATIONS)
    keep = kind >= 0
    return out if keep.all() else out[keep].reset_index(drop=True)
