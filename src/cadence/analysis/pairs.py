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
    att_own: np.ndarray  # per attendee row: the attendee is the calendar's owner (own copy)


def codes_of(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """A text column as (integer codes, distinct values): a categorical's own codes (no
    string is hashed, the codes keep their small integer type), else the strings factorized
    once. Missing is code -1."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), values.cat.categories
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


def _mostly_sorted(values: np.ndarray) -> bool:
    """Few descents (long ascending runs): a stable sort is nearly linear and binary
    searches for the values in turn stay in cache."""
    return int(np.count_nonzero(values[1:] < values[:-1])) * 256 <= len(values)


def _find(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, int]:
    """Position of each ``wanted`` value in the unique ``keys`` (-1: absent).

    Returns ``(positions, -1)``, or ``(empty, row)`` when keys repeat: ``row`` is the first
    position whose key another position shares. Mostly sorted keys (the store's order) are
    sorted and searched; others go through a hash table.
    """
    if len(keys) and _mostly_sorted(keys) and _mostly_sorted(wanted):
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        same = np.flatnonzero(ordered[1:] == ordered[:-1])
        if len(same):
            return np.array([], dtype=np.int64), int(min(order[same].min(), order[same + 1].min()))
        at = np.minimum(np.searchsorted(ordered, wanted), len(ordered) - 1)
        return np.where(ordered[at] == wanted, order[at], -1), -1
    index = pd.Index(keys)
    if not index.is_unique:  # get_indexer refuses a non-unique index
        return np.array([], dtype=np.int64), int(np.flatnonzero(index.duplicated(keep=False))[0])
    return index.get_indexer(wanted), -1


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

    # one integer per (event_id, calendar, source), shared by both frames
    (ev_id, at_id), _ = shared_codes([events["event_id"], attendees["event_id"]])
    (ev_src, at_src), src_values = shared_codes([events["source"], attendees["source"]])
    n_src = max(len(src_values), 1)
    ev_key = (ev_id.astype(np.int64) * n_email + calendar) * n_src + ev_src
    at_key = (at_id.astype(np.int64) * n_email + att_cal) * n_src + at_src

    att_row, dup = _find(ev_key, at_key)  # the key check comes with the look-up
    if dup >= 0:
        raise SchemaError(
            f"events frame: rows share a key ({', '.join(KEY)}), "
            f"e.g. {events[KEY].iloc[dup].tolist()}; each key must appear once",
            column="event_id",
        )
    if len(att_row) and att_row.min() < 0:
        orphan = att_row < 0
        bad = attendees["event_id"].iloc[int(np.argmax(orphan))]
        raise SchemaError(
            f"attendees frame: {int(orphan.sum())} row(s) belong to no event, "
            f"e.g. event_id {bad!r}; give attendees only for events in the events frame",
            column="event_id",
        )
    uid, _ = codes_of(events["ical_uid"])
    start_code, _ = pd.factorize(events["original_start"].array.asi8)
    instance, _ = pd.factorize(
        uid.astype(np.int64) * (int(start_code.max(initial=0)) + 1) + start_code
    )
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
        att_own=att_email == att_cal,
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
    candidate = ~ev["all_day"].to_numpy(dtype=bool) & (ev["event_type"] == "default").to_numpy()
    # human participants per occurrence: attendees that are not resources, plus organizers
    keep_att = ~coded.att_resource & candidate[coded.att_row]
    org_rows = np.flatnonzero(candidate & (coded.organizer >= 0))
    inst = np.concatenate([coded.instance[coded.att_row[keep_att]], coded.instance[org_rows]])
    who = np.concatenate([coded.att_email[keep_att], coded.organizer[org_rows]])
    n_email = max(len(coded.emails), 1)
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

    # manager, report and relation per occurrence (an occurrence's copies share its pair)
    manager = np.full(n_inst, -1, dtype=np.int64)
    report = np.full(n_inst, -1, dtype=np.int64)
    kind = np.full(n_inst, -1, dtype=np.int64)
    if relations is None:
        kind[two] = RELATION_CODE["pair"]
    else:
        pair = np.flatnonzero(two)
        a, b = first[pair], last[pair]
        m = coded.emails.get_indexer(pd.Index(relations["manager"]))
        r = coded.emails.get_indexer(pd.Index(relations["report"]))
        known = (m >= 0) & (r >= 0)
        rel_index = pd.Index(m[known].astype(np.int64) * n_email + r[known])
        rel_kind = relations["relation"].map(RELATION_CODE).to_numpy()[known]
        fwd = rel_index.get_indexer(a * n_email + b)
        bwd = rel_index.get_indexer(b * n_email + a)
        is_fwd, is_bwd = fwd >= 0, (fwd < 0) & (bwd >= 0)
        manager[pair] = np.where(is_fwd, a, np.where(is_bwd, b, -1))
        report[pair] = np.where(is_fwd, b, np.where(is_bwd, a, -1))
        kinds = np.r_[rel_kind, -1]  # -1: no relation (position len(rel_kind) when not found)
        found = np.where(is_fwd, kinds[fwd], np.where(is_bwd, kinds[bwd], -1))
        if include_peers:
            found = np.where(found >= 0, found, RELATION_CODE["peer"])
        kind[pair] = found

    copy_rows = np.flatnonzero(candidate & (kind >= 0)[coded.instance])
    copy_inst = coded.instance[copy_rows]
    columns = {
        "row": copy_rows,
        "instance": copy_inst,
        "a": first[copy_inst],
        "b": last[copy_inst],
        "cal": coded.calendar[copy_rows],
        "org": coded.organizer[copy_rows],
        "manager": manager[copy_inst],
        "report": report[copy_inst],
        "relation": pd.Categorical.from_codes(kind[copy_inst], dtype=RELATIONS),
    }
    return pd.DataFrame(columns, copy=False)  # fresh arrays: not copied into one block
