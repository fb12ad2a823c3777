"""Skew shock law: implied vols tilted by log-moneyness (Derive PMRM_2's skew scenarios)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError, require_finite, require_non_negative

__all__ = ["SkewShockLaw"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SkewShockLaw:
    """A vol shock that tilts the smile by log-moneyness instead of moving its level.

    ``sigma' = sigma·max(0, 1 + clip(k·cap/k*, -cap, cap))`` with ``k = ln(K/F)`` at the
    unshocked forward (``|k|`` when ``absolute``), ``cap = c_base·√T + base_cap`` and the width
    ``k* = max(min_k_star, √T·width_scale·(vol_param_static + √T·vol_param_scale))``; ``T`` in
    years. A linear law raises vols on one wing and lowers them on the other; an absolute law
    moves both wings the same way.

    Attributes
    ----------
    base_cap, c_base
        Cap of the multiplier's move at ``T = 0`` (>= 0) and its growth with ``√T`` (any sign).
    min_k_star, width_scale, vol_param_static, vol_param_scale
        Width of the tilt: floor (>= 0), scale (>= 0), static vol level (>= 0) and its slope
        in ``√T`` (any sign).
    absolute
        Tilt by ``|k|`` (True) or by ``k`` (False).
    """

    base_cap: float
    c_base: float
    min_k_star: float
    width_scale: float
    vol_param_static: float
    vol_param_scale: float
    absolute: bool = False

    def __post_init__(self) -> None:
        for name in ("base_cap", "min_k_star", "width_scale", "vol_param_static"):
            object.__setattr__(self, name, require_non_negative(name, getattr(self, name)))
        for name in ("c_base", "vol_param_scale"):
            object.__setattr__(self, name, require_finite(name, getattr(self, name)))
        if not isinstance(self.absolute, bool):
            raise ValidationError("absolute", self.absolute, "True or False")

    def shocked_vols(
        self,
        sigma: NDArray[np.float64],
        log_moneyness: NDArray[np.float64],
        tau: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """Tilted vols, shape ``(n,)``.

        Parameters
        ----------
        sigma
            Implied vols, fractions, shape ``(n,)``.
        log_moneyness
            ``ln(K/F)`` at the unshocked forward, shape ``(n,)``.
        tau
            Time to expiry, years, shape ``(n,)``.

        Raises
        ------
        ValidationError
            If ``k* = 0`` for a row (``min_k_star = 0`` and a zero width term, e.g. at
            expiry): the tilt is undefined.
        """
        q = np.sqrt(tau)
        cap = self.c_base * q + self.base_cap
        k_star = np.maximum(
            self.min_k_star,
            q * self.width_scale * (self.vol_param_static + q * self.vol_param_scale),
        )
        k = np.abs(log_moneyness) if self.absolute else log_moneyness
        if np.any(k_star <= 0.0):
            raise ValidationError("min_k_star", self.min_k_star, "> 0 where the skew width is 0")
        ratio = k * cap / k_star
        mult = 1.0 + np.where(k >= 0.0, np.minimum(cap, ratio), np.maximum(-cap, ratio))
        result: NDArray[np.float64] = sigma * np.maximum(mult, 0.0)
        return result
