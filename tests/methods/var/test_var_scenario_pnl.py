"""``scenario_pnl``: the P&L the ``var`` method measures, account by account."""

from __future__ import annotations

import numpy as np
import pytest
from var_support import btc_eth_market, bundled_history, params, run_var

import linear_market_support as lm
from portmargin.core import ValidationError
from portmargin.methods.var import scenario_pnl
from portmargin.risk import var_es

BTC, ETH = lm.perp("BTC"), lm.perp("ETH")
BOOK = lm.book(
    {
        "cross": [(lm.option(30.0, 52_000.0), 5.0), (ETH, -20.0)],
        "tail": [(lm.option(30.0, 30_000.0, call=False), -10.0)],
        "empty": [],
    }
)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"revaluation_model": "merton"},
        {"vol_model": "worst_of"},
        {"method": "hs", "measure": "var", "holding_period_days": 2},
    ],
)
def test_measures_of_the_pnl_are_the_method_figures(changes: dict[str, str]) -> None:
    pack = params(**changes)
    batch = run_var(BOOK, btc_eth_market(), pack)
    pnl = scenario_pnl(BOOK, btc_eth_market(), pack, bundled_history())
    assert pnl.accounts == ("cross", "tail")
    assert pnl.pnl.shape == (2, int(batch.figures["risk_measures.scenarios"][0]))
    assert pnl.weights.sum() == pytest.approx(1.0)
    assert len(pnl.labels) == pnl.pnl.shape[1]
    for account in pnl.accounts:
        i = batch.rows_of(account)[0]
        var, es = var_es(-pnl.of(account)[None, :], pack.confidence)
        assert var[0] == pytest.approx(batch.figures["risk_measures.var"][i], rel=1e-12)
        assert es[0] == pytest.approx(batch.figures["risk_measures.es"][i], rel=1e-12)
    i = batch.rows_of("cross")[0]
    row = pnl.accounts.index("cross")
    for u in ("BTC", "ETH"):
        var, es = var_es(-pnl.by_underlying[u][row][None, :], pack.confidence)
        assert es[0] == pytest.approx(batch.components[f"standalone_es/{u}"][i], rel=1e-12)
        assert var[0] == pytest.approx(batch.components[f"standalone_var/{u}"][i], rel=1e-12)
    if changes.get("vol_model") != "worst_of":  # worst_of picks per group, not per account
        np.testing.assert_allclose(
            pnl.by_underlying["BTC"] + pnl.by_underlying["ETH"], pnl.pnl, rtol=1e-12, atol=1e-9
        )


def test_merton_revaluation_changes_the_pnl_of_short_puts() -> None:
    black = scenario_pnl(BOOK, btc_eth_market(), params(), bundled_history())
    merton = scenario_pnl(
        BOOK, btc_eth_market(), params(revaluation_model="merton"), bundled_history()
    )
    assert black.labels == merton.labels
    assert not np.allclose(black.of("tail"), merton.of("tail"))
    with pytest.raises(ValidationError, match="account"):
        black.of("empty")


def test_nothing_held_gives_no_scenario() -> None:
    pnl = scenario_pnl(lm.book({"empty": []}), btc_eth_market(), params())
    assert pnl.accounts == ()
    assert pnl.pnl.shape == (0, 0)
