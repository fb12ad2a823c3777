"""Monte Carlo return scenarios from the correlated Merton jump diffusion (``var-margin.md`` 3.4).

Each path draws, for every underlying ``i`` over ``tau = h / 365`` years,

``X_i = (-sigma_i^2 / 2 - lambda_i kappa_i - lambda_c kappa_c,i) tau + sigma_i sqrt(tau) (L Z)_i
+ N_i mu_J,i + sqrt(N_i) delta_i eps_i + N_c mu_c,i + sqrt(N_c) delta_c,i (L_J eps_c)_i``

with ``Z, eps, eps_c ~ N(0, I)``, ``L`` / ``L_J`` the lower Cholesky factors of ``rho`` /
``rho_J``, ``N_i ~ Poisson(lambda_i tau)`` and ``N_c ~ Poisson(lambda_c tau)`` (the sum of
``N`` normal log jumps is drawn exactly). The compensators make ``E[exp(X_i)] = 1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.scenarios._merton_model import MertonParams
from portmargin.scenarios._model import ScenarioSet, VolShockLaw

__all__ = ["MC_PATHS", "MC_SEED", "MonteCarloScenarios", "mc_scenarios"]

MC_PATHS = 100_000
"""Default number of paths (``var-margin.md`` section 2, ``mc.paths``)."""

MC_SEED = 20211124
"""Default seed of ``numpy.random.Generator(PCG64(seed))`` (section 2, ``mc.seed``)."""

_DAYS_PER_YEAR = 365.0


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MonteCarloScenarios:
    """Joint h-day log-return scenarios drawn from a :class:`MertonParams` model.

    Attributes
    ----------
    underlyings
        Column names, e.g. ``("BTC", "ETH")``.
    log_returns
        Shape ``(paths, n_underlyings)``, float64: h-day log return ``X`` per underlying
        (dimensionless); every price of the underlying moves to ``P * exp(X)``.
    weights
        Shape ``(paths,)``: equal probabilities ``1 / paths``.
    horizon_days
        ``h``, days (``tau = h / 365``).
    params
        The model the paths were drawn from.
    antithetic
        Whether path ``paths / 2 + j`` is the antithetic twin of path ``j`` (all normal draws
        negated, same jump counts).
    rng_state
        State of the generator's bit generator before the draw
        (``rng.bit_generator.state``); restoring it reproduces the paths bit for bit.
    method
        ``"mc"``.
    """

    underlyings: tuple[str, ...]
    log_returns: NDArray[np.float64]
    weights: NDArray[np.float64]
    horizon_days: int
    params: MertonParams
    antithetic: bool
    rng_state: Mapping[str, Any]
    method: str = "mc"

    def __post_init__(self) -> None:
        m = self.log_returns.shape[0]
        k = len(self.underlyings)
        if self.log_returns.shape != (m, k) or m == 0:
            raise ValidationError(
                "MonteCarloScenarios.log_returns",
                f"shape {self.log_returns.shape}",
                f"shape (paths >= 1, n_underlyings = {k})",
            )
        if self.weights.shape != (m,):
            raise ValidationError(
                "MonteCarloScenarios.weights", f"shape {self.weights.shape}", f"shape {(m,)}"
            )
        if self.params.underlyings != self.underlyings:
            raise ValidationError(
                "MonteCarloScenarios.params", self.params.underlyings, f"{self.underlyings}"
            )
        if self.method != "mc":
            raise ValidationError("MonteCarloScenarios.method", self.method, "'mc'")
        for name in ("log_returns", "weights"):
            object.__setattr__(self, name, _readonly(np.array(getattr(self, name))))
        object.__setattr__(self, "rng_state", MappingProxyType(dict(self.rng_state)))

    @property
    def n_scenarios(self) -> int:
        """Number of paths."""
        return int(self.log_returns.shape[0])

    @property
    def shocks(self) -> NDArray[np.float64]:
        """Arithmetic moves ``exp(X) - 1``, shape ``(paths, n_underlyings)``."""
        return np.expm1(self.log_returns)

    @property
    def labels(self) -> tuple[str, ...]:
        """Scenario labels ``"path 1"``, ``"path 2"``, ... (one per path, in order)."""
        return tuple(f"path {j}" for j in range(1, self.n_scenarios + 1))

    def to_scenario_set(
        self,
        *,
        name: str,
        vol: Mapping[str, NDArray[np.float64]] | None = None,
        vol_law: VolShockLaw | None = None,
    ) -> ScenarioSet:
        """The paths as a keyed :class:`~portmargin.scenarios.ScenarioSet`.

        Spot moves ``exp(X) - 1`` per underlying, labels :attr:`labels`, the market aged by
        ``horizon_days``; scenario weights stay 1 (a path's loss is not scaled: ``weights``
        are the probabilities used by the risk measure).

        Parameters
        ----------
        name
            Name of the set, e.g. ``"var mc 1d"``.
        vol
            Optional underlying -> vol shock per path, shape ``(paths,)``, read by ``vol_law``.
        vol_law
            How vol shocks apply (default: a flat law with no floor).
        """
        return ScenarioSet.from_shocks(
            name=name,
            labels=self.labels,
            spot={u: self.shocks[:, j] for j, u in enumerate(self.underlyings)},
            vol=vol,
            time_shift_days=float(self.horizon_days),
            vol_law=VolShockLaw() if vol_law is None else vol_law,
        )


def _check_count(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValidationError(name, value, f"an integer >= {minimum}")
    return int(value)


def mc_scenarios(
    params: MertonParams,
    *,
    horizon_days: int = 1,
    paths: int = MC_PATHS,
    rng: np.random.Generator,
    antithetic: bool = False,
) -> MonteCarloScenarios:
    """Draw joint h-day log returns from the correlated Merton model (vectorised).

    Parameters
    ----------
    params
        The model; common jumps are simulated when ``params.common`` is set (then each
        marginal's jumps are its idiosyncratic ones). The Cholesky factor of the repaired
        correlation is used when ``params.correlation`` is not positive definite (reported by
        ``params.report()``).
    horizon_days
        ``h`` >= 1, days; ``tau = h / 365`` years.
    paths
        Number of scenarios >= 1 (even when ``antithetic``).
    rng
        ``numpy.random.Generator``, e.g. ``Generator(PCG64(MC_SEED))``: the only source of
        randomness. Draw order: ``Z``, ``N``, ``eps``, then ``N_c``, ``eps_c``.
    antithetic
        Draw ``paths / 2`` paths and append their twins with every normal draw negated
        (``Z -> -Z``, ``eps -> -eps``, ``eps_c -> -eps_c``) and the same jump counts.

    Returns
    -------
    MonteCarloScenarios
        ``paths`` equally weighted scenarios, ``method = "mc"``.

    Raises
    ------
    ValidationError
        ``params`` not :class:`MertonParams`, ``horizon_days`` or ``paths`` not an integer
        >= 1, odd ``paths`` with ``antithetic``, ``rng`` not a ``numpy.random.Generator``.
    """
    if not isinstance(params, MertonParams):
        raise ValidationError("params", params, "MertonParams")
    h = _check_count("horizon_days", horizon_days)
    n = _check_count("paths", paths)
    if not isinstance(rng, np.random.Generator):
        raise ValidationError("rng", rng, "a numpy.random.Generator, e.g. Generator(PCG64(seed))")
    if not isinstance(antithetic, bool):
        raise ValidationError("antithetic", antithetic, "True or False")
    if antithetic and n % 2:
        raise ValidationError("paths", n, "an even number of paths with antithetic=True")
    state = rng.bit_generator.state
    tau = h / _DAYS_PER_YEAR
    k = len(params.underlyings)
    half = n // 2 if antithetic else n
    sign = np.concatenate([np.ones(half), -np.ones(half)])[:, None] if antithetic else 1.0

    def twin(a: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.concatenate([a, a]) if antithetic else a

    sigma = params.column("sigma")
    lam = params.column("jump_intensity")
    mu = params.column("jump_mean")
    delta = params.column("jump_vol")
    drift = -0.5 * sigma * sigma - lam * params.column("kappa")

    z = rng.standard_normal((half, k)) @ params.correlation_repair.cholesky.T
    counts = rng.poisson(lam * tau, size=(half, k)).astype(np.float64)
    eps = rng.standard_normal((half, k))
    x = sign * twin(sigma * np.sqrt(tau) * z + np.sqrt(counts) * delta * eps)
    x += twin(counts * mu)
    if params.common is not None:
        c = params.common
        drift = drift - c.intensity * c.kappa
        n_c = rng.poisson(c.intensity * tau, size=(half, 1)).astype(np.float64)
        eps_c = rng.standard_normal((half, k)) @ c.correlation_repair.cholesky.T
        x += sign * twin(np.sqrt(n_c) * c.vol * eps_c)
        x += twin(n_c * c.mean)
    x += drift * tau
    return MonteCarloScenarios(
        underlyings=params.underlyings,
        log_returns=x,
        weights=np.full(n, 1.0 / n),
        horizon_days=h,
        params=params,
        antithetic=antithetic,
        rng_state=state,
    )
