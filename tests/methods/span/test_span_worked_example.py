"""specs/span.md section 11: the worked example to its printed precision, and checks 1-4."""

from __future__ import annotations

import numpy as np
import pytest
from span_support import (
    DEC,
    EXAMPLE,
    A,
    B,
    C,
    D,
    E,
    G,
    book,
    example_market,
    inverse_perpetual,
    option,
    pack,
    params,
    run,
)

from portmargin.instruments import Instrument
from portmargin.methods import get_method
from portmargin.methods.span import SpanRun, run_span

RISK_ARRAYS = {
    # scenario: A, B, C, D, E, G (USD per long contract, loss > 0, rows 15/16 x 0.33)
    1: (0.00, 0.00, -467.40, -299.47, 0.00, -45.99),
    2: (0.00, 0.00, 602.90, 375.71, 0.00, 58.54),
    3: (-2000.00, -2040.00, -1331.72, 16.97, -240.00, -157.84),
    4: (-2000.00, -2040.00, -173.59, 610.41, -240.00, -43.45),
    5: (2000.00, 2040.00, 275.19, -689.31, 240.00, 46.29),
    6: (2000.00, 2040.00, 1229.68, 63.71, 240.00, 135.88),
    7: (-4000.00, -4080.00, -2316.25, 271.98, -480.00, -288.48),
    8: (-4000.00, -4080.00, -1102.48, 784.60, -480.00, -169.93),
    9: (4000.00, 4080.00, 897.57, -1165.70, 480.00, 119.05),
    10: (4000.00, 4080.00, 1715.48, -344.90, 480.00, 190.24),
    11: (-6000.00, -6120.00, -3416.93, 476.20, -720.00, -436.55),
    12: (-6000.00, -6120.00, -2180.74, 912.34, -720.00, -319.22),
    13: (6000.00, 6120.00, 1404.48, -1742.59, 720.00, 173.31),
    14: (6000.00, 6120.00, 2074.70, -871.19, 720.00, 224.98),
    15: (-5940.00, -6058.80, -3821.43, 376.96, -712.80, -513.64),
    16: (5940.00, 6058.80, 882.27, -2545.02, 712.80, 85.79),
}
BTC_LOSS = (
    2468.56, -3163.04, 7412.95, 1593.56, -1842.16, -7166.15, 12961.04, 7080.74,
    -5498.88, -10412.11, 19075.32, 13258.29, -8492.74, -12916.42, 20828.20, -4735.45,
)  # fmt: skip
ETH_LOSS = (
    -459.92, 585.36, -6378.36, -5234.55, 5262.89, 6158.85, -12484.78, -11299.26,
    10790.53, 11502.37, -18765.54, -17592.18, 16133.10, 16649.80, -19392.43, 15113.92,
)  # fmt: skip


def near(value: float, printed: float, decimals: int = 2) -> bool:
    """``value`` rounds to ``printed`` at the printed number of decimals."""
    return abs(value - printed) <= 0.5 * 10.0**-decimals + 1e-9


@pytest.fixture(scope="module")
def example() -> SpanRun:
    return run({"x": EXAMPLE})


def _row(example: SpanRun, instrument: Instrument) -> np.ndarray:
    for s in example.statements:
        names = [example.table.names[c] for c in s.arrays.columns]
        if instrument.name in names:
            return s.arrays.risk[names.index(instrument.name)]
    raise AssertionError(instrument.name)


def test_every_risk_array_entry(example: SpanRun) -> None:
    rows = {i: _row(example, i) for i in (A, B, C, D, E, G)}
    for scenario, printed in RISK_ARRAYS.items():
        for inst, value in zip((A, B, C, D, E, G), printed, strict=True):
            assert near(rows[inst][scenario - 1], value), (inst.name, scenario)


