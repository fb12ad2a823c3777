"""Stressed account results (stress-and-dynamics.md A.1): E_s by full revaluation with haircuts
on the stressed balances, MM_s at the stressed market, breach and default flags; expiry
settlement within the horizon; stablecoin de-peg; bad accounts reported."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from linear_market_support import expiry_ms, linear_future, market, option
from portmargin.analysis import sample_portfolios
from portmargin.core import ValidationError
from portmargin.data import demo_chain_path
from portmargin.instruments import Currency, format_expiry, parse_instrument
from portmargin.io.deribit import load_deribit_chain_csv
from portmargin.io.params import load_lifecycle_params, load_params
from portmargin.io.stress import load_stress_library
from portmargin.lifecycle import (
    Holdings,
    MethodMargining,
    NotionalRates,
    account_values,
    expiry_settled,
    stress_accounts,
)
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book, stressed_market
from portmargin.scenarios import StressScenario

MARKET = MarketSnapshot(
    valuation_ms=1_637_712_000_000, index_prices={"BTC": 50_000.0, "ETH": 4_000.0}
)
RATES = NotionalRates(mm_rates={"BTC": 0.10, "ETH": 0.15}, im_rates={"BTC": 0.125, "ETH": 0.1875})
COLLATERAL = load_lifecycle_params().collateral
LIBRARY = load_stress_library()


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


def _scenario(**changes: Any) -> StressScenario:
    fields: dict[str, Any] = {
        "id": "T",
        "label": "t",
        "kind": "hypothetical",
        "horizon_days": 1,
        "spot_shock": {},
        "source": "test",
    }
    return StressScenario(**{**fields, **changes})


EXAMPLE = {  # lifecycle.md §10.1
    "A": [
        ("USDC", 30_000.0),
        ("BTC", 1.0),
        ("BTC_USDC-PERPETUAL", 4.0),
        ("ETH_USDC-PERPETUAL", 30.0),
    ]
}


def test_worked_example_under_every_scenario_of_the_library() -> None:
    holdings = Holdings.settled(_book(EXAMPLE), MARKET)
    result = stress_accounts(holdings, MARKET, RATES, COLLATERAL, LIBRARY.scenarios)
    assert result.scenario_ids == LIBRARY.ids
    for k, s in enumerate(LIBRARY.scenarios):
        sb, se = s.spot_shock["BTC"], s.spot_shock["ETH"]
        bb, be = s.basis_shock.get("BTC", 0.0), s.basis_shock.get("ETH", 0.0)
        perp_b = 50_000 * (1 + sb) * (1 + bb)
        perp_e = 4_000 * (1 + se) * (1 + be)
        coin = 50_000 * (1 + sb)  # 1 BTC collateral, 5 % haircut (below 1M USD)
        equity = 30_000 + 0.95 * coin + 4 * (perp_b - 50_000) + 30 * (perp_e - 4_000)
        mm = 0.10 * 4 * perp_b + 0.15 * 30 * perp_e
        assert result.equity[k, 0] == pytest.approx(equity, abs=1e-6), s.id
        assert result.maintenance_margin[k, 0] == pytest.approx(mm, abs=1e-6), s.id
        assert result.breach[k, 0] == (equity < mm)
        assert result.default[k, 0] == (equity < 0)


def test_exchange_collapse_by_hand() -> None:
    holdings = Holdings.settled(_book(EXAMPLE), MARKET)
    scen = LIBRARY.get("HYP-EXCHANGE-COLLAPSE")
    result = stress_accounts(holdings, MARKET, RATES, COLLATERAL, [scen])
    # 30,000 + 0.95 x 37,500 + 4 x (-12,500) + 30 x (-1,200)
    assert result.equity[0, 0] == pytest.approx(-20_375.0)
    assert result.maintenance_margin[0, 0] == pytest.approx(27_600.0)
    assert result.breach[0, 0]
    assert result.default[0, 0]
    assert result.loss_beyond_collateral[0, 0] == pytest.approx(20_375.0)


def test_haircuts_apply_to_the_stressed_balance_not_to_the_pnl() -> None:
    holdings = Holdings.settled(_book({"coins": [("BTC", 30.0)]}), MARKET)
    scen = _scenario(spot_shock={"BTC": -0.25})
    result = stress_accounts(holdings, MARKET, RATES, COLLATERAL, [scen])
    # 30 BTC at 37,500 = 1,125,000 USD: 0.95 x 1,000,000 + 0.925 x 125,000
    assert result.equity[0, 0] == pytest.approx(1_065_625.0)
    # E plus the raw P&L would be 1,412,500 - 375,000 = 1,037,500
    assert result.equity[0, 0] != pytest.approx(1_037_500.0)


def test_stablecoin_depeg_enters_equity() -> None:
    book = _book({"u": [("USDT", 100_000.0), ("BTC_USDT-PERPETUAL", -1.0)], "c": [("USDC", 1e4)]})
    holdings = Holdings.settled(book, MARKET)
    scen = LIBRARY.get("HYP-STABLECOIN-DEPEG")  # BTC -10 %, USDT -8 %
    result = stress_accounts(holdings, MARKET, RATES, COLLATERAL, [scen])
    # USDT balance 100,000 + 5,000 short P&L settled in USDT, worth 0.92 USD, 1 % haircut
    assert result.equity[0, 0] == pytest.approx(0.99 * 0.92 * 105_000)
    assert result.equity[0, 1] == pytest.approx(10_000.0)
    values = account_values(holdings, MARKET, COLLATERAL, {"USDT": -0.08})
    assert values.usd_rate[list(values.currencies).index("USDT")] == pytest.approx(0.92)


def test_rate_moves_are_checked() -> None:
    holdings = Holdings.settled(_book({"u": [("USDT", 1.0)]}), MARKET)
    with pytest.raises(ValidationError, match="USDT"):
        account_values(holdings, MARKET, COLLATERAL, {"USDT": -1.0})


def test_positions_expiring_within_the_horizon_settle_into_cash() -> None:
    mkt = market({"BTC": 50_000.0}, days=(1.0, 30.0), vol=0.6)
    fut, put = linear_future(1), option(1, 48_000, call=False)
    book = Book.from_portfolios(
        [
            Portfolio.from_positions(
                "x",
                [
                    Position(instrument=fut, quantity=2.0),
                    Position(instrument=put, quantity=3.0),
                    Position(instrument=Currency(code="USDC"), quantity=10_000.0),
                ],
            )
        ]
    )
    entry = np.full(book.quantities.data.shape, np.nan)
    entry[[i.name for i in book.instruments].index(fut.name) == book.quantities.indices] = 51_000
    holdings = Holdings.from_entries(book, entry, mkt)
    scen = _scenario(horizon_days=2, spot_shock={"BTC": -0.1})
    stressed = stressed_market(mkt, scen)
    settled = expiry_settled(holdings, stressed)
    assert [i.name for i in settled.book.instruments] == ["USDC"]
    # 10,000 + 2 x (45,000 - 51,000) + 3 x (48,000 - 45,000)
    cash = 10_000 + 2 * (45_000 - 51_000) + 3 * 3_000
    assert settled.book.quantities.toarray()[0, 0] == pytest.approx(cash)
    result = stress_accounts(holdings, mkt, RATES, COLLATERAL, [scen])
    assert result.equity[0, 0] == pytest.approx(cash)
    assert result.maintenance_margin[0, 0] == 0.0
    assert expiry_settled(holdings, mkt) is holdings


def test_inverse_future_settles_in_coin() -> None:
    mkt = market({"BTC": 50_000.0}, days=(1.0, 30.0), vol=0.6)
    day = format_expiry(expiry_ms(1))
    book = _book({"i": [(f"BTC-{day}", 1.0), (f"BTC-{day}-45000-P", 2.0), ("BTC", 1.0)]})
    holdings = Holdings.settled(book, mkt)
    stressed = stressed_market(mkt, _scenario(horizon_days=2, spot_shock={"BTC": -0.2}))
    settled = expiry_settled(holdings, stressed)
    # 1 coin of an inverse future from 50,000 to 40,000: 1 - 50,000 / 40,000 = -0.25 BTC;
    # 2 inverse puts struck at 45,000 pay 2 x 5,000 / 40,000 = 0.25 BTC
    assert [i.name for i in settled.book.instruments] == ["BTC"]
    assert settled.book.quantities.toarray()[0, 0] == pytest.approx(1.0 - 0.25 + 0.25)


def test_bad_accounts_are_reported_and_the_rest_finish() -> None:
    book = _book({"good": EXAMPLE["A"], "bad": [("SOL_USDC-PERPETUAL", 1.0), ("USDC", 1.0)]})
    holdings = Holdings(book=book, reference=_reference(book))
    result = stress_accounts(holdings, MARKET, RATES, COLLATERAL, LIBRARY.scenarios[:3])
    assert set(result.errors) == {"bad"}
    assert result.errors["bad"].startswith(LIBRARY.ids[0])
    assert np.isnan(result.equity[:, 1]).all()
    assert not result.breach[:, 1].any()
    assert not result.default[:, 1].any()
    assert np.isfinite(result.equity[:, 0]).all()
    assert (result.loss_beyond_collateral[:, 1] == 0).all()


def _reference(book: Book) -> np.ndarray[Any, np.dtype[np.float64]]:
    ref = {"BTC_USDC-PERPETUAL": 50_000.0, "ETH_USDC-PERPETUAL": 4_000.0, "SOL_USDC-PERPETUAL": 1.0}
    return np.array([ref.get(i.name, np.nan) for i in book.instruments])


def test_method_margining_is_one_batch_per_scenario_at_the_stressed_market() -> None:
    chain = load_deribit_chain_csv(demo_chain_path()).snapshot
    portfolios = [
        Portfolio.from_positions(
            p.account, [*p.positions, Position(instrument=Currency(code="BTC"), quantity=2.0)]
        )
        for p in sample_portfolios(chain)
    ]
    book = Book.from_portfolios(portfolios)
    holdings = Holdings.settled(book, chain)
    method = get_method("standard")
    margining = MethodMargining(method=method, params=load_params(method))
    scen = LIBRARY.get("HIST-2020-03-12-1D")
    result = stress_accounts(holdings, chain, margining, COLLATERAL, [scen])
    assert not result.errors
    stressed = stressed_market(chain, scen, book.instruments)
    settled = expiry_settled(holdings, stressed)
    direct = margining.requirements(settled.book, stressed)
    np.testing.assert_allclose(result.maintenance_margin[0], direct.maintenance_margin)
    values = account_values(settled, stressed, COLLATERAL)
    np.testing.assert_allclose(result.equity[0], values.equity)
