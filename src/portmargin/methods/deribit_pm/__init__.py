"""Deribit segregated portfolio margin (``deribit-pm``), ``specs/deribit-pm.md``.

One risk matrix per account and aggregation key ``<settlement>_<base>`` (``btc_btc``):

1. Every instrument is priced once in 27 standard scenarios (9 price buckets ``±R`` x vol
   up/same/down, bucket-major) and 8 extended ones (-66 % ... +500 %, vol up; futures and
   perpetuals clamped to ``±R``, options at the full move).
2. Position vectors are summed per key with a sparse product (``pre_aggregated``); gains are
   credited at ``pnl_offset`` up to a cap and extended losses relieved by the dampener.
3. ``worst_case`` is the largest loss (ties: standard first, lower bucket, same/up/down);
   ``risk_matrix_margin = round(worst_case, 9) + roll_shock + delta_shock``;
   ``IM = round(risk_matrix_margin + open-order + MMP + spot margin, 9)``,
   ``MM = mm_factor * risk_matrix_margin``.

Amounts are in the settlement currency; P&L > 0 is a gain; requirements are >= 0. Currency
balances and spot pairs are ignored (S:PM margins derivatives only). Unpublished rules are
the named fields of :class:`Assumptions`.
"""

from portmargin.methods.deribit_pm._batch import InputOverrides
from portmargin.methods.deribit_pm._case import ExpectedLiteral, PmeCase
from portmargin.methods.deribit_pm._method import COMPONENT_SOURCES, DeribitPM
from portmargin.methods.deribit_pm._params import (
    Assumptions,
    CurrencyParams,
    DampenerMode,
    DeltaShockModel,
    DeribitPMParams,
    GeneralParams,
    MarginInputs,
    PairParams,
    RollGrouping,
    VolUpFloor,
)
from portmargin.methods.deribit_pm._simulate import (
    PmeMargins,
    PmeSimulation,
    RiskVector,
    WorstCaseBucket,
    simulate_pme,
)

__all__ = [
    "COMPONENT_SOURCES",
    "DERIBIT_PM",
    "Assumptions",
    "CurrencyParams",
    "DampenerMode",
    "DeltaShockModel",
    "DeribitPM",
    "DeribitPMParams",
    "ExpectedLiteral",
    "GeneralParams",
    "InputOverrides",
    "MarginInputs",
    "PairParams",
    "PmeCase",
    "PmeMargins",
    "PmeSimulation",
    "RiskVector",
    "RollGrouping",
    "VolUpFloor",
    "WorstCaseBucket",
    "simulate_pme",
]

DERIBIT_PM = DeribitPM()
"""The instance registered in ``portmargin.methods``."""