def test_option_values_and_composite_deltas(example: SpanRun) -> None:
    btc, eth = example.statements
    names = [example.table.names[c] for c in btc.arrays.columns]
    value = dict(zip(names, btc.arrays.value, strict=True))
    delta = dict(zip(names, btc.arrays.delta, strict=True))
    assert near(value[C.name], 2699.0118, 4)
    assert near(value[D.name], 1229.3099, 4)
    assert near(delta[C.name], 0.379345, 6)
    assert near(delta[D.name], -0.164289, 6)
    assert delta[A.name] == delta[B.name] == 1.0
    eth_names = [example.table.names[c] for c in eth.arrays.columns]
    assert near(dict(zip(eth_names, eth.arrays.value, strict=True))[G.name], 260.0297, 4)
    assert near(dict(zip(eth_names, eth.arrays.delta, strict=True))[G.name], 0.401970, 6)


def test_cc_loss_vectors_and_scan_risk(example: SpanRun) -> None:
    btc, eth = example.statements
    for got, printed in ((btc.loss[0], BTC_LOSS), (eth.loss[0], ETH_LOSS)):
        assert all(near(g, p) for g, p in zip(got, printed, strict=True))
    assert near(btc.scan_risk[0], 20828.20)
    assert btc.active[0] + 1 == 15
    assert near(eth.scan_risk[0], 16649.80)
    assert eth.active[0] + 1 == 14
    assert near(btc.time_risk[0], -347.24)
    assert near(btc.price_risk[0], 21175.44)
    assert near(btc.vol_risk[0], 0.00)
    assert near(eth.time_risk[0], 62.72)
    assert near(eth.price_risk[0], 16328.73)
    assert near(eth.vol_risk[0], 258.35)


def test_tier_deltas_intra_spread_and_net_delta(example: SpanRun) -> None:
    btc, eth = example.statements
    ids = btc.arrays.cc.tier_ids
    assert ids == ("P", "1", "2")
    assert near(btc.tier_delta[0, 1], 0.811196, 6)
    assert near(btc.tier_delta[0, 2], -3.000000, 6)
    assert near(eth.tier_delta[0, 1], 24.019703, 6)
    assert near(btc.intra_charge[0], 405.60)
    assert btc.tier_remaining[0, 1] == 0.0
    assert near(btc.tier_remaining[0, 2], -2.188804, 6)
    assert near(btc.net_delta[0], -2.188804, 6)
    assert near(eth.net_delta[0], 24.019703, 6)
    assert eth.intra_charge[0] == 0.0


def test_weighted_price_risk_and_inter_credit(example: SpanRun) -> None:
    btc, eth = example.statements
    assert near(btc.wpr_raw[0], 9674.43)
    assert near(btc.arrays.psr_unit, 6000.00)
    assert near(btc.wpr[0], 6000.00)
    assert near(eth.wpr_raw[0], 679.81)
    assert near(eth.arrays.psr_unit, 720.00)
    assert near(eth.wpr[0], 679.81)
    assert near(example.inter_spreads[0, 0], 2.001642, 6)
    assert near(example.inter_credit[0, 0], 6004.93)
    assert near(example.inter_credit[0, 1], 8164.36)


def test_som_cc_risk_and_totals(example: SpanRun) -> None:
    btc, eth = example.statements
    assert near(btc.som[0], 1500.00)
    assert eth.som[0] == 0.0
    assert near(example.cc_risk[0, 0], 15228.87)
    assert near(example.cc_risk[0, 1], 8485.44)
    assert near(example.span_risk_mm[0], 23714.31)
    assert near(example.span_risk_im[0], 29642.88)
    assert near(example.nov[0], -10654.37)
    assert near(example.req_mm[0], 34368.68)
    assert near(example.req_im[0], 40297.25)


