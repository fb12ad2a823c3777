"""The ``okx-pm`` method object implementing :class:`portmargin.methods.MarginMethod`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portmargin.core import config_from_mapping
from portmargin.market import MarketSnapshot
from portmargin.methods._inputs import NO_INPUTS, AccountInputs, InputSpec, check_inputs
from portmargin.methods.okx_pm._compute import METHOD_NAME, compute
from portmargin.methods.okx_pm._params import OkxParams
from portmargin.methods.okx_pm._spot_unit import SPOT_UNITS
from portmargin.results import MarginBatch
from portmargin.risk import Book

__all__ = ["ACCOUNT_INPUTS", "OkxPM"]

ACCOUNT_INPUTS = (
    InputSpec(
        name="borrowing",
        description="MR8, margin on the account's borrowed funds, added to its MMR",
        default="0",
        unit="USD",
    ),
    InputSpec(
        name="spot_unit",
        description="pre-merge risk unit the account's spot joins ('USD': coin-margined); "
        "only with pre-merge units (pack okx-pm/2024)",
        default="the pack's spot_margin_currency",
        choices=SPOT_UNITS,
    ),
)
"""Per-account inputs of ``okx-pm``."""


class OkxPM:
    """OKX portfolio margin (MR1-MR9 per risk unit, IMR = 1.3 x MMR), USD per account.

    Published pieces follow ``specs/okx-pm.md``; every unpublished piece is a pack parameter
    and is named in each batch's ``notes``. Packs: ``okx-pm/2025`` (merged risk units, MR9,
    the grids since 2025-01-06) and ``okx-pm/2024`` (pre-merge units, no MR9, the earlier
    MR1 and MR6 moves, the pre-merge MR4 form). MR8 (borrowing) and, with pre-merge units,
    the spot unit are per-account inputs (:data:`ACCOUNT_INPUTS`).
    """

    name: str = METHOD_NAME
    description: str = "OKX portfolio margin (MR1-MR9 per risk unit, IMR = 1.3 x MMR)"
    default_pack: str = "okx-pm/2025"
    account_inputs: tuple[InputSpec, ...] = ACCOUNT_INPUTS

    def params_from_mapping(self, data: Mapping[str, Any]) -> OkxParams:
        """Parameters from a parsed pack; unknown keys raise with their key path."""
        return config_from_mapping(OkxParams, data)

    def compute(
        self,
        book: Book,
        market: MarketSnapshot,
        params: OkxParams,
        *,
        inputs: AccountInputs = NO_INPUTS,
    ) -> MarginBatch:
        """Margin of every account of ``book``, USD (see :func:`compute`).

        ``inputs`` (:data:`ACCOUNT_INPUTS`): ``borrowing`` is an account's MR8 (margin on
        borrowed funds, USD, >= 0), added to its MMR (0 when not given); ``spot_unit`` is
        the pre-merge unit an account's spot joins (``"USDT"``, ``"USDC"``, ``"USD"``; the
        pack's ``spot_margin_currency`` when not given).
        """
        check_inputs(self.name, self.account_inputs, inputs)
        borrowing = {a: float(v) for a, v in inputs.per_account("borrowing").items()}
        spot_unit = {a: str(v) for a, v in inputs.per_account("spot_unit").items()}
        return compute(book, market, params, borrowing=borrowing, spot_unit=spot_unit)
