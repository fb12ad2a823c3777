"""Black-76 implied volatility, vectorised.

The solver works on the normalised out-of-the-money price. By put-call parity the time value
``price / D - max(w * (F - K), 0)`` of a call and of a put with the same strike are equal, and
equal to the price of the out-of-the-money option of that strike. Divided by ``sqrt(F * K)`` it
is ``b(x, s) = exp(x / 2) * N(x / s + s / 2) - exp(-x / 2) * N(x / s - s / 2)`` with
``x = -|ln(F / K)| <= 0`` and ``s = sigma * sqrt(T)``, increasing in ``s`` from 0 to
``exp(x / 2)``.

For each option the solver runs a Newton iteration on one of two objectives, chosen once from
the target ``beta``:

- when ``beta <= exp(x / 2) / 2`` (the lower half, including deep out-of-the-money prices),
  ``-1 / ln b - (-1 / ln beta)`` as a function of the total variance ``s^2``. Far out of the
  money ``ln b ~ -x^2 / (2 s^2)``, so this objective is close to linear in ``s^2`` and Newton
  converges from the tail asymptotics used as a start in a few steps;
- otherwise ``ln(exp(x / 2) - b(s)) - ln(exp(x / 2) - beta)`` in ``s``, where
  ``exp(x / 2) - b(s) = exp(x / 2) * N(-d1) + exp(-x / 2) * N(d2)`` is a sum of positive terms
  and keeps its accuracy as the price approaches its upper bound.

A Newton step that leaves the bracket known so far is replaced by a bisection (or a doubling
while no upper end is known), so every iteration stays safe. Iterations stop when the step in
``s`` is below ``tol`` relative to ``s`` (typically after 4 to 6 iterations); the loop runs
over iterations only, on the shrinking set of options that have not converged.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

from portmargin.core import PricingError
from portmargin.pricing._validate import as_float, as_is_call, check_range, checked
from portmargin.pricing.black76 import _intrinsic, _sign

__all__ = ["implied_vol", "inverse_implied_vol"]

_LOG_INV_SQRT_2PI = -0.5 * math.log(2.0 * math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)

OnError = Literal["raise", "nan"]


def implied_vol(
    price: npt.ArrayLike,
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    is_call: npt.ArrayLike,
    df: npt.ArrayLike = 1.0,
    *,
    tol: float = 1e-12,
    max_iter: int = 64,
    on_error: OnError = "raise",
) -> NDArray[np.float64]:
    """Black-76 implied volatility of European option prices in USD.

    Parameters
    ----------
    price
        Option value ``V``, USD per coin (discounted, as returned by
        :func:`portmargin.pricing.black76.price`).
    forward
        Forward of the option's expiry ``F``, USD per coin, finite and > 0.
    strike
        Strike ``K``, USD, finite and > 0.
    tau
        Year fraction to expiry ``T`` (ACT/365), finite and > 0.
    is_call
        True for calls, False for puts (bool or bool array).
    df
        Discount factor ``D`` to expiry, finite and > 0.
    tol
        Relative tolerance on the volatility: iterations stop once a Newton step changes
        ``sigma`` by less than ``tol * sigma``.
    max_iter
        Maximum number of iterations per option.
    on_error
        ``"raise"`` (default): raise :class:`~portmargin.core.PricingError` for the first price
        outside the no-arbitrage bounds. ``"nan"``: return NaN for such prices (and for the
        rare price whose iteration does not converge) and solve the others. Invalid
        ``forward``, ``strike``, ``tau``, ``df`` or ``is_call`` always raise.

    Returns
    -------
    numpy.ndarray
        Implied volatility as a fraction (0.4543, not 45.43), float64, broadcast shape of the
        inputs (0-d for scalars). A price equal to the discounted intrinsic value
        ``D * max(F - K, 0)`` (call) or ``D * max(K - F, 0)`` (put) gives 0.

    Raises
    ------
    PricingError
        With ``on_error="raise"``, for a price that is not finite, below the discounted
        intrinsic value, or not below the upper bound ``D * F`` (call) / ``D * K`` (put); or
        that does not converge within ``max_iter`` iterations.

    Notes
    -----
    The volatility round-trips :func:`portmargin.pricing.black76.price` to within a small
    multiple of ``eps * (1 + |d|) * (1 + |d| / s) * V / vega`` (``vega`` per unit of vol,
    ``d = ln(F/K) / s``, ``s = sigma * sqrt(T)``): the vol change that the rounding of the
    price itself causes. That is about 1e-15 near the money and better than 1e-8 wherever
    vega is not negligible next to the price.
    """
    usd = as_float("price", price)
    return _solve(
        "price",
        usd,
        usd,
        forward,
        strike,
        tau,
        is_call,
        df,
        tol=tol,
        max_iter=max_iter,
        on_error=on_error,
    )


def inverse_implied_vol(
    price_coin: npt.ArrayLike,
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    is_call: npt.ArrayLike,
    df: npt.ArrayLike = 1.0,
    *,
    tol: float = 1e-12,
    max_iter: int = 64,
    on_error: OnError = "raise",
) -> NDArray[np.float64]:
    """Implied volatility of inverse (coin-settled) option prices quoted in coin.

    Solves ``black76.price(F, K, T, sigma, is_call, D) / F = price_coin``: the coin price is
    converted to USD at the forward of the expiry (as the venue marks it) and solved as by
    :func:`implied_vol`. The other arguments, the return value and the errors are those of
    :func:`implied_vol`; errors about the price name ``price_coin`` and quote the coin value.
    """
    coin = as_float("price_coin", price_coin)
    return _solve(
        "price_coin",
        coin,
        coin * as_float("forward", forward),
        forward,
        strike,
        tau,
        is_call,
        df,
        tol=tol,
        max_iter=max_iter,
        on_error=on_error,
    )


def _solve(
    field: str,
    quoted: NDArray[np.float64],
    usd: NDArray[np.float64],
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    is_call: npt.ArrayLike,
    df: npt.ArrayLike,
    *,
    tol: float,
    max_iter: int,
    on_error: OnError,
) -> NDArray[np.float64]:
    """Validate, reduce to normalised out-of-the-money prices, solve, map back to vols.

    ``quoted`` is the price as the caller gave it (named ``field`` in errors), ``usd`` the
    same price in USD.
    """
    if on_error not in ("raise", "nan"):
        raise PricingError("on_error", on_error, "'raise' or 'nan'")
    F = checked("forward", forward)
    K = checked("strike", strike)
    T = as_float("tau", tau)
    check_range("tau", T, 0.0, strict=True, expected="a finite year fraction > 0")
    D = checked("df", df)
    flags = as_is_call(is_call)
    arrays = np.broadcast_arrays(quoted, usd, F, K, T, flags, D)
    shape = arrays[0].shape
    q, V, F, K, T, flags, D = (a.ravel() for a in arrays)
    intrinsic = _intrinsic(F, K, _sign(flags), D)
    upper = np.where(flags, F, K) * D
    xm = -np.abs(np.log(F / K))
    u = np.exp(0.5 * xm)
    with np.errstate(invalid="ignore"):
        beta = (V - intrinsic) / (D * np.sqrt(F * K))
        bad = ~((intrinsic <= V) & (upper > V) & (beta < u))
    if on_error == "raise" and bad.any():
        raise PricingError(field, float(q[bad][0]), _bounds_text(field))
    sigma = np.full(V.shape, np.nan)
    sigma[~bad & (beta == 0.0)] = 0.0
    todo = np.flatnonzero(~bad & (beta > 0.0))
    s, converged = _normalised_vol(beta[todo], xm[todo], tol, max_iter)
    if on_error == "raise" and not converged.all():
        raise PricingError(
            field,
            float(q[todo[~converged][0]]),
            f"a price whose implied volatility converges within max_iter={max_iter} iterations",
        )
    sigma[todo] = np.where(converged, s / np.sqrt(T[todo]), np.nan)
    return sigma.reshape(shape)


def _bounds_text(field: str) -> str:
    bounds = "D*max(F-K, 0) <= price < D*F for calls and D*max(K-F, 0) <= price < D*K for puts"
    if field == "price_coin":
        return f"a finite coin price with {bounds}, price = price_coin*F in USD"
    return f"a finite USD price with {bounds}"


def _normalised_vol(
    beta: NDArray[np.float64],
    xm: NDArray[np.float64],
    tol: float,
    max_iter: int,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Solve ``b(xm, s) = beta`` for ``s`` (1-D arrays, ``xm <= 0``, ``0 < beta < exp(xm/2)``).

    Returns the total standard deviations ``s`` and a flag per element telling whether the
    iteration converged within ``max_iter`` steps.
    """
    n = beta.size
    result = np.full(n, np.nan)
    converged = np.zeros(n, dtype=bool)
    u = np.exp(0.5 * xm)
    upper = beta > 0.5 * u
    q = np.where(upper, -1.0, 1.0)
    target = np.log(np.where(upper, u - beta, beta))
    s = np.where(upper, _upper_guess(beta, xm, u), _lower_guess(beta, xm))
    e_pos = u
    e_neg = 1.0 / u
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    idx = np.arange(n)
    for _ in range(max_iter):
        if idx.size == 0:
            break
        d1 = xm / s + 0.5 * s
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            y = np.log(e_pos * ndtr(q * d1) - q * e_neg * ndtr(d1 - s))
            log_slope = _LOG_INV_SQRT_2PI - 0.5 * d1 * d1 + 0.5 * xm - y
            slope = q * np.exp(log_slope)  # dy/ds
            gap = y - target
            w_new = s * s - (1.0 / target - 1.0 / y) * 2.0 * s * y * y / slope
            s_new = np.where(q > 0.0, np.sqrt(w_new), s - gap / slope)
        done = (np.abs(s_new - s) <= tol * s) | (gap == 0.0)
        below = ~(q * gap >= 0.0)
        lo = np.where(below, s, lo)
        hi = np.where(below, hi, s)
        outside = ~((s_new > lo) & (s_new < hi)) & ~done
        s_new = np.where(outside, np.where(np.isinf(hi), 2.0 * s, 0.5 * (lo + hi)), s_new)
        done |= hi - lo <= tol * s
        result[idx[done]] = s_new[done]
        converged[idx[done]] = True
        keep = ~done
        idx, s, lo, hi, xm, q, target, e_pos, e_neg = (
            a[keep] for a in (idx, s_new, lo, hi, xm, q, target, e_pos, e_neg)
        )
    return result, converged


