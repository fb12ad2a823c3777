"""Market data: vol smiles, the market snapshot at a valuation time, and venue quotes.

Pure domain objects: no file I/O (venue adapters in :mod:`portmargin.io` build snapshots).
Everything is frozen and validated on construction; a shocked market is a new object.
"""

from portmargin.market._quotes import FutureQuote, Greeks, OptionQuote
from portmargin.market._sanity import SanityRules
from portmargin.market._smile import VolSmile
from portmargin.market._snapshot import ExpiryKey, MarketSnapshot

__all__ = [
    "ExpiryKey",
    "FutureQuote",
    "Greeks",
    "MarketSnapshot",
    "OptionQuote",
    "SanityRules",
    "VolSmile",
]
