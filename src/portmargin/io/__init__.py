"""Input and output at the edge: venue files, positions files, daily histories, HTML reports.

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
from portmargin.io.positions import PositionsFile, read_positions

__all__ = [
    "DroppedDay",
    "ExcludedRow",
    "ForwardPick",
    "HistoryLoad",
    "PositionsFile",
    "SnapshotLoad",
    "load_deribit_chain_csv",
    "load_deribit_json",
    "load_history",
    "load_snapshot",
    "read_positions",
]