def _lower_guess(beta: NDArray[np.float64], xm: NDArray[np.float64]) -> NDArray[np.float64]:
    """Start for ``b(xm, s) = beta`` in the lower half, close to and mostly left of the root.

    The larger of the at-the-money bound ``s = sqrt(2 pi) * beta`` (``b(xm, s)`` never
    exceeds ``s / sqrt(2 pi)``) and the smaller root of the leading tail asymptotics
    ``ln beta = -ln sqrt(2 pi) - xm^2 / (2 s^2) - s^2 / 8``; when ``beta`` lies above the
    maximum ``-ln sqrt(2 pi) + xm / 2`` of that expression (at ``s = sqrt(-2 xm)``), the root
    is beyond ``sqrt(-2 xm)``, which is used instead.
    """
    L = -np.log(beta) + _LOG_INV_SQRT_2PI
    valid = L + 0.5 * xm > 0.0
    disc = np.where(valid, L * L - 0.25 * xm * xm, 0.0)
    tail = np.where(valid, 2.0 * np.sqrt(np.maximum(L - np.sqrt(disc), 0.0)), np.sqrt(-2.0 * xm))
    return np.maximum(tail, _SQRT_2PI * beta)


def _upper_guess(
    beta: NDArray[np.float64], xm: NDArray[np.float64], u: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Start for ``b(xm, s) = beta`` near the upper bound ``u = exp(xm/2)``.

    Uses ``u - b(xm, s) ~ (exp(xm/2) + exp(-xm/2)) * N(-s/2)``, exact at ``xm = 0``.
    """
    guess: NDArray[np.float64] = -2.0 * ndtri((u - beta) / (u + 1.0 / u))
    return guess
