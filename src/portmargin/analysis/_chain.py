"""Reprice a venue option chain from each quote's own mark IV and forward."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.core import MarketDataError, year_fraction
from portmargin.instruments import Settlement
from portmargin.market import OptionQuote
from portmargin.pricing import black76

__all__ = ["ChainRow", "ChainSummary", "reprice_chain", "summarise_chain"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainRow:
    """One option repriced with Black-76 on its own row's forward and mark IV.

    Attributes
    ----------
    instrument
        Venue name.
    expiry_ms
        Expiry, epoch ms UTC.
    tau
        ACT/365 year fraction from the row's own timestamp to expiry.
    forward
        The row's ``underlying_price`` (forward of the expiry), USD per coin.
    mark_iv
        Venue mark implied vol, fraction.
    model_price
        Model value in the venue's price unit: coin per coin for inverse options, quote
        currency (USDC) per coin for linear ones.
    model_price_usd
        Model value in USD per coin of underlying.
    mark_price
        Venue mark, same unit as ``model_price``.
    difference
        ``model_price - mark_price``.
    delta, gamma, vega, theta
        Venue conventions (forward Black, r = 0): delta dimensionless, gamma per USD, vega USD
        per vol point, theta USD per day.
    coin_delta
        Net transaction delta of the coin value of an inverse option (``delta - V_coin``);
        equal to ``delta`` for linear options.
    venue_delta
        Delta the venue reported, or None.
    """

    instrument: str
    expiry_ms: int
    tau: float
    forward: float
    mark_iv: float
    model_price: float
    model_price_usd: float
    mark_price: float
    difference: float
    delta: float
    gamma: float
    vega: float
    theta: float
    coin_delta: float
    venue_delta: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainSummary:
    """Agreement of the model with the venue's marks and deltas over a chain.

    Attributes
    ----------
    options
        Rows compared.
    median_abs_error, p95_abs_error, max_abs_error
        Of ``model_price - mark_price``, venue price unit (coin for inverse options).
    median_delta_error, max_delta_error
        Of ``delta - venue_delta`` over rows with a venue delta (NaN when there is none).
    """

    options: int
    median_abs_error: float
    p95_abs_error: float
    max_abs_error: float
    median_delta_error: float
    max_delta_error: float


def reprice_chain(quotes: Iterable[OptionQuote]) -> list[ChainRow]:
    """Reprice every quote from its own ``mark_iv``, ``underlying_price`` and timestamp.

    Each row is valued at its own time on its own forward, as the venue marked it
    (Black-76, discount factor 1). All rows are priced in one vectorised call.

    Parameters
    ----------
    quotes
        Venue option quotes (e.g. ``snapshot.quotes.values()``).

    Returns
    -------
    list of ChainRow
        In the order given.

    Raises
    ------
    MarketDataError
        If a quote is at or past its expiry at its own timestamp.
    """
    rows = list(quotes)
    if not rows:
        return []
    F = np.array([q.underlying_price for q in rows])
    K = np.array([q.instrument.strike for q in rows])
    sigma = np.array([q.mark_iv for q in rows])
    is_call = np.array([q.instrument.is_call for q in rows])
    expiry = np.array([q.instrument.expiry_ms for q in rows], dtype=np.int64)
    stamp = np.array([q.timestamp_ms for q in rows], dtype=np.int64)
    inverse = np.array([q.instrument.settlement is Settlement.INVERSE for q in rows])
    tau = year_fraction(stamp, expiry)
    if np.any(tau <= 0):
        bad = rows[int(np.argmax(tau <= 0))]
        raise MarketDataError(
            f"{bad.instrument_name}: quoted at {bad.timestamp_ms} ms, at or after its expiry"
        )
    usd = black76.price(F, K, tau, sigma, is_call)
    g = black76.greeks(F, K, tau, sigma, is_call)
    model: NDArray[np.float64] = np.where(inverse, usd / F, usd)
    coin_delta = np.where(inverse, g["delta"] - usd / F, g["delta"])
    return [
        ChainRow(
            instrument=q.instrument_name,
            expiry_ms=q.instrument.expiry_ms,
            tau=float(tau[i]),
            forward=q.underlying_price,
            mark_iv=q.mark_iv,
            model_price=float(model[i]),
            model_price_usd=float(usd[i]),
            mark_price=q.mark_price,
            difference=float(model[i]) - q.mark_price,
            delta=float(g["delta"][i]),
            gamma=float(g["gamma"][i]),
            vega=float(g["vega"][i]),
            theta=float(g["theta"][i]),
            coin_delta=float(coin_delta[i]),
            venue_delta=None if q.greeks is None else q.greeks.delta,
        )
        for i, q in enumerate(rows)
    ]


def summarise_chain(rows: list[ChainRow]) -> ChainSummary:
    """Error statistics of a repriced chain against the venue's marks and deltas."""
    if not rows:
        nan = float("nan")
        return ChainSummary(
            options=0,
            median_abs_error=nan,
            p95_abs_error=nan,
            max_abs_error=nan,
            median_delta_error=nan,
            max_delta_error=nan,
        )
    err = np.abs([r.difference for r in rows])
    d_err = np.abs([r.delta - r.venue_delta for r in rows if r.venue_delta is not None])
    has_delta = d_err.size > 0
    return ChainSummary(
        options=len(rows),
        median_abs_error=float(np.median(err)),
        p95_abs_error=float(np.percentile(err, 95)),
        max_abs_error=float(err.max()),
        median_delta_error=float(np.median(d_err)) if has_delta else float("nan"),
        max_delta_error=float(d_err.max()) if has_delta else float("nan"),
    )
