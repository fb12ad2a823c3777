"""Standard (position-by-position) margin, method ``standard`` (``specs/standard-margin.md``).

Each position gets its own initial (IM) and maintenance (MM) margin and an account requires
their sum: a hedge never lowers it. Two profiles:

- ``deribit-sm``: inverse and linear options (fractions of ``U`` plus the mark; long options
  0), futures and perpetuals with size-dependent rates ``base + n * step`` of the notional at
  index; summed per account and settlement currency.
- ``paradex-cross``: option IMR/MMR from per-asset tables (``S`` = index, no ``+ mark``),
  perpetuals ``IMF * |q| * mark`` (MMR ``mmf_factor`` of it), optional fee provision; one USD
  row per account.

Per-instrument rates are computed once per column; positions are the CSR entries of the
book and are summed into rows with ``bincount``. Amounts are >= 0; quantities > 0 are long.
"""

from portmargin.methods.standard._method import StandardMargin
from portmargin.methods.standard._orders import paradex_net_imr, paradex_open_sizes
from portmargin.methods.standard._params import (
    FuturesRates,
    OptionFractions,
    ParadexOptionRates,
    ParadexOptionTable,
    ParadexPerpRates,
    Profile,
    SizePrice,
    SizeRate,
    StandardParams,
    UnderlyingPrice,
)

__all__ = [
    "FuturesRates",
    "OptionFractions",
    "ParadexOptionRates",
    "ParadexOptionTable",
    "ParadexPerpRates",
    "Profile",
    "SizePrice",
    "SizeRate",
    "StandardMargin",
    "StandardParams",
    "UnderlyingPrice",
    "paradex_net_imr",
    "paradex_open_sizes",
]
