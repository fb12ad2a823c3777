"""Speed of the liquidation engine: many accounts liquidated in one run.

Run: ``python benchmarks/bench_liquidation.py [accounts] [move] [method]`` (default 1,000
accounts, BTC moved by -12 % and ETH by 1.25 times that, ``rates``: MM 10 % BTC / 15 % ETH
of notional; or a registered method name such as ``standard``). Each account holds USDC,
1 BTC of collateral and long BTC and ETH linear perpetuals. Prints seconds, accounts
liquidated, outcomes and steps as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

import numpy as np

from portmargin.instruments import parse_instrument
from portmargin.io.params import load_lifecycle_params, load_params
from portmargin.lifecycle import (
    FixedSlippage,
    Holdings,
    Margining,
    MethodMargining,
    NotionalRates,
    liquidate,
)
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book, moved_market

MARKET = MarketSnapshot(
    valuation_ms=1_637_712_000_000, index_prices={"BTC": 50_000.0, "ETH": 4_000.0}
)


def _holdings(n: int) -> Holdings:
    rng = np.random.default_rng(1)
    portfolios = []
    for k in range(n):
        held = [
            ("USDC", rng.uniform(25_000, 40_000)),
            ("BTC", 1.0),
            ("BTC_USDC-PERPETUAL", rng.uniform(2, 6)),
            ("ETH_USDC-PERPETUAL", rng.uniform(20, 60)),
        ]
        positions = tuple(Position(instrument=parse_instrument(a), quantity=q) for a, q in held)
        portfolios.append(Portfolio(account=f"a{k:06d}", positions=positions))
    return Holdings.settled(Book.from_portfolios(portfolios), MARKET)


def _margining(name: str) -> Margining:
    if name == "rates":
        return NotionalRates(
            mm_rates={"BTC": 0.10, "ETH": 0.15}, im_rates={"BTC": 0.125, "ETH": 0.1875}
        )
    method = get_method(name)
    return MethodMargining(method=method, params=load_params(method))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    move = float(sys.argv[2]) if len(sys.argv) > 2 else -0.12
    name = sys.argv[3] if len(sys.argv) > 3 else "rates"
    holdings = _holdings(n)
    market = moved_market(MARKET, {"BTC": move, "ETH": 1.25 * move})
    start = time.perf_counter()
    run = liquidate(
        holdings,
        market,
        _margining(name),
        load_lifecycle_params(),
        slippage=FixedSlippage(rates_by_key={"BTC": 0.002, "ETH": 0.004}),
        fund_usd=1_000_000.0,
    )
    seconds = time.perf_counter() - start
    outcomes = Counter(a.outcome.value for a in run.accounts)
    print(
        json.dumps(
            {
                "accounts": n,
                "margining": name,
                "seconds": round(seconds, 3),
                "liquidated": len(run.accounts),
                "outcomes": dict(outcomes),
                "steps": len(run.steps),
                "max_steps": max((a.steps for a in run.accounts), default=0),
                "bankruptcies": len(run.bankruptcies),
                "errors": len(run.errors),
            }
        )
    )


if __name__ == "__main__":
    main()
