"""lifecycle.md §7: bankruptcy price, auto-deleveraging, insurance fund, socialised loss;
§11: bankrupt before any liquidation, isolated positions."""

from __future__ import annotations

import numpy as np
import pytest

from portmargin.instruments import parse_instrument
from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import (
    AccountState,
    FixedSlippage,
    FundFlowKind,
    Holdings,
    LiquidationOutcome,
    LiquidationRun,
    NotionalRates,
    account_values,
    isolate,
    liquidate,
    socialised_haircut,
)
from portmargin.market import MarketSnapshot
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book, moved_market

MARKET = MarketSnapshot(valuation_ms=1_637_712_000_000, index_prices={"BTC": 50_000.0})
AT_40K = moved_market(MARKET, {"BTC": -0.2})
RATES = NotionalRates(mm_rates={"BTC": 0.10}, im_rates={"BTC": 0.125})
NO_SLIPPAGE = FixedSlippage(rates_by_key={})
PERP = "BTC_USDC-PERPETUAL"
ADL = load_lifecycle_params()
SOCIALISED = load_lifecycle_params(overrides=("liquidation.loss_mutualisation=socialised",))


def _book(accounts: dict[str, list[tuple[str, float]]]) -> Book:
    return Book.from_portfolios(
        [
            Portfolio(
                account=a,
                positions=tuple(
                    Position(instrument=parse_instrument(n), quantity=q) for n, q in held
                ),
            )
            for a, held in accounts.items()
        ]
    )


def _holdings(accounts: dict[str, list[tuple[str, float]]], entries: dict[str, float]) -> Holdings:
    """Positions opened at ``entries[account]`` (BTC perp), balances as given."""
    book = _book(accounts)
    perp = [i.name for i in book.instruments].index(PERP)
    q = book.quantities
    rows = np.repeat(np.arange(len(book.accounts)), np.diff(q.indptr))
    entry = np.where(
        q.indices == perp, [entries.get(book.accounts[r], np.nan) for r in rows], np.nan
    )
    return Holdings.from_entries(book, entry, MARKET)


def _population() -> Holdings:
    # B: long 1 BTC from 50,000 with 5,000 USDC -> E = -5,000 at 40,000 (bankrupt)
    # C1: short 0.6 from 50,000, 10,000 USDC -> uPnL 6,000, E 16,000, score 0.2 * 24,000/16,000
    # C2: short 1 from 48,000, 100,000 USDC -> 98,000 USDC settled at 50,000, uPnL since then
    #     10,000, E 108,000, score 0.2 * 40,000/108,000
    return _holdings(
        {
            "B": [("USDC", 5_000.0), (PERP, 1.0)],
            "C1": [("USDC", 10_000.0), (PERP, -0.6)],
            "C2": [("USDC", 100_000.0), (PERP, -1.0)],
        },
        {"B": 50_000.0, "C1": 50_000.0, "C2": 48_000.0},
    )


def _equity(run: LiquidationRun) -> dict[str, float]:
    values = account_values(run.holdings, AT_40K, ADL.collateral)
    return dict(zip(values.accounts, values.equity.tolist(), strict=True))


def _position(run: LiquidationRun, account: str, name: str) -> float:
    book = run.holdings.book
    row = book.quantities.toarray()[book.accounts.index(account)]
    return float(row[[i.name for i in book.instruments].index(name)])


@pytest.mark.parametrize(
    ("q", "usdc", "mark"),
    [(1.0, 5_000.0, 40_000.0), (2.0, 15_000.0, 40_000.0), (-1.0, 3_000.0, 55_000.0)],
)
def test_single_linear_position_bankruptcy_price(q: float, usdc: float, mark: float) -> None:
    # P_b = mark - E / (q m): the bankrupt account's equity is exactly 0 at P_b
    held = _holdings(
        {"B": [("USDC", usdc), (PERP, q)], "C": [("USDC", 100_000.0), (PERP, -3.0 * q)]},
        {"B": 50_000.0, "C": 50_000.0},
    )
    market = moved_market(MARKET, {"BTC": mark / 50_000.0 - 1.0})
    run = liquidate(held, market, RATES, ADL, slippage=NO_SLIPPAGE, fund_usd=0.0)
    (event,) = run.bankruptcies
    e = usdc + q * (mark - 50_000.0)
    assert e < 0
    assert event.equity_usd == pytest.approx(e)
    assert event.resolution == "adl"
    (trade,) = event.adl
    assert trade.price == pytest.approx(mark - e / q)
    assert trade.quantity == pytest.approx(abs(q))
    assert trade.give_up_usd == pytest.approx(-e)
    values = account_values(run.holdings, market, ADL.collateral)
    assert values.equity[values.accounts.index("B")] == pytest.approx(0.0, abs=1e-6)


