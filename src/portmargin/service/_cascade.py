"""Liquidation cascades of the stored accounts (``lifecycle.md`` §9), for the dashboard's
cascade page and ``POST /v1/cascade``.

The cascade runs on the latest snapshot over every stored account with the linear impact
model and full close-out, as ``portmargin cascade`` does with its defaults; futures and
perpetuals only, accounts holding options are set aside and listed. Nothing is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from portmargin.core import ValidationError, ms_to_datetime
from portmargin.instruments import Future, Perpetual
from portmargin.io.positions import positions_from_table
from portmargin.lifecycle import (
    DEFAULT_DEPTH_1PCT,
    DEFAULT_FUND,
    CascadeComparison,
    CascadeMarket,
    CascadeParams,
    FullClose,
    LinearImpact,
    Margining,
    MethodMargining,
    PopulationKind,
    compare_cascades,
    ewma_daily_vol,
    requirement_model,
)
from portmargin.market import MarketSnapshot
from portmargin.service._desk import Desk
from portmargin.service._lifecycle import lifecycle_params
from portmargin.store import Store

__all__ = [
    "METHODS_MAX",
    "CascadeRequestSpec",
    "CascadeRun",
    "jsonable",
    "run_stored_cascade",
]

METHODS_MAX = 6
"""Most methods compared in one run."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CascadeRequestSpec:
    """What to run.

    Attributes
    ----------
    shock
        Underlying → initial relative move (``-0.1``: 10 % down).
    methods
        Requirement models compared: registered method names (parameters in use),
        ``rates:MM/IM`` (flat rates on notional) or ``ewma`` / ``ewma:K/FLOOR/CAP``.
    depth_1pct_usd
        USD of net flow that moves a price 1 % (linear impact), every underlying.
    fund_usd
        Insurance fund at the start, USD.
    population
        ``max-leverage`` (deposit 1.5 × IM of each method) or ``as-is`` (stored balances).
    sigma_daily
        Daily volatility for ``ewma`` (None: EWMA of the snapshot's history).
    """

    shock: Mapping[str, float]
    methods: Sequence[str]
    depth_1pct_usd: float = DEFAULT_DEPTH_1PCT
    fund_usd: float = DEFAULT_FUND
    population: PopulationKind = PopulationKind.MAX_LEVERAGE
    sigma_daily: float | None = None

    def __post_init__(self) -> None:
        if not self.shock:
            raise ValidationError("shock", dict(self.shock), "at least one underlying, e.g. BTC")
        for u, x in self.shock.items():
            if not math.isfinite(x) or not -1.0 < x <= 10.0:
                raise ValidationError(f"shock[{u!r}]", x, "a move in (-1, 10], e.g. -0.1")
        if not self.methods or len(self.methods) > METHODS_MAX:
            raise ValidationError("methods", list(self.methods), f"1 to {METHODS_MAX} methods")
        if not math.isfinite(self.depth_1pct_usd) or self.depth_1pct_usd <= 0:
            raise ValidationError("depth_1pct_usd", self.depth_1pct_usd, "a positive USD amount")
        if not math.isfinite(self.fund_usd) or self.fund_usd < 0:
            raise ValidationError("fund_usd", self.fund_usd, "a USD amount >= 0")
        if self.population not in (PopulationKind.MAX_LEVERAGE, PopulationKind.AS_IS):
            raise ValidationError("population", self.population, "max-leverage or as-is")
        s = self.sigma_daily
        if s is not None and (not math.isfinite(s) or s <= 0):
            raise ValidationError("sigma_daily", s, "a positive daily volatility")


@dataclass(frozen=True, slots=True, kw_only=True)
class CascadeRun:
    """A cascade over the stored accounts: the comparison, the snapshot it started from and
    the accounts set aside (account → reason)."""

    comparison: CascadeComparison
    snapshot_id: int
    set_aside: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """The comparison's ``to_dict`` with the snapshot and set-aside accounts, non-finite
        numbers as null."""
        out = {
            **self.comparison.to_dict(),
            "snapshot_id": self.snapshot_id,
            "set_aside": self.set_aside,
        }
        result: dict[str, Any] = jsonable(out)
        return result


def jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _sigma(spec: CascadeRequestSpec, underlying: str, market: MarketSnapshot) -> float:
    if spec.sigma_daily is not None:
        return spec.sigma_daily
    if market.history is None:
        raise ValidationError(
            "sigma_daily", None, "a daily volatility (the snapshot has no history)"
        )
    as_of = ms_to_datetime(market.valuation_ms).date().isoformat()
    return ewma_daily_vol(market.history, underlying, as_of)


def _margining(
    text: str, desk: Desk, market: MarketSnapshot, spec: CascadeRequestSpec, underlyings: list[str]
) -> Margining:
    def method(name: str) -> Margining:
        try:
            m, params = desk.params(name)
        except ValidationError as exc:
            if exc.field != "method":
                raise
            raise ValidationError("methods", name, exc.expected) from None
        return MethodMargining(method=m, params=params)

    return requirement_model(
        text,
        market,
        sigmas=lambda: {u: _sigma(spec, u, market) for u in underlyings},
        method=method,
        field="methods",
    )


def run_stored_cascade(store: Store, desk: Desk, spec: CascadeRequestSpec) -> CascadeRun:
    """The cascade of every stored account on the latest snapshot under each method of
    ``spec``, side by side.

    Raises
    ------
    ValidationError
        No snapshot, an unknown underlying or method, a bad rates/ewma spec, or ``ewma``
        without a volatility.
    """
    snapshot_id, market = desk.market()
    for u in spec.shock:
        if u not in market.index_prices:
            expected = f"an underlying of the snapshot {sorted(market.index_prices)}"
            raise ValidationError("shock", u, expected)
    file = positions_from_table(store.book_table(), "store")
    book = file.book
    held = {i.underlying for i in book.instruments if isinstance(i, Future | Perpetual)}
    underlyings = sorted(held | set(spec.shock))
    margins = [_margining(m, desk, market, spec, underlyings) for m in spec.methods]
    impact = CascadeMarket(
        impact={u: LinearImpact(depth_1pct_usd=spec.depth_1pct_usd) for u in underlyings},
        resilience=0.0,
    )
    params = CascadeParams.from_lifecycle(
        lifecycle_params(), shock=dict(spec.shock), fund_usd=spec.fund_usd
    )
    comparison = compare_cascades(
        book, market, margins, params, impact, population=spec.population, liquidator=FullClose()
    )
    set_aside = dict(file.account_errors)
    for result, errors in zip(comparison.results, comparison.population_errors, strict=True):
        set_aside.update(errors)
        set_aside.update(result.outcomes.errors)
    return CascadeRun(comparison=comparison, snapshot_id=snapshot_id, set_aside=set_aside)
