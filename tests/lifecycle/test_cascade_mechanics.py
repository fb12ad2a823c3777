"""Cascade mechanics against closed forms: square-root impact, resilience, off-book ADL,
several underlyings, the liquidation hook, accounts set aside, input validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from cascade_support import ACCOUNTS, CUSHIONS, S0, impact, market, methods, params, positions
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.instruments import Currency, Option, OptionType, Perpetual, Settlement
from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import (
    AccountFate,
    CascadeMarket,
    CascadeParams,
    EwmaRates,
    Holdings,
    LinearImpact,
    Margining,
    NotionalRates,
    Requirements,
    SqrtImpact,
    fixed_equity_population,
    max_leverage_population,
    run_cascade,
)
from portmargin.market import MarketSnapshot
from portmargin.risk import Book

PERP_LINEAR = Perpetual(underlying="BTC", quote="USDC", settlement=Settlement.LINEAR)
FLAT_A = NotionalRates(mm_rates={"BTC": 0.04}, im_rates={"BTC": 0.05})


def population_a() -> Holdings:
    return max_leverage_population(positions(), market(), FLAT_A, CUSHIONS).holdings


def test_linear_and_sqrt_impact_closed_forms() -> None:
    lin = LinearImpact(depth_1pct_usd=1e7)
    assert lin.impact(33_750_000.0) == pytest.approx(0.03375, rel=1e-15)
    assert lin.impact(-1e7) == pytest.approx(-0.01, rel=1e-15)
    sq = SqrtImpact(sigma_daily=0.030217, depth_usd=3.598e8)
    assert sq.impact(50e6) == pytest.approx(0.030217 * math.sqrt(50e6 / 3.598e8), rel=1e-15)
    assert sq.impact(-50e6) == -sq.impact(50e6)
    assert sq.impact(0.0) == 0.0
    assert sq.execution_share == pytest.approx(2.0 / 3.0)


def test_sqrt_impact_round() -> None:
    """-20 % under A: all six sold, Q = 50M; I = sigma sqrt(Q/V), exec S(1 - 2I/3)."""
    model = CascadeMarket(impact={"BTC": SqrtImpact(sigma_daily=0.03, depth_usd=2e8)})
    result = run_cascade(population_a(), market(), FLAT_A, params(-0.2), model)
    i = 0.03 * math.sqrt(50e6 / 2e8)
    rnd = result.rounds[0]
    assert rnd.flow_usd["BTC"] == pytest.approx(50e6, rel=1e-15)
    assert rnd.impact["BTC"] == pytest.approx(i, rel=1e-14)
    assert rnd.execution_price["BTC"] == pytest.approx(40_000.0 * (1 - 2 * i / 3), rel=1e-14)
    assert result.final_price["BTC"] == pytest.approx(40_000.0 * (1 - i), rel=1e-14)


def test_resilience_recovers_part_of_the_impact() -> None:
    """rho = 0.5 on B at -10 %: S_2 = P + 0.5 (S_1 - P), P = 45,000 (1 - 0.0135)."""
    m = methods()["B"]
    pop = max_leverage_population(positions(), market(), m, CUSHIONS).holdings
    model = CascadeMarket(impact={"BTC": LinearImpact(depth_1pct_usd=1e7)}, resilience=0.5)
    result = run_cascade(pop, market(), m, params(-0.1), model)
    post = 45_000.0 * (1 - 0.0135)
    assert result.rounds[0].next_price["BTC"] == pytest.approx(post + 0.5 * (45_000.0 - post))
    assert result.n_rounds == 1


def test_adl_offbook_closes_what_the_fund_cannot_cover() -> None:
    """A at -20 %: in id order the fund (1M) covers #1 (estimated deficit 837,500) but not
    #1 + #2; #2-#6 are closed off-book at their bankruptcy price, only #1 trades:
    Q = 4M, I = 0.004, exec 39,920, #1's deficit 745,500; give-ups = -E at 40,000."""
    result = run_cascade(population_a(), market(), FLAT_A, params(-0.2, adl_offbook=True), impact())
    rnd = result.rounds[0]
    assert rnd.offbook == ACCOUNTS[1:]
    assert rnd.flow_usd["BTC"] == pytest.approx(4e6, rel=1e-15)
    assert rnd.execution_price["BTC"] == pytest.approx(39_920.0, rel=1e-15)
    assert rnd.deficits == pytest.approx(745_500.0, rel=1e-12)
    assert result.fund_end == pytest.approx(254_500.0, rel=1e-12)
    give_ups = 1_400_000.0 + 937_500.0 + 1_500_000.0 + 250_000.0 + 0.0
    assert result.mutualised_loss == pytest.approx(give_ups, rel=1e-12)
    assert result.accounts_bankrupt == 6
    assert result.final_price["BTC"] == pytest.approx(39_840.0, rel=1e-15)
    assert np.all(result.outcomes.equity_end[result.outcomes.offbook] == 0.0)


