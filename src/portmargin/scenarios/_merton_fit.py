"""Default (deterministic) estimator of the correlated Merton model, ``var-margin.md`` 3.4.

Steps, per underlying ``i``:

1. daily log returns and EWMA forecasts ``sigma_t`` (section 3.3) over the whole file up to
   ``as_of``; the estimation sample is the returns ending in [``history_start``, ``as_of``];
2. jump days: ``|r_t / sigma_t| > k`` (``jump_threshold``, 4);
3. ``lambda = (#jump days) / (n / 365)``, ``mu_J = mean(r_t)`` over jump days,
   ``delta = sqrt(max(var(r_t) - mean(sigma_t^2), 0))`` over jump days (sample variance, n - 1);
4. ``sigma_i = sigma_now sqrt(365)``;
5. ``rho`` = sample correlation of ``z_t = r_t / sigma_t`` over the joint dates with no jump
   in any underlying;
6. common jumps: co-jump days = joint dates flagged for every underlying,
   ``lambda_c = count / (n_joint / 365)``, means, sample sds (n - 1) and correlation of their
   returns; idiosyncratic parameters from each underlying's remaining jump days.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from portmargin.core import MarketDataError, ValidationError
from portmargin.market import DateLike, PriceHistory, to_day
from portmargin.scenarios._historical import (
    _SIGMA_FLOOR,
    EWMA_LAMBDA,
    EWMA_SEED_RETURNS,
    _check_ewma,
    ewma_history,
)
from portmargin.scenarios._merton_model import CommonJumps, MertonMarginal, MertonParams

__all__ = [
    "JUMP_THRESHOLD",
    "CommonJumpFit",
    "MertonAssetFit",
    "MertonEstimate",
    "MertonFitOptions",
    "estimate_merton",
]

JUMP_THRESHOLD = 4.0
"""Default jump threshold ``k`` in EWMA sigmas (``mc.jump_threshold``, ``var-margin.md`` 2)."""

_DAYS_PER_YEAR = 365.0


def _readonly_days(a: NDArray[np.datetime64]) -> NDArray[np.datetime64]:
    a = np.array(a, dtype="datetime64[D]")
    a.flags.writeable = False
    return a


@dataclass(frozen=True, slots=True, kw_only=True)
class MertonFitOptions:
    """Settings of :func:`estimate_merton`.

    Attributes
    ----------
    jump_threshold
        ``k`` > 0: a day is a jump day when ``|r_t / sigma_t| > k`` (EWMA sigmas).
    ewma_lambda
        EWMA decay in (0, 1) (0.94).
    ewma_seed_returns
        Number of first returns of the file seeding the EWMA (30).
    """

    jump_threshold: float = JUMP_THRESHOLD
    ewma_lambda: float = EWMA_LAMBDA
    ewma_seed_returns: int = EWMA_SEED_RETURNS

    def __post_init__(self) -> None:
        k = self.jump_threshold
        if (
            isinstance(k, bool)
            or not isinstance(k, int | float)
            or not (math.isfinite(k) and k > 0)
        ):
            raise ValidationError("jump_threshold", k, "a finite number of EWMA sigmas > 0")
        object.__setattr__(self, "jump_threshold", float(k))
        object.__setattr__(
            self, "ewma_lambda", _check_ewma(self.ewma_lambda, self.ewma_seed_returns)[0]
        )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MertonAssetFit:
    """Estimated parameters of one underlying (one row of the estimation table).

    Attributes
    ----------
    underlying
        Name.
    n
        Returns in the estimation sample (the ``n`` of ``lambda = count / (n / 365)``).
    jump_dates
        ``datetime64[D]``, increasing: end dates of the returns counted as jumps.
    jump_intensity
        ``lambda``, jumps per year.
    jump_mean
        ``mu_J``: mean log return over the jump days (0 without jump days).
    jump_vol
        ``delta``: ``sqrt(max(var - mean sigma_t^2, 0))`` over the jump days (0 with fewer
        than two jump days).
    sigma_now
        EWMA volatility forecast made at the last close up to ``as_of``, decimal per day.
    """

    underlying: str
    n: int
    jump_dates: NDArray[np.datetime64]
    jump_intensity: float
    jump_mean: float
    jump_vol: float
    sigma_now: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "jump_dates", _readonly_days(self.jump_dates))

    @property
    def jump_days(self) -> int:
        """Number of jump days."""
        return int(self.jump_dates.shape[0])

    @property
    def sigma(self) -> float:
        """Diffusive volatility for simulation, ``sigma_now * sqrt(365)`` (annualised)."""
        return self.sigma_now * math.sqrt(_DAYS_PER_YEAR)

    @property
    def marginal(self) -> MertonMarginal:
        """These parameters as a :class:`MertonMarginal`."""
        return MertonMarginal(
            sigma=self.sigma,
            jump_intensity=self.jump_intensity,
            jump_mean=self.jump_mean,
            jump_vol=self.jump_vol,
        )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CommonJumpFit:
    """Common jumps estimated from co-jump days (``var-margin.md`` section 3.4, step 6).

    Attributes
    ----------
    dates
        ``datetime64[D]``: the co-jump days (flagged for every underlying).
    n
        Joint returns (dates on which every underlying has a sample return).
    jumps
        ``lambda_c = count / (n / 365)``; means, sample sds (n - 1) and correlation of the
        co-jump day returns.
    idiosyncratic
        Per underlying, the parameters from its jump days that are not co-jump days.
    """

    dates: NDArray[np.datetime64]
    n: int
    jumps: CommonJumps
    idiosyncratic: tuple[MertonAssetFit, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "dates", _readonly_days(self.dates))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MertonEstimate:
    """Result of :func:`estimate_merton`.

    Attributes
    ----------
    underlyings
        Names, in column order.
    assets
        One :class:`MertonAssetFit` per underlying (all jumps, common or not).
    correlation
        Shape ``(k, k)``: sample correlation of the standardised returns over the joint
        no-jump dates.
    correlation_n
        Number of those dates.
    common
        Common jumps, or ``None`` for one underlying or fewer than two co-jump days.
    as_of
        Last return end date used.
    history_start
        Per underlying, first return end date used (underlyings without one absent).
    options
        Settings used.
    warnings
        Conditions the estimate carries (no jump day, too few co-jump days, ...).
    """

    underlyings: tuple[str, ...]
    assets: tuple[MertonAssetFit, ...]
    correlation: NDArray[np.float64]
    correlation_n: int
    common: CommonJumpFit | None
    as_of: np.datetime64
    history_start: Mapping[str, np.datetime64]
    options: MertonFitOptions
    warnings: tuple[str, ...]

    def __post_init__(self) -> None:
        c = np.array(self.correlation, dtype=np.float64)
        c.flags.writeable = False
        object.__setattr__(self, "correlation", c)
        object.__setattr__(self, "history_start", MappingProxyType(dict(self.history_start)))

    def asset(self, underlying: str) -> MertonAssetFit:
        """The row of ``underlying``; :class:`ValidationError` if it was not estimated."""
        try:
            return self.assets[self.underlyings.index(underlying)]
        except ValueError:
            raise ValidationError(
                "underlying", underlying, f"one of {list(self.underlyings)}"
            ) from None

    def params(self, *, common_jumps: bool = False) -> MertonParams:
        """The model for :func:`~portmargin.scenarios.mc_scenarios`.

        Parameters
        ----------
        common_jumps
            ``False``: each underlying jumps independently with all its jump days
            (the table). ``True``: idiosyncratic jumps (``lambda_i - lambda_c``, sizes from
            the remaining jump days) plus :attr:`CommonJumpFit.jumps`.

        Raises
        ------
        MarketDataError
            ``common_jumps`` asked for but not estimated (see :attr:`warnings`).
        """
        if not common_jumps:
            return MertonParams(
                underlyings=self.underlyings,
                marginals=tuple(a.marginal for a in self.assets),
                correlation=self.correlation,
            )
        if self.common is None:
            raise MarketDataError(
                "common jumps were not estimated: " + "; ".join(self.warnings or ("one asset",))
            )
        return MertonParams(
            underlyings=self.underlyings,
            marginals=tuple(a.marginal for a in self.common.idiosyncratic),
            correlation=self.correlation,
            common=self.common.jumps,
        )

    def report(self) -> tuple[str, ...]:
        """The estimation table, correlation, co-jump summary and warnings, one line each."""
        starts = ", ".join(f"{u} from {d}" for u, d in self.history_start.items())
        lines = [
            f"Merton estimation up to {self.as_of}"
            + (f" ({starts})" if starts else "")
            + f": jump threshold {self.options.jump_threshold:g} EWMA sigmas, "
            f"EWMA lambda {self.options.ewma_lambda:g}",
            f"{'underlying':<10} {'n':>6} {'jump days':>9} {'lambda/yr':>9} "
            f"{'mu_J':>8} {'delta':>7} {'sigma':>7}",
        ]
        lines += [
            f"{a.underlying:<10} {a.n:>6,} {a.jump_days:>9} {a.jump_intensity:>9.3f} "
            f"{a.jump_mean:>8.4f} {a.jump_vol:>7.4f} {a.sigma:>7.4f}"
            for a in self.assets
        ]
        k = len(self.underlyings)
        pairs = [
            f"{self.underlyings[i]}/{self.underlyings[j]} {self.correlation[i, j]:.4f}"
            for i in range(k)
            for j in range(i + 1, k)
        ]
        if pairs:
            lines.append(
                f"rho (standardised, no-jump days, n = {self.correlation_n:,}): " + ", ".join(pairs)
            )
        if self.common is not None:
            c = self.common
            sizes = "; ".join(
                f"{u} mean {c.jumps.mean[i]:.4f} sd {c.jumps.vol[i]:.4f}"
                for i, u in enumerate(self.underlyings)
            )
            lines.append(
                f"co-jump days: {c.dates.size} ({', '.join(str(d) for d in c.dates)}) -> "
                f"lambda_c {c.jumps.intensity:.3f}/yr; {sizes}; rho_J "
                + ", ".join(
                    f"{c.jumps.correlation[i, j]:.3f}" for i in range(k) for j in range(i + 1, k)
                )
            )
        lines += [f"warning: {w}" for w in self.warnings]
        return tuple(lines)


def _jump_sizes(r: NDArray[np.float64], var_t: NDArray[np.float64]) -> tuple[float, float]:
    """``(mu_J, delta)`` of the jump-day returns ``r`` with forecasts ``var_t`` (variances)."""
    if r.size == 0:
        return 0.0, 0.0
    mu = float(np.mean(r))
    if r.size < 2:
        return mu, 0.0
    return mu, math.sqrt(max(float(np.var(r, ddof=1)) - float(np.mean(var_t)), 0.0))


def _asset_fit(
    underlying: str,
    n: int,
    dates: NDArray[np.datetime64],
    r: NDArray[np.float64],
    var_t: NDArray[np.float64],
    sigma_now: float,
) -> tuple[MertonAssetFit, list[str]]:
    """Row of the table from the jump-day ``dates``, returns and forecasts of one asset."""
    mu, delta = _jump_sizes(r, var_t)
    warnings = []
    if r.size == 0:
        warnings.append(f"{underlying}: no jump day in {n} returns; lambda = 0, jumps skipped")
    elif r.size == 1:
        warnings.append(f"{underlying}: one jump day; delta = 0 (no sample variance)")
    fit = MertonAssetFit(
        underlying=underlying,
        n=n,
        jump_dates=dates,
        jump_intensity=r.size / (n / _DAYS_PER_YEAR),
        jump_mean=mu,
        jump_vol=delta,
        sigma_now=sigma_now,
    )
    return fit, warnings


def estimate_merton(
    history: PriceHistory,
    *,
    underlyings: Sequence[str] | None = None,
    as_of: DateLike | None = None,
    history_start: Mapping[str, DateLike] | None = None,
    options: MertonFitOptions | None = None,
) -> MertonEstimate:
    """Estimate the correlated Merton model from daily closes (``var-margin.md`` 3.4, 1-6).

    Parameters
    ----------
    history
        Daily closes (USD) of the underlyings.
    underlyings
        Underlyings to estimate, in column order; all by default.
    as_of
        Last return end date used (inclusive); the last date of ``history`` by default.
    history_start
        Per underlying, first return end date of the estimation sample (inclusive); the
        EWMA still runs from the first return of the file.
    options
        Threshold and EWMA settings; :class:`MertonFitOptions` defaults if ``None``.

    Returns
    -------
    MertonEstimate
        Table, correlation, co-jump fit and warnings.

    Raises
    ------
    ValidationError
        Unknown underlying, bad dates or options.
    MarketDataError
        Too few returns for the EWMA seed, an empty estimation sample, or fewer than three
        joint no-jump dates for the correlation.
    """
    opts = MertonFitOptions() if options is None else options
    if not isinstance(opts, MertonFitOptions):
        raise ValidationError("options", options, "MertonFitOptions or None")
    if isinstance(underlyings, str):
        raise ValidationError("underlyings", underlyings, "a sequence of names, e.g. ['BTC']")
    names = history.underlyings if underlyings is None else tuple(underlyings)
    if not names or len(set(names)) != len(names):
        raise ValidationError("underlyings", underlyings, "one or more unique names")
    for u in names:
        history.column(u)
    cut = history.dates[-1] if as_of is None else to_day("as_of", as_of)
    starts = {u: to_day(f"history_start[{u}]", d) for u, d in (history_start or {}).items()}
    for u in starts:
        if u not in names:
            raise ValidationError(f"history_start[{u}]", starts[u], f"a date for one of {names}")

    all_r = history.log_returns()
    k = len(names)
    n_days = history.dates.size
    # (n_days, k) tables on the history's date axis: sample membership, z, r, sigma_t^2, flags
    in_sample = np.zeros((n_days, k), dtype=bool)
    z = np.zeros((n_days, k))
    r_tab = np.zeros((n_days, k))
    var_tab = np.zeros((n_days, k))
    assets: list[MertonAssetFit] = []
    warnings: list[str] = []
    sigma_now = np.empty(k)
    for j, u in enumerate(names):
        dates, r, var = ewma_history(
            all_r, history, u, cut, (opts.ewma_lambda, opts.ewma_seed_returns)
        )
        rows = np.searchsorted(history.dates, dates)
        keep = dates >= starts[u] if u in starts else np.ones(dates.size, dtype=bool)
        if not keep.any():
            raise MarketDataError(f"{u}: no daily return between history_start and as_of {cut}")
        rows = rows[keep]
        in_sample[rows, j] = True
        r_tab[rows, j] = r[keep]
        var_tab[rows, j] = var[:-1][keep]
        z[rows, j] = r[keep] / np.maximum(np.sqrt(var[:-1][keep]), _SIGMA_FLOOR)
        sigma_now[j] = max(math.sqrt(float(var[-1])), _SIGMA_FLOOR)
    flagged = in_sample & (np.abs(z) > opts.jump_threshold)
    for j, u in enumerate(names):
        m = flagged[:, j]
        fit, w = _asset_fit(
            u,
            int(in_sample[:, j].sum()),
            history.dates[m],
            r_tab[m, j],
            var_tab[m, j],
            sigma_now[j],
        )
        assets.append(fit)
        warnings += w

    joint = in_sample.all(axis=1)
    calm = joint & ~flagged.any(axis=1)
    n_calm = int(calm.sum())
    if n_calm < 3:
        raise MarketDataError(
            f"{n_calm} joint dates without a jump up to {cut}; the correlation needs 3"
        )
    corr = np.atleast_2d(np.corrcoef(z[calm], rowvar=False)) if k > 1 else np.ones((1, 1))
    if not np.isfinite(corr).all():
        raise MarketDataError("standardised returns are constant on the joint no-jump dates")

    common = None
    if k > 1:
        common, w = _common_fit(
            names, history.dates, in_sample, flagged, (r_tab, var_tab), sigma_now
        )
        warnings += w
    return MertonEstimate(
        underlyings=names,
        assets=tuple(assets),
        correlation=corr,
        correlation_n=n_calm,
        common=common,
        as_of=cut,
        history_start=starts,
        options=opts,
        warnings=tuple(warnings),
    )


def _common_fit(
    names: tuple[str, ...],
    dates: NDArray[np.datetime64],
    in_sample: NDArray[np.bool_],
    flagged: NDArray[np.bool_],
    tables: tuple[NDArray[np.float64], NDArray[np.float64]],
    sigma_now: NDArray[np.float64],
) -> tuple[CommonJumpFit | None, list[str]]:
    """Step 6: common jumps from the co-jump days, idiosyncratic jumps from the rest."""
    r_tab, var_tab = tables
    joint = in_sample.all(axis=1)
    co = joint & flagged.all(axis=1)
    n_co = int(co.sum())
    if n_co < 2:
        return None, [f"{n_co} co-jump day(s); common jumps need 2 and were not estimated"]
    r_co = r_tab[co]
    sd = np.std(r_co, axis=0, ddof=1)
    if not (sd > 0).all():
        return None, ["co-jump day returns do not vary; common jumps were not estimated"]
    n_joint = int(joint.sum())
    jumps = CommonJumps(
        intensity=n_co / (n_joint / _DAYS_PER_YEAR),
        mean=np.mean(r_co, axis=0),
        vol=sd,
        correlation=np.atleast_2d(np.corrcoef(r_co, rowvar=False)),
    )
    idio: list[MertonAssetFit] = []
    warnings: list[str] = []
    for j, u in enumerate(names):
        m = flagged[:, j] & ~co
        n = int(in_sample[:, j].sum())
        fit, w = _asset_fit(u, n, dates[m], r_tab[m, j], var_tab[m, j], float(sigma_now[j]))
        idio.append(fit)
        warnings += [f"idiosyncratic {x}" for x in w]
    return CommonJumpFit(
        dates=dates[co], n=n_joint, jumps=jumps, idiosyncratic=tuple(idio)
    ), warnings
