"""Typed, self-explaining PMRM_2 results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portmargin.methods.derive_pm2._checks import FloatArray, freeze
from portmargin.methods.derive_pm2._scenario import DeriveScenario

__all__ = ["DeriveComponent", "DeriveExpiryResult", "DeriveResult", "DeriveScenarioPnL"]

BASIS_LABEL = "basis"
"""``worst_scenario`` when the basis contingency is the worst loss."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveComponent:
    """One additive part of a margin requirement.

    Attributes
    ----------
    name
        Identifier, e.g. ``"scenario_loss"``, ``"perp_mm"``, ``"option_im"``, ``"confidence"``.
    amount
        USD, >= 0.
    detail
        What produced it (rule, scenario, factor).
    """

    name: str
    amount: float
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveScenarioPnL:
    """P&L of the portfolio in one scenario (USD, > 0 is a gain), relative to its MtM.

    ``index`` is the position in ``DeriveParams.scenarios``.
    """

    index: int
    label: str
    scenario: DeriveScenario
    pnl: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveExpiryResult:
    """Per-expiry diagnostics.

    Attributes
    ----------
    expiry_seconds
        Seconds to expiry.
    tau
        Time to expiry in years (ACT/365 on seconds).
    discount
        Discount factor ``exp(-max(rate, 0)·tau)``.
    fixed_forward, variable_forward
        Forward portions, USD: ``F_e(s) = variable_forward·s + fixed_forward``.
    mtm
        ``MtM_e``: Black-76 value of the expiry's options at the unshocked market, USD.
    basis_contingency
        This expiry's share of the basis contingency, USD (<= 0).
    vol_shock_up, vol_shock_down
        Vol multipliers ``up_e`` and ``down_e``.
    static_discount_pos, static_discount_neg
        Factors applied to a non-negative / negative shocked expiry value.
    naked_shorts
        Naked short amount (base units) summed over strikes.
    confidence
        Confidence used for the expiry's confidence charge, in [0, 1].
    """

    expiry_seconds: float
    tau: float
    discount: float
    fixed_forward: float
    variable_forward: float
    mtm: float
    basis_contingency: float
    vol_shock_up: float
    vol_shock_down: float
    static_discount_pos: float
    static_discount_neg: float
    naked_shorts: float
    confidence: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveResult:
    """PMRM_2 margin of one account. Every amount is in ``currency`` (the cash asset, USD).

    The venue reports **net** margins: ``im = equity - im_requirement`` (an account with
    ``im >= 0`` may add risk) and ``mm = equity - mm_requirement`` (``mm < 0`` is
    liquidatable). The requirements are non-negative for every valid input, because the worst
    loss ``min_span`` is <= 0 and every contingency is >= 0.

    Attributes
    ----------
    im, mm
        Net initial and maintenance margin, USD (any sign).
    im_requirement, mm_requirement
        ``-min_span·im_loss_factor + im_contingency + mm_contingency`` and
        ``-min_span·mm_loss_factor + mm_contingency``, USD (>= 0); they equal the sums of
        ``im_components`` and ``mm_components``.
    equity
        ``total_mtm + cash``, USD.
    total_mtm
        ``option_mtm + perp_mtm + collateral_mtm``, USD.
    cash, option_mtm, perp_mtm, collateral_mtm
        Pieces of the equity, USD (``perp_mtm`` is the perp value when a perp is held, else 0;
        ``collateral_mtm`` is the sum of collateral values divided by the stable price).
    scenario_pnls
        One entry per scenario, in ``DeriveParams.scenarios`` order.
    basis_contingency
        ``BC`` (USD, <= 0).
    min_span
        ``min(BC, min scenario P&L)`` (USD, <= 0).
    worst_scenario, worst_scenario_index
        Label and index of the scenario that set ``min_span`` (first one on ties), or
        ``"basis"`` and None when the basis contingency did.
    im_loss_factor, mm_loss_factor
        Loss multipliers (the IM one includes the stable-depeg add-on).
    mm_contingency, im_contingency
        MM contingencies and the IM contingencies charged on top of them, USD (>= 0).
    confidence_contingency
        All confidence charges (part of ``im_contingency``), USD (>= 0).
    im_components, mm_components
        Additive breakdowns of the two requirements.
    expiries
        Per-expiry diagnostics, sorted by time to expiry.
    currency
        Currency of every amount.
    """

    im: float
    mm: float
    im_requirement: float
    mm_requirement: float
    equity: float
    total_mtm: float
    cash: float
    option_mtm: float
    perp_mtm: float
    collateral_mtm: float
    scenario_pnls: tuple[DeriveScenarioPnL, ...]
    basis_contingency: float
    min_span: float
    worst_scenario: str
    worst_scenario_index: int | None
    im_loss_factor: float
    mm_loss_factor: float
    mm_contingency: float
    im_contingency: float
    confidence_contingency: float
    im_components: tuple[DeriveComponent, ...]
    mm_components: tuple[DeriveComponent, ...]
    expiries: tuple[DeriveExpiryResult, ...]
    currency: str = "USD"

    def pnl_array(self) -> FloatArray:
        """Scenario P&Ls as a read-only float64 array of shape ``(n_scenarios,)``, USD."""
        out = np.array([s.pnl for s in self.scenario_pnls], dtype=np.float64)
        freeze(out)
        return out

    def explain(self) -> str:
        """Multi-line plain-text explanation of the margin."""
        lines = [
            f"equity {self.equity:,.2f} {self.currency} = MtM {self.total_mtm:,.2f} "
            f"(options {self.option_mtm:,.2f}, perp {self.perp_mtm:,.2f}, collateral "
            f"{self.collateral_mtm:,.2f}) + cash {self.cash:,.2f}",
            f"worst loss {self.min_span:,.2f} ({self.worst_scenario}); basis contingency "
            f"{self.basis_contingency:,.2f}",
            f"IM requirement {self.im_requirement:,.2f} -> IM {self.im:,.2f}",
        ]
        lines += [f"  {c.name}: {c.amount:,.2f}  {c.detail}" for c in self.im_components]
        lines.append(f"MM requirement {self.mm_requirement:,.2f} -> MM {self.mm:,.2f}")
        lines += [f"  {c.name}: {c.amount:,.2f}  {c.detail}" for c in self.mm_components]
        return "\n".join(lines)