def test_each_underlying_has_its_own_impact() -> None:
    """An ETH liquidation moves ETH only; BTC holders are unaffected by ETH flow."""
    btc = Perpetual(underlying="BTC", quote="USDC", settlement=Settlement.LINEAR)
    eth = Perpetual(underlying="ETH", quote="USDC", settlement=Settlement.LINEAR)
    snap = MarketSnapshot(
        valuation_ms=1_637_712_000_000, index_prices={"BTC": 50_000.0, "ETH": 4_000.0}
    )
    book = Book.from_arrays(
        ["b", "e", "x"],
        [btc, eth],
        np.array([0, 1, 2, 2]),
        np.array([0, 1, 0, 1]),
        np.array([10.0, 1_000.0, -5.0, 10.0]),
    )
    rates = NotionalRates(mm_rates={"BTC": 0.1, "ETH": 0.1}, im_rates={"BTC": 0.1, "ETH": 0.1})
    pop = fixed_equity_population(book, snap, np.array([100_000.0, 100_000.0, 100_000.0]))
    model = CascadeMarket(
        impact={"BTC": LinearImpact(depth_1pct_usd=1e6), "ETH": LinearImpact(depth_1pct_usd=2e6)}
    )
    p = CascadeParams.from_lifecycle(
        load_lifecycle_params(), shock={"ETH": -0.1}, fund_usd=0.0, penalty=0.0
    )
    result = run_cascade(pop.holdings, snap, rates, p, model)
    # "e": E = 100,000 - 400,000 < MM 360,000; "x": E = 100,000 - 40,000 = 60,000 >= MM
    # 0.1 (250,000 + 36,000) = 28,600; "b": untouched
    first = result.rounds[0]
    assert first.liquidated == ("e",)
    assert first.flow_usd == {"BTC": 0.0, "ETH": pytest.approx(3_600_000.0)}
    assert first.impact["BTC"] == 0.0
    assert first.next_price["BTC"] == 50_000.0
    assert first.next_price["ETH"] == pytest.approx(3_600.0 * (1 - 0.018))
    assert result.outcomes.fate[0] == list(AccountFate).index(AccountFate.SURVIVED)


class HalfLiquidator:
    """Sells half of every position (a stand-in for the §6 engine in tests of the hook)."""

    @property
    def mode(self) -> str:
        return "half"

    def trades(
        self,
        holdings: Holdings,
        market: MarketSnapshot,
        margining: Margining,
        equity: NDArray[np.float64],
        maintenance_margin: NDArray[np.float64],
    ) -> sp.csr_array:
        q = holdings.book.quantities
        keep = np.array([not isinstance(i, Currency) for i in holdings.book.instruments])
        return sp.csr_array(
            (np.where(keep[q.indices], -0.5 * q.data, 0.0), q.indices.copy(), q.indptr.copy()),
            shape=q.shape,
        )


def test_liquidator_hook_carries_reduced_accounts_into_the_next_round() -> None:
    m = methods()["B"]
    pop = max_leverage_population(positions(), market(), m, CUSHIONS).holdings
    result = run_cascade(pop, market(), m, params(-0.1), impact(), HalfLiquidator())
    assert result.mode == "half"
    first = result.rounds[0]
    # #1 and #2 (E > 0) sell half: Q = 45,000 x 150
    assert first.liquidated == ACCOUNTS[:2]
    assert first.flow_usd["BTC"] == pytest.approx(45_000.0 * 150.0)
    # #1 keeps 50 BTC; at S_2 = 44,696.25 it is below MM again and sells 25 more
    second = result.rounds[1]
    assert second.liquidated == ("#1",)
    assert second.flow_usd["BTC"] == pytest.approx(25.0 * 44_696.25)
    assert result.n_rounds == 2
    reduced = list(AccountFate).index(AccountFate.REDUCED)
    assert result.outcomes.fate.tolist()[:2] == [reduced, reduced]


class GrowingLiquidator(HalfLiquidator):
    def trades(self, holdings, market, margining, equity, maintenance_margin):  # type: ignore[no-untyped-def]
        return -super().trades(holdings, market, margining, equity, maintenance_margin)


def test_liquidator_must_reduce() -> None:
    m = methods()["B"]
    pop = max_leverage_population(positions(), market(), m, CUSHIONS).holdings
    with pytest.raises(ValidationError, match="reducing trade"):
        run_cascade(pop, market(), m, params(-0.1), impact(), GrowingLiquidator())


