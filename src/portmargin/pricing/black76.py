"""Black-76 on the expiry forward: prices, venue greeks and inverse (coin-settled) values.

All functions are vectorised: ``forward``, ``strike``, ``tau``, ``sigma``, ``is_call`` and ``df``
are broadcast together (NumPy rules), so a trailing scenario axis on any of them yields a
result with that axis. Results are float64 arrays of the broadcast shape; scalar inputs give
0-d arrays.

Units (per one coin of underlying, see ``specs/pricing-conventions.md`` sections 2-4):

- ``forward`` F: forward of the option's own expiry, USD per coin, finite and > 0.
- ``strike`` K: USD, finite and > 0.
- ``tau`` T: ACT/365 year fraction to expiry, finite. ``tau == 0`` means "at expiry" and prices
  at intrinsic value. A negative ``tau`` ("after expiry") raises unless ``allow_expired=True``,
  in which case it also prices at intrinsic value; scenario engines that age a book past an
  expiry pass ``allow_expired=True``.
- ``sigma``: implied volatility as a fraction (0.4543, not 45.43), finite and >= 0. Scenario
  engines floor shocked vols at 0 before calling; a negative ``sigma`` raises.
- ``is_call``: bool or bool array, True for calls and False for puts.
- ``df`` D: discount factor to expiry, finite and > 0 (1.0 on Deribit).

When ``T <= 0``, ``sigma == 0`` or ``s = sigma * sqrt(T) < 1e-12`` the value is the
discounted intrinsic value ``D * max(F - K, 0)`` (call) or ``D * max(K - F, 0)`` (put).

Numerics: prices use the sign form ``D * w * (F * N(w * d1) - K * N(w * d2))`` with ``w = +1``
for calls and ``-1`` for puts and ``N`` evaluated through ``erfc`` (``scipy.special.ndtr``),
so out-of-the-money calls and puts alike keep their relative accuracy (relative error of order
``1e-14 * (1 + |d2|) * (1 + |d2| / s)``, below 1e-12 for any value above 1e-12 of the
forward) until the value underflows. Values are never below the discounted intrinsic value:
where rounding leaves the formula a few ulps under it, the intrinsic value is returned.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray
from scipy.special import ndtr

from portmargin.pricing._validate import as_float, as_is_call, check_range, checked

__all__ = ["greeks", "inverse_delta", "inverse_price", "price"]

_S_MIN = 1e-12  # sigma * sqrt(tau) below which an option is valued at intrinsic
_BLOCK = 16384  # elements per block of the price kernel: temporaries stay in cache
_DAYS_PER_YEAR = 365.0
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_ZERO_AT_INTRINSIC = ("gamma", "vega", "theta", "rho", "vanna", "volga", "raw_theta")


class _Inputs(NamedTuple):
    forward: NDArray[np.float64]
    strike: NDArray[np.float64]
    tau: NDArray[np.float64]
    sigma: NDArray[np.float64]
    is_call: NDArray[np.bool_]
    df: NDArray[np.float64]


_READONLY: tuple[list[Literal["readonly"]], ...] = tuple(["readonly"] for _ in _Inputs._fields)


def _validated(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    df: npt.ArrayLike,
    allow_expired: bool,
) -> _Inputs:
    """Convert and check the common Black-76 arguments; negative ``tau`` is clipped to 0."""
    F = checked("forward", forward)
    K = checked("strike", strike)
    sig = checked("sigma", sigma)
    D = checked("df", df)
    T = as_float("tau", tau)
    if allow_expired:
        check_range("tau", T, -math.inf, strict=True, expected="a finite year fraction")
        if T.size and T.min() < 0.0:
            T = np.maximum(T, 0.0)
    else:
        check_range(
            "tau",
            T,
            0.0,
            strict=False,
            expected="a finite year fraction >= 0 (pass allow_expired=True to value "
            "options after expiry at intrinsic)",
        )
    return _Inputs(F, K, T, sig, as_is_call(is_call), D)


def _sign(
    is_call: NDArray[np.bool_], out: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """``w = +1.0`` for calls and ``-1.0`` for puts (into ``out`` when given)."""
    w: NDArray[np.float64] = np.multiply(is_call, 2.0, out=out)
    w -= 1.0
    return w


def _intrinsic(
    F: NDArray[np.float64],
    K: NDArray[np.float64],
    w: NDArray[np.float64],
    D: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Discounted intrinsic value ``D * max(w * (F - K), 0)``."""
    value: NDArray[np.float64] = np.asarray(np.maximum(w * (F - K), 0.0) * D)
    return value


