"""Input and output at the edge: venue files, positions files, HTML reports.

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
from portmargin.io.positions import PositionsFile, read_positions

__all__ = [
    "ExcludedRow",
    "ForwardPick",
    "PositionsFile",
    "SnapshotLoad",
    "load_deribit_chain_csv",
    "load_deribit_json",
    "load_snapshot",
    "read_positions",
]
