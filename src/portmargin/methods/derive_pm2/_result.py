"""PMRM_2 results: the shared :class:`~portmargin.results.MarginResult` and its venue view.

Both paths build their rows with :func:`group_rows`: the batch one row per (account, base
asset), ``compute`` one row for its account. A row carries ``Req_IM`` and ``Req_MM`` with the
component tree of :data:`COMPONENT_SOURCES`, the worst scenario's label and the per-position
P&L in it (:mod:`portmargin.methods.derive_pm2._explain`). :class:`DeriveResult` is the
single-account view: that :class:`~portmargin.results.MarginResult` plus the venue's own
figures (net margins, equity pieces, every scenario P&L, per-expiry diagnostics).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from portmargin.methods.derive_pm2._checks import FloatArray, freeze
from portmargin.methods.derive_pm2._pack import CASH_ASSET
from portmargin.methods.derive_pm2._scenario import DeriveScenario
from portmargin.results import Explainer, GroupRows, MarginComponent, MarginResult
from portmargin.risk import WorstLoss

__all__ = [
    "BASIS_LABEL",
    "COMPONENT_SOURCES",
    "METHOD_NAME",
    "DeriveExpiryResult",
    "DeriveResult",
    "DeriveScenarioPnL",
    "Requirements",
    "group_rows",
]

METHOD_NAME = "derive-pm2"
"""Registry name of the method, recorded in every result."""

BASIS_LABEL = "basis"
"""Worst-scenario label when the basis contingency is the worst loss."""

_PARTS = {
    "scenario_loss": "-min(basis contingency, worst scenario P&L) x loss factor",
    "perp_mm": "|perp| x spot x mm_perp_percent",
    "option_mm": "naked shorts (sum over strikes of max(0, -(calls + puts))) x spot"
    " x mm_option_percent",
    "collateral_mm": "collateral value x MM haircut",
    "perp_im": "|perp| x spot x im_perp_percent (on top of perp_mm)",
    "option_im": "naked shorts x spot x im_option_percent (on top of option_mm)",
    "collateral_im": "collateral value x IM haircut (on top of collateral_mm)",
    "confidence": "(1 - c) x conf_margin x notional where a confidence c < conf_threshold",
}
IM_PARTS = (
    "scenario_loss",
    "perp_mm",
    "option_mm",
    "collateral_mm",
    "perp_im",
    "option_im",
    "collateral_im",
    "confidence",
)
MM_PARTS = ("scenario_loss", "perp_mm", "option_mm", "collateral_mm")

COMPONENT_SOURCES: Mapping[str, str] = {
    "im": "Req_IM = -min_span x f_IM + MM contingencies + IM contingencies (sum of children)",
    **{f"im/{name}": _PARTS[name] for name in IM_PARTS},
    "mm": "Req_MM = -min_span x f_MM + MM contingencies (sum of children)",
    **{f"mm/{name}": _PARTS[name] for name in MM_PARTS},
}
"""Component name → the rule that produces it."""


class Requirements(Protocol):
    """What :func:`group_rows` reads, per row ``(a,)``, USD (``Margins`` and ``BaseRun``)."""

    @property
    def worst_case(self) -> WorstLoss: ...
    @property
    def im_components(self) -> Mapping[str, FloatArray]: ...
    @property
    def mm_components(self) -> Mapping[str, FloatArray]: ...
    @property
    def im_requirement(self) -> FloatArray: ...
    @property
    def mm_requirement(self) -> FloatArray: ...


def group_rows(
    account: np.ndarray,
    group: str | None,
    req: Requirements,
    labels: tuple[str, ...],
    explain: Explainer | None,
) -> GroupRows:
    """Rows of ``a`` accounts: ``Req_IM`` / ``Req_MM`` (USDC, >= 0) with the components of
    :data:`COMPONENT_SOURCES`, the worst scenario's label (``labels`` of the scenarios, or
    :data:`BASIS_LABEL`) and ``explain`` giving a row's per-position P&L in it."""
    components = {"im": req.im_requirement}
    components |= {f"im/{n}": req.im_components[n] for n in IM_PARTS}
    components["mm"] = req.mm_requirement
    components |= {f"mm/{n}": req.mm_components[n] for n in MM_PARTS}
    worst = req.worst_case.labels(labels, baseline=BASIS_LABEL, blank_without_loss=False)
    return GroupRows(
        account=account,
        currency=CASH_ASSET,
        group=group,
        initial_margin=req.im_requirement,
        maintenance_margin=req.mm_requirement,
        components=components,
        worst_scenario=worst,
        explain=explain,
    )


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
    """PMRM_2 margin of one account: the shared result and the venue's own figures.

    Every amount is in the cash asset (USDC, counted as USD). The venue reports **net**
    margins: ``im = equity - im_requirement`` (an account with ``im >= 0`` may add risk) and
    ``mm = equity - mm_requirement`` (``mm < 0`` is liquidatable). The requirements are
    non-negative for every valid input, because the worst loss ``min_span`` is <= 0 and every
    contingency is >= 0.

    Attributes
    ----------
    margin
        The shared :class:`~portmargin.results.MarginResult` (built like a batch row):
        ``initial_margin`` = ``Req_IM``, ``maintenance_margin`` = ``Req_MM``, the component
        trees ``im`` and ``mm`` (children as in :data:`COMPONENT_SOURCES`), the worst
        scenario's label and the per-position P&L in it; ``equity`` as below, ``excess`` the
        net IM ``im`` and ``margin_ratio`` ``mm_requirement / equity`` (None when equity is
        <= 0).
    im, mm
        Net initial and maintenance margin, USD (any sign).
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
    worst_scenario_index
        Index of the scenario that set ``min_span`` (first one on ties), or None when the
        basis contingency did.
    im_loss_factor, mm_loss_factor
        Loss multipliers (the IM one includes the stable-depeg add-on).
    mm_contingency, im_contingency
        MM contingencies and the IM contingencies charged on top of them, USD (>= 0).
    confidence_contingency
        All confidence charges (part of ``im_contingency``), USD (>= 0).
    expiries
        Per-expiry diagnostics, sorted by time to expiry.
    """

    margin: MarginResult
    im: float
    mm: float
    equity: float
    total_mtm: float
    cash: float
    option_mtm: float
    perp_mtm: float
    collateral_mtm: float
    scenario_pnls: tuple[DeriveScenarioPnL, ...]
    basis_contingency: float
    min_span: float
    worst_scenario_index: int | None
    im_loss_factor: float
    mm_loss_factor: float
    mm_contingency: float
    im_contingency: float
    confidence_contingency: float
    expiries: tuple[DeriveExpiryResult, ...]

    @property
    def currency(self) -> str:
        """Currency of every amount (the cash asset)."""
        return self.margin.currency

    @property
    def im_requirement(self) -> float:
        """``Req_IM = -min_span·im_loss_factor + im_contingency + mm_contingency`` (>= 0)."""
        return self.margin.initial_margin

    @property
    def mm_requirement(self) -> float:
        """``Req_MM = -min_span·mm_loss_factor + mm_contingency`` (>= 0)."""
        return self.margin.maintenance_margin

    @property
    def worst_scenario(self) -> str:
        """Label of the scenario that set ``min_span``, or ``"basis"``."""
        return self.margin.worst_scenario or BASIS_LABEL

    @property
    def im_components(self) -> tuple[MarginComponent, ...]:
        """Additive parts of ``im_requirement`` (the children of the ``im`` component)."""
        return self._children("im")

    @property
    def mm_components(self) -> tuple[MarginComponent, ...]:
        """Additive parts of ``mm_requirement`` (the children of the ``mm`` component)."""
        return self._children("mm")

    def _children(self, name: str) -> tuple[MarginComponent, ...]:
        return next(c.children for c in self.margin.components if c.name == name)

    def pnl_array(self) -> FloatArray:
        """Scenario P&Ls as a read-only float64 array of shape ``(n_scenarios,)``, USD."""
        out = np.array([s.pnl for s in self.scenario_pnls], dtype=np.float64)
        freeze(out)
        return out

    def explain(self) -> str:
        """Multi-line plain-text explanation: the equity, the worst loss, and the component
        trees of :attr:`margin` with their rules and the positions' P&L in the worst case."""
        ccy = self.currency
        lines = [
            f"equity {self.equity:,.2f} {ccy} = MtM {self.total_mtm:,.2f} "
            f"(options {self.option_mtm:,.2f}, perp {self.perp_mtm:,.2f}, collateral "
            f"{self.collateral_mtm:,.2f}) + cash {self.cash:,.2f}",
            f"worst loss {self.min_span:,.2f} ({self.worst_scenario}); basis contingency "
            f"{self.basis_contingency:,.2f}; loss factors IM {self.im_loss_factor:g}, "
            f"MM {self.mm_loss_factor:g}",
        ]
        net = {"im": ("IM requirement", self.im), "mm": ("MM requirement", self.mm)}
        for depth, c in self.margin.component_rows():
            if depth == 0:
                title, value = net[c.name]
                lines.append(f"{title} {c.amount:,.2f} -> {c.name.upper()} {value:,.2f}")
            else:
                lines.append(f"{'  ' * depth}{c.name}: {c.amount:,.2f}  {c.source}")
        if self.margin.contributions:
            lines.append(f"positions' P&L in {self.worst_scenario}")
        lines += [
            f"  {p.instrument} x {p.quantity:g}: {p.pnl:,.2f}" for p in self.margin.contributions
        ]
        return "\n".join(lines)
