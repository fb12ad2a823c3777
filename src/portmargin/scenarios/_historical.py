"""Historical (HS) and filtered historical (FHS) return scenarios from daily joint returns.

Rules of ``var-margin.md`` section 3.2 (HS) and 3.3 (FHS):

- h-day scenarios add ``h`` consecutive daily log returns. A window needs its ``h`` returns on
  ``h`` consecutive calendar days inside the lookback window; a window that crosses a missing
  return is dropped.
- ``overlapping = True``: every window end ``t`` whose ``h`` returns exist (``n - h + 1``
  scenarios without gaps). ``overlapping = False``: window ends on the calendar grid
  ``t_end, t_end - h, t_end - 2h, ...`` with ``t_end`` the last joint return of the window
  (``floor(n / h)`` scenarios without gaps).
- ``sqrt_time_scaling = True``: ``sqrt(h) * r_t`` on the 1-day set (``overlapping`` then has no
  effect).
- FHS: EWMA variance per underlying run over every daily return of the file up to ``as_of``,
  seeded with the zero-mean variance of the first ``seed_returns`` returns; each return is
  devolatised by its own forecast ``sigma_t`` and revolatised by ``sigma_now``, the forecast
  made at the last close.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from portmargin.core import MarketDataError, ValidationError
from portmargin.market import PriceHistory, ReturnWindow
from portmargin.scenarios._model import ScenarioSet, VolShockLaw

__all__ = [
    "EWMA_LAMBDA",
    "EWMA_SEED_RETURNS",
    "HistoricalScenarios",
    "ewma_variance",
    "fhs_scenarios",
    "hs_scenarios",
]

EWMA_LAMBDA = 0.94
"""Default EWMA decay ``lambda`` (``var-margin.md`` section 2)."""

EWMA_SEED_RETURNS = 30
"""Default number of first returns whose mean square seeds the EWMA (section 3.3)."""

_SIGMA_FLOOR = 1e-8
"""Smallest ``sigma_t`` divided by when devolatising (``var-margin.md`` section 10)."""

_T = TypeVar("_T", bound=np.generic)


def _readonly(a: NDArray[_T]) -> NDArray[_T]:
    a = np.array(a)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class HistoricalScenarios:
    """Joint h-day return scenarios, one row per scenario.

    Attributes
    ----------
    underlyings
        Column names, e.g. ``("BTC", "ETH")``.
    end_dates
        Shape ``(m,)``, ``datetime64[D]``, increasing: last day of each scenario's window.
    log_returns
        Shape ``(m, n_underlyings)``, float64: h-day log return ``R`` per underlying
        (dimensionless); every price of the underlying moves to ``P * exp(R)``.
    weights
        Shape ``(m,)``, float64, >= 0, summing to 1 (equal weights ``1 / m``).
    horizon_days
        ``h``, days.
    method
        ``"hs"`` or ``"fhs"``.
    overlapping
        Whether windows overlap (no effect with ``sqrt_time_scaling``).
    sqrt_time_scaling
        Whether ``R = sqrt(h) * r`` on 1-day returns.
    sigma_now
        FHS only: shape ``(n_underlyings,)``, daily EWMA volatility forecast made at the last
        close (decimal per day); ``None`` for HS.
    """

    underlyings: tuple[str, ...]
    end_dates: NDArray[np.datetime64]
    log_returns: NDArray[np.float64]
    weights: NDArray[np.float64]
    horizon_days: int
    method: str
    overlapping: bool
    sqrt_time_scaling: bool
    sigma_now: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        m = self.end_dates.shape[0]
        k = len(self.underlyings)
        if m == 0:
            raise ValidationError("HistoricalScenarios.end_dates", "empty", "one or more scenarios")
        if self.log_returns.shape != (m, k):
            raise ValidationError(
                "HistoricalScenarios.log_returns",
                f"shape {self.log_returns.shape}",
                f"shape (n_scenarios, n_underlyings) = {(m, k)}",
            )
        if not np.isfinite(self.log_returns).all():
            raise ValidationError("HistoricalScenarios.log_returns", "non-finite", "finite")
        w = self.weights
        if w.shape != (m,) or not (np.isfinite(w).all() and (w >= 0).all()):
            raise ValidationError(
                "HistoricalScenarios.weights", f"shape {w.shape}", f"{m} finite weights >= 0"
            )
        if abs(float(w.sum()) - 1.0) > 1e-9:
            raise ValidationError("HistoricalScenarios.weights", float(w.sum()), "a sum of 1")
        _check_horizon(self.horizon_days)
        if self.method not in ("hs", "fhs"):
            raise ValidationError("HistoricalScenarios.method", self.method, "'hs' or 'fhs'")
        if (self.sigma_now is None) != (self.method == "hs"):
            raise ValidationError(
                "HistoricalScenarios.sigma_now", self.sigma_now, "given for fhs only"
            )
        if self.sigma_now is not None:
            if self.sigma_now.shape != (k,) or not (self.sigma_now > 0).all():
                raise ValidationError(
                    "HistoricalScenarios.sigma_now", self.sigma_now, f"{k} volatilities > 0"
                )
            object.__setattr__(self, "sigma_now", _readonly(self.sigma_now))
        for name in ("end_dates", "log_returns", "weights"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios ``m``."""
        return int(self.end_dates.shape[0])

    @property
    def shocks(self) -> NDArray[np.float64]:
        """Arithmetic moves ``exp(R) - 1``, shape ``(m, n_underlyings)`` (-0.1: down 10 %)."""
        return np.expm1(self.log_returns)

    def to_scenario_set(
        self,
        name: str,
        *,
        vol: Mapping[str, NDArray[np.float64]] | None = None,
        vol_law: VolShockLaw | None = None,
    ) -> ScenarioSet:
        """The scenarios as a keyed :class:`ScenarioSet` for revaluation.

        Each underlying's prices move by ``exp(R) - 1``; the market ages by ``horizon_days``;
        labels are the window end dates (``"2020-03-12"``); weights stay 1 (a scenario's loss
        is not scaled: ``weights`` are the probabilities used by the risk measure).

        Parameters
        ----------
        name
            Name of the set.
        vol
            Optional vol shock per underlying, shape ``(m,)``, read by ``vol_law`` (e.g.
            ``beta * R`` with an absolute law for a vol-beta model).
        vol_law
            How vol shocks apply (default: a flat law with no floor).
        """
        moves = self.shocks
        return ScenarioSet.from_shocks(
            name=name,
            labels=[str(d) for d in self.end_dates.tolist()],
            spot={u: moves[:, i] for i, u in enumerate(self.underlyings)},
            vol=vol,
            time_shift_days=float(self.horizon_days),
            vol_law=vol_law or VolShockLaw(),
        )


