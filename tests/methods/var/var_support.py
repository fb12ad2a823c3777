"""Markets, histories and parameter packs shared by the ``var`` method tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np

import linear_market_support as lm
from portmargin.data import demo_daily_paths
from portmargin.io import load_history
from portmargin.io.params import read_pack
from portmargin.market import MarketSnapshot, PriceHistory
from portmargin.methods.var import VarMargin, VarParams, var_margin
from portmargin.results import MarginBatch
from portmargin.risk import Book

DATES_9 = np.arange("2021-05-10", "2021-05-20", dtype="datetime64[D]")
"""End dates of the ten scenarios of var-margin.md section 9."""
R_BTC = [-0.0407, 0.0151, -0.1332, 0.0115, 0.0033, -0.0626, -0.0065, -0.0628, -0.0144, -0.1377]
R_ETH = [0.0060, 0.0548, -0.0918, -0.0187, 0.0980, -0.1081, -0.0139, -0.0850, 0.0298, -0.2720]


def params(**changes: Any) -> VarParams:
    """The default pack with top-level keys replaced (``liquidity`` etc. as mappings)."""
    pack = read_pack("var/default")
    pack.update(changes)
    return VarMargin().params_from_mapping(pack)


def history_from_simple_returns(
    returns: Mapping[str, Sequence[float]],
    end: str,
    *,
    calm_days: int = 40,
    volume: float = 1e10,
) -> PriceHistory:
    """Daily closes whose last simple returns are exactly ``returns`` (closes multiply by
    ``1 + r``), preceded by ``calm_days`` days of alternating +-1 % moves (EWMA seed) and with
    a constant USD volume."""
    names = tuple(returns)
    tail = np.array([returns[u] for u in names], dtype=float).T
    calm = np.tile([[0.01], [-0.01]], (calm_days // 2, len(names)))
    simple = np.vstack([calm, tail])
    closes = 100.0 * np.vstack([np.ones((1, len(names))), np.cumprod(1.0 + simple, axis=0)])
    last = np.datetime64(end, "D")
    dates = np.arange(last - closes.shape[0] + 1, last + 1, dtype="datetime64[D]")
    return PriceHistory(
        underlyings=names, dates=dates, closes=closes, volumes=np.full(closes.shape, volume)
    )


def btc_eth_market() -> MarketSnapshot:
    """Linear USDC market with BTC at 50,000 and ETH at 4,000 (section 9)."""
    return lm.market({"BTC": 50_000.0, "ETH": 4_000.0}, days=(30.0,), vol=0.8)


def run_var(
    book: Book,
    market: MarketSnapshot,
    pack: VarParams,
    history: PriceHistory | None = None,
) -> MarginBatch:
    """The ``var`` margin of ``book`` with scenarios from ``history`` (bundled by default)."""
    return var_margin(book, market, pack, bundled_history() if history is None else history)


@cache
def bundled_history() -> PriceHistory:
    """The bundled BTC and ETH daily closes."""
    return load_history(demo_daily_paths()).history
