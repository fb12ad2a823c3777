"""Merton (1976) jump diffusion on the expiry forward.

Model (``specs/pricing-conventions.md`` section 7): under the pricing measure the forward is a
martingale,

``F_T = F * exp(-lambda * k * T - sigma^2 * T / 2 + sigma * W_T) * prod(J_i)``,

with jumps arriving at rate ``lambda`` (jumps per year), log jump ratios
``ln J ~ N(mu_J, delta^2)`` and the compensator ``k = E[J - 1] = exp(mu_J + delta^2 / 2) - 1``.

Parameters, units and broadcasting follow :mod:`portmargin.pricing.black76`: ``forward`` USD
per coin (> 0), ``strike`` USD (> 0), ``tau`` ACT/365 year fraction, ``sigma`` diffusion vol
as a fraction (>= 0), ``is_call`` bool, ``df`` discount factor (> 0), plus
``jump_intensity`` ``lambda`` (per year, >= 0), ``jump_mean`` ``mu_J`` (mean log jump,
finite) and ``jump_vol`` ``delta`` (st. dev. of the log jump, >= 0). Prices are USD per coin;
divide by the forward for inverse (coin) values.

Two independent pricing methods are provided: the Poisson-weighted Black-76 series
(:func:`price`) and the Lewis (2001) Fourier integral of the characteristic function
(:func:`price_fourier`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray
from scipy.integrate import quad_vec

from portmargin.core import PricingError
from portmargin.pricing._validate import as_float, check_range, checked
from portmargin.pricing.black76 import _Inputs, _intrinsic, _price_kernel, _sign, _validated

__all__ = [
    "characteristic_function",
    "price",
    "price_fourier",
    "simulate_paths",
    "simulate_terminal_forward",
]

_MAX_TERMS = 1000  # highest series index n; a series not converged by then raises
_SERIES_RTOL = 1e-15  # a term below this fraction of the running sum is negligible

_Jumps = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]
"""Validated ``(jump_intensity, jump_mean, jump_vol)``."""


def _jump_params(
    jump_intensity: npt.ArrayLike, jump_mean: npt.ArrayLike, jump_vol: npt.ArrayLike
) -> _Jumps:
    return (
        checked("jump_intensity", jump_intensity),
        checked("jump_mean", jump_mean),
        checked("jump_vol", jump_vol),
    )


def _value(
    live_value: Callable[[_Inputs, _Jumps], NDArray[np.float64]],
    inputs: _Inputs,
    jumps: _Jumps,
) -> NDArray[np.float64]:
    """Merton value of validated inputs, USD per coin, shape of the broadcast of all inputs.

    ``live_value`` prices the options with ``tau > 0`` (flattened to 1-D); the others are
    worth their discounted intrinsic value.
    """
    arrays = np.broadcast_arrays(*inputs, *jumps)
    shape = arrays[0].shape
    F, K, T, sig, flags, D, lam, mu, delta = (a.ravel() for a in arrays)
    value = _intrinsic(F, K, _sign(flags), D)
    live = np.flatnonzero(T > 0.0)
    if live.size:
        value[live] = live_value(
            _Inputs(F[live], K[live], T[live], sig[live], flags[live], D[live]),
            (lam[live], mu[live], delta[live]),
        )
    return value.reshape(shape)


def price(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    jump_intensity: npt.ArrayLike,
    jump_mean: npt.ArrayLike,
    jump_vol: npt.ArrayLike,
    df: npt.ArrayLike = 1.0,
    *,
    allow_expired: bool = False,
) -> NDArray[np.float64]:
    """Merton jump-diffusion value of European options, USD per coin (series form).

    ``V = sum_n w_n * Black76(F_n, K, T, sigma_n, D)`` with Poisson weights
    ``w_n = exp(-lambda T) (lambda T)^n / n!`` (by recurrence, in logs so that large
    ``lambda T`` does not underflow), ``F_n = F * exp(-lambda k T + n (mu_J + delta^2 / 2))``
    and ``sigma_n = sqrt(sigma^2 + n delta^2 / T)``. Calls and puts are both summed directly,
    which keeps out-of-the-money puts accurate. The sum runs at least to ``n > lambda T`` and
    stops, per option, once two successive terms are below ``1e-15`` of the running sum.

    Parameters
    ----------
    forward, strike, tau, sigma, is_call, df, allow_expired
        As in :func:`portmargin.pricing.black76.price`; ``tau <= 0`` values at intrinsic.
    jump_intensity
        Jump rate ``lambda``, jumps per year, >= 0 (0 gives Black-76).
    jump_mean
        Mean log jump ``mu_J`` (e.g. -0.1 for an average drop of about 10 %).
    jump_vol
        Standard deviation ``delta`` of the log jump, >= 0.

    Returns
    -------
    numpy.ndarray
        USD per coin, float64, broadcast shape of all inputs (0-d for scalars).

    Raises
    ------
    PricingError
        On invalid inputs (naming the field), or naming ``jump_intensity`` when the series of
        an option has not converged by ``n = 1000`` (``lambda * T`` of several hundreds).
    """
    return _value(
        _series,
        _validated(forward, strike, tau, sigma, is_call, df, allow_expired),
        _jump_params(jump_intensity, jump_mean, jump_vol),
    )


def _series(inputs: _Inputs, jumps: _Jumps) -> NDArray[np.float64]:
    """Sum the Poisson-weighted Black-76 series on 1-D arrays with ``tau > 0``."""
    F, K, T, sig, flags, D = inputs
    lam, mu, delta = jumps
    lam_t = lam * T
    log_jump = mu + 0.5 * delta * delta  # ln(1 + k)
    drift = -lam_t * np.expm1(log_jump)  # -lambda k T
    var0 = sig * sig
    var_jump = delta * delta / T
    with np.errstate(divide="ignore"):
        log_lam_t = np.log(lam_t)
    log_w = -lam_t
    total = np.zeros(F.size)
    small_run = np.zeros(F.size, dtype=np.int64)
    act = np.arange(F.size)
    for n in range(_MAX_TERMS + 1):
        F_n = F[act] * np.exp(drift[act] + n * log_jump[act])
        sig_n = np.sqrt(var0[act] + n * var_jump[act])
        black = _price_kernel(_Inputs(F_n, K[act], T[act], sig_n, flags[act], D[act]))
        term = np.exp(log_w[act]) * black
        total[act] += term
        small_run[act] = np.where(term <= _SERIES_RTOL * total[act], small_run[act] + 1, 0)
        act = act[(n <= lam_t[act]) | (small_run[act] < 2)]
        if act.size == 0:
            return total
        log_w[act] += log_lam_t[act] - math.log(n + 1)
    raise PricingError(
        "jump_intensity",
        float(lam_t[act[0]] / T[act[0]]),
        f"a jump rate whose series converges within {_MAX_TERMS} terms "
        f"(jump_intensity*tau = {lam_t[act[0]]:.6g} is too large)",
    )


def characteristic_function(
    u: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    jump_intensity: npt.ArrayLike,
    jump_mean: npt.ArrayLike,
    jump_vol: npt.ArrayLike,
) -> NDArray[np.complex128]:
    """Characteristic function ``E[exp(i u ln(F_T / F))]`` of the log forward return.

    ``exp(T * (-i u (sigma^2 / 2 + lambda k) - sigma^2 u^2 / 2
    + lambda (exp(i u mu_J - delta^2 u^2 / 2) - 1)))``; it equals 1 at ``u = -i``
    (martingale). ``u`` may be complex; all arguments broadcast together and are not
    validated (this is a building block of :func:`price_fourier`).

    Returns
    -------
    numpy.ndarray
        complex128, broadcast shape of the arguments.
    """
    iu = 1j * np.asarray(u)
    lam = np.asarray(jump_intensity, dtype=np.float64)
    mu = np.asarray(jump_mean, dtype=np.float64)
    delta = np.asarray(jump_vol, dtype=np.float64)
    var = np.square(np.asarray(sigma, dtype=np.float64))
    k = np.expm1(mu + 0.5 * delta * delta)
    exponent = (
        -iu * (0.5 * var + lam * k)
        + 0.5 * var * iu * iu
        + lam * np.expm1(iu * mu + 0.5 * delta * delta * iu * iu)
    )
    result: NDArray[np.complex128] = np.exp(np.asarray(tau, dtype=np.float64) * exponent)
    return result


def price_fourier(
    forward: npt.ArrayLike,
    strike: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    is_call: npt.ArrayLike,
    jump_intensity: npt.ArrayLike,
    jump_mean: npt.ArrayLike,
    jump_vol: npt.ArrayLike,
    df: npt.ArrayLike = 1.0,
    *,
    allow_expired: bool = False,
) -> NDArray[np.float64]:
    """Merton value by the Lewis (2001) single Fourier integral, USD per coin.

    ``call = D * (F - sqrt(F K) / pi * I)``,
    ``I = int_0^inf Re(exp(i u ln(F / K)) * phi(u - i/2)) / (u^2 + 1/4) du`` with ``phi`` from
    :func:`characteristic_function`; puts by parity ``put = call - D * (F - K)``. The
    integral is computed for all options at once by adaptive vector quadrature
    (``scipy.integrate.quad_vec``, absolute tolerance 1e-13 on ``I``), so the absolute error
    of a call is of order ``1e-13 * sqrt(F K)``. An independent check of :func:`price`;
    slower and, for deep out-of-the-money puts, less accurate than the series.

    Arguments, broadcasting, return value and errors are those of :func:`price`.
    """
    return _value(
        _fourier,
        _validated(forward, strike, tau, sigma, is_call, df, allow_expired),
        _jump_params(jump_intensity, jump_mean, jump_vol),
    )


def _fourier(inputs: _Inputs, jumps: _Jumps) -> NDArray[np.float64]:
    """Lewis integral of :func:`price_fourier` on 1-D arrays with ``tau > 0``."""
    F, K, T, sig, flags, D = inputs
    log_moneyness = np.log(F / K)

    def integrand(x: float) -> Any:
        phi = characteristic_function(x - 0.5j, T, sig, *jumps)
        return (np.exp(1j * x * log_moneyness) * phi).real / (x * x + 0.25)

    integral, _ = quad_vec(integrand, 0.0, math.inf, epsabs=1e-13, epsrel=0.0, norm="max")
    call = D * (F - np.sqrt(F * K) / math.pi * integral)
    value: NDArray[np.float64] = np.where(flags, call, call - D * (F - K))
    return value


def _count(field: str, value: int) -> int:
    """Return ``value`` as int, or raise unless it is an integer >= 1."""
    try:
        count = operator.index(value)
    except TypeError:
        raise PricingError(field, value, "an integer >= 1") from None
    if isinstance(value, bool) or count < 1:
        raise PricingError(field, value, "an integer >= 1")
    return count


def _model(
    forward: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    jump_intensity: npt.ArrayLike,
    jump_mean: npt.ArrayLike,
    jump_vol: npt.ArrayLike,
) -> tuple[NDArray[np.float64], ...]:
    """Validated ``(F, T, sigma, lambda, mu_J, delta)`` for the simulators."""
    F = checked("forward", forward)
    T = as_float("tau", tau)
    check_range("tau", T, 0.0, strict=False, expected="a finite year fraction >= 0")
    sig = checked("sigma", sigma)
    return (F, T, sig, *_jump_params(jump_intensity, jump_mean, jump_vol))


def _log_increments(
    model: tuple[NDArray[np.float64], ...],
    dt: NDArray[np.float64],
    leading: tuple[int, ...],
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """I.i.d. log increments of the forward over ``dt``, shape ``leading + broadcast``.

    Each increment is ``-(lambda k + sigma^2 / 2) dt + sigma sqrt(dt) Z + mu_J N +
    delta sqrt(N) Z'`` with ``N ~ Poisson(lambda dt)``; the sum of ``N`` normal log jumps is
    drawn exactly as ``mu_J N + delta sqrt(N) Z'``.
    """
    _, _, sig, lam, mu, delta = model
    shape = leading + np.broadcast_shapes(*(a.shape for a in model))
    jumps = rng.poisson(np.broadcast_to(lam * dt, shape)).astype(np.float64)
    k = np.expm1(mu + 0.5 * delta * delta)
    increments: NDArray[np.float64] = (
        -(lam * k + 0.5 * sig * sig) * dt
        + sig * np.sqrt(dt) * rng.standard_normal(shape)
        + mu * jumps
        + delta * np.sqrt(jumps) * rng.standard_normal(shape)
    )
    return increments


def simulate_terminal_forward(
    forward: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    jump_intensity: npt.ArrayLike,
    jump_mean: npt.ArrayLike,
    jump_vol: npt.ArrayLike,
    n_paths: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Draw the forward at ``tau`` under the Merton model, exactly (no time stepping).

    Parameters
    ----------
    forward
        Forward today ``F``, USD per coin, > 0.
    tau
        Horizon, year fraction >= 0.
    sigma, jump_intensity, jump_mean, jump_vol
        Model parameters (see the module docstring).
    n_paths
        Number of draws, >= 1.
    rng
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        ``F_T``, USD per coin, shape ``(n_paths, *broadcast_shape)``. ``E[F_T] = F``.
    """
    model = _model(forward, tau, sigma, jump_intensity, jump_mean, jump_vol)
    increments = _log_increments(model, model[1], (_count("n_paths", n_paths),), rng)
    result: NDArray[np.float64] = model[0] * np.exp(increments)
    return result


