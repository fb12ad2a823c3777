"""lifecycle.md §10.3: three methods, six accounts, shocks of -10 % and -20 %, every printed
figure to its printed precision (full close, all flow to the market, linear impact)."""

from __future__ import annotations

import numpy as np
import pytest
from cascade_support import (
    ACCOUNTS,
    CUSHIONS,
    S0,
    SIZES,
    impact,
    market,
    methods,
    params,
    positions,
)

from portmargin.instruments import Currency, Perpetual, Settlement
from portmargin.lifecycle import (
    CascadeResult,
    EwmaRates,
    NotionalRates,
    compare_cascades,
    max_leverage_population,
)


def close(value: float, printed: float, decimals: int) -> bool:
    """``value`` prints as ``printed`` with ``decimals`` decimals (half-way cases either way)."""
    return abs(value - printed) <= 0.5 * 10.0**-decimals + 1e-9 * max(1.0, abs(printed))


def run(shock: float) -> dict[str, CascadeResult]:
    comparison = compare_cascades(
        positions(), market(), list(methods().values()), params(shock), impact(), cushion=CUSHIONS
    )
    return dict(zip(methods(), comparison.results, strict=True))


@pytest.fixture(scope="module")
def down10() -> dict[str, CascadeResult]:
    return run(-0.10)


@pytest.fixture(scope="module")
def down20() -> dict[str, CascadeResult]:
    return run(-0.20)


def mm_rate(method: str, price: float) -> float:
    m = methods()[method]
    if isinstance(m, EwmaRates):
        return m.mm_rate("BTC", price)
    assert isinstance(m, NotionalRates)
    return m.mm_rates["BTC"]


def test_population_is_btc_linear_perps_with_usdc_deposits() -> None:
    for name, m in methods().items():
        pop = max_leverage_population(positions(), market(), m, CUSHIONS)
        book = pop.holdings.book
        assert book.accounts == ACCOUNTS
        assert set(book.instruments) == {
            Perpetual(underlying="BTC", quote="USDC", settlement=Settlement.LINEAR),
            Currency(code="USDC"),
        }
        im_rate = {"A": 0.05, "B": 0.15, "C": 0.11331375}[name]
        np.testing.assert_allclose(pop.deposits, CUSHIONS * im_rate * S0 * SIZES, rtol=1e-12)
    c = methods()["C"]
    assert isinstance(c, EwmaRates)
    assert close(c.im_rate("BTC"), 0.11331375, 12)


ROUNDS_10 = {
    # method: [(MM rate, liquidated, Q_r, exec, next), ...]
    "A": [
        (0.04, ACCOUNTS[:4], 33_750_000.0, 44_240.63, 43_481.25),
        (0.04, ACCOUNTS[4:5], 4_348_125.0, 43_386.72, 43_292.19),
    ],
    "B": [(0.12, ACCOUNTS[:2], 13_500_000.0, 44_696.25, 44_392.50)],
    "C": [
        (0.117128, ACCOUNTS[:3], 20_250_000.0, 44_544.38, 44_088.75),
        (0.127565, ACCOUNTS[3:4], 13_226_625.0, 43_797.18, 43_505.60),
    ],
}


@pytest.mark.parametrize("method", ["A", "B", "C"])
def test_rounds_at_minus_10(down10: dict[str, CascadeResult], method: str) -> None:
    result = down10[method]
    expected = ROUNDS_10[method]
    assert result.n_rounds == len(expected)
    for rnd, (rate, liquidated, flow, exec_price, next_price) in zip(
        result.rounds, expected, strict=True
    ):
        assert close(mm_rate(method, rnd.price["BTC"]), rate, 6)
        assert rnd.liquidated == liquidated
        assert close(rnd.flow_usd["BTC"], flow, 0)
        assert close(rnd.execution_price["BTC"], exec_price, 2)
        assert close(rnd.next_price["BTC"], next_price, 2)


TOTALS_10 = {
    # rounds, total notional, final, move %, bankrupt, deficits, fund end, min, drawdown, ADL
    "A": (2, 38_098_125.0, 43_292.19, -13.42, 4, 1_394_531.25, 43_481.25, 0.0, 1e6, 394_531.25),
    "B": (1, 13_500_000.0, 44_392.50, -11.21, 0, 0.0, 1_135_000.0, 1e6, 0.0, 0.0),
    "C": (2, 33_476_625.0, 43_505.60, -12.99, 0, 0.0, 1_334_766.25, 1e6, 0.0, 0.0),
}


@pytest.mark.parametrize("method", ["A", "B", "C"])
def test_totals_at_minus_10(down10: dict[str, CascadeResult], method: str) -> None:
    r = down10[method]
    rounds, notional, final, move, bankrupt, deficits, end, low, drawdown, adl = TOTALS_10[method]
    assert r.n_rounds == rounds
    assert close(r.liquidated_notional, notional, 0)
    assert close(r.final_price["BTC"], final, 2)
    assert close(100.0 * r.final_move["BTC"], move, 2)
    assert r.accounts_bankrupt == bankrupt
    assert close(r.deficits, deficits, 2)
    assert close(r.fund_end, end, 2)
    assert close(r.fund_min, low, 2)
    assert close(r.drawdown, drawdown, 2)
    assert close(r.mutualised_loss, adl, 2)
    assert not r.truncated


TOTALS_20 = {
    # rounds, liquidated, bankrupt, total notional, final, fund end, min, drawdown, ADL
    "A": (1, ACCOUNTS, 6, 50_000_000.0, 38_000.00, 0.0, 0.0, 1e6, 5_075_000.0),
    "B": (2, ACCOUNTS[:4], 2, 29_784_000.0, 38_817.12, 657_340.0, 539_500.0, 460_500.0, 0.0),
    "C": (1, ACCOUNTS[:5], 3, 34_000_000.0, 38_640.00, 0.0, 0.0, 1e6, 416_558.12),
}


@pytest.mark.parametrize("method", ["A", "B", "C"])
def test_totals_at_minus_20(down20: dict[str, CascadeResult], method: str) -> None:
    r = down20[method]
    rounds, liquidated, bankrupt, notional, final, end, low, drawdown, adl = TOTALS_20[method]
    assert r.n_rounds == rounds
    assert tuple(a for rnd in r.rounds for a in rnd.liquidated) == liquidated
    assert r.accounts_liquidated == len(liquidated)
    assert r.accounts_bankrupt == bankrupt
    assert close(r.liquidated_notional, notional, 0)
    assert close(r.final_price["BTC"], final, 2)
    assert close(r.fund_end, end, 2)
    assert close(r.fund_min, low, 2)
    assert close(r.drawdown, drawdown, 2)
    assert close(r.mutualised_loss, adl, 2)


def test_dynamic_rate_jumps_at_minus_20(down20: dict[str, CascadeResult]) -> None:
    assert close(mm_rate("C", down20["C"].rounds[0].price["BTC"]), 0.186045, 6)
    assert down20["C"].rounds[0].price["BTC"] == pytest.approx(40_000.0, rel=1e-15)


def test_penalties_and_deficits_are_netted_per_round(down20: dict[str, CascadeResult]) -> None:
    """C at -20 %: deficits 1,576,558.12 less penalties 160,000 exhaust the fund by
    416,558.12 (netting the round's penalties before the fund is tested)."""
    rnd = down20["C"].rounds[0]
    assert close(rnd.deficits, 1_576_558.12, 2)
    assert close(rnd.penalty_income, 160_000.0, 2)
    assert close(rnd.mutualised_loss, 416_558.12, 2)
