"""SPAN-style scenario margin (``span``), vectorised over accounts (``specs/span.md``).

Per combined commodity (CC: one underlying and one settlement currency, e.g. ``BTC-USD``
linear and ``BTC-BTC`` coin-settled):

- scan risk: the largest loss of 16 weighted scenarios (price moves of 0, 1/3, 2/3 and 1
  price scan range with vol up and down, and two extreme moves at a cover fraction), split
  into time, price and vol risk;
- intra-commodity spread charges on composite deltas netted per DTE tier, by priority;
- spot-month charge on expiries inside the spot window;
- inter-commodity credits on the weighted price risk, capped at the scan risk;
- short option minimum; ``CCRisk = max(scan + intra + spot - credit, SOM)``.

``SPANRisk_MM`` is the sum of CC risks in the account currency (coin CCs at the index), or,
in ``segregated`` collateral scope, per settlement sub-account in its own currency (nothing
converted); ``IM = ratio x MM``; the cash-only requirements subtract the net option value.
Options past expiry are valued at intrinsic on the index, with a warning note.
Amounts: CC money (USD or coin) per CC, account currency for totals; quantities > 0 long;
loss > 0 in risk arrays; requirements >= 0.
"""

from portmargin.methods.span._arrays import (
    PRICE_POINTS,
    SCENARIO_LABELS,
    VOL_POINTS,
    CCArrays,
    cc_arrays,
    reference_price,
    tier_of,
)
from portmargin.methods.span._method import SEGREGATED_TOTAL, Span, to_batch, worst_labels
from portmargin.methods.span._params import (
    Collateral,
    CollateralScope,
    CombinedCommodity,
    ContractEntry,
    InterLeg,
    InterSpread,
    IntraLeg,
    IntraSpread,
    PriceScan,
    PriceScanMode,
    Side,
    Som,
    SomMethod,
    SpanDefaults,
    SpanParams,
    SpotMonth,
    SpreadMethod,
    Tier,
    VolScan,
    VolScanMode,
    WprMethod,
)
from portmargin.methods.span._run import SpanRun, run_span
from portmargin.methods.span._statement import CCStatement, match_spreads

__all__ = [
    "PRICE_POINTS",
    "SCENARIO_LABELS",
    "SEGREGATED_TOTAL",
    "VOL_POINTS",
    "CCArrays",
    "CCStatement",
    "Collateral",
    "CollateralScope",
    "CombinedCommodity",
    "ContractEntry",
    "InterLeg",
    "InterSpread",
    "IntraLeg",
    "IntraSpread",
    "PriceScan",
    "PriceScanMode",
    "Side",
    "Som",
    "SomMethod",
    "Span",
    "SpanDefaults",
    "SpanParams",
    "SpanRun",
    "SpotMonth",
    "SpreadMethod",
    "Tier",
    "VolScan",
    "VolScanMode",
    "WprMethod",
    "cc_arrays",
    "match_spreads",
    "reference_price",
    "run_span",
    "tier_of",
    "to_batch",
    "worst_labels",
]