def _check_horizon(h: object) -> int:
    if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
        raise ValidationError("horizon_days", h, "an integer number of days >= 1")
    return int(h)


def _aggregate(
    dates: NDArray[np.datetime64],
    returns: NDArray[np.float64],
    h: int,
    overlapping: bool,
    sqrt_time_scaling: bool,
) -> tuple[NDArray[np.datetime64], NDArray[np.float64]]:
    """Window end dates and h-day log returns from daily ``returns`` ending on ``dates``."""
    n = dates.shape[0]
    if sqrt_time_scaling:
        return dates, np.sqrt(h) * returns
    if n < h:
        raise MarketDataError(f"{n} daily returns in the window; a {h}-day scenario needs {h}")
    span = (dates[h - 1 :] - dates[: n - h + 1]).astype(np.int64)
    ends = np.flatnonzero(span == h - 1) + (h - 1)
    if not overlapping:
        ends = ends[((dates[-1] - dates[ends]).astype(np.int64) % h) == 0]
    if ends.size == 0:
        raise MarketDataError(
            f"no {h} consecutive daily returns in the window "
            f"({'overlapping' if overlapping else 'non-overlapping'} windows)"
        )
    csum = np.vstack([np.zeros((1, returns.shape[1])), np.cumsum(returns, axis=0)])
    return dates[ends], csum[ends + 1] - csum[ends + 1 - h]


def _check_flags(overlapping: object, sqrt_time_scaling: object) -> None:
    if not isinstance(overlapping, bool):
        raise ValidationError("overlapping", overlapping, "True or False")
    if not isinstance(sqrt_time_scaling, bool):
        raise ValidationError("sqrt_time_scaling", sqrt_time_scaling, "True or False")


