"""One row per 1:1 occurrence, the calendar copies merged, with its outcome and flags.

Rules (``shared/DESIGN.md``, refined in the README):

- the copies of one occurrence share ``(ical_uid, original_start)``;
- times and status come from the organizer's copy when it is there (then the
  most recently updated copy);
- ``cancelled`` when the organizer's copy is cancelled (or, with no organizer
  copy, when every copy is); occurrences the store saw vanish before their
  start are already ``status == "cancelled"`` rows;
- each person's own copy is trusted for their response: ``declined`` when a
  person declined in their own copy, or removed their own copy while the
  organizer's stands; another copy's view of them counts only when their own
  copy is missing;
- otherwise ``held`` once its start has passed, else ``scheduled``;
- ``moved`` when ``start`` differs from ``original_start``;
- ``late_cancel`` only from evidence of *when* that occurrence was cancelled
  (see :func:`late_cancellations`); ``updated`` (a series master's
  LAST-MODIFIED, a copy touched for any reason) and the store's
  ``vanished_at`` alone are not evidence.

Works on the integer codes of :mod:`cadence.analysis.pairs`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.analysis.pairs import Coded
from cadence.model import STRING, TIMESTAMP

# ``excused``: cancelled or declined while either person was away (see :mod:`.absence`)
OUTCOMES = ("held", "cancelled", "declined", "scheduled", "excused")
OUTCOME_DTYPE = pd.CategoricalDtype(list(OUTCOMES))
# The integer code of each outcome (its position in OUTCOME_DTYPE's categories), by name:
# kernels that build codes or read ``.cat.codes`` use these, never bare integers.
HELD, CANCELLED, DECLINED, SCHEDULED, EXCUSED = (OUTCOMES.index(o) for o in OUTCOMES)
DIRECTIONS = ("earlier", "later")
DIRECTION_DTYPE = pd.CategoricalDtype(list(DIRECTIONS))
EARLIER, LATER = (DIRECTIONS.index(d) for d in DIRECTIONS)
NO_CODE = -1  # a missing categorical value / an unknown email code
# The optional evidence columns of the events frame: the interval in which the
# cancellation of that calendar copy is known to have happened (UTC; NaT: no bound).
EVIDENCE = ("cancelled_after", "cancelled_before")
TAKEN = [
    "source",
    "series_id",
    "ical_uid",
    "original_start",
    "start",
    "end",
    "timezone",
    "recurrence",
    "updated",
]
NAT = np.iinfo(np.int64).min


def _segments(keys: np.ndarray) -> np.ndarray:
    """Start positions of the runs of equal values in a sorted array."""
    if not len(keys):
        return np.array([], dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def late_cancellations(
    start: pd.Series,
    cancelled_after: pd.Series,
    cancelled_before: pd.Series,
    cancelled: pd.Series,
    hours: float,
) -> pd.Series:
    """Was each cancellation late? ``True`` / ``False`` from evidence, ``NA`` when unknown.

    The cancellation happened somewhere in ``[cancelled_after, cancelled_before]``
    (NaT: that bound is unknown). It was **late** when that whole interval lies
    within ``hours`` of the start (``start - cancelled_after < hours``), **not
    late** when it lies wholly before (``start - cancelled_before >= hours``),
    and unknown (``NA``) otherwise. Occurrences that were not cancelled are
    ``False``: nothing about them was late.

    Examples
    --------
    >>> t = lambda text: pd.Timestamp(text, tz="UTC")
    >>> start = pd.Series([t("2026-06-10 09:00")] * 4)
    >>> after = pd.Series([t("2026-06-10 06:00"), t("2026-06-01"), t("2026-06-01"), pd.NaT])
    >>> before = pd.Series([t("2026-06-10 06:00"), t("2026-06-03"), t("2026-06-10"), pd.NaT])
    >>> late_cancellations(start, after, before, pd.Series([True] * 4), hours=24).tolist()
    [True, False, <NA>, <NA>]
    """
    # on int64 microseconds: NaT (the smallest integer) decides nothing
    s_us, a_us, b_us = (
        np.asarray(x.astype(TIMESTAMP).array.asi8)
        for x in (start, cancelled_after, cancelled_before)
    )
    window = int(hours * 3_600_000_000)
    late = (a_us != NAT) & (s_us - a_us < window)
    on_time = (b_us != NAT) & (s_us - b_us >= window)
    is_cancelled = cancelled.to_numpy(dtype=bool)
    # neither bound decides (or, with contradictory bounds, both do): unknown
    unknown = is_cancelled & (late == on_time)
    values = is_cancelled & late & ~on_time
    return pd.Series(pd.arrays.BooleanArray(values, unknown), index=start.index)


def classify(
    coded: Coded,
    copies: pd.DataFrame,
    as_of: pd.Timestamp,
    *,
    late_cancel_hours: float = 24,
) -> pd.DataFrame:
    """Merge the calendar copies of each 1:1 occurrence and classify it (one row per occurrence).

    Cancellation evidence (``cancelled_after`` / ``cancelled_before``, see
    :data:`EVIDENCE`) is read from the chosen copy (the organizer's) when it has
    any, else from the first other *cancelled* copy that has some, in the same
    order (most recently updated first).
    """
    ev = coded.events
    rows = copies["row"].to_numpy()
    inst = copies["instance"].to_numpy()
    cal = copies["cal"].to_numpy()
    org = copies["org"].to_numpy()
    is_org = cal == org
    is_cancelled = (ev["status"] == "cancelled").to_numpy()[rows]
    updated = ev["updated"].array.asi8[rows]  # NaT is the smallest integer: sorts last below
    # organizer's copy first, then the most recently updated, then by calendar: a stable choice
    order = _copy_order(inst, is_org, -updated.clip(min=NAT + 1), cal)
    inst_s, is_org_s, canc_s = inst[order], is_org[order], is_cancelled[order]
    seg = _segments(inst_s)
    chosen = order[seg]
    has_org = np.logical_or.reduceat(is_org_s, seg) if len(seg) else np.array([], bool)
    org_cancelled = np.logical_or.reduceat(is_org_s & canc_s, seg) if len(seg) else has_org
    all_cancelled = np.logical_and.reduceat(canc_s, seg) if len(seg) else has_org
    cancelled = org_cancelled | (~has_org & all_cancelled)

    taken = rows[chosen]
    occ = pd.DataFrame({col: pd.Series(ev[col].array.take(taken)) for col in TAKEN})
    occ.insert(0, "instance", inst[chosen])
    for col in ("a", "b", "manager", "report"):
        occ[col] = copies[col].to_numpy()[chosen]
    occ["relation"] = copies["relation"].iloc[chosen].array  # .array keeps it categorical
    occ["copies"] = np.diff(np.r_[seg, len(inst_s)])

    after, before = _evidence(ev, rows, order, seg, is_cancelled, cancelled)
    occ["cancelled_after"], occ["cancelled_before"] = after, before
    exact = after.notna() & (after == before)
    occ["cancelled_at"] = after.where(exact)
    occ["late_cancel"] = late_cancellations(
        occ["start"], after, before, pd.Series(cancelled), late_cancel_hours
    )
    occ["organizer_code"] = org[chosen]
    # Only an organizer can cancel an occurrence for everyone (an attendee who removes their
    # own copy declines it), so a cancelled occurrence was cancelled by its organizer; NA
    # when no copy names the organizer.
    occ["cancelled_by_code"] = np.where(cancelled, org[chosen], NO_CODE)

    declined_by = _decliners(
        coded,
        copies,
        is_cancelled,
        occ["instance"].to_numpy(),
        occ[["a", "b"]].to_numpy(),
        cancelled,
    )
    occ["declined_by_code"] = declined_by
    past = (occ["start"] < as_of).to_numpy()
    codes = np.select(
        [cancelled, declined_by != NO_CODE, past], [CANCELLED, DECLINED, HELD], SCHEDULED
    )
    occ["outcome"] = pd.Categorical.from_codes(codes, dtype=OUTCOME_DTYPE)
    occ["moved_by"] = occ["start"] - occ["original_start"]
    occ["moved"] = (occ["moved_by"] != pd.Timedelta(0)).to_numpy()
    earlier = (occ["moved_by"] < pd.Timedelta(0)).to_numpy()
    occ["move_direction"] = pd.Categorical.from_codes(
        np.where(occ["moved"], np.where(earlier, EARLIER, LATER), NO_CODE), dtype=DIRECTION_DTYPE
    )
    occ["duration"] = occ["end"] - occ["start"]
    occ["adhoc"] = (occ["series_id"].isna() & occ["recurrence"].isna()).to_numpy()
    series = _series(ev, taken, occ["adhoc"].to_numpy())
    if series is None:  # text input (or only one of the two categorical): on the strings
        sid, uid = occ["series_id"].astype(STRING), occ["ical_uid"].astype(STRING)
        series = sid.fillna(uid).where(~occ["adhoc"])
    occ["series"] = series
    return pd.DataFrame(occ)


def _copy_order(
    inst: np.ndarray, is_org: np.ndarray, newest_first: np.ndarray, cal: np.ndarray
) -> np.ndarray:
    """``np.lexsort((cal, newest_first, ~is_org, inst))``, the same permutation, cheaper.

    One stable sort of ``inst`` and ``~is_org`` in one integer (near-sorted input: almost
    free); only the rows that tie on both (two copies of one occurrence, neither or both the
    organizer's) are then ordered by the other keys, stably, so ties beyond every key keep
    their input order as in the full lexsort.
    """
    primary = inst.astype(np.int64) * 2 + ~is_org
    order = np.argsort(primary, kind="stable")
    p = primary[order]
    same = p[1:] == p[:-1]
    tied = np.flatnonzero(np.r_[same, False] | np.r_[False, same])
    if len(tied):
        sub = order[tied]  # runs of one primary value, each in input order
        order[tied] = sub[np.lexsort((cal[sub], newest_first[sub], p[tied]))]
    return order


def _series(ev: pd.DataFrame, taken: np.ndarray, adhoc: np.ndarray) -> pd.Series | None:
    """Each occurrence's series: its ``series_id``, else its ``ical_uid``; NA when ad hoc.

    On categorical input (the store's) categorical, on both columns' categories; ``None``
    for text input (the caller then works on the strings)."""
    sid, uid = ev["series_id"], ev["ical_uid"]
    if not (
        isinstance(sid.dtype, pd.CategoricalDtype) and isinstance(uid.dtype, pd.CategoricalDtype)
    ):
        return None
    s_codes = sid.cat.codes.to_numpy()[taken].astype(np.int64)
    u_codes = uid.cat.codes.to_numpy()[taken].astype(np.int64)
    n_sid, n_uid = len(sid.cat.categories), len(uid.cat.categories)
    at = np.where(s_codes >= 0, s_codes, np.where(u_codes >= 0, n_sid + u_codes, -1))
    at[adhoc] = -1
    # only the texts in use (a store holds far more), and one text that is both a
    # series_id and an ical_uid is one category
    present = np.zeros(n_sid + n_uid, dtype=bool)
    present[at[at >= 0]] = True
    used = np.flatnonzero(present)
    texts = np.concatenate(
        [
            sid.cat.categories.to_numpy(dtype=object)[used[used < n_sid]],
            uid.cat.categories.to_numpy(dtype=object)[used[used >= n_sid] - n_sid],
        ]
    )
    of_used, names = pd.factorize(texts)
    slot = np.full(n_sid + n_uid + 1, -1, dtype=np.int64)  # last slot: -1 stays missing
    slot[used] = of_used
    return pd.Series(pd.Categorical.from_codes(slot[at], categories=pd.Index(names, dtype=STRING)))


def _evidence(
    ev: pd.DataFrame,
    rows: np.ndarray,
    order: np.ndarray,
    seg: np.ndarray,
    is_cancelled: np.ndarray,
    cancelled: np.ndarray,
) -> tuple[pd.Series, pd.Series]:
    """Per occurrence, the cancellation interval of the first cancelled copy that has one.

    ``order`` / ``seg`` are the copies sorted chosen-copy-first and each occurrence's
    first position in that order. NaT where the occurrence is not cancelled or no copy
    has evidence.
    """
    n = len(seg)
    bounds = {c: _instants(ev, c)[rows] for c in EVIDENCE}
    has = is_cancelled & np.logical_or.reduce([b != NAT for b in bounds.values()])
    positions = np.where(has[order], np.arange(len(order)), len(order))
    first = np.minimum.reduceat(positions, seg) if n else np.array([], dtype=np.int64)
    found = (first < len(order)) & cancelled
    pick = order[np.minimum(first, max(len(order) - 1, 0))] if n else first
    out = []
    for col in EVIDENCE:
        us = np.where(found, bounds[col][pick], NAT) if n else np.array([], dtype=np.int64)
        out.append(pd.Series(pd.to_datetime(us, unit="us", utc=True)).astype(TIMESTAMP))
    return out[0], out[1]


def _instants(ev: pd.DataFrame, col: str) -> np.ndarray:
    """A timestamp column as int64 microseconds (``NAT`` where missing or absent)."""
    if col not in ev.columns:
        return np.full(len(ev), NAT, dtype=np.int64)
    return np.asarray(ev[col].astype(TIMESTAMP).array.asi8)


def _decliners(
    coded: Coded,
    copies: pd.DataFrame,
    is_cancelled: np.ndarray,
    instances: np.ndarray,
    ab: np.ndarray,
    cancelled: np.ndarray,
) -> np.ndarray:
    """Per occurrence (in ``instances`` order), the email code of who declined it, or ``NO_CODE``.

    ``cancelled``: per occurrence (same order), whether it was cancelled for everyone.

    Each occurrence has exactly two people, so the flags live in an (occurrence, side)
    table filled with ``bincount``: no sorting, no grouping.
    """
    n_inst = int(coded.instance.max(initial=-1)) + 1
    inst_all = copies["instance"].to_numpy()
    cal_all, a_all, b_all = (copies[c].to_numpy() for c in ("cal", "a", "b"))
    # per occurrence its two people (every copy of an occurrence names the same pair)
    a_of = np.full(n_inst, NO_CODE, dtype=np.int64)
    b_of = np.full(n_inst, NO_CODE, dtype=np.int64)
    a_of[inst_all], b_of[inst_all] = a_all, b_all
    is_copy = np.zeros(len(coded.events), dtype=bool)
    is_copy[copies["row"].to_numpy()] = True
    # only own rows (has_own) and refusals (said_no) decide: the other rows are left out
    mine = (coded.att_own | coded.att_declined) & ~coded.att_resource
    mine &= is_copy[coded.att_row]
    email = coded.att_email[mine]
    inst = coded.instance[coded.att_row[mine]]
    a, b = a_of[inst], b_of[inst]
    person = (email == a) | (email == b)
    inst, side = inst[person], (email == b)[person]
    own, said_no = coded.att_own[mine][person], coded.att_declined[mine][person]
    # a person who removed their own copy while the organizer's stands declined it (a copy on
    # a third calendar, a delegate's say, speaks for neither of the two); an occurrence the
    # organizer cancelled shows cancelled on every copy, and nobody declined it
    stands = np.ones(n_inst, dtype=bool)
    stands[instances] = ~cancelled
    removed = is_cancelled & (cal_all != copies["org"].to_numpy()) & stands[inst_all]
    removed &= (cal_all == a_all) | (cal_all == b_all)
    r_inst = inst_all[removed]
    r_side = cal_all[removed] == b_all[removed]
    inst = np.r_[inst, r_inst]
    side = np.r_[side, r_side]
    own = np.r_[own, np.ones(len(r_inst), bool)]
    said_no = np.r_[said_no, np.ones(len(r_inst), bool)]

    cell = inst.astype(np.int64) * 2 + side
    size = 2 * n_inst

    def anywhere(flag: np.ndarray) -> np.ndarray:
        return np.bincount(cell[flag], minlength=size).reshape(n_inst, 2) > 0

    has_own, own_no, other_no = anywhere(own), anywhere(own & said_no), anywhere(~own & said_no)
    declined = own_no | (~has_own & other_no)  # (occurrence, side): side 0 is a, 1 is b
    d = declined[instances]
    return np.where(d[:, 0], ab[:, 0], np.where(d[:, 1], ab[:, 1], NO_CODE))
