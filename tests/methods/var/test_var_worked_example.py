"""var-margin.md section 9 through the real ``var`` method: a 10-scenario HS book of a long
BTC and a short ETH linear perpetual on a market at 50,000 / 4,000."""

from __future__ import annotations

import numpy as np
import pytest
from var_support import (
    DATES_9,
    R_BTC,
    R_ETH,
    btc_eth_market,
    history_from_simple_returns,
    params,
    run_var,
)

import linear_market_support as lm
from portmargin.results import MarginBatch
from portmargin.risk import tail_size

EXPECTED = {
    # alpha: a, k, f | VaR, ES book | ES, VaR alone (BTC, ETH) | Euler ES | incremental ES |
    #        B | M_core | allocated (BTC, ETH)
    0.90: dict(
        akf=(1.0, 1, 0.0),
        book=(5976.0, 7510.0),
        es_alone=(13770.0, 7840.0),
        var_alone=(13320.0, 4384.0),
        euler=(-330.0, 7840.0),
        incremental=(-330.0, -6260.0),
        benefit=14100.0,
        core=10330.0,
        allocated=(2490.0, 7840.0),
    ),
    0.80: dict(
        akf=(2.0, 2, 0.0),
        book=(4550.0, 6743.0),
        es_alone=(13545.0, 6112.0),
        var_alone=(6280.0, 2384.0),
        euler=(6495.0, 248.0),
        incremental=(631.0, -6802.0),
        benefit=12914.0,
        core=9325.80,
        allocated=(7905.0, 1420.80),
    ),
    0.75: dict(
        akf=(2.5, 2, 0.5),
        book=(4550.0, 6304.40),
        es_alone=(12092.0, 5366.40),
        var_alone=(6280.0, 2384.0),
        euler=(6010.0, 294.40),
        incremental=(938.0, -5787.60),
        benefit=11154.0,
        core=8535.20,
        allocated=(7226.40, 1308.80),
    ),
}
TAIL = {0.90: ["2021-05-14"], 0.80: ["2021-05-14", "2021-05-12"]}
TAIL[0.75] = [*TAIL[0.80], "2021-05-10"]
BTC, ETH = lm.perp("BTC"), lm.perp("ETH")


def run(alpha: float, measure: str = "es") -> MarginBatch:
    history = history_from_simple_returns({"BTC": R_BTC, "ETH": R_ETH}, "2021-05-19")
    pack = params(
        method="hs",
        measure=measure,
        confidence=alpha,
        lookback_days=10,
        history_start={},
        as_of="2021-05-19",
    )
    book = lm.book({"book": [(BTC, 2.0), (ETH, -20.0)], "btc": [(BTC, 2.0)], "eth": [(ETH, -20.0)]})
    return run_var(book, btc_eth_market(), pack, history)


@pytest.mark.parametrize("alpha", sorted(EXPECTED))
def test_section_9_table(alpha: float) -> None:
    e = EXPECTED[alpha]
    size = tail_size(10, alpha)
    assert (size.a, size.k, size.f) == pytest.approx(e["akf"], abs=1e-12)
    batch = run(alpha)
    i = batch.rows_of("book")[0]
    comp = {name: float(v[i]) for name, v in batch.components.items()}
    approx = lambda x: pytest.approx(x, rel=1e-9, abs=1e-6)  # noqa: E731
    assert batch.figures["risk_measures.var"][i] == approx(e["book"][0])
    assert batch.figures["risk_measures.es"][i] == approx(e["book"][1])
    assert comp["core_margin/portfolio"] == approx(e["book"][1])
    assert (comp["standalone_es/BTC"], comp["standalone_es/ETH"]) == approx(e["es_alone"])
    assert (comp["standalone_var/BTC"], comp["standalone_var/ETH"]) == approx(e["var_alone"])
    assert comp["core_margin/group_sum"] == approx(sum(e["es_alone"]))
    assert comp["core_margin/benefit"] == approx(e["benefit"])
    assert comp["core_margin/offset"] == approx(0.8 * e["benefit"])
    assert comp["core_margin"] == approx(e["core"])
    positions = {c.instrument: c.figures for c in batch.explain(i)}  # type: ignore[misc]
    btc, eth = positions[BTC.name], positions[ETH.name]
    assert (btc["euler_es"], eth["euler_es"]) == approx(e["euler"])
    assert (btc["incremental_es"], eth["incremental_es"]) == approx(e["incremental"])
    assert (btc["allocated_core_margin"], eth["allocated_core_margin"]) == approx(e["allocated"])
    assert (btc["standalone_es"], eth["standalone_es"]) == approx(e["es_alone"])
    assert (btc["euler_es_group"], eth["euler_es_group"]) == approx(e["es_alone"])
    assert btc["allocated_core_margin"] + eth["allocated_core_margin"] == approx(e["core"])
    assert btc["component_var"] + eth["component_var"] == approx(e["book"][0])
    # the one-leg accounts are the groups alone
    for account, k in (("btc", 0), ("eth", 1)):
        j = batch.rows_of(account)[0]
        assert batch.figures["risk_measures.es"][j] == approx(e["es_alone"][k])
        assert batch.components["core_margin/benefit"][j] == 0.0
    # MM = M_core + add-ons, IM = 1.25 MM
    assert batch.maintenance_margin[i] == approx(e["core"] + comp["liquidity_addon"])
    assert batch.initial_margin[i] == approx(1.25 * batch.maintenance_margin[i])


@pytest.mark.parametrize("alpha", sorted(EXPECTED))
def test_euler_weights_sit_on_the_tail_dates(alpha: float) -> None:
    """Each leg's Euler ES is the tail-weighted mean of its losses on the section 9 dates."""
    batch = run(alpha)
    size = tail_size(10, alpha)
    tail = [int(np.flatnonzero(np.datetime64(d) == DATES_9)[0]) for d in TAIL[alpha]]
    weights = size.weights[: len(tail)]
    loss_btc = -100_000.0 * np.array(R_BTC)
    euler = {c.instrument: c.figures["euler_es"] for c in batch.explain(batch.rows_of("book")[0])}  # type: ignore[misc]
    assert euler[BTC.name] == pytest.approx(float(weights @ loss_btc[tail]), rel=1e-9)
    assert batch.worst_scenario[batch.rows_of("book")][0] == "2021-05-14"  # type: ignore[index]


def test_measure_var_margins_the_value_at_risk() -> None:
    batch = run(0.80, measure="var")
    i = batch.rows_of("book")[0]
    # VaR_book 4,550, standalone VaR 6,280 + 2,384 = 8,664, B = 4,114
    assert batch.components["core_margin/portfolio"][i] == pytest.approx(4550.0)
    assert batch.components["core_margin/benefit"][i] == pytest.approx(4114.0)
    assert batch.components["core_margin"][i] == pytest.approx(8664.0 - 0.8 * 4114.0)
    assert batch.figures["risk_measures.es"][i] == pytest.approx(6743.0)