def _price_kernel(inputs: _Inputs) -> NDArray[np.float64]:
    """Black-76 value of already validated inputs (``tau >= 0``), shape of the broadcast.

    The broadcast arrays are walked in blocks of ``_BLOCK`` elements (``numpy.nditer``
    buffering) so that every temporary stays in cache; each block is priced with in-place
    operations in the output block and two scratch rows. The Python loop runs over blocks,
    never over options. The special functions (one ``log``, one ``sqrt``, two ``ndtr`` per
    option) dominate the cost.
    """
    it = np.nditer(
        [*inputs, None],
        flags=["external_loop", "buffered", "zerosize_ok"],
        op_flags=[*_READONLY, ["writeonly", "allocate", "no_broadcast"]],
        op_dtypes=[np.float64] * 4 + [np.bool_, np.float64, np.float64],
        buffersize=_BLOCK,
    )
    scratch = np.empty((2, _BLOCK))
    with it:
        for F, K, T, sig, is_call, D, out in it:
            _price_block(F, K, T, sig, is_call, D, out, scratch[:, : out.size])
        result: NDArray[np.float64] = it.operands[6]
    return result


def _price_block(
    F: NDArray[np.float64],
    K: NDArray[np.float64],
    T: NDArray[np.float64],
    sig: NDArray[np.float64],
    is_call: NDArray[np.bool_],
    D: NDArray[np.float64],
    a: NDArray[np.float64],
    scratch: NDArray[np.float64],
) -> None:
    """Write the Black-76 values of one block of 1-D arrays into ``a``.

    ``scratch`` holds two work rows of the block's length. The undiscounted value is raised to
    the intrinsic value ``max(w * (F - K), 0)`` where rounding left it a few ulps below, so
    that a price is never below its discounted intrinsic value.
    """
    b, c = scratch
    np.sqrt(T, out=b)
    b *= sig  # s = sigma * sqrt(T)
    at_intrinsic = None
    if b.min() < _S_MIN:
        at_intrinsic = b < _S_MIN
        b[at_intrinsic] = 1.0
    w = _sign(is_call, out=c)
    b *= w  # w * s
    np.divide(F, K, out=a)
    np.log(a, out=a)  # x = ln(F / K)
    a /= b  # w * x / s
    b *= 0.5  # w * s / 2
    a += b  # w * d1
    b *= -2.0  # -w * s
    b += a  # w * d2
    ndtr(a, out=a)
    ndtr(b, out=b)
    a *= F
    b *= K
    a -= b  # F * N(w * d1) - K * N(w * d2)
    a *= w
    np.subtract(F, K, out=b)
    b *= w
    np.maximum(b, 0.0, out=b)  # intrinsic value
    if at_intrinsic is not None:
        np.copyto(a, b, where=at_intrinsic)
    np.maximum(a, b, out=a)
    a *= D


def price(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    df: npt.ArrayLike = 1.0,
    *,
    allow_expired: bool = False,
) -> NDArray[np.float64]:
    """Black-76 value of European options on the expiry forward, USD per coin.

    Parameters
    ----------
    forward
        Forward of the option's expiry ``F``, USD per coin, > 0.
    strike
        Strike ``K``, USD, > 0.
    tau
        Year fraction to expiry ``T`` (ACT/365), >= 0; 0 prices at intrinsic value.
    sigma
        Implied volatility, fraction per sqrt(year), >= 0.
    is_call
        True for calls, False for puts (bool or bool array).
    df
        Discount factor ``D`` to expiry, > 0.
    allow_expired
        If True, ``tau < 0`` (after expiry) prices at intrinsic value instead of raising.

    Returns
    -------
    numpy.ndarray
        ``D * (F * N(d1) - K * N(d2))`` for calls, ``D * (K * N(-d2) - F * N(-d1))`` for
        puts, USD per coin, float64, broadcast shape of the inputs (0-d for scalars).

    Raises
    ------
    PricingError
        If ``forward`` or ``strike`` is not finite and > 0, ``sigma`` is NaN, infinite or
        negative, ``tau`` is NaN or infinite (or negative without ``allow_expired``), ``df``
        is not finite and > 0, or ``is_call`` is not boolean. The error names the field and
        its first offending element.
    """
    return _price_kernel(_validated(forward, strike, tau, sigma, is_call, df, allow_expired))