def simulate_paths(
    forward: npt.ArrayLike,
    tau: npt.ArrayLike,
    sigma: npt.ArrayLike,
    jump_intensity: npt.ArrayLike,
    jump_mean: npt.ArrayLike,
    jump_vol: npt.ArrayLike,
    n_steps: int,
    n_paths: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Simulate forward paths on ``n_steps`` equal steps from 0 to ``tau``.

    Each step draws its increment exactly (diffusion plus a Poisson number of normal log
    jumps, compensated by ``lambda k``), so every path value ``F_t`` is a martingale:
    ``E[F_t] = F`` for every time on the grid.

    Parameters
    ----------
    forward, tau, sigma, jump_intensity, jump_mean, jump_vol
        As in :func:`simulate_terminal_forward`.
    n_steps
        Number of time steps, >= 1 (step ``tau / n_steps``).
    n_paths
        Number of paths, >= 1.
    rng
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        Forward paths, USD per coin, shape ``(n_paths, n_steps + 1, *broadcast_shape)``;
        column 0 is ``forward``.
    """
    model = _model(forward, tau, sigma, jump_intensity, jump_mean, jump_vol)
    steps = _count("n_steps", n_steps)
    increments = _log_increments(model, model[1] / steps, (_count("n_paths", n_paths), steps), rng)
    log_paths = np.zeros((increments.shape[0], steps + 1, *increments.shape[2:]))
    np.cumsum(increments, axis=1, out=log_paths[:, 1:])
    result: NDArray[np.float64] = model[0] * np.exp(log_paths)
    return result
