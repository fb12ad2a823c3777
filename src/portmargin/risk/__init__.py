"""Risk arrays and books: instruments priced once per scenario, accounts as sparse rows;
VaR and ES of loss matrices; markets moved along a direction or under a stress scenario."""

from portmargin.risk._accounts import Equity, account_equity, oversized_accounts, unsettled_pnl
from portmargin.risk._array import (
    BLACK76,
    Black76Model,
    MertonJumps,
    MertonModel,
    RevaluationModel,
    RiskArray,
    build_risk_array,
    unit_values,
)
from portmargin.risk._book import Book, row_entries
from portmargin.risk._measures import TailRisk, TailSize, tail_risk, tail_size, var_es
from portmargin.risk._moved import moved_market
from portmargin.risk._prepare import (
    PreparedBook,
    group_columns,
    prepare_book,
    scenario_pnl,
    set_aside,
)
from portmargin.risk._priced import PricedSnapshot, price_snapshot, resolve_instruments
from portmargin.risk._stressed import stressed_market
from portmargin.risk._table import STABLECOINS, InstrumentTable, Kind, with_expired_at_intrinsic
from portmargin.risk._worst import (
    ScenarioExplainer,
    WorstLoss,
    group_totals,
    worst_group,
    worst_loss,
)

__all__ = [
    "BLACK76",
    "STABLECOINS",
    "Black76Model",
    "Book",
    "Equity",
    "InstrumentTable",
    "Kind",
    "MertonJumps",
    "MertonModel",
    "PreparedBook",
    "PricedSnapshot",
    "RevaluationModel",
    "RiskArray",
    "ScenarioExplainer",
    "TailRisk",
    "TailSize",
    "WorstLoss",
    "account_equity",
    "build_risk_array",
    "group_columns",
    "group_totals",
    "moved_market",
    "oversized_accounts",
    "prepare_book",
    "price_snapshot",
    "resolve_instruments",
    "row_entries",
    "scenario_pnl",
    "set_aside",
    "stressed_market",
    "tail_risk",
    "tail_size",
    "unit_values",
    "unsettled_pnl",
    "var_es",
    "with_expired_at_intrinsic",
    "worst_group",
    "worst_loss",
]
