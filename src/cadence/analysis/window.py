"""Parsing of look-back windows (``"13w"``, ``"90d"``)."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from cadence.errors import ConfigError


def parse_window(window: str | pd.Timedelta) -> pd.Timedelta:
    """``"13w"``, ``"90d"`` or a Timedelta → a positive Timedelta.

    >>> parse_window("13w")
    Timedelta('91 days 00:00:00')
    """
    if isinstance(window, pd.Timedelta):
        delta = window
    else:
        text = str(window).strip().lower()
        units: dict[str, Literal["W", "D"]] = {"w": "W", "d": "D"}
        if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
            raise ConfigError(
                f"window must look like '13w' (weeks) or '90d' (days), got {window!r}"
            )
        delta = pd.Timedelta(int(text[:-1]), unit=units[text[-1]])
    if delta <= pd.Timedelta(0):
        raise ConfigError(f"window must be positive, got {window!r}")
    return delta
