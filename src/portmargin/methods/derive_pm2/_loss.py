"""PMRM_2 loss factors: the multipliers of the worst loss."""

from __future__ import annotations

from portmargin.methods.derive_pm2._params import DeriveParams

__all__ = ["loss_factors"]


def loss_factors(stable_price: float, params: DeriveParams) -> tuple[float, float]:
    """``(f_IM, f_MM)``: multipliers of the worst loss.

    ``f_IM = im_factor + (peg_loss_threshold - s_st)·peg_loss_factor`` when the stable price
    ``s_st`` (USD) is below ``peg_loss_threshold``, else ``im_factor``; ``f_MM = mm_factor``.
    """
    f_im = params.im_factor
    if stable_price < params.peg_loss_threshold:
        f_im += (params.peg_loss_threshold - stable_price) * params.peg_loss_factor
    return f_im, params.mm_factor