def test_accounts_with_options_are_set_aside_and_the_rest_run() -> None:
    option = Option(
        underlying="BTC",
        expiry_ms=1_640_332_800_000,
        strike=50_000.0,
        option_type=OptionType.CALL,
    )
    pop = population_a()
    book = pop.book
    extra = Book.from_arrays(
        (*book.accounts, "#7"),
        (*book.instruments, option),
        np.concatenate([book.quantities.tocoo().row, [6]]).astype(np.intp),
        np.concatenate([book.quantities.tocoo().col, [len(book.instruments)]]).astype(np.intp),
        np.concatenate([book.quantities.tocoo().data, [1.0]]),
    )
    holdings = Holdings(book=extra, reference=np.concatenate([pop.reference, [np.nan]]))
    result = run_cascade(holdings, market(), FLAT_A, params(-0.1), impact())
    assert list(result.outcomes.errors) == ["#7"]
    assert "futures and perpetuals" in result.outcomes.errors["#7"]
    assert result.outcomes.count(AccountFate.ERROR) == 1
    assert result.liquidated_notional == pytest.approx(38_098_125.0)


def test_accounts_a_method_cannot_margin_are_reported() -> None:
    only_eth = NotionalRates(mm_rates={"ETH": 0.1}, im_rates={"ETH": 0.1})
    result = run_cascade(population_a(), market(), only_eth, params(-0.1), impact())
    assert set(result.outcomes.errors) == set(ACCOUNTS)
    assert result.n_rounds == 0


def test_inverse_perpetual_with_coin_collateral() -> None:
    """Long 100,000 USD of BTC inverse perp (2 coins at 50,000) with 0.2 BTC collateral; a
    -20 % shock: P&L 100,000 (1/50,000 - 1/40,000) = -0.5 BTC; E = -0.3 BTC < 0: closed,
    flow = the USD face 100,000 and the deficit in USD at the execution price."""
    inv = Perpetual(underlying="BTC")
    book = Book.from_arrays(
        ["i"],
        [inv, Currency(code="BTC")],
        np.array([0, 0]),
        np.array([0, 1]),
        np.array([2.0, 0.2]),
    )
    holdings = Holdings.settled(book, market())
    rates = NotionalRates(mm_rates={"BTC": 0.05}, im_rates={"BTC": 0.1})
    p = CascadeParams(
        shock={"BTC": -0.2},
        fund_usd=1e6,
        collateral=load_lifecycle_params().collateral,
        penalty=0.0,
    )
    result = run_cascade(holdings, market(), rates, p, impact())
    rnd = result.rounds[0]
    assert rnd.flow_usd["BTC"] == pytest.approx(100_000.0)
    i = 0.01 * 100_000.0 / 1e7
    exec_price = 40_000.0 * (1 - i / 2)
    coins = 0.2 + 100_000.0 * (1 / S0 - 1 / exec_price)
    assert coins < 0
    # a negative coin balance is not haircut: the deficit is its USD value at S_r
    assert result.deficits == pytest.approx(-coins * 40_000.0, rel=1e-12)


def test_ewma_rates_and_params_validate() -> None:
    with pytest.raises(ValidationError, match="reference"):
        EwmaRates(sigma0={"BTC": 0.03}, reference={"ETH": 4000.0})
    with pytest.raises(ValidationError, match="cap"):
        EwmaRates(sigma0={"BTC": 0.03}, reference={"BTC": 1.0}, floor=0.5, cap=0.4)
    with pytest.raises(ValidationError, match="resilience"):
        CascadeMarket(impact={"BTC": LinearImpact(depth_1pct_usd=1.0)}, resilience=1.5)
    with pytest.raises(ValidationError, match="depth_1pct_usd"):
        LinearImpact(depth_1pct_usd=0.0)
    with pytest.raises(ValidationError, match="max_rounds"):
        params_with_rounds(0)
    with pytest.raises(ValidationError, match="impact"):
        run_cascade(
            population_a(),
            market(),
            FLAT_A,
            params(-0.1),
            CascadeMarket(impact={"ETH": LinearImpact(depth_1pct_usd=1.0)}),
        )


def params_with_rounds(rounds: int) -> CascadeParams:
    return CascadeParams(
        shock={"BTC": -0.1},
        fund_usd=0.0,
        collateral=load_lifecycle_params().collateral,
        max_rounds=rounds,
    )


def test_max_rounds_truncates() -> None:
    p = CascadeParams.from_lifecycle(
        load_lifecycle_params(), shock={"BTC": -0.1}, fund_usd=1e6, penalty=0.01, max_rounds=1
    )
    result = run_cascade(population_a(), market(), FLAT_A, p, impact())
    assert result.n_rounds == 1
    assert result.truncated


