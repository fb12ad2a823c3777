"""The Deribit risk-matrix grid: 9 x 3 standard scenarios plus the extended table, as data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.methods.deribit_pm._params import (
    VOL_SLOTS,
    Assumptions,
    GeneralParams,
    PairParams,
    VolUpFloor,
)
from portmargin.scenarios import Scenario, ScenarioSet, UpFloor, VolShockLaw

__all__ = ["Grid", "build_grid"]

_TIE_SLOTS = ("same", "up", "down")
"""Preference inside a bucket when several scenarios share the worst loss (ASSUMPTION)."""


def _pct(move: float) -> str:
    text = f"{move * 100:+.10g}%"
    return "0%" if text in ("+0%", "-0%") else text


def _side(move: float) -> str:
    return "left" if move < 0 else "right" if move > 0 else "center"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Grid:
    """Scenario columns of one currency pair: ``n_std`` standard then ``n_ext`` extended.

    Attributes
    ----------
    scenarios
        The set priced by the risk array (columns in venue order).
    n_std
        Standard entries, ``(2B + 1) * 3``; extended entries follow.
    moves
        Relative price move of every column (options' move), shape ``(n,)``.
    source, bucket, side, index
        ``worst_case_bucket`` fields of every column: ``"standard"``/``"extended"``, 1-based
        bucket, ``"left"``/``"center"``/``"right"``, index inside its vector.
    priority
        Column order used to break ties of the worst loss: standard before extended, lower
        bucket first, then ``same``, ``up``, ``down``.
    """

    scenarios: ScenarioSet
    n_std: int
    moves: NDArray[np.float64]
    source: tuple[str, ...]
    bucket: NDArray[np.int64]
    side: tuple[str, ...]
    index: NDArray[np.int64]
    priority: NDArray[np.intp]

    @property
    def labels(self) -> tuple[str, ...]:
        """Scenario labels (``"-16% vol same"``, ``"extended -66% vol up"``)."""
        return self.scenarios.labels


def vol_law(pair: PairParams, assumptions: Assumptions) -> VolShockLaw:
    """The vol-shock law of a pair: ``(30 / max(DTE, floor)) ** p`` with the up-vol floor
    ``min_volatility_for_shock_up`` on the shocked vol (``level``) or on the base vol
    (``base``)."""
    base = assumptions.vol_up_floor is VolUpFloor.BASE
    return VolShockLaw(
        short_term_power=pair.short_term_vega_power,
        long_term_power=pair.long_term_vega_power,
        boundary_days=30.0,
        dte_floor_days=assumptions.dte_floor_days,
        short_inclusive=False,
        min_vol_up=pair.min_volatility_for_shock_up,
        up_floor=UpFloor.BASE if base else UpFloor.LEVEL,
    )


def build_grid(
    name: str, general: GeneralParams, pair: PairParams, assumptions: Assumptions
) -> Grid:
    """Scenarios of one pair.

    Standard (bucket-major, ``j = 3 i + v``): moves ``m_i = -R + i R / B``, ``i = 0 .. 2B``,
    vol slots in ``assumptions.vol_order`` (vol shocks ``+volatility_range_up``, 0,
    ``-volatility_range_down``). Extended: ``assumptions.extended_moves`` with vol up; futures
    and perpetuals see the move clamped to ``[-R, R]``, options the full move unless
    ``clamp_options_in_extended``.
    """
    R, B = pair.price_range, general.buckets_count
    std_moves = -R + np.arange(2 * B + 1) * (R / B)
    shock = {"up": pair.volatility_range_up, "same": 0.0, "down": -pair.volatility_range_down}
    scenarios: list[Scenario] = []
    for m in std_moves.tolist():
        for slot in assumptions.vol_order:
            scenarios.append(
                Scenario(label=f"{_pct(m)} vol {slot}", spot_shock=m, vol_shock=shock[slot])
            )
    ext = np.array(assumptions.extended_moves)
    clamped = np.clip(ext, -R, R)
    for m, c in zip(ext.tolist(), clamped.tolist(), strict=True):
        scenarios.append(
            Scenario(
                label=f"extended {_pct(m)} vol up",
                spot_shock=c if assumptions.clamp_options_in_extended else m,
                vol_shock=shock["up"],
                delta_one_shock=c,
            )
        )
    V = len(VOL_SLOTS)
    n_std = std_moves.size * V
    moves = np.concatenate([np.repeat(std_moves, V), ext])
    i_std = np.arange(n_std) // V
    slot_rank = np.array([_TIE_SLOTS.index(s) for s in assumptions.vol_order])
    std_priority = np.lexsort((slot_rank[np.arange(n_std) % V], i_std))
    return Grid(
        scenarios=ScenarioSet(
            name=f"deribit-pm {name}",
            scenarios=tuple(scenarios),
            vol_law=vol_law(pair, assumptions),
        ),
        n_std=n_std,
        moves=moves,
        source=("standard",) * n_std + ("extended",) * ext.size,
        bucket=np.concatenate([i_std + 1, np.arange(ext.size) + 1]).astype(np.int64),
        side=tuple(_side(m) for m in moves.tolist()),
        index=np.concatenate([np.arange(n_std), np.arange(ext.size)]).astype(np.int64),
        priority=np.concatenate([std_priority, n_std + np.arange(ext.size)]).astype(np.intp),
    )
