"""Pricing kernels: pure functions on float arrays, broadcast over scenario axes.

Submodules
----------
black76
    Black-76 on the expiry forward: prices, venue (Deribit) greeks, inverse coin values and
    coin deltas.
implied_vol
    Vectorised Black-76 implied volatility from USD or coin prices.
merton
    Merton (1976) jump diffusion on the forward: series and Fourier prices, Monte Carlo
    simulation of the forward.

Every kernel takes arrays in the units of ``specs/pricing-conventions.md`` (USD per coin,
ACT/365 year fractions, vols as fractions), returns float64 arrays of the broadcast shape and
raises :class:`portmargin.core.PricingError` naming the offending argument on invalid input.
"""

from portmargin.pricing import black76, implied_vol, merton

__all__ = ["black76", "implied_vol", "merton"]
