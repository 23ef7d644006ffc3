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
- ``late_cancel`` when cancelled less than ``late_cancel_hours`` before its
  start (cancellation time: when the store saw it vanish, else the
  organizer's copy's ``updated``).

Works on the integer codes of :mod:`cadence.analysis.pairs`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.analysis.pairs import Coded
from cadence.model import TIMESTAMP

OUTCOMES = ("held", "cancelled", "declined", "scheduled")
OUTCOME_DTYPE = pd.CategoricalDtype(list(OUTCOMES))
DIRECTION_DTYPE = pd.CategoricalDtype(["earlier", "later"])
TAKEN = [
    "source",
    "series_id",
    "ical_uid",
    "original_start",
    "start",
    "end",
    "timezone",
    "recurrence",
    "title",
    "updated",
]
NAT = np.iinfo(np.int64).min


def _segments(keys: np.ndarray) -> np.ndarray:
    """Start positions of the runs of equal values in a sorted array."""
    if not len(keys):
        return np.array([], dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def classify(
    coded: Coded,
    copies: pd.DataFrame,
    as_of: pd.Timestamp,
    *,
    late_cancel_hours: float = 24,
) -> pd.DataFrame:
    """Merge the calendar copies of each 1:1 occurrence and classify it (one row per occurrence)."""
    ev = coded.events
    rows = copies["row"].to_numpy()
    inst = copies["instance"].to_numpy()
    cal = copies["cal"].to_numpy()
    org = copies["org"].to_numpy()
    is_org = cal == org
    is_cancelled = (ev["status"] == "cancelled").to_numpy()[rows]
    updated = ev["updated"].array.asi8[rows]  # NaT is the smallest integer: sorts last below
    # organizer's copy first, then the most recently updated, then by calendar: a stable choice
    order = np.lexsort((cal, -updated.clip(min=NAT + 1), ~is_org, inst))
    inst_s, is_org_s, canc_s = inst[order], is_org[order], is_cancelled[order]
    seg = _segments(inst_s)
    chosen = order[seg]
    has_org = np.logical_or.reduceat(is_org_s, seg) if len(seg) else np.array([], bool)
    org_cancelled = np.logical_or.reduceat(is_org_s & canc_s, seg) if len(seg) else has_org
    all_cancelled = np.logical_and.reduceat(canc_s, seg) if len(seg) else has_org
    cancelled = org_cancelled | (~has_org & all_cancelled)

    occ = pd.DataFrame(ev[TAKEN].take(rows[chosen])).reset_index(drop=True)
    occ.insert(0, "instance", inst[chosen])
    for col in ("a", "b", "manager", "report"):
        occ[col] = copies[col].to_numpy()[chosen]
    occ["relation"] = copies["relation"].iloc[chosen].array  # .array keeps it categorical
    occ["copies"] = np.diff(np.r_[seg, len(inst_s)])

    vanished = ev["vanished_at"].to_numpy()[rows[chosen]] if "vanished_at" in ev.columns else None
    cancel_time = occ["updated"]
    if vanished is not None:
        vanished_at = pd.Series(vanished, dtype=TIMESTAMP)
        cancel_time = vanished_at.where(vanished_at.notna(), cancel_time)
    occ["cancelled_at"] = cancel_time.where(cancelled)
    lead = occ["start"] - occ["cancelled_at"]
    occ["late_cancel"] = (lead < pd.Timedelta(hours=late_cancel_hours)).fillna(False).astype(bool)
    occ["organizer_code"] = org[chosen]
    occ["cancelled_by_code"] = np.where(cancelled, org[chosen], -1)

    declined_by = _decliners(
        coded, copies, is_cancelled, occ["instance"].to_numpy(), occ[["a", "b"]].to_numpy()
    )
    occ["declined_by_code"] = declined_by
    past = (occ["start"] < as_of).to_numpy()
    codes = np.select([cancelled, declined_by >= 0, past], [1, 2, 0], 3)  # index in OUTCOMES
    occ["outcome"] = pd.Categorical.from_codes(codes, dtype=OUTCOME_DTYPE)
    occ["moved_by"] = occ["start"] - occ["original_start"]
    occ["moved"] = (occ["moved_by"] != pd.Timedelta(0)).to_numpy()
    earlier = (occ["moved_by"] < pd.Timedelta(0)).to_numpy()
    occ["move_direction"] = pd.Categorical.from_codes(
        np.where(occ["moved"], np.where(earlier, 0, 1), -1), dtype=DIRECTION_DTYPE
    )
    occ["duration"] = occ["end"] - occ["start"]
    occ["adhoc"] = (occ["series_id"].isna() & occ["recurrence"].isna()).to_numpy()
    occ["series"] = occ["series_id"].fillna(occ["ical_uid"]).where(~occ["adhoc"])
    return pd.DataFrame(occ)


def _decliners(
    coded: Coded,
    copies: pd.DataFrame,
    is_cancelled: np.ndarray,
    instances: np.ndarray,
    ab: np.ndarray,
) -> np.ndarray:
    """Per occurrence (in ``instances`` order), the email code of who declined it, or -1.

    Each occurrence has exactly two people, so the flags live in an (occurrence, side)
    table filled with ``bincount``: no sorting, no grouping.
    """
    pos = np.full(len(coded.events), -1, dtype=np.int64)
    pos[copies["row"].to_numpy()] = np.arange(len(copies))
    at_pos = pos[coded.att_row]
    mine = (at_pos >= 0) & ~coded.att_resource
    p = at_pos[mine]
    email = coded.att_email[mine]
    inst = copies["instance"].to_numpy()[p]
    a, b, cal = (copies[c].to_numpy()[p] for c in ("a", "b", "cal"))
    person = (email == a) | (email == b)
    inst, side = inst[person], (email == b)[person]
    own, said_no = (cal == email)[person], coded.att_declined[mine][person]
    # a person who removed their own copy while the organizer's stands declined it
    removed = is_cancelled & (copies["cal"] != copies["org"]).to_numpy()
    r_inst = copies["instance"].to_numpy()[removed]
    r_side = copies["cal"].to_numpy()[removed] == copies["b"].to_numpy()[removed]
    inst = np.r_[inst, r_inst]
    side = np.r_[side, r_side]
    own = np.r_[own, np.ones(len(r_inst), bool)]
    said_no = np.r_[said_no, np.ones(len(r_inst), bool)]

    n_inst = int(coded.instance.max(initial=-1)) + 1
    cell = inst.astype(np.int64) * 2 + side
    size = 2 * n_inst

    def anywhere(flag: np.ndarray) -> np.ndarray:
        return np.bincount(cell[flag], minlength=size).reshape(n_inst, 2) > 0

    has_own, own_no, other_no = anywhere(own), anywhere(own & said_no), anywhere(~own & said_no)
    declined = own_no | (~has_own & other_no)  # (occurrence, side): side 0 is a, 1 is b
    d = declined[instances]
    return np.where(d[:, 0], ab[:, 0], np.where(d[:, 1], ab[:, 1], -1))
