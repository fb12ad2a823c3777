"""lifecycle.md §10.1: equity with haircuts, requirements, ratios and states of one account."""

from __future__ import annotations

import numpy as np
import pytest
from example_support import MARKET, RATES, example_holdings

from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import (
    STATES,
    AccountState,
    NotionalRates,
    assess,
    classify,
)
from portmargin.risk import moved_market

PARAMS = load_lifecycle_params()


@pytest.mark.parametrize(
    ("btc", "eth", "equity", "mm", "im", "state"),
    [
        (50_000, 4_000, 77_500, 38_000, 47_500, AccountState.HEALTHY),
        (45_000, 3_600, 40_750, 34_200, 42_750, AccountState.WARNING),
        (44_500, 3_560, 37_075, 33_820, 42_275, AccountState.MARGIN_CALL),
        (42_000, 3_200, 13_900, 31_200, 39_000, AccountState.LIQUIDATION),
    ],
)
def test_worked_example_table(
    btc: float, eth: float, equity: float, mm: float, im: float, state: AccountState
) -> None:
    market = moved_market(MARKET, {"BTC": btc / 50_000 - 1, "ETH": eth / 4_000 - 1})
    result = assess(example_holdings(), market, RATES, PARAMS)
    assert result.equity[0] == pytest.approx(equity, abs=1e-6)
    assert result.maintenance_margin[0] == pytest.approx(mm, abs=1e-6)
    assert result.initial_margin[0] == pytest.approx(im, abs=1e-6)
    assert result.state_of("A") is state
    assert not result.errors


def test_worked_example_ratios() -> None:
    result = assess(example_holdings(), MARKET, RATES, PARAMS)
    assert round(float(result.margin_ratio[0]), 4) == 0.4903
    assert result.excess[0] == pytest.approx(77_500 - 47_500)
    assert result.buffer[0] == pytest.approx(77_500 - 38_000)


def test_states_are_checked_top_down() -> None:
    e = np.array([100.0, 95.0, 80.0, 40.0, -1.0, -1.0, 0.0])
    im = np.full(7, 100.0)
    mm = np.full(7, 50.0)
    has = np.array([True, True, True, True, True, False, True])
    codes = classify(e, im, mm, has, PARAMS.states)
    names = [STATES[c] for c in codes]
    assert names == [
        AccountState.HEALTHY,
        AccountState.WARNING,
        AccountState.WARNING,
        AccountState.LIQUIDATION,
        AccountState.BANKRUPT,
        AccountState.LIQUIDATION,  # collateral only: not bankrupt, but below MM
        AccountState.BANKRUPT,
    ]


def test_warning_is_empty_when_the_call_level_reaches_im() -> None:
    # IM/MM = 1.05 < call_level 1.10: between MM and 1.10 MM is a margin call, never a warning
    e = np.linspace(50.0, 60.0, 101)
    codes = classify(e, np.full(101, 52.5), np.full(101, 50.0), np.ones(101, bool), PARAMS.states)
    assert STATES.index(AccountState.WARNING) not in codes.tolist()


def test_an_unknown_underlying_rate_is_an_account_error() -> None:
    rates = NotionalRates(mm_rates={"BTC": 0.1}, im_rates={"BTC": 0.1})
    result = assess(example_holdings(), MARKET, rates, PARAMS)
    assert "A" in result.errors
    assert "ETH" in result.errors["A"]
    assert result.state[0] == -1
    assert np.isnan(result.maintenance_margin[0])