def hs_scenarios(
    window: ReturnWindow,
    *,
    horizon_days: int = 1,
    overlapping: bool = True,
    sqrt_time_scaling: bool = False,
) -> HistoricalScenarios:
    """Historical-simulation scenarios (``var-margin.md`` section 3.2) from a joint window.

    Parameters
    ----------
    window
        Joint daily log returns (the lookback window), e.g. from
        :meth:`~portmargin.market.PriceHistory.joint_returns`.
    horizon_days
        ``h`` >= 1, days.
    overlapping
        Overlapping windows (every end ``t``) or non-overlapping (ends ``t_end - k h``).
    sqrt_time_scaling
        Use ``sqrt(h) * r_t`` on the 1-day set instead of adding daily returns.

    Returns
    -------
    HistoricalScenarios
        Equally weighted, ``method = "hs"``.

    Raises
    ------
    ValidationError
        ``horizon_days`` not an integer >= 1, flags not booleans.
    MarketDataError
        No window of ``h`` consecutive daily returns.
    """
    h = _check_horizon(horizon_days)
    _check_flags(overlapping, sqrt_time_scaling)
    return _equal_weight(window, window.returns, h, (overlapping, sqrt_time_scaling), "hs")


def _check_ewma(ewma_lambda: object, seed_returns: object) -> tuple[float, int]:
    if (
        isinstance(ewma_lambda, bool)
        or not isinstance(ewma_lambda, int | float | np.floating)
        or not 0.0 < float(ewma_lambda) < 1.0
    ):
        raise ValidationError("ewma_lambda", ewma_lambda, "a number in the open interval (0, 1)")
    if isinstance(seed_returns, bool) or not isinstance(seed_returns, int) or seed_returns < 1:
        raise ValidationError("ewma_seed_returns", seed_returns, "an integer >= 1")
    return float(ewma_lambda), seed_returns


def ewma_variance(
    returns: NDArray[np.float64],
    *,
    ewma_lambda: float = EWMA_LAMBDA,
    seed_returns: int = EWMA_SEED_RETURNS,
) -> NDArray[np.float64]:
    """EWMA variance forecasts of one asset (``var-margin.md`` section 3.3).

    ``s_1 = mean(r_1^2, ..., r_seed^2)`` and ``s_{t+1} = lambda s_t + (1 - lambda) r_t^2``.

    Parameters
    ----------
    returns
        Shape ``(n,)``: the asset's consecutive daily log returns from the first of the file
        (days without a return already skipped), finite.
    ewma_lambda
        Decay in (0, 1).
    seed_returns
        Number of first returns averaged (zero mean) for the seed; ``n`` must be at least this.

    Returns
    -------
    numpy.ndarray
        Shape ``(n + 1,)``, daily variances: entry ``t`` is the forecast for ``returns[t]``
        made at the previous close; the last entry is the forecast after the last return
        (``sigma_now ** 2``).

    Raises
    ------
    ValidationError
        Bad ``ewma_lambda`` / ``seed_returns``, non-finite or non-1-d returns.
    MarketDataError
        Fewer returns than ``seed_returns``.
    """
    lam, seed = _check_ewma(ewma_lambda, seed_returns)
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1 or not np.isfinite(r).all():
        raise ValidationError("returns", f"shape {r.shape}", "a 1-d array of finite log returns")
    if r.size < seed:
        raise MarketDataError(f"{r.size} daily returns; the EWMA seed needs {seed}")
    r2 = r * r
    s1 = float(np.mean(r2[:seed]))
    rest, _ = lfilter([1.0 - lam], [1.0, -lam], r2, zi=[lam * s1])
    return np.concatenate([[s1], np.asarray(rest, dtype=np.float64)])


def ewma_history(
    all_returns: NDArray[np.float64],
    history: PriceHistory,
    underlying: str,
    as_of: np.datetime64,
    ewma: tuple[float, int],
) -> tuple[NDArray[np.datetime64], NDArray[np.float64], NDArray[np.float64]]:
    """One underlying's daily returns up to ``as_of`` and their EWMA variance forecasts.

    ``all_returns`` is ``history.log_returns()``; ``ewma`` is the checked
    ``(ewma_lambda, seed_returns)``. Returns the return end dates ``(n,)``, the returns
    ``(n,)`` and :func:`ewma_variance` of them ``(n + 1,)``, the EWMA running from the first
    return of the file (``var-margin.md`` section 3.3).
    """
    col = all_returns[:, history.column(underlying)]
    valid = np.isfinite(col) & (history.dates <= as_of)
    own_r = col[valid]
    var = ewma_variance(own_r, ewma_lambda=ewma[0], seed_returns=ewma[1])
    return history.dates[valid], own_r, var


