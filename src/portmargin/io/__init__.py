"""Input and output at the edge: venue and market files, positions, daily histories, reports.

This is the only layer that reads or writes files.
"""

from portmargin.io.deribit import (
    ExcludedRow,
    ForwardPick,
    SnapshotLoad,
    load_deribit_chain_csv,
    load_deribit_json,
    load_snapshot,
)
from portmargin.io.history import DroppedDay, HistoryLoad, load_history
from portmargin.io.market_file import is_market_file, load_market_file, load_markets
from portmargin.io.positions import PositionsFile, read_positions

__all__ = [
    "DroppedDay",
    "ExcludedRow",
    "ForwardPick",
    "HistoryLoad",
    "PositionsFile",
    "SnapshotLoad",
    "is_market_file",
    "load_deribit_chain_csv",
    "load_deribit_json",
    "load_history",
    "load_market_file",
    "load_markets",
    "load_snapshot",
    "read_positions",
]
