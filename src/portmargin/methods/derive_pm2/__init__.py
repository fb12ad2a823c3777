"""Derive PMRM_2 portfolio margin (``derive-pm2``).

One account per base asset (ETH, BTC, ...) holding cash, one perpetual, European options and
collateral. The method (derivexyz/v2-core ``PMRMLib_2``; specification in
``specs/derive-pm2.md``):

1. Mark every expiry with Black-76 on its forward, discounted at the floored feed rate.
2. Revalue each expiry in every scenario ``(s, dir, d)`` of the shared scenario set
   :func:`pmrm2_scenarios`: forward ``var·s + fixed``, vols shocked up / down by the set's
   term-structure law or tilted by log-moneyness by its skew laws (skew scenarios, which must
   keep spot unchanged); a static (anti-)discount is applied to the shocked value. Scenario
   P&L = perp + per-expiry ``(V - MtM)·d`` (``-|·|`` for skews) + risk-cancelling
   collateral, vectorised over options and scenarios.
3. The worst loss ``min(basis contingency, min P&L)`` times the MM / IM loss factor, plus
   contingencies (perp and naked-short notional, collateral haircuts, low oracle confidence),
   gives the requirements; the venue reports net margins ``equity - requirement``.

Units: the cash asset USDC, counted as USD, for every amount; amounts > 0 are long; P&L > 0
is a gain; requirements are >= 0. ``compute`` is pure: no I/O, clock or globals.

:class:`DerivePM2` (registry name ``derive-pm2``) margins a whole
:class:`~portmargin.risk.Book` against a :class:`~portmargin.market.MarketSnapshot`,
vectorised over accounts (:func:`run_batch` keeps every intermediate array; :func:`margins`
holds the formulas). ``compute`` margins one account given the venue's inputs: it resolves
them into a one-row :class:`Holdings`, reads row 0 of :func:`margins` and returns a
:class:`DeriveResult`, the account's shared :class:`~portmargin.results.MarginResult` (built
like a batch row: same components, :data:`COMPONENT_SOURCES` rules and per-position
explanation) with the venue's own figures. The batch supports
USDC-settled options and perpetuals, USDC cash and the collateral enabled in the pack;
accounts holding coin-settled instruments, dated futures, spot pairs or other balances are
reported in the batch's errors.
"""

from portmargin.methods.derive_pm2._batch import (
    BaseRun,
    CollateralRun,
    DeriveBatchRun,
    Holdings,
    Margins,
    OptionRun,
    margins,
    run_batch,
)
from portmargin.methods.derive_pm2._case import DeriveCase, DeriveExpected
from portmargin.methods.derive_pm2._compute import compute
from portmargin.methods.derive_pm2._grid import pmrm2_scenarios
from portmargin.methods.derive_pm2._inputs import (
    DeriveCollateralFeed,
    DeriveCollateralHolding,
    DeriveExpiryFeed,
    DeriveMarket,
    DeriveOptions,
    DerivePortfolio,
)
from portmargin.methods.derive_pm2._mapping import parameters_to_pack
from portmargin.methods.derive_pm2._method import DerivePM2
from portmargin.methods.derive_pm2._pack import DerivePM2Params
from portmargin.methods.derive_pm2._params import DeriveCollateralParams, DeriveParams
from portmargin.methods.derive_pm2._result import (
    COMPONENT_SOURCES,
    DeriveExpiryResult,
    DeriveResult,
    DeriveScenarioPnL,
)
from portmargin.methods.derive_pm2._scenario import DeriveScenario, DeriveVolShock

__all__ = [
    "COMPONENT_SOURCES",
    "BaseRun",
    "CollateralRun",
    "DeriveBatchRun",
    "DeriveCase",
    "DeriveCollateralFeed",
    "DeriveCollateralHolding",
    "DeriveCollateralParams",
    "DeriveExpected",
    "DeriveExpiryFeed",
    "DeriveExpiryResult",
    "DeriveMarket",
    "DeriveOptions",
    "DerivePM2",
    "DerivePM2Params",
    "DeriveParams",
    "DerivePortfolio",
    "DeriveResult",
    "DeriveScenario",
    "DeriveScenarioPnL",
    "DeriveVolShock",
    "Holdings",
    "Margins",
    "OptionRun",
    "compute",
    "margins",
    "parameters_to_pack",
    "pmrm2_scenarios",
    "run_batch",
]