def test_adl_ranks_counterparties_and_zeroes_the_bankrupt() -> None:
    run = liquidate(_population(), AT_40K, RATES, ADL, slippage=NO_SLIPPAGE, fund_usd=0.0)
    assert run.assessment.state_of("B") is AccountState.BANKRUPT
    (summary,) = run.accounts
    assert summary.outcome is LiquidationOutcome.BANKRUPT
    assert summary.steps == 0  # E <= 0 before liquidation: straight to the waterfall
    (event,) = run.bankruptcies
    assert [(t.counterparty, round(t.quantity, 12)) for t in event.adl] == [
        ("C1", 0.6),
        ("C2", 0.4),
    ]
    assert [round(t.give_up_usd, 6) for t in event.adl] == [3_000.0, 2_000.0]
    assert event.mutualised_loss_usd == pytest.approx(5_000.0)
    assert run.mutualised_loss_usd == pytest.approx(5_000.0)
    assert event.fund_paid_usd == 0.0
    equity = _equity(run)
    assert equity["B"] == pytest.approx(0.0, abs=1e-6)
    assert equity["C1"] == pytest.approx(16_000.0 - 3_000.0)
    assert equity["C2"] == pytest.approx(108_000.0 - 2_000.0)
    assert _position(run, "B", PERP) == 0.0
    assert _position(run, "C1", PERP) == 0.0
    assert _position(run, "C2", PERP) == pytest.approx(-0.6)


def test_adl_ties_by_account_id() -> None:
    held = _holdings(
        {
            "B": [("USDC", 5_000.0), (PERP, 1.0)],
            "Y": [("USDC", 10_000.0), (PERP, -1.0)],
            "X": [("USDC", 10_000.0), (PERP, -1.0)],
        },
        {"B": 50_000.0, "X": 50_000.0, "Y": 50_000.0},
    )
    run = liquidate(held, AT_40K, RATES, ADL, slippage=NO_SLIPPAGE)
    assert [t.counterparty for t in run.bankruptcies[0].adl] == ["X"]


def test_fund_covers_the_deficit_when_it_can() -> None:
    run = liquidate(_population(), AT_40K, RATES, ADL, slippage=NO_SLIPPAGE, fund_usd=10_000.0)
    (event,) = run.bankruptcies
    assert event.resolution == "market"
    assert event.estimated_deficit_usd == pytest.approx(5_000.0)
    assert event.fund_paid_usd == pytest.approx(5_000.0)
    assert event.mutualised_loss_usd == 0.0
    assert run.fund.balance_usd == pytest.approx(5_000.0)
    assert [f.kind for f in run.fund.flows] == [FundFlowKind.DEFICIT]
    assert _equity(run)["B"] == pytest.approx(0.0, abs=1e-6)


def test_socialised_haircut_of_profits() -> None:
    # X = 5,000, fund 1,000 -> X' = 4,000 over profits since settlement 6,000 + 10,000
    run = liquidate(
        _population(), AT_40K, RATES, SOCIALISED, slippage=NO_SLIPPAGE, fund_usd=1_000.0
    )
    (event,) = run.bankruptcies
    assert event.resolution == "market"
    assert event.fund_paid_usd == pytest.approx(1_000.0)
    assert event.haircut == pytest.approx(4_000.0 / 16_000.0)
    assert event.haircut == pytest.approx(
        socialised_haircut(4_000.0, np.array([6_000.0, 10_000.0, -1.0]))
    )
    assert event.mutualised_loss_usd == pytest.approx(4_000.0)
    assert event.unrecovered_usd == pytest.approx(0.0, abs=1e-9)
    equity = _equity(run)
    assert equity["C1"] == pytest.approx(16_000.0 - 6_000.0 * 0.25)
    assert equity["C2"] == pytest.approx(108_000.0 - 10_000.0 * 0.25)
    assert equity["B"] == pytest.approx(0.0, abs=1e-6)
    assert run.fund.balance_usd == 0.0


@pytest.mark.parametrize(
    ("deficit", "profits", "expected"),
    [(4.0, [6.0, 8.0], 4 / 14), (20.0, [6.0, 8.0], 1.0), (0.0, [6.0], 0.0), (5.0, [-1.0], 0.0)],
)
def test_socialised_haircut_closed_form(
    deficit: float, profits: list[float], expected: float
) -> None:
    assert socialised_haircut(deficit, np.array(profits)) == pytest.approx(expected)


