"""PMRM_2 low-confidence charges: the venue's feed confidences (the snapshot carries none)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portmargin.methods.derive_pm2._checks import FloatArray
from portmargin.methods.derive_pm2._inputs import DeriveMarket, DerivePortfolio
from portmargin.methods.derive_pm2._params import DeriveParams
from portmargin.methods.derive_pm2._resolve import Resolved

__all__ = ["Confidence", "confidence_charges"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Confidence:
    """Confidence charges of one account: ``total`` (USD, >= 0, added to the IM requirement)
    and the confidence of each expiry, shape ``(n_e,)``."""

    total: float
    expiry: FloatArray


def confidence_charge(
    confidence: FloatArray, notional: FloatArray, params: DeriveParams
) -> FloatArray:
    """``(1 - c)·conf_margin·N`` where ``c < conf_threshold``, else 0 (USD, elementwise)."""
    charge = (1.0 - confidence) * params.conf_margin * notional
    return np.where(confidence < params.conf_threshold, charge, 0.0)


def confidence_charges(
    res: Resolved, portfolio: DerivePortfolio, market: DeriveMarket, params: DeriveParams
) -> Confidence:
    """All confidence charges of the account.

    The perp's confidence is the spot's, lowered by the perp feed's when a perp is held,
    charged on ``|P|·S``; an expiry's is that, lowered by its forward, rate and vol
    confidences, charged on ``S·sum|n|``; a collateral's is ``min(c_j, c_spot)``, charged on
    its value.
    """
    spot = market.spot_price
    perp_conf = market.spot_confidence
    if portfolio.perp_position != 0.0:
        perp_conf = min(perp_conf, market.perp_confidence)
    perp_notional = abs(portfolio.perp_position) * spot
    gross = np.bincount(
        res.expiry_index, weights=np.abs(res.amount), minlength=res.seconds.shape[0]
    )
    expiry_conf = np.minimum(res.feed_confidence, perp_conf)
    charges = (
        confidence_charge(np.array([perp_conf]), np.array([perp_notional]), params),
        confidence_charge(expiry_conf, np.asarray(gross, dtype=np.float64) * spot, params),
        confidence_charge(res.collateral_confidence, res.collateral_value, params),
    )
    return Confidence(total=float(sum(float(c.sum()) for c in charges)), expiry=expiry_conf)
