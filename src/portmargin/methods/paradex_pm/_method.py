"""The ``paradex-pm`` method object implementing :class:`portmargin.methods.MarginMethod`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portmargin.core import config_from_mapping
from portmargin.market import MarketSnapshot
from portmargin.methods._inputs import InputSpec
from portmargin.methods.paradex_pm._compute import METHOD_NAME, compute
from portmargin.methods.paradex_pm._params import ParadexParams
from portmargin.results import MarginBatch
from portmargin.risk import Book

__all__ = ["ParadexPM"]


class ParadexPM:
    """Paradex portfolio margin: weighted SCAN, minimum delta, funding and fee provisions.

    Requirements are in USD, one row per account (sum over base assets). See
    ``specs/paradex-pm.md``; engine assumptions are listed in each batch's ``notes``.
    """

    name: str = METHOD_NAME
    description: str = "Paradex portfolio margin (24 weighted SCAN scenarios, min delta)"
    default_pack: str = "paradex-pm/2026-05"
    account_inputs: tuple[InputSpec, ...] = ()

    def params_from_mapping(self, data: Mapping[str, Any]) -> ParadexParams:
        """Parameters from a parsed pack; unknown keys raise with their key path."""
        return config_from_mapping(ParadexParams, data)

    def compute(self, book: Book, market: MarketSnapshot, params: ParadexParams) -> MarginBatch:
        """Margin of every account of ``book`` (see :func:`compute`)."""
        return compute(book, market, params)