def test_sqrt_impact_from_the_bundled_history() -> None:
    """var-margin.md §3.3 and §7 on the project data at 2021-11-24: sigma_now 0.030217 (BTC)
    and 0.039634 (ETH); unrounded inputs give the BTC add-on 575,702.12 for Q = 50M."""
    from portmargin.data import demo_daily_paths
    from portmargin.io import load_history
    from portmargin.lifecycle import ewma_daily_vol

    history = load_history(demo_daily_paths()).history
    assert round(ewma_daily_vol(history, "BTC", "2021-11-24"), 6) == 0.030217
    assert round(ewma_daily_vol(history, "ETH", "2021-11-24"), 6) == 0.039634
    model = SqrtImpact.from_history(history, "BTC", "2021-11-24")
    assert round(50e6 * (0.0005 / 2 + model.impact(50e6)), 2) == 575_702.12


class CountingMargining:
    """Wraps a margining and records the size of every batch it is asked for."""

    def __init__(self, inner: Margining) -> None:
        self.inner = inner
        self.batches: list[int] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def requirements(self, book: Book, market: MarketSnapshot) -> Requirements:
        self.batches.append(len(book.accounts))
        return self.inner.requirements(book, market)


def test_one_batch_per_round_over_the_surviving_book() -> None:
    counting = CountingMargining(FLAT_A)
    result = run_cascade(population_a(), market(), counting, params(-0.1), impact())
    # rounds 1 and 2 liquidate 4 then 1 account; the third assessment finds none
    assert result.n_rounds == 2
    assert counting.batches == [6, 2, 1]


def test_registered_method_through_the_batch_engine() -> None:
    """A registered method (standard, bundled parameters) margins every round."""
    from portmargin.io.params import load_params
    from portmargin.lifecycle import MethodMargining
    from portmargin.methods import get_method

    method = get_method("standard")
    margining = MethodMargining(method=method, params=load_params(method))
    pop = max_leverage_population(positions(), market(), margining, CUSHIONS)
    assert not pop.errors
    result = run_cascade(pop.holdings, market(), margining, params(-0.2), impact())
    assert result.n_rounds >= 1
    assert result.outcomes.count(AccountFate.ERROR) == 0
    assert result.accounts_liquidated >= 1


def test_fixed_equity_gives_every_method_the_same_deposits() -> None:
    from portmargin.lifecycle import PopulationKind, compare_cascades

    comparison = compare_cascades(
        positions(),
        market(),
        [methods()["A"], methods()["B"]],
        params(-0.1),
        impact(),
        population=PopulationKind.FIXED_EQUITY,
        deposits=1_000_000.0,
    )
    a, b = comparison.results
    # same equity: E = 1M - 5,000 n at 45,000; the higher MM rate liquidates more
    assert a.accounts_liquidated <= b.accounts_liquidated
    rows = dict(comparison.table())
    assert rows["accounts"] == [6, 6]


def test_a_flow_the_market_cannot_absorb_is_an_error() -> None:
    shallow = CascadeMarket(impact={"BTC": LinearImpact(depth_1pct_usd=100_000.0)})
    with pytest.raises(ValidationError, match="price would reach 0"):
        run_cascade(population_a(), market(), FLAT_A, params(-0.2), shallow)


def test_short_squeeze_buys_push_the_price_up() -> None:
    """Short 100 BTC with 262,500 USDC, +10 %: E = -237,500, closed by buying 5.5M USD:
    I = -0.0055, execution 55,000 (1 + 0.00275) = 55,151.25, next 55,302.50, deficit
    100 (55,151.25 - 50,000) - 262,500 = 252,625."""
    book = Book.from_arrays(["s"], [PERP_LINEAR], np.array([0]), np.array([0]), np.array([-100.0]))
    pop = fixed_equity_population(book, market(), 262_500.0)
    p = CascadeParams.from_lifecycle(
        load_lifecycle_params(), shock={"BTC": 0.1}, fund_usd=0.0, penalty=0.01
    )
    result = run_cascade(pop.holdings, market(), FLAT_A, p, impact())
    rnd = result.rounds[0]
    assert rnd.flow_usd["BTC"] == pytest.approx(-5_500_000.0)
    assert rnd.impact["BTC"] == pytest.approx(-0.0055)
    assert rnd.execution_price["BTC"] == pytest.approx(55_151.25)
    assert rnd.next_price["BTC"] == pytest.approx(55_302.5)
    assert result.deficits == pytest.approx(252_625.0)
    assert result.mutualised_loss == pytest.approx(252_625.0)
    assert result.fund_end == 0.0
