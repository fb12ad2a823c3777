"""The ``var`` method object implementing :class:`portmargin.methods.MarginMethod`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portmargin.core import config_from_mapping
from portmargin.market import MarketSnapshot
from portmargin.methods._inputs import InputSpec
from portmargin.methods.var._compute import METHOD_NAME, compute
from portmargin.methods.var._params import VarParams
from portmargin.results import MarginBatch
from portmargin.risk import Book

__all__ = ["VarMargin"]


class VarMargin:
    """Risk-based margin: VaR/ES of HS or FHS scenarios with full revaluation, a capped
    cross-underlying offset and a liquidity add-on (``specs/var-margin.md``).

    Requirements are in USD, one row per account. The scenarios come from the daily close
    history the market carries (``MarketSnapshot.history``).
    """

    name: str = METHOD_NAME
    description: str = "VaR/ES of historical or filtered historical scenarios (full revaluation)"
    default_pack: str = "var/default"
    account_inputs: tuple[InputSpec, ...] = ()

    def params_from_mapping(self, data: Mapping[str, Any]) -> VarParams:
        """Parameters from a parsed pack; unknown keys raise with their key path."""
        return config_from_mapping(VarParams, data)

    def compute(self, book: Book, market: MarketSnapshot, params: VarParams) -> MarginBatch:
        """Margin of every account of ``book`` (see :func:`compute`)."""
        return compute(book, market, params)