def test_the_batch_reads_like_the_statement() -> None:
    method = get_method("span")
    batch = method.compute(book({"x": EXAMPLE}), example_market(), params())
    assert near(float(batch.maintenance_margin[0]), 23714.31)
    assert near(float(batch.initial_margin[0]), 29642.88)
    c = {k: float(v[0]) for k, v in batch.components.items()}
    assert near(c["span_risk_mm/BTC-USD"], 15228.87)
    assert near(c["span_risk_mm/BTC-USD/scan_risk"], 20828.20)
    assert near(c["span_risk_mm/BTC-USD/scan_risk/price_risk"], 21175.44)
    assert near(c["span_risk_mm/BTC-USD/intra_charge"], 405.60)
    assert near(c["span_risk_mm/BTC-USD/inter_credit"], 6004.93)
    assert near(c["span_risk_mm/BTC-USD/som"], 1500.00)
    assert near(c["span_risk_mm/ETH-USD/inter_credit"], 8164.36)
    assert near(c["nov"], -10654.37)
    assert near(c["req_mm"], 34368.68)
    assert near(c["req_im"], 40297.25)
    assert batch.worst_scenario[0] == "BTC-USD #15 (extreme up, cover fraction)"
    contributions = batch.explain(0) if batch.explain else ()
    assert all(type(x.pnl) is float and type(x.quantity) is float for x in contributions)
    btc = sum(x.pnl for x in contributions if x.instrument.startswith("BTC"))
    eth = sum(x.pnl for x in contributions if x.instrument.startswith("ETH"))
    assert btc == pytest.approx(-20828.199773, abs=1e-5)
    assert eth == pytest.approx(-16649.798482, abs=1e-5)
    result = batch.result(0)
    assert result.method == "span"


def test_check_1_spot_month_charge() -> None:
    data = pack()
    data["cc"][0]["spot"] = {"window_days": 30.0, "rate_consumed": 100.0, "rate_outright": 300.0}
    btc = run({"x": EXAMPLE}, data).statements[0]
    assert near(btc.spot_charge[0], 81.12)
    assert btc.spot_charge[0] == pytest.approx(100 * 0.811196, abs=1e-4)
    # The spot-month delta was fully consumed: nothing outright, D unchanged for inter spreads.
    assert btc.inter_delta[0] == btc.net_delta[0]


def test_check_2_short_option_minimum_binds() -> None:
    put = option("BTC", DEC, 25_000.0, False)
    market = example_market({25_000.0: 0.90})
    r = run({"x": [(put, -10.0)]}, market=market)
    btc = r.statements[0]
    assert near(btc.arrays.value[0], 10.0393, 4)
    assert near(btc.scan_risk[0], 2032.34)
    assert btc.active[0] + 1 == 16
    assert near(btc.som[0], 2500.00)
    assert near(r.cc_risk[0, 0], 2500.00)


def test_check_3_long_option_cap() -> None:
    r = run({"x": [(C, 1.0)]})
    btc = r.statements[0]
    assert near(btc.scan_risk[0], 2074.70)
    assert btc.active[0] + 1 == 14
    assert btc.scan_risk[0] < btc.arrays.value[0]
    assert near(r.nov[0], 2699.01)
    assert r.req_mm[0] == 0.0
    assert r.req_im[0] == 0.0


def test_check_4_inverse_perpetual_in_coin() -> None:
    data = pack()
    btc_coin = dict(data["cc"][0], id="BTC-BTC", settlement_currency="BTC")
    data["cc"] = [*data["cc"], btc_coin]
    # face value 100,000 USD at F = 50,000: 2 coins
    r = run_span(book({"x": [(inverse_perpetual(), 2.0)]}), example_market(), params(data))
    (s,) = r.statements
    assert s.arrays.cc.id == "BTC-BTC"
    assert s.arrays.coin
    loss = 2.0 * s.arrays.risk[0]
    assert loss[10] == pytest.approx(-0.21428571, abs=5e-9)
    assert loss[12] == pytest.approx(0.27272727, abs=5e-9)
    assert loss[14] == pytest.approx(-0.33 * 0.52941176, abs=5e-9)
    assert loss[14] == pytest.approx(-0.17470588, abs=5e-9)
    assert loss[15] == pytest.approx(0.37125, abs=5e-9)
    assert loss[0] == loss[1] == 0.0
    # Converted to USD at the current index for the total.
    assert r.span_risk_mm[0] == pytest.approx(s.scan_risk[0] * 50_000.0)
