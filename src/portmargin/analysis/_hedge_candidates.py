"""Hedge candidates: which instruments a hedge may trade, and what one coin of each costs.

Cost of a trade of ``q`` coins (``q > 0`` buys) of a candidate, USD::

    cost(q) = premium * q + (half_spread + fee) * |q|

``premium`` is the venue mark of an option in USD per coin (0 for futures and perpetuals,
which exchange no premium); ``half_spread`` is half the quoted best bid/ask spread in USD per
coin (crossing it is the price of trading now); ``fee`` is the venue fee per coin. Selling an
option receives its premium, so its cost can be negative.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError, require_non_negative, require_positive
from portmargin.instruments import Currency, Future, Instrument, Option, Perpetual, Settlement, Spot
from portmargin.market import MarketSnapshot, OptionQuote
from portmargin.risk import STABLECOINS, Book

__all__ = [
    "CandidateFilter",
    "CostModel",
    "TradeCosts",
    "auto_candidates",
    "trade_costs",
    "underlying_of",
]

_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True, kw_only=True)
class CandidateFilter:
    """Which listed instruments are automatic hedge candidates.

    Attributes
    ----------
    max_log_moneyness
        Options with ``|ln(K / F)| <=`` this (``F`` the forward of their expiry), > 0.
    min_days, max_days
        Options expiring within this many days from valuation (ACT/365 days, ``0 <= min_days
        < max_days``).
    expiries
        At most this many expiries per underlying, the nearest that pass ``min_days``, >= 1.
    """

    max_log_moneyness: float = 0.15
    min_days: float = 2.0
    max_days: float = 120.0
    expiries: int = 2

    def __post_init__(self) -> None:
        require_positive("max_log_moneyness", self.max_log_moneyness)
        require_non_negative("min_days", self.min_days)
        if not (math.isfinite(self.max_days) and self.max_days > self.min_days):
            raise ValidationError("max_days", self.max_days, f"> min_days {self.min_days:g}")
        if not (isinstance(self.expiries, int) and self.expiries >= 1):
            raise ValidationError("expiries", self.expiries, "an integer >= 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class CostModel:
    """What crossing the market costs, for instruments without a two-sided venue quote and
    for fees.

    Attributes
    ----------
    delta_one_half_spread
        Half-spread of a future or perpetual without a two-sided quote, fraction of its mark
        (default 1 bp), >= 0.
    option_half_spread
        Half-spread of an option without a two-sided quote, fraction of the index per coin
        (default 5 bp of the underlying, Deribit's typical 0.001 coin wide market), >= 0.
    fee_rate
        Fee as a fraction of underlying notional (``index * |q|``), >= 0 (default 0: no fees).
    option_fee_cap
        An option's fee is at most this fraction of its premium (Deribit: 12.5 %), >= 0.
    """

    delta_one_half_spread: float = 0.0001
    option_half_spread: float = 0.0005
    fee_rate: float = 0.0
    option_fee_cap: float = 0.125

    def __post_init__(self) -> None:
        for name in ("delta_one_half_spread", "option_half_spread", "fee_rate", "option_fee_cap"):
            require_non_negative(name, getattr(self, name))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TradeCosts:
    """Per-coin costs of candidate instruments, USD.

    Attributes
    ----------
    instruments
        The candidates, shape ``(k,)``.
    premium
        Mark value paid per coin bought, USD (0 for futures and perpetuals), shape ``(k,)``.
    crossing
        Half-spread plus fee per coin traded either way, USD, >= 0, shape ``(k,)``.
    """

    instruments: tuple[Instrument, ...]
    premium: NDArray[np.float64]
    crossing: NDArray[np.float64]

    def cost(self, column: NDArray[np.intp], quantity: NDArray[np.float64]) -> NDArray[np.float64]:
        """USD cost of trading ``quantity`` coins (> 0 buys) of candidate ``column``, same
        shape as both."""
        out: NDArray[np.float64] = self.premium[column] * quantity + self.crossing[column] * np.abs(
            quantity
        )
        return out

    def limits(
        self,
        column: NDArray[np.intp],
        budget_usd: NDArray[np.float64],
        max_quantity: float | None,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Smallest (<= 0) and largest (>= 0) quantity of candidate ``column[r]`` whose cost
        is within ``budget_usd[r]`` (``inf``: no limit; a negative budget counts as 0) and
        whose size is within ``max_quantity`` coins; +-inf when unbounded. The cost is
        linear on each side of 0, so every quantity in between is within both."""
        cap = np.inf if max_quantity is None else max_quantity
        budget = np.maximum(budget_usd, 0.0)
        buy = (self.premium + self.crossing)[column]
        sell = (self.crossing - self.premium)[column]
        with np.errstate(divide="ignore", invalid="ignore"):
            high = np.where(buy > 0, budget / buy, np.inf)
            low = np.where(sell > 0, -budget / sell, -np.inf)
        # a bound reached exactly may round above the budget: stay just inside it
        high = np.minimum(np.where(np.isfinite(high), high * (1 - 1e-12), high), cap)
        low = np.maximum(np.where(np.isfinite(low), low * (1 - 1e-12), low), -cap)
        return low, high


def trade_costs(
    instruments: Sequence[Instrument], market: MarketSnapshot, costs: CostModel
) -> TradeCosts:
    """Per-coin premium and crossing cost of each candidate (see the module notes).

    An option's premium is its venue mark (coin per coin) times the index; a linear option
    reads the quote of the inverse option of the same underlying, expiry, strike and type.
    The half-spread is half the quoted best bid/ask spread, in USD per coin; without a
    two-sided quote it comes from ``costs``. Futures and perpetuals: premium 0, half-spread
    from their venue quote's bid/ask, else ``costs.delta_one_half_spread`` of the mark (the
    index for a perpetual without a quote).

    Raises
    ------
    ValidationError
        For an instrument that is not an option, future or perpetual, or an option the
        snapshot does not quote.
    MarketDataError
        If the underlying has no index price.
    """
    by_key: Mapping[tuple[str, int, float, bool], OptionQuote] = {
        (
            q.instrument.underlying,
            q.instrument.expiry_ms,
            q.instrument.strike,
            q.instrument.is_call,
        ): q
        for q in market.quotes.values()
    }
    premium, crossing = [], []
    for inst in instruments:
        if not isinstance(inst, Option | Future | Perpetual):
            raise ValidationError("candidates", inst.name, "options, futures or perpetuals")
        index = market.index(inst.underlying)
        fee = costs.fee_rate * index
        if isinstance(inst, Option):
            quote = by_key.get((inst.underlying, inst.expiry_ms, inst.strike, inst.is_call))
            if quote is None:
                raise ValidationError("candidates", inst.name, "an option the snapshot quotes")
            value = quote.mark_price * index
            if quote.best_bid is not None and quote.best_ask is not None:
                half = 0.5 * (quote.best_ask - quote.best_bid) * index
            else:
                half = costs.option_half_spread * index
            premium.append(value)
            crossing.append(half + min(fee, costs.option_fee_cap * value))
            continue
        fq = market.futures.get(inst.name)
        mark = index if fq is None else fq.mark_price
        if fq is not None and fq.best_bid is not None and fq.best_ask is not None:
            half = 0.5 * (fq.best_ask - fq.best_bid)
        else:
            half = costs.delta_one_half_spread * mark
        premium.append(0.0)
        crossing.append(half + fee)
    return TradeCosts(
        instruments=tuple(instruments),
        premium=np.array(premium, dtype=np.float64),
        crossing=np.array(crossing, dtype=np.float64),
    )


def underlying_of(inst: Instrument) -> str | None:
    """The coin whose price moves ``inst`` (``None`` for a stablecoin balance)."""
    if isinstance(inst, Currency):
        return None if inst.code in STABLECOINS else inst.code
    if isinstance(inst, Spot):
        return inst.base
    return inst.underlying


def auto_candidates(
    book: Book, market: MarketSnapshot, which: CandidateFilter | None = None
) -> tuple[Instrument, ...]:
    """Listed hedge instruments for the underlyings ``book`` holds, sorted by name.

    For each underlying with an index price that some account holds (a derivative, spot pair
    or coin balance), in each settlement style its derivatives use (inverse, or linear in a
    quote currency; inverse when it holds none): the perpetual (the book's own when it holds
    one), the venue's quoted futures of that style, and the quoted options (a linear style
    takes the linear twins of the quoted options) with a two-sided quote that pass
    ``which`` (default :class:`CandidateFilter`).
    """
    which = which or CandidateFilter()
    styles: dict[str, set[tuple[Settlement, str]]] = {}
    perps: dict[tuple[str, Settlement, str], Perpetual] = {}
    for inst in book.instruments:
        u = underlying_of(inst)
        if u is None or u not in market.index_prices:
            continue
        mine = styles.setdefault(u, set())
        if isinstance(inst, Option | Future | Perpetual):
            mine.add((inst.settlement, inst.quote))
            if isinstance(inst, Perpetual):
                perps[u, inst.settlement, inst.quote] = inst
    out: dict[str, Instrument] = {}
    for u, found in styles.items():
        for settlement, quote in found or {(Settlement.INVERSE, "USD")}:
            perp = perps.get((u, settlement, quote)) or Perpetual(
                underlying=u, quote=quote, settlement=settlement
            )
            out[perp.name] = perp
            for fq in market.futures.values():
                f = fq.instrument
                if isinstance(f, Future) and f.underlying == u and f.settlement is settlement:
                    out[f.name] = f
            for opt in _options(market, u, which):
                twin = (
                    opt
                    if opt.settlement is settlement
                    else replace(opt, quote=quote, settlement=settlement, contract_size=1.0)
                )
                out[twin.name] = twin
    return tuple(out[name] for name in sorted(out))


def _options(market: MarketSnapshot, underlying: str, which: CandidateFilter) -> list[Option]:
    lo = market.valuation_ms + which.min_days * _DAY_MS
    hi = market.valuation_ms + which.max_days * _DAY_MS
    expiries = [e for e in market.expiries(underlying) if lo <= e <= hi][: which.expiries]
    out = []
    for q in market.quotes.values():
        o = q.instrument
        if o.underlying != underlying or o.expiry_ms not in expiries:
            continue
        if q.best_bid is None or q.best_ask is None:
            continue
        if abs(math.log(o.strike / market.forward(underlying, o.expiry_ms))) <= (
            which.max_log_moneyness
        ):
            out.append(o)
    return out
