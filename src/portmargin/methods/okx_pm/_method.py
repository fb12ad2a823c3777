"""The ``okx-pm`` method object implementing :class:`portmargin.methods.MarginMethod`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portmargin.core import config_from_mapping
from portmargin.market import MarketSnapshot
from portmargin.methods.okx_pm._compute import METHOD_NAME, compute
from portmargin.methods.okx_pm._params import OkxParams
from portmargin.results import MarginBatch
from portmargin.risk import Book

__all__ = ["OkxPM"]


class OkxPM:
    """OKX portfolio margin (MR1-MR9 per risk unit, IMR = 1.3 x MMR), USD per account.

    Published pieces follow ``specs/okx-pm.md``; every unpublished piece is a pack parameter
    and is named in each batch's ``notes``.
    """

    name: str = METHOD_NAME
    description: str = "OKX portfolio margin (MR1-MR9 per risk unit, IMR = 1.3 x MMR)"
    default_pack: str = "okx-pm/2025"

    def params_from_mapping(self, data: Mapping[str, Any]) -> OkxParams:
        """Parameters from a parsed pack; unknown keys raise with their key path."""
        return config_from_mapping(OkxParams, data)

    def compute(self, book: Book, market: MarketSnapshot, params: OkxParams) -> MarginBatch:
        """Margin of every account of ``book`` (see :func:`compute`)."""
        return compute(book, market, params)
