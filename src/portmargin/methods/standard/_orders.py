"""Paradex open size and Net IMR of a market with open orders (vectorised kernel)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

__all__ = ["paradex_net_imr", "paradex_open_sizes"]


def paradex_open_sizes(
    position: npt.ArrayLike, buy_orders: npt.ArrayLike, sell_orders: npt.ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Buy and sell open sizes of markets (coins), broadcast shape of the inputs.

    Parameters
    ----------
    position
        Signed position (coins; > 0 long).
    buy_orders, sell_orders
        Total size of resting buy / sell orders (coins, >= 0).

    Returns
    -------
    tuple of numpy.ndarray
        ``max(0, buys + position)`` and ``max(0, sells - position)``.
    """
    q = np.asarray(position, dtype=np.float64)
    buy = np.maximum(np.asarray(buy_orders, dtype=np.float64) + q, 0.0)
    sell = np.maximum(np.asarray(sell_orders, dtype=np.float64) - q, 0.0)
    return buy, sell


def paradex_net_imr(
    position: npt.ArrayLike,
    buy_orders: npt.ArrayLike,
    sell_orders: npt.ArrayLike,
    imf: npt.ArrayLike,
    mark: npt.ArrayLike,
) -> NDArray[np.float64]:
    """Net IMR of perpetual markets with open orders, USD: ``max(buy, sell open size) * IMF *
    mark`` (``mark`` in USD per coin, ``imf`` a fraction); broadcast shape of the inputs."""
    buy, sell = paradex_open_sizes(position, buy_orders, sell_orders)
    result: NDArray[np.float64] = (
        np.maximum(buy, sell) * np.asarray(imf, dtype=np.float64) * np.asarray(mark)
    )
    return result
