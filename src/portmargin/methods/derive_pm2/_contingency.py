"""PMRM_2 contingencies: perp and naked-short notional, collateral haircuts, confidence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portmargin.methods.derive_pm2._checks import FloatArray
from portmargin.methods.derive_pm2._inputs import DeriveMarket, DerivePortfolio
from portmargin.methods.derive_pm2._params import DeriveParams
from portmargin.methods.derive_pm2._resolve import Resolved
from portmargin.methods.derive_pm2._result import DeriveComponent

__all__ = ["Contingencies", "contingencies"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Contingencies:
    """Contingency amounts (USD, >= 0) and per-expiry inputs to the diagnostics.

    ``mm_parts`` enter both requirements; ``im_parts`` (confidence charges included) enter the
    IM requirement only, on top of the MM parts. ``naked`` and ``confidence`` are per expiry,
    shape ``(n_e,)``.
    """

    mm_parts: tuple[DeriveComponent, ...]
    im_parts: tuple[DeriveComponent, ...]
    confidence_total: float
    naked: FloatArray
    confidence: FloatArray

    @property
    def mm_total(self) -> float:
        """Sum of the MM contingencies, USD."""
        return float(sum(c.amount for c in self.mm_parts))

    @property
    def im_total(self) -> float:
        """Sum of the IM contingencies charged on top of the MM ones, USD."""
        return float(sum(c.amount for c in self.im_parts))


def confidence_charge(
    confidence: FloatArray, notional: FloatArray, params: DeriveParams
) -> FloatArray:
    """``(1 - c)·conf_margin·N`` where ``c < conf_threshold``, else 0 (USD, elementwise)."""
    charge = (1.0 - confidence) * params.conf_margin * notional
    return np.where(confidence < params.conf_threshold, charge, 0.0)


def naked_shorts(res: Resolved) -> FloatArray:
    """Naked short amount per expiry, ``sum_K max(0, -sum of amounts at K)``, shape ``(n_e,)``.

    Calls and puts at one strike net out: short 2 calls + long 1 put count 1; a short call and
    a short put count both.
    """
    n_e = res.seconds.shape[0]
    if res.strike.shape[0] == 0:
        return np.zeros(n_e)
    _, strike_id = np.unique(res.strike, return_inverse=True)
    n_k = int(strike_id.max()) + 1
    groups, group_of = np.unique(
        res.expiry_index * n_k + strike_id.reshape(-1), return_inverse=True
    )
    net = np.bincount(group_of.reshape(-1), weights=res.amount, minlength=groups.shape[0])
    naked = np.bincount(groups // n_k, weights=np.maximum(0.0, -net), minlength=n_e)
    return np.asarray(naked, dtype=np.float64)


def contingencies(
    res: Resolved, portfolio: DerivePortfolio, market: DeriveMarket, params: DeriveParams
) -> Contingencies:
    """All contingencies of the account.

    Perp notional ``|P|·S`` and naked-short notional ``naked·S`` use the spot price. The
    perp's confidence is the spot's, lowered by the perp feed's when a perp is held; an
    expiry's is that, lowered by its forward, rate and vol confidences, charged on
    ``S·sum|n|``; a collateral's is ``min(c_j, c_spot)``, charged on its value.
    """
    spot = market.spot_price
    perp_conf = market.spot_confidence
    if portfolio.perp_position != 0.0:
        perp_conf = min(perp_conf, market.perp_confidence)
    perp_notional = abs(portfolio.perp_position) * spot
    naked = naked_shorts(res)
    naked_notional = float(naked.sum()) * spot
    gross = np.bincount(
        res.expiry_index, weights=np.abs(res.amount), minlength=res.seconds.shape[0]
    )
    expiry_conf = np.minimum(res.feed_confidence, perp_conf)
    charges = (
        confidence_charge(np.array([perp_conf]), np.array([perp_notional]), params),
        confidence_charge(expiry_conf, np.asarray(gross, dtype=np.float64) * spot, params),
        confidence_charge(res.collateral_confidence, res.collateral_value, params),
    )
    confidence = float(sum(float(c.sum()) for c in charges))
    coll = res.collateral_value

    def notional_parts(
        tag: str, perp_pct: float, option_pct: float, haircut: FloatArray
    ) -> tuple[DeriveComponent, ...]:
        return (
            DeriveComponent(
                name=f"perp_{tag}",
                amount=perp_notional * perp_pct,
                detail=f"|P|·S = {perp_notional:,.2f} x {perp_pct:g}",
            ),
            DeriveComponent(
                name=f"option_{tag}",
                amount=naked_notional * option_pct,
                detail=f"naked shorts x S = {naked_notional:,.2f} x {option_pct:g}",
            ),
            DeriveComponent(
                name=f"collateral_{tag}",
                amount=float((coll * haircut).sum()),
                detail=f"collateral value x {tag.upper()} haircut",
            ),
        )

    mm_parts = notional_parts(
        "mm", params.mm_perp_percent, params.mm_option_percent, res.mm_haircut
    )
    im_parts = (
        *notional_parts("im", params.im_perp_percent, params.im_option_percent, res.im_haircut),
        DeriveComponent(
            name="confidence",
            amount=confidence,
            detail=(
                f"(1 - c)·{params.conf_margin:g}·notional where confidence c < "
                f"{params.conf_threshold:g}"
            ),
        ),
    )
    return Contingencies(
        mm_parts=mm_parts,
        im_parts=im_parts,
        confidence_total=confidence,
        naked=naked,
        confidence=expiry_conf,
    )
