"""Market data: vol smiles, the snapshot and its merge, venue quotes and daily close history.

Pure domain objects: no file I/O (venue adapters in :mod:`portmargin.io` build snapshots).
Everything is frozen and validated on construction; a shocked market is a new object.
"""

from portmargin.market._history import (
    LOOKBACK_DAYS,
    RECOMMENDED_HISTORY_START,
    DateLike,
    PriceHistory,
    Proxy,
    ReturnWindow,
    to_day,
)
from portmargin.market._merge import DEFAULT_TIME_TOLERANCE_MS, merge_snapshots
from portmargin.market._quotes import FutureQuote, Greeks, OptionQuote
from portmargin.market._sanity import SanityRules
from portmargin.market._smile import VolSmile
from portmargin.market._snapshot import ExpiryKey, MarketSnapshot

__all__ = [
    "DEFAULT_TIME_TOLERANCE_MS",
    "LOOKBACK_DAYS",
    "RECOMMENDED_HISTORY_START",
    "DateLike",
    "ExpiryKey",
    "FutureQuote",
    "Greeks",
    "MarketSnapshot",
    "OptionQuote",
    "PriceHistory",
    "Proxy",
    "ReturnWindow",
    "SanityRules",
    "VolSmile",
    "merge_snapshots",
    "to_day",
]
