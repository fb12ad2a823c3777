"""Price impact of liquidation flow (``lifecycle.md`` §9): linear and square-root models, and
the market model of a cascade (one impact model per underlying, resilience)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

import numpy as np

from portmargin.core import ValidationError, require_finite, require_positive
from portmargin.market import DateLike, PriceHistory, to_day
from portmargin.scenarios import EWMA_LAMBDA, EWMA_SEED_RETURNS, ewma_variance

__all__ = ["CascadeMarket", "LinearImpact", "PriceImpact", "SqrtImpact", "ewma_daily_vol"]


class PriceImpact(Protocol):
    """Relative price move caused by a net flow traded in one round."""

    @property
    def execution_share(self) -> float:
        """Fraction of the round's impact ``I`` paid on average by the flow: the average
        execution price is ``S_r (1 - execution_share I)``."""
        ...

    def impact(self, flow_usd: float) -> float:
        """Signed relative move ``I`` of a net flow ``Q`` (USD, sells > 0): the next price is
        ``S_r (1 - I)``; ``I < 0`` for net buys. ``I(0) = 0``."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LinearImpact:
    """``I = 0.01 Q / D_1pct``; average execution at ``S_r (1 - I/2)``.

    Attributes
    ----------
    depth_1pct_usd
        ``D_1pct``: net notional (USD) that moves the price by 1 %, > 0.
    """

    depth_1pct_usd: float

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "depth_1pct_usd", require_positive("depth_1pct_usd", self.depth_1pct_usd)
        )

    @property
    def execution_share(self) -> float:
        """1/2: the price walks linearly from ``S_r`` to ``S_r (1 - I)``."""
        return 0.5

    def impact(self, flow_usd: float) -> float:
        """``0.01 Q / D_1pct`` (signed like ``Q``)."""
        return 0.01 * require_finite("flow_usd", flow_usd) / self.depth_1pct_usd


@dataclass(frozen=True, slots=True, kw_only=True)
class SqrtImpact:
    """``I = Y sigma_d sqrt(|Q| / V)`` with the sign of ``Q``; average execution at
    ``S_r (1 - 2I/3)`` (the average of a square-root walk over the traded amount).

    Attributes
    ----------
    sigma_daily
        ``sigma_d``: daily EWMA volatility of the underlying (``var-margin.md`` §3.3,
        ``sigma_now``), a fraction, > 0.
    depth_usd
        ``V``: daily depth, USD, > 0 (``var-margin.md`` §7: ``depth_fraction`` × median
        30-day USD volume).
    coefficient
        ``Y`` (default 1), > 0.
    """

    sigma_daily: float
    depth_usd: float
    coefficient: float = 1.0

    def __post_init__(self) -> None:
        for name in ("sigma_daily", "depth_usd", "coefficient"):
            object.__setattr__(self, name, require_positive(name, getattr(self, name)))

    @property
    def execution_share(self) -> float:
        """2/3."""
        return 2.0 / 3.0

    @classmethod
    def from_history(
        cls,
        history: PriceHistory,
        underlying: str,
        as_of: DateLike,
        *,
        depth_fraction: float = 0.01,
        coefficient: float = 1.0,
    ) -> SqrtImpact:
        """``sigma_d`` = :func:`ewma_daily_vol` and ``V = depth_fraction`` × the median
        daily USD volume of the last 30 rows up to ``as_of`` (``var-margin.md`` §7)."""
        fraction = require_positive("depth_fraction", depth_fraction)
        return cls(
            sigma_daily=ewma_daily_vol(history, underlying, as_of),
            depth_usd=fraction * history.median_volume(underlying, as_of=as_of),
            coefficient=coefficient,
        )

    def impact(self, flow_usd: float) -> float:
        """``sign(Q) Y sigma_d sqrt(|Q| / V)``."""
        q = require_finite("flow_usd", flow_usd)
        return math.copysign(
            self.coefficient * self.sigma_daily * math.sqrt(abs(q) / self.depth_usd), q
        )


def ewma_daily_vol(
    history: PriceHistory,
    underlying: str,
    as_of: DateLike,
    *,
    ewma_lambda: float = EWMA_LAMBDA,
    seed_returns: int = EWMA_SEED_RETURNS,
) -> float:
    """``sigma_now`` of ``var-margin.md`` §3.3: the daily EWMA volatility forecast after the
    last daily return of ``underlying`` up to ``as_of`` (the recursion runs from the first
    return of ``history``), a fraction.

    Raises
    ------
    MarketDataError
        No history for ``underlying`` or fewer returns than the seed.
    """
    column = history.log_returns()[:, history.column(underlying)]
    valid = np.isfinite(column) & (history.dates <= to_day("as_of", as_of))
    variance = ewma_variance(column[valid], ewma_lambda=ewma_lambda, seed_returns=seed_returns)
    return float(math.sqrt(variance[-1]))


@dataclass(frozen=True, slots=True, kw_only=True)
class CascadeMarket:
    """How liquidation flow moves prices in a cascade, per underlying.

    Each underlying has its own impact model and its own net flow; flows of different
    underlyings do not move each other's prices (no cross-impact).

    Attributes
    ----------
    impact
        Underlying → :class:`PriceImpact` model (e.g. ``{"BTC": LinearImpact(...)}``).
    resilience
        ``rho_rec`` in [0, 1] (default 0): after each round's impact, the price recovers this
        fraction of the cumulative impact, measured from the post-shock price ``S_1``:
        ``S_{r+1} = P + rho_rec (S_1 - P)`` with ``P = S_r (1 - I_r)``.
    """

    impact: Mapping[str, PriceImpact]
    resilience: float = 0.0

    def __post_init__(self) -> None:
        if not self.impact:
            raise ValidationError("impact", {}, "an impact model for at least one underlying")
        for u, model in self.impact.items():
            if not (hasattr(model, "impact") and hasattr(model, "execution_share")):
                raise ValidationError(f"impact[{u!r}]", model, "a PriceImpact model")
        rho = self.resilience
        if isinstance(rho, bool) or not isinstance(rho, int | float) or not 0.0 <= rho <= 1.0:
            raise ValidationError("resilience", rho, "a fraction in [0, 1]")
        object.__setattr__(self, "resilience", float(rho))
        object.__setattr__(self, "impact", MappingProxyType(dict(self.impact)))

    def model(self, underlying: str) -> PriceImpact:
        """The impact model of ``underlying``.

        Raises
        ------
        ValidationError
            If the market model has none for it.
        """
        try:
            return self.impact[underlying]
        except KeyError:
            raise ValidationError(
                "impact", underlying, f"an underlying with an impact model {sorted(self.impact)}"
            ) from None
