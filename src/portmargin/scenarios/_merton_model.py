"""Parameters of the correlated Merton jump diffusion of ``var-margin.md`` section 3.4.

Per underlying ``i`` over ``tau`` years:

``X_i = (-sigma_i^2 / 2 - lambda_i kappa_i - lambda_c kappa_c,i) tau + sigma_i sqrt(tau) (L Z)_i
+ sum of N_i jumps ~ N(mu_J,i, delta_i^2) + sum of N_c common jump vectors``

with ``N_i ~ Poisson(lambda_i tau)``, ``N_c ~ Poisson(lambda_c tau)``, common jump vectors
jointly normal (means ``mu_c,i``, sds ``delta_c,i``, correlation ``rho_J``) and
``kappa = exp(mu + delta^2 / 2) - 1``, so that ``E[exp(X_i)] = 1``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from portmargin.core import ValidationError, require_finite, require_non_negative
from portmargin.scenarios._correlation import CorrelationRepair, repair_correlation

__all__ = ["CommonJumps", "MertonMarginal", "MertonParams"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MertonMarginal:
    """Merton parameters of one underlying (annual units).

    Attributes
    ----------
    sigma
        Diffusive volatility, decimal per sqrt(year), >= 0 (e.g. 0.5773).
    jump_intensity
        ``lambda``, jumps per year, >= 0. With :class:`CommonJumps` in the model these are
        the underlying's own (idiosyncratic) jumps only.
    jump_mean
        ``mu_J``, mean log jump (e.g. -0.01).
    jump_vol
        ``delta``, standard deviation of the log jump, >= 0.
    """

    sigma: float
    jump_intensity: float
    jump_mean: float = 0.0
    jump_vol: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", require_non_negative("sigma", self.sigma))
        object.__setattr__(
            self, "jump_intensity", require_non_negative("jump_intensity", self.jump_intensity)
        )
        object.__setattr__(self, "jump_mean", require_finite("jump_mean", self.jump_mean))
        object.__setattr__(self, "jump_vol", require_non_negative("jump_vol", self.jump_vol))

    @property
    def kappa(self) -> float:
        """Mean relative jump ``exp(mu_J + delta^2 / 2) - 1``."""
        return math.expm1(self.jump_mean + 0.5 * self.jump_vol * self.jump_vol)


def _vector(name: str, values: npt.ArrayLike, k: int, *, non_negative: bool) -> NDArray[np.float64]:
    try:
        a = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(name, values, f"{k} numbers") from None
    if a.shape != (k,) or not np.isfinite(a).all() or (non_negative and (a < 0).any()):
        expected = f"{k} finite numbers" + (" >= 0" if non_negative else "")
        raise ValidationError(name, values, expected)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CommonJumps:
    """Jumps that hit every underlying at once (``var-margin.md`` section 3.4).

    Attributes
    ----------
    intensity
        ``lambda_c``, common jump events per year, >= 0.
    mean
        Shape ``(k,)``: mean log jump ``mu_c,i`` of each underlying in a common event.
    vol
        Shape ``(k,)``, >= 0: standard deviation ``delta_c,i`` of that log jump.
    correlation
        Shape ``(k, k)``: correlation ``rho_J`` of the log jumps across underlyings within an
        event (repaired if not positive definite, see :attr:`correlation_repair`).
    correlation_repair
        Derived: the matrix used and whether it was repaired.
    """

    intensity: float
    mean: NDArray[np.float64]
    vol: NDArray[np.float64]
    correlation: NDArray[np.float64]
    correlation_repair: CorrelationRepair = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "intensity", require_non_negative("CommonJumps.intensity", self.intensity)
        )
        try:
            k = int(np.shape(self.mean)[0])
        except (IndexError, TypeError):
            raise ValidationError(
                "CommonJumps.mean", self.mean, "one mean per underlying"
            ) from None
        object.__setattr__(
            self, "mean", _vector("CommonJumps.mean", self.mean, k, non_negative=False)
        )
        object.__setattr__(self, "vol", _vector("CommonJumps.vol", self.vol, k, non_negative=True))
        repair = repair_correlation(self.correlation, name="CommonJumps.correlation")
        if repair.given.shape != (k, k):
            raise ValidationError(
                "CommonJumps.correlation", f"shape {repair.given.shape}", f"shape {(k, k)}"
            )
        object.__setattr__(self, "correlation", repair.given)
        object.__setattr__(self, "correlation_repair", repair)

    @property
    def kappa(self) -> NDArray[np.float64]:
        """Shape ``(k,)``: mean relative common jump ``exp(mu_c + delta_c^2 / 2) - 1``."""
        return np.expm1(self.mean + 0.5 * self.vol * self.vol)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MertonParams:
    """Joint Merton model of several underlyings, input of :func:`mc_scenarios`.

    Attributes
    ----------
    underlyings
        Names, unique, e.g. ``("BTC", "ETH")``.
    marginals
        One :class:`MertonMarginal` per underlying, same order.
    correlation
        Shape ``(k, k)``: correlation ``rho`` of the diffusive shocks (validated; repaired if
        not positive definite, see :attr:`correlation_repair`).
    common
        Optional common jumps; then each marginal's jumps are its idiosyncratic jumps only
        (the estimator's ``lambda_i - lambda_c``).
    correlation_repair
        Derived: the matrix used for simulation and whether it was repaired.
    """

    underlyings: tuple[str, ...]
    marginals: tuple[MertonMarginal, ...]
    correlation: NDArray[np.float64]
    common: CommonJumps | None = None
    correlation_repair: CorrelationRepair = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(self.underlyings)
        if not names or any(not isinstance(u, str) or not u for u in names):
            raise ValidationError(
                "MertonParams.underlyings", self.underlyings, "one or more non-empty names"
            )
        if len(set(names)) != len(names):
            raise ValidationError("MertonParams.underlyings", names, "unique names")
        marginals = tuple(self.marginals)
        if len(marginals) != len(names) or not all(
            isinstance(m, MertonMarginal) for m in marginals
        ):
            raise ValidationError(
                "MertonParams.marginals",
                self.marginals,
                f"{len(names)} MertonMarginal, one per underlying",
            )
        k = len(names)
        repair = repair_correlation(self.correlation, name="MertonParams.correlation")
        if repair.given.shape != (k, k):
            raise ValidationError(
                "MertonParams.correlation", f"shape {repair.given.shape}", f"shape {(k, k)}"
            )
        if self.common is not None:
            if not isinstance(self.common, CommonJumps):
                raise ValidationError("MertonParams.common", self.common, "CommonJumps or None")
            if self.common.mean.shape != (k,):
                raise ValidationError(
                    "MertonParams.common.mean", self.common.mean, f"{k} means, one per underlying"
                )
        object.__setattr__(self, "underlyings", names)
        object.__setattr__(self, "marginals", marginals)
        object.__setattr__(self, "correlation", repair.given)
        object.__setattr__(self, "correlation_repair", repair)

    @classmethod
    def independent(
        cls, underlyings: Sequence[str], marginals: Sequence[MertonMarginal]
    ) -> MertonParams:
        """Underlyings with uncorrelated diffusions and no common jumps (identity ``rho``)."""
        return cls(
            underlyings=tuple(underlyings),
            marginals=tuple(marginals),
            correlation=np.eye(len(tuple(underlyings))),
        )

    def marginal(self, underlying: str) -> MertonMarginal:
        """Parameters of ``underlying``; :class:`ValidationError` if it is not in the model."""
        try:
            return self.marginals[self.underlyings.index(underlying)]
        except ValueError:
            raise ValidationError(
                "underlying", underlying, f"one of {list(self.underlyings)}"
            ) from None

    def column(self, attribute: str) -> NDArray[np.float64]:
        """Shape ``(k,)``: one :class:`MertonMarginal` attribute (e.g. ``"sigma"``) per asset."""
        if attribute not in ("sigma", "jump_intensity", "jump_mean", "jump_vol", "kappa"):
            raise ValidationError("attribute", attribute, "a MertonMarginal attribute")
        return np.array([getattr(m, attribute) for m in self.marginals], dtype=np.float64)

    def report(self) -> tuple[str, ...]:
        """Correlation repairs made (diffusive and common-jump), one line each; empty if none."""
        lines = self.correlation_repair.report()
        if self.common is not None:
            lines += self.common.correlation_repair.report()
        return lines