def fhs_scenarios(
    history: PriceHistory,
    window: ReturnWindow,
    *,
    horizon_days: int = 1,
    overlapping: bool = True,
    sqrt_time_scaling: bool = False,
    ewma_lambda: float = EWMA_LAMBDA,
    ewma_seed_returns: int = EWMA_SEED_RETURNS,
) -> HistoricalScenarios:
    """Filtered historical simulation scenarios (``var-margin.md`` section 3.3).

    For each underlying, the EWMA runs over every daily return of ``history`` up to
    ``window.as_of`` (``history_start`` does not cut it). Each window return becomes
    ``r_t * sigma_now / max(sigma_t, 1e-8)``; h-day scenarios then add the filtered returns as
    :func:`hs_scenarios` does (``sigma_now * sum z``).

    Parameters
    ----------
    history
        The daily closes ``window`` was built from.
    window
        Joint daily log returns (the scenario dates); proxied entries are not supported.
    horizon_days, overlapping, sqrt_time_scaling
        As :func:`hs_scenarios`.
    ewma_lambda, ewma_seed_returns
        As :func:`ewma_variance`.

    Returns
    -------
    HistoricalScenarios
        ``method = "fhs"`` with ``sigma_now`` per underlying (daily).

    Raises
    ------
    ValidationError
        Bad parameters; the window has proxied returns or returns that are not the history's.
    MarketDataError
        Too few returns for the EWMA seed or for one h-day window.
    """
    h = _check_horizon(horizon_days)
    _check_flags(overlapping, sqrt_time_scaling)
    lam, seed = _check_ewma(ewma_lambda, ewma_seed_returns)
    if window.proxied.any():
        raise ValidationError(
            "window.proxied", window.proxy_report(), "no proxied returns (not supported by FHS)"
        )
    all_r = history.log_returns()
    filtered = np.empty_like(window.returns)
    sigma_now = np.empty(len(window.underlyings))
    for j, u in enumerate(window.underlyings):
        own_dates, own_r, var = ewma_history(all_r, history, u, window.as_of, (lam, seed))
        pos = np.searchsorted(own_dates, window.dates)
        pos_ok = np.minimum(pos, own_dates.size - 1)
        matches = (pos < own_dates.size) & (own_dates[pos_ok] == window.dates)
        if not (matches.all() and np.array_equal(own_r[pos_ok], window.returns[:, j])):
            raise ValidationError(
                f"window.returns[{u}]", "not the history's", "a window built from `history`"
            )
        sigma_t = np.maximum(np.sqrt(var[pos]), _SIGMA_FLOOR)
        sigma_now[j] = max(float(np.sqrt(var[-1])), _SIGMA_FLOOR)
        filtered[:, j] = window.returns[:, j] / sigma_t * sigma_now[j]
    flags = (overlapping, sqrt_time_scaling)
    return _equal_weight(window, filtered, h, flags, "fhs", sigma_now)


def _equal_weight(
    window: ReturnWindow,
    returns: NDArray[np.float64],
    h: int,
    flags: tuple[bool, bool],
    method: str,
    sigma_now: NDArray[np.float64] | None = None,
) -> HistoricalScenarios:
    """The h-day scenarios of ``returns`` (daily, shape ``(a, n)``, on ``window.dates``), each
    weighted 1/m; ``flags`` are (overlapping, sqrt_time_scaling)."""
    overlapping, sqrt_time_scaling = flags
    ends, r = _aggregate(window.dates, returns, h, overlapping, sqrt_time_scaling)
    return HistoricalScenarios(
        underlyings=window.underlyings,
        end_dates=ends,
        log_returns=r,
        weights=np.full(ends.shape[0], 1.0 / ends.shape[0]),
        horizon_days=h,
        method=method,
        overlapping=overlapping,
        sqrt_time_scaling=sqrt_time_scaling,
        sigma_now=sigma_now,
    )
