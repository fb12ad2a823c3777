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
    and is named in each batch's ``notes``. Packs: ``okx-pm/2025`` (merged risk units, MR9,
    the grids since 2025-01-06) and ``okx-pm/2024`` (pre-merge units, no MR9, the earlier
    MR1 and MR6 moves, the pre-merge MR4 form). MR8 (borrowing) and, with pre-merge units,
    the spot unit are optional per-account inputs of ``compute``.
    """

    name: str = METHOD_NAME
    description: str = "OKX portfolio margin (MR1-MR9 per risk unit, IMR = 1.3 x MMR)"
    default_pack: str = "okx-pm/2025"

    def params_from_mapping(self, data: Mapping[str, Any]) -> OkxParams:
        """Parameters from a parsed pack; unknown keys raise with their key path."""
        return config_from_mapping(OkxParams, data)

    def compute(
        self,
        book: Book,
        market: MarketSnapshot,
        params: OkxParams,
        *,
        borrowing: Mapping[str, float] | None = None,
        spot_unit: Mapping[str, str] | None = None,
    ) -> MarginBatch:
        """Margin of every account of ``book``, USD (see :func:`compute`).

        ``borrowing`` maps accounts to MR8 (margin on borrowed funds, USD, >= 0), added to
        their MMR; accounts not listed, and all of them when it is None, get 0.
        ``spot_unit`` maps accounts to the pre-merge unit their spot joins (``"USDT"``,
        ``"USDC"``, ``"USD"``); others use the pack's ``spot_margin_currency``.
        """
        return compute(book, market, params, borrowing=borrowing, spot_unit=spot_unit)