def greeks(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    df: npt.ArrayLike = 1.0,
    *,
    allow_expired: bool = False,
) -> dict[str, NDArray[np.float64]]:
    """Black-76 sensitivities in the venue (Deribit) conventions, USD per coin.

    Arguments, validation and broadcasting are those of :func:`price`.

    Returns
    -------
    dict[str, numpy.ndarray]
        Float64 arrays of the broadcast shape, keyed by:

        ``delta``
            ``dV/dF``: ``D * N(d1)`` for calls, ``D * (N(d1) - 1)`` for puts (USD per USD).
        ``gamma``
            ``d2V/dF2 = D * phi(d1) / (F * s)``, per USD.
        ``vega``
            ``D * F * phi(d1) * sqrt(T) / 100``: USD per 1 vol point (sigma + 0.01).
        ``theta``
            Venue theta, USD per calendar day:
            ``max(raw_theta / 365 * min(1, 365 * T), -V)``. When less than a day remains the
            one-day decay is pro-rated, and the decay never exceeds the option value ``V``.
            With ``D = 1`` this is ``-F * phi(d1) * sigma / (2 * sqrt(T) * 365)`` before the
            pro-rating and the floor.
        ``rho``
            ``D * K * T * N(d2) / 100`` for calls, ``-D * K * T * N(-d2) / 100`` for puts: USD
            per 1 percentage point of the rate, with the spot ``D * F`` held fixed (the
            forward moves as ``F * exp(dr * T)``), as the venue reports it.
        ``vanna``
            ``d(delta)/d(sigma) / 100 = -D * phi(d1) * d2 / (100 * sigma)``: change of delta
            per 1 vol point.
        ``volga``
            ``d2V/d(sigma)2 / 100**2 = vega * d1 * d2 / (100 * sigma)``: change of ``vega``
            (USD per vol point) per 1 vol point.
        ``raw_theta``
            Analytic ``dV/dt``, USD per year, with ``F``, ``sigma`` and the continuously
            compounded rate ``r = -ln(D) / T`` held fixed:
            ``-D * F * phi(d1) * sigma / (2 * sqrt(T)) + r * V``. Negative when the value
            decays; no pro-rating or floor.

        Where the option is valued at intrinsic (``T <= 0``, ``sigma == 0`` or
        ``s < 1e-12``), ``delta`` is the discounted intrinsic step (call ``D`` if ``F > K``
        else 0; put ``-D`` if ``F < K`` else 0) and every other entry is 0.
    """
    g = _greeks(_validated(forward, strike, tau, sigma, is_call, df, allow_expired))
    del g["value"]
    return g


def _greeks(inputs: _Inputs) -> dict[str, NDArray[np.float64]]:
    """Value and every greek of :func:`greeks` for validated inputs (``tau >= 0``)."""
    shape = np.broadcast_shapes(*(a.shape for a in inputs))
    F, K, T, sig, is_call, D = (np.atleast_1d(a) for a in np.broadcast_arrays(*inputs))
    s = sig * np.sqrt(T)
    live = s >= _S_MIN
    s = np.where(live, s, 1.0)
    T = np.where(live, T, 1.0)
    sig = np.where(live, sig, 1.0)
    w = _sign(is_call)
    d1 = np.log(F / K) / s + 0.5 * s
    d2 = d1 - s
    pdf = np.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI
    n1 = ndtr(w * d1)
    n2 = ndtr(w * d2)
    value = D * np.maximum(w * (F * n1 - K * n2), np.maximum(w * (F - K), 0.0))
    vega_unit = D * F * pdf * np.sqrt(T)
    raw_theta = -vega_unit * sig / (2.0 * T) - np.log(D) / T * value
    prorated = raw_theta / _DAYS_PER_YEAR * np.minimum(1.0, _DAYS_PER_YEAR * T)
    out = {
        "value": value,
        "delta": D * w * n1,
        "gamma": D * pdf / (F * s),
        "vega": vega_unit / 100.0,
        "theta": np.maximum(prorated, -value),
        "rho": w * D * K * T * n2 / 100.0,
        "vanna": -D * pdf * d2 / (100.0 * sig),
        "volga": vega_unit * d1 * d2 / (1e4 * sig),
        "raw_theta": raw_theta,
    }
    if not live.all():
        dead = ~live
        out["value"][dead] = _intrinsic(F, K, w, D)[dead]
        out["delta"][dead] = np.where(w * (F - K) > 0.0, D * w, 0.0)[dead]
        for key in _ZERO_AT_INTRINSIC:
            out[key][dead] = 0.0
    return {key: values.reshape(shape) for key, values in out.items()}


def inverse_price(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    df: npt.ArrayLike = 1.0,
    *,
    allow_expired: bool = False,
) -> NDArray[np.float64]:
    """Value of an inverse (coin-settled) option in coin per coin of underlying.

    ``V_coin = price(...) / F``: the Black-76 USD value divided by the forward of the expiry
    (never by the index), as the venue marks it. Arguments are those of :func:`price`.

    Returns
    -------
    numpy.ndarray
        Coin value per one coin of underlying, float64, broadcast shape (0-d for scalars).
        A deep in-the-money put can be worth more than 1 coin.
    """
    inputs = _validated(forward, strike, tau, sigma, is_call, df, allow_expired)
    value = _price_kernel(inputs)
    value /= inputs.forward
    return value


def inverse_delta(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    df: npt.ArrayLike = 1.0,
    *,
    allow_expired: bool = False,
) -> NDArray[np.float64]:
    """Coin delta of an inverse option: the net transaction delta of the venue.

    ``delta - V_coin``, i.e. ``D * N(d1) - V_coin`` for calls and ``D * (N(d1) - 1) - V_coin``
    for puts, with ``V_coin`` from :func:`inverse_price`. It equals ``F * dV_coin/dF``, the
    sensitivity of the coin value to a relative move of the forward, and is the coin delta to
    use for coin-settled books (``specs/pricing-conventions.md`` section 4.3). Arguments are
    those of :func:`price`.

    Returns
    -------
    numpy.ndarray
        Coin per coin of underlying, float64, broadcast shape (0-d for scalars).
    """
    inputs = _validated(forward, strike, tau, sigma, is_call, df, allow_expired)
    g = _greeks(inputs)
    return g["delta"] - g["value"] / inputs.forward
