"""OKX portfolio margin (``okx-pm``), vectorised over accounts.

Per risk unit (all products of one underlying; specification in ``specs/okx-pm.md``):
``Derivatives MMR = max(max(MR1, MR2, MR6) + MR4 + MR3 + MR5 + MR9, MR7)``; the account's
``MMR`` is the sum over units plus MR8 (borrowing: an optional per-account input of
``compute``, USD, default 0) and ``IMR = 1.3 x MMR``. The dated pack ``okx-pm/2024`` keeps
the form before the December 2024 merge: one unit per underlying and margin currency
(``BTC-USD`` coin-margined, ``BTC-USDT``, ``BTC-USDC``; spot and coin balances in the unit
each account chose, USDT unless ``compute``'s ``spot_unit`` says otherwise), no MR9, the
earlier MR1 and MR6 moves and the pre-merge MR4 form (one maximum forward price move).
Published: the MR1 price grid, MR4 annualised moves, MR6 moves, the MR7 tier table and its
incremental scaling, ``IMR = 1.3 x MMR``. Everything else (MR1 IV table, MR2, MR3, the MR4
formula, MR5, MR6 weighting, the MR7 raw charge, MR9) is a configurable engine assumption.

Amounts are USD; quantities > 0 are long; P&L > 0 is a gain; requirements are >= 0.
"""

from portmargin.methods.okx_pm._charges import (
    basis_risk,
    depeg_hedged,
    tiered_charge,
    vega_twist,
)
from portmargin.methods.okx_pm._method import OkxPM
from portmargin.methods.okx_pm._params import (
    GridTier,
    MoveTier,
    Mr4Form,
    OkxParams,
    RiskUnitGrouping,
)
from portmargin.methods.okx_pm._reprice import unit_grid

__all__ = [
    "GridTier",
    "MoveTier",
    "Mr4Form",
    "OkxPM",
    "OkxParams",
    "RiskUnitGrouping",
    "basis_risk",
    "depeg_hedged",
    "tiered_charge",
    "unit_grid",
    "vega_twist",
]
