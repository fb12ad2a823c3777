"""What a cascade round does to the accounts it liquidates: the liquidation hook and full
close (``lifecycle.md`` §9: ``full`` close, or ``partial`` via the §6 engine)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.instruments import Future, Perpetual
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._requirements import Margining
from portmargin.market import MarketSnapshot
from portmargin.risk import Book

__all__ = ["FullClose", "Liquidator", "closing_trades", "delta_one_columns"]


def delta_one_columns(book: Book) -> NDArray[np.bool_]:
    """True for the futures and perpetuals columns of ``book`` (what a cascade trades)."""
    return np.array([isinstance(i, Future | Perpetual) for i in book.instruments], dtype=bool)


def closing_trades(book: Book) -> sp.csr_array:
    """Trades closing every future and perpetual of every account: ``-q``, shape of the book."""
    q = book.quantities
    keep = delta_one_columns(book)[q.indices]
    trades = sp.csr_array(
        (np.where(keep, -q.data, 0.0), q.indices.copy(), q.indptr.copy()), shape=q.shape
    )
    trades.eliminate_zeros()
    return trades


class Liquidator(Protocol):
    """The liquidation step of a cascade round: which trades each liquidated account makes.

    A cascade round calls :meth:`trades` once with every account it liquidates at the round's
    market ``S_r`` whose equity is still positive (accounts with ``E <= 0`` are closed in full
    without asking, ``lifecycle.md`` §11). The cascade then executes every returned trade,
    with the trades of the fully closed accounts, at the round's average execution price of
    its underlying (the net flow's impact, §9), books the realised P&L, collects the penalty
    (capped at positive equity after the trades) and carries the accounts that still hold
    positions into the next round. A partial liquidator (the §6 engine: greedy slices by MM
    released per unit of equity lost, until ``E >= liq_target MM``) plugs in here: it chooses
    slices with its own cost estimate at ``market``; the cascade prices them with the flow of
    the whole round.
    """

    @property
    def mode(self) -> str:
        """Label in reports, e.g. ``"full"`` or ``"partial"``."""
        ...

    def trades(
        self,
        holdings: Holdings,
        market: MarketSnapshot,
        margining: Margining,
        equity: NDArray[np.float64],
        maintenance_margin: NDArray[np.float64],
    ) -> sp.csr_array:
        """Signed quantities to trade, one row per account of ``holdings``.

        Parameters
        ----------
        holdings
            The accounts to liquidate (rows) with every column of the cascade's book.
        market
            The round's market ``S_r``.
        margining
            The run's requirement model.
        equity, maintenance_margin
            ``E`` and ``MM`` of each account at ``market``, USD, shape ``(n,)``; ``E > 0``.

        Returns
        -------
        scipy.sparse.csr_array
            Shape of ``holdings.book.quantities``: coins bought (> 0) or sold (< 0) per
            future or perpetual; reduce-only (opposite sign to the position and not larger);
            zero in every other column.
        """
        ...


class FullClose:
    """``full`` mode: every future and perpetual of a liquidated account is closed at once."""

    @property
    def mode(self) -> str:
        """``"full"``."""
        return "full"

    def trades(
        self,
        holdings: Holdings,
        market: MarketSnapshot,
        margining: Margining,
        equity: NDArray[np.float64],
        maintenance_margin: NDArray[np.float64],
    ) -> sp.csr_array:
        """``-q`` in every future and perpetual column (:func:`closing_trades`)."""
        return closing_trades(holdings.book)
