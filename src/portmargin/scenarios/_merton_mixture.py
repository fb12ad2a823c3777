"""Semi-analytic VaR and ES of one linear position under the Merton Poisson-normal mixture.

Over ``tau = h / 365`` years the log return of ``var-margin.md`` section 3.4 is, given
``N = n`` jumps, normal with mean ``m_n = (-sigma^2 / 2 - lambda kappa) tau + n mu_J`` and
variance ``s_n^2 = sigma^2 tau + n delta^2``; ``N ~ Poisson(lambda tau)``. The distribution is
the mixture of the first ``terms`` normals with Poisson weights (the validation table of the
specification uses 12 terms). Loss as a fraction of notional: long ``1 - exp(X)``, short
``exp(X) - 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, stats

from portmargin.core import ValidationError
from portmargin.scenarios._merton_model import MertonMarginal

__all__ = ["MixtureVarEs", "merton_mixture_var_es"]

_MIXTURE_TERMS = 12
_MAX_TAIL_MASS = 1e-10
_BRACKET_SDS = 40.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MixtureVarEs:
    """VaR and ES of a 1-unit linear position, as fractions of notional (loss > 0).

    Attributes
    ----------
    var
        ``VaR_alpha``: the loss exceeded with probability ``1 - alpha``.
    es
        ``ES_alpha``: the mean loss beyond ``VaR_alpha``.
    """

    var: float
    es: float


def merton_mixture_var_es(
    marginal: MertonMarginal,
    *,
    horizon_days: int,
    confidence: float,
    side: Literal["long", "short"],
    terms: int = _MIXTURE_TERMS,
) -> MixtureVarEs:
    """VaR and ES of a long or short linear position under the Merton mixture.

    The quantile ``x_q`` of ``X`` (``q = 1 - alpha`` long, ``alpha`` short) solves
    ``sum_n w_n Phi((x - m_n) / s_n) = q`` (Brent's method, to 1e-14 in ``x``). ES uses the
    partial expectations of the log-normal in closed form:
    long ``ES = 1 - sum_n w_n exp(m_n + s_n^2 / 2) Phi((x_q - m_n - s_n^2) / s_n) / (1 - alpha)``,
    short ``ES = sum_n w_n exp(m_n + s_n^2 / 2) Phi((m_n + s_n^2 - x_q) / s_n) / (1 - alpha) - 1``.

    Parameters
    ----------
    marginal
        Diffusive vol and jump parameters of the underlying (annual units).
    horizon_days
        ``h`` >= 1, days (``tau = h / 365``).
    confidence
        ``alpha`` in the open interval (0, 1), e.g. 0.99.
    side
        ``"long"`` (loss ``1 - exp(X)``) or ``"short"`` (loss ``exp(X) - 1``).
    terms
        Number of Poisson terms ``n = 0 .. terms - 1`` (12 by default); the Poisson mass left
        out must be below 1e-10.

    Returns
    -------
    MixtureVarEs
        VaR and ES as fractions of notional.

    Raises
    ------
    ValidationError
        Bad argument, or ``terms`` too few for ``lambda tau`` (mass left out >= 1e-10).
    """
    if not isinstance(marginal, MertonMarginal):
        raise ValidationError("marginal", marginal, "MertonMarginal")
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise ValidationError("horizon_days", horizon_days, "an integer number of days >= 1")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0.0 < confidence < 1.0
    ):
        raise ValidationError("confidence", confidence, "a number in the open interval (0, 1)")
    if side not in ("long", "short"):
        raise ValidationError("side", side, "'long' or 'short'")
    if isinstance(terms, bool) or not isinstance(terms, int) or terms < 1:
        raise ValidationError("terms", terms, "an integer >= 1")
    tau = horizon_days / 365.0
    n = np.arange(terms, dtype=np.float64)
    lam_tau = marginal.jump_intensity * tau
    w = stats.poisson.pmf(n, lam_tau)
    left_out = float(stats.poisson.sf(terms - 1, lam_tau))
    if left_out >= _MAX_TAIL_MASS:
        raise ValidationError(
            "terms", terms, f"more terms: Poisson mass {left_out:.3g} left out at lambda*tau"
        )
    sigma2 = marginal.sigma * marginal.sigma
    m = (-0.5 * sigma2 - marginal.jump_intensity * marginal.kappa) * tau + n * marginal.jump_mean
    s = np.sqrt(sigma2 * tau + n * marginal.jump_vol**2)
    if not (s > 0).all():
        raise ValidationError("marginal.sigma", marginal.sigma, "a diffusive vol > 0")
    alpha = float(confidence)
    q = 1.0 - alpha if side == "long" else alpha

    def excess(x: float) -> float:
        return float(np.sum(w * stats.norm.cdf((x - m) / s))) - q

    lo = float(np.min(m - _BRACKET_SDS * s))
    hi = float(np.max(m + _BRACKET_SDS * s))
    x_q = float(optimize.brentq(excess, lo, hi, xtol=1e-14, rtol=1e-14))
    scale = np.exp(m + 0.5 * s * s)
    if side == "long":
        below = float(np.sum(w * scale * stats.norm.cdf((x_q - m - s * s) / s)))
        return MixtureVarEs(var=-math.expm1(x_q), es=1.0 - below / (1.0 - alpha))
    above = float(np.sum(w * scale * stats.norm.cdf((m + s * s - x_q) / s)))
    return MixtureVarEs(var=math.expm1(x_q), es=above / (1.0 - alpha) - 1.0)
