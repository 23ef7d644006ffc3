"""Analysis settings: every threshold and weight of the analysis, with its default.

These are the ``[analysis]`` keys of the config file. No number that decides a
status, a score or a reason is written as a literal in the engine: it is a
field here, with a description. The "How health is scored" table of docs/analysis.md,
``config.example.toml`` and ``docs/calibration.md`` show the same defaults
(tests keep them in step).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Weights(BaseModel):
    """Points a pair can lose for each kind of problem (the score starts at 100)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    adherence: float = Field(
        50, ge=0, description="adherence adherence_full → adherence_floor: 0 → all"
    )
    recent_misses: float = Field(10, ge=0, description="× the share of the last slots missed")
    open_gap: float = Field(
        20, ge=0, description="no 1:1 for open_gap_from → open_gap_full × target: 0 → all"
    )
    unscheduled: float = Field(15, ge=0, description="nothing on the books")
    drift: float = Field(
        15, ge=0, description="recent median gap drift_from → drift_full × target: 0 → all"
    )
    late_cancels: float = Field(
        10, ge=0, description="× the share of past slots known to be cancelled late"
    )
    moves: float = Field(
        5, ge=0, description="share of past slots moved, moves_from → moves_full: 0 → all"
    )


class AnalysisSettings(BaseModel):
    """How :func:`cadence.analyze` decides; the defaults are documented in docs/analysis.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: str = Field("13w", description="look-back window: '<n>w' or '<n>d'")
    include_peers: bool = Field(False, description="with a roster, also count non-reporting pairs")
    include_skip_levels: bool = Field(
        False, description="with a roster, also count manager's-manager pairs"
    )
    target_days: float | None = Field(
        None, gt=0, description="target interval for pairs whose series has no RRULE"
    )
    fallback_target_days: float = Field(
        14, gt=0, description="target when there is no RRULE, no target_days, nothing to infer"
    )
    adherence_full: float = Field(
        0.95, gt=0, description="adherence at or above this costs nothing"
    )
    adherence_floor: float = Field(0.45, ge=0, description="adherence at or below this costs all")
    late_cancel_hours: float = Field(24, gt=0, description="a cancellation this close is late")
    shortened_ratio: float = Field(
        0.9, gt=0, le=1, description="shortened: scheduled below this share of the usual length"
    )
    recent_slots: int = Field(4, ge=1, description="how many past slots 'recent misses' looks at")
    recent_weeks: float = Field(
        6, gt=0, description="drift compares the last N weeks (≥ 3× target)"
    )
    on_the_books_factor: float = Field(
        1.5, gt=0, description="a 1:1 within this × target from now is 'on the books'"
    )
    lapsed_factor: float = Field(
        3,
        gt=0,
        description="no held 1:1 for this × target: lapsed with nothing on the books, "
        "else at least at risk",
    )
    consecutive_misses: int = Field(
        3, ge=1, description="this many latest past slots all missed: at least at risk"
    )
    healthy_min: float = Field(75, ge=0, le=100, description="score ≥ this is healthy")
    watch_min: float = Field(50, ge=0, le=100, description="score ≥ this (and < healthy) is watch")
    flagged_below_watch: float = Field(
        1,
        gt=0,
        description="a pair lapsed or at risk by rule scores at most watch_min − this",
    )
    open_gap_from: float = Field(
        2, ge=0, description="an open gap of this × target starts to cost points"
    )
    open_gap_full: float = Field(
        4, gt=0, description="an open gap of this × target costs all of weights.open_gap"
    )
    drift_from: float = Field(
        1.25, ge=0, description="a recent median gap of this × target starts to cost points"
    )
    drift_full: float = Field(
        2, gt=0, description="a recent median gap of this × target costs all of weights.drift"
    )
    moves_from: float = Field(
        0.3, ge=0, lt=1, description="a share of past slots moved above this costs points"
    )
    moves_full: float = Field(
        1, gt=0, le=1, description="this share of past slots moved costs all of weights.moves"
    )
    replaced_within: float = Field(
        0.5,
        gt=0,
        description="an ad-hoc 1:1 within this × target after a miss replaces it",
    )
    infer_min_gaps: int = Field(
        2, ge=1, description="gaps between held 1:1s needed to infer a target from them"
    )
    recent_min_targets: float = Field(
        3, ge=0, description="drift's recent span is at least this many targets long"
    )
    adherence_min_expected: float = Field(
        1, gt=0, description="adherence is computed only once this many 1:1s are expected"
    )
    reason_min_points: float = Field(
        0.5, ge=0, description="a reason costing fewer points than this is not listed"
    )
    all_day_busy_is_absence: bool = Field(
        False, description="a person's own all-day events count as absences (as out of office)"
    )
    holidays_country: str | None = Field(
        None, description="public holidays of this country (ISO code) for people without one"
    )
    holidays_subdivision: str | None = Field(
        None, description="with holidays_country: the state or region (ISO 3166-2 code)"
    )
    on_leave_min_days: float = Field(
        14, gt=0, description="away at as_of for a period this long: the pair is on leave"
    )
    weights: Weights = Weights()

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        from cadence.analysis.window import parse_window
        from cadence.errors import CadenceError

        try:
            parse_window(value)
        except CadenceError as exc:  # pydantic reports ValueErrors against the key
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _bands(self) -> AnalysisSettings:
        if self.adherence_floor >= self.adherence_full:
            raise ValueError(
                f"adherence_floor ({self.adherence_floor}) must be below adherence_full "
                f"({self.adherence_full})"
            )
        if self.watch_min > self.healthy_min:
            raise ValueError(
                f"watch_min ({self.watch_min}) must not exceed healthy_min ({self.healthy_min})"
            )
        for low, high in (
            ("open_gap_from", "open_gap_full"),
            ("drift_from", "drift_full"),
            ("moves_from", "moves_full"),
        ):
            if getattr(self, low) >= getattr(self, high):
                raise ValueError(
                    f"{low} ({getattr(self, low)}) must be below {high} ({getattr(self, high)})"
                )
        return self
