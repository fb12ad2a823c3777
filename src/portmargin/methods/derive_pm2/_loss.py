"""PMRM_2 worst loss and loss factors, for one account or many (arrays)."""

from __future__ import annotations

import numpy as np

from portmargin.methods.derive_pm2._chain import IntArray
from portmargin.methods.derive_pm2._checks import FloatArray
from portmargin.methods.derive_pm2._params import DeriveParams

__all__ = ["loss_factors", "worst_loss"]


def loss_factors(stable_price: float, params: DeriveParams) -> tuple[float, float]:
    """``(f_IM, f_MM)``: multipliers of the worst loss.

    ``f_IM = im_factor + (peg_loss_threshold - s_st)·peg_loss_factor`` when the stable price
    ``s_st`` (USD) is below ``peg_loss_threshold``, else ``im_factor``; ``f_MM = mm_factor``.
    """
    f_im = params.im_factor
    if stable_price < params.peg_loss_threshold:
        f_im += (params.peg_loss_threshold - stable_price) * params.peg_loss_factor
    return f_im, params.mm_factor


def worst_loss(pnl: FloatArray, basis: FloatArray) -> tuple[FloatArray, IntArray]:
    """``min(BC, min_i pnl_i)`` and the scenario that set it.

    The basis contingency is the first candidate and is replaced only by a strictly smaller
    scenario P&L; among equal scenario P&Ls the first one wins.

    Parameters
    ----------
    pnl
        Scenario P&L, USD, shape ``(..., n_s)``.
    basis
        Basis contingency ``BC`` (<= 0), USD, shape ``(...)``.

    Returns
    -------
    min_span
        Shape ``(...)``, USD (<= 0).
    index
        Scenario index, or -1 where the basis contingency is the worst loss; shape ``(...)``.
    """
    worst = np.argmin(pnl, axis=-1)
    lowest = np.take_along_axis(pnl, worst[..., None], axis=-1)[..., 0]
    scenario = lowest < basis
    min_span = np.where(scenario, lowest, basis)
    return np.asarray(min_span, dtype=np.float64), np.where(scenario, worst, -1).astype(np.intp)