def test_isolated_position_deficit_goes_to_the_fund_not_the_pool() -> None:
    held = _holdings(
        {"P": [("USDC", 100_000.0), (PERP, 1.0)], "C": [("USDC", 50_000.0), (PERP, -1.0)]},
        {"P": 50_000.0, "C": 50_000.0},
    )
    held = isolate(held, {("P", PERP): 5_000.0})
    run = liquidate(held, AT_40K, RATES, ADL, slippage=NO_SLIPPAGE, fund_usd=2_000.0)
    unit = f"P/isolated/{PERP}"
    assert [a.account for a in run.accounts] == [unit]
    (event,) = run.bankruptcies
    assert event.account == unit
    assert event.resolution == "market"
    assert event.fund_paid_usd == pytest.approx(2_000.0)
    assert event.mutualised_loss_usd == pytest.approx(3_000.0)  # socialised beyond the fund
    equity = _equity(run)
    assert equity["P"] == pytest.approx(95_000.0)  # the cross pool keeps its own money
    assert equity[unit] == pytest.approx(0.0, abs=1e-6)
    assert equity["C"] == pytest.approx(60_000.0 - 3_000.0)


def test_inverse_position_closed_at_its_bankruptcy_price() -> None:
    # 0.2 BTC of BTC-PERPETUAL (10,000 USD face) with 0.01 BTC: at 40,000 the coin balance
    # is 0.01 + 10,000 (1/50,000 - 1/40,000) = -0.04 BTC, E = -1,600 USD
    book = _book(
        {"B": [("BTC", 0.01), ("BTC-PERPETUAL", 0.2)], "C": [("BTC", 1.0), ("BTC-PERPETUAL", -0.5)]}
    )
    held = Holdings.settled(book, MARKET)
    run = liquidate(held, AT_40K, RATES, ADL, slippage=NO_SLIPPAGE)
    (event,) = run.bankruptcies
    assert event.equity_usd == pytest.approx(-1_600.0)
    assert event.resolution == "adl"
    (trade,) = event.adl
    assert trade.quantity == pytest.approx(0.2)
    # face N bought back at P_b: N (1/P_b - 1/40,000) BTC worth 1,600 USD at 40,000
    assert 10_000.0 * (1 / trade.price - 1 / 40_000.0) * 40_000.0 == pytest.approx(-1_600.0)
    assert trade.give_up_usd == pytest.approx(1_600.0)
    assert _equity(run)["B"] == pytest.approx(0.0, abs=1e-6)


def test_adl_remainder_without_counterparties_goes_to_fund_then_profits() -> None:
    two = MarketSnapshot(
        valuation_ms=MARKET.valuation_ms, index_prices={"BTC": 50_000.0, "ETH": 4_000.0}
    )
    book = _book(
        {
            "B": [("USDC", 5_000.0), (PERP, 1.0)],
            "C": [("USDC", 10_000.0), (PERP, -0.25)],
            "D": [("USDC", 10_000.0), ("ETH_USDC-PERPETUAL", 1.0)],
        }
    )
    held = Holdings.settled(book, two)
    rates = NotionalRates(mm_rates={"BTC": 0.1, "ETH": 0.1}, im_rates={"BTC": 0.1, "ETH": 0.1})
    market = moved_market(two, {"BTC": -0.2, "ETH": 0.1})
    run = liquidate(held, market, rates, ADL, slippage=NO_SLIPPAGE, fund_usd=100.0)
    (event,) = run.bankruptcies
    assert event.resolution == "adl"
    (trade,) = event.adl
    assert (trade.counterparty, trade.quantity, trade.price) == ("C", 0.25, 45_000.0)
    # C gives up 0.25 (45,000 - 40,000); the other 0.75 closes at the mark, leaving 3,750 of
    # the 5,000 deficit: the fund pays 100, D's ETH profit (400) is haircut whole (h = 1)
    assert trade.give_up_usd == pytest.approx(1_250.0)
    assert event.deficit_usd == pytest.approx(3_750.0)
    assert event.fund_paid_usd == pytest.approx(100.0)
    assert event.haircut == 1.0
    assert event.mutualised_loss_usd == pytest.approx(1_250.0 + 400.0)
    assert event.unrecovered_usd == pytest.approx(3_750.0 - 100.0 - 400.0)
    values = account_values(run.holdings, market, ADL.collateral)
    equity = dict(zip(values.accounts, values.equity.tolist(), strict=True))
    assert equity["D"] == pytest.approx(10_000.0)
    assert equity["B"] == pytest.approx(-event.unrecovered_usd)
