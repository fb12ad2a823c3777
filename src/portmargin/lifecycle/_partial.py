"""``partial`` liquidation mode of a cascade (``lifecycle.md`` §9): the §6 engine chooses
the slices of every account a round liquidates."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.lifecycle._engine import LiquidationEngine
from portmargin.lifecycle._fund import FundBook
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._params import LifecycleParams
from portmargin.lifecycle._requirements import Margining
from portmargin.lifecycle._slippage import Slippage
from portmargin.lifecycle._trades import columns_of, with_settlement_columns
from portmargin.market import MarketSnapshot
from portmargin.risk import price_snapshot

__all__ = ["PartialLiquidation"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PartialLiquidation:
    """A :class:`~portmargin.lifecycle.Liquidator` running the partial liquidation engine.

    At the round's market, each liquidated account sells (or buys back) slices of its
    futures and perpetuals, greedily by MM released per USD of slippage and penalty (its own
    cost estimate with ``slippage``), until ``E >= liq_target MM`` or ``E <= 0``, exactly as
    :func:`~portmargin.lifecycle.liquidate`; the cascade then executes the net trades with
    the whole round's flow.

    Attributes
    ----------
    params
        Lifecycle parameters (slice size, penalty, ``liq_target``, collateral).
    slippage
        The engine's cost estimate of a slice.
    """

    params: LifecycleParams
    slippage: Slippage

    @property
    def mode(self) -> str:
        """``"partial"``."""
        return "partial"

    def trades(
        self,
        holdings: Holdings,
        market: MarketSnapshot,
        margining: Margining,
        equity: NDArray[np.float64],
        maintenance_margin: NDArray[np.float64],
    ) -> sp.csr_array:
        """Net slices of every account (futures and perpetuals only), shape of
        ``holdings.book.quantities`` (see :class:`~portmargin.lifecycle.Liquidator`)."""
        n_columns = len(holdings.book.instruments)
        held = with_settlement_columns(holdings)
        priced = price_snapshot(market, held.book.instruments)
        cols = columns_of(held, priced)
        cols = dataclasses.replace(cols, tradable=cols.tradable & cols.delta_one)
        engine = LiquidationEngine(
            holdings=held,
            market=priced,
            margining=margining,
            params=self.params,
            slippage=self.slippage,
            cols=cols,
            fund=FundBook(0.0),
            rows=np.arange(len(held.accounts), dtype=np.intp),
            equity=np.asarray(equity, dtype=np.float64),
            maintenance=np.asarray(maintenance_margin, dtype=np.float64),
        )
        engine.run()
        start = np.asarray(held.book.quantities.toarray(), dtype=np.float64)
        traded = (engine.q - start)[:, :n_columns]
        traded[:, ~cols.delta_one[:n_columns]] = 0.0
        return sp.csr_array(traded)
