"""``specs/deribit-pm.md`` §13 as explicit numbers, through the bundled 2024-06-17 pack."""

from __future__ import annotations

import pytest
from deribit_pm_support import book, futures_market, pack

from portmargin.core import year_fraction
from portmargin.methods import AccountInputs
from portmargin.methods.deribit_pm import DERIBIT_PM, MarginInputs, simulate_pme

T_MS = 1718619740501
MARKET = futures_market(
    T_MS, {"BTC": 65666.19}, {"BTC-PERPETUAL": 65910.57, "BTC-28JUN24": 67371.75}
)
POSITIONS = {"BTC-PERPETUAL": 0.314538364, "BTC-28JUN24": -0.001187534}
INPUTS = {"btc": MarginInputs(open_orders_margin=0.000018212, mmp_margin=0.06)}

PERP = [
    -0.05991206933333334,
    -0.04289159509090909,
    -0.027351162086956524,
    -0.013105765166666668,
    0.0,
    0.012097629384615385,
    0.023299138074074074,
    0.033700538999999995,
    0.043384601931034494,
]
FUT = [
    0.0002261969523809524,
    0.00016193645454545456,
    0.00010326382608695652,
    4.948058333333334e-05,
    0.0,
    -4.567438461538462e-05,
    -8.796548148148148e-05,
    -0.0001272357857142857,
    -0.00016379779310344832,
]
SUM = [
    -0.05968587238095239,
    -0.04272965863636364,
    -0.02724789826086957,
    -0.013056284583333334,
    0.0,
    0.012051955,
    0.02321117259259259,
    0.033573303214285706,
    0.04322080413793104,
]


@pytest.fixture(scope="module")
def sim():  # type: ignore[no-untyped-def]
    return simulate_pme(POSITIONS, MARKET, pack(), INPUTS)


def test_time_to_expiry() -> None:
    assert float(year_fraction(T_MS, 1719561600000)) == pytest.approx(
        0.029866168791222728, rel=1e-15
    )


def test_standard_vectors_bucket_major(sim) -> None:  # type: ignore[no-untyped-def]
    perp = sim.initial_risk_vectors["BTC-PERPETUAL"].standard
    fut = sim.initial_risk_vectors["BTC-28JUN24"].standard
    pre = sim.pre_aggregated_risk_vectors["btc_btc"].standard
    agg = sim.aggregated_risk_vectors["btc_btc"].standard
    for i in range(9):
        for v in range(3):
            j = 3 * i + v
            assert perp[j] == pytest.approx(PERP[i], rel=1e-12, abs=1e-15)
            assert fut[j] == pytest.approx(FUT[i], rel=1e-12, abs=1e-15)
            assert pre[j] == pytest.approx(SUM[i], rel=1e-12, abs=1e-15)
            assert agg[j] == pytest.approx(min(SUM[i], 0.0), rel=1e-12, abs=1e-15)


def test_extended_vectors_clamped_and_dampened(sim) -> None:  # type: ignore[no-untyped-def]
    perp = sim.initial_risk_vectors["BTC-PERPETUAL"].extended
    fut = sim.initial_risk_vectors["BTC-28JUN24"].extended
    assert perp == pytest.approx([PERP[0]] * 2 + [PERP[8]] * 6, rel=1e-12)
    assert fut == pytest.approx([FUT[0]] * 2 + [FUT[8]] * 6, rel=1e-12)
    pre = sim.pre_aggregated_risk_vectors["btc_btc"].extended
    assert pre == pytest.approx([SUM[0]] * 2 + [SUM[8]] * 6, rel=1e-12)
    assert sim.aggregated_risk_vectors["btc_btc"].extended == (0.0,) * 8


def test_margin_chain(sim) -> None:  # type: ignore[no-untyped-def]
    m = sim.margins["btc"]
    assert m.worst_case == pytest.approx(0.05968587238095239, rel=1e-12)
    bucket = m.worst_case_bucket
    assert (bucket.index, bucket.source, bucket.bucket, bucket.side) == (1, "standard", 1, "left")
    assert m.worst_scenario == "-16% vol same"
    assert m.roll_shock == pytest.approx(0.00315725898, abs=5e-12)
    assert m.delta_shock == 0.0
    assert m.correlation_contingency == 0.0
    assert m.risk_matrix_margin == pytest.approx(0.06284313098, abs=5e-12)
    assert m.initial_margin == pytest.approx(0.122861343, abs=5e-10)
    assert m.maintenance_margin == pytest.approx(0.050274504784, abs=5e-13)
    assert m.initial_margin / 1.0 != m.risk_matrix_margin / 0.8


def test_rounding_of_worst_case_matters(sim) -> None:  # type: ignore[no-untyped-def]
    m = sim.margins["btc"]
    unrounded = m.worst_case + m.roll_shock
    assert abs(unrounded - 0.06284313098) > 5e-12
    assert abs(m.risk_matrix_margin - 0.06284313098) <= 5e-12


def test_compute_batch_matches_one_portfolio(sim) -> None:  # type: ignore[no-untyped-def]
    batch = DERIBIT_PM.compute(
        book({"a": POSITIONS, "b": {"BTC-PERPETUAL": 1.0}}),
        MARKET,
        pack(),
        inputs=AccountInputs.of(
            DERIBIT_PM.account_inputs,
            open_orders_margin={("a", "btc_btc"): INPUTS["btc"].open_orders_margin},
            mmp_margin={("a", "btc_btc"): INPUTS["btc"].mmp_margin},
            spot_margin={("a", "btc_btc"): INPUTS["btc"].spot_margin},
        ),
    )
    a = batch.rows_of("a")[0]
    result = batch.result(a)
    assert result.currency == "BTC"
    assert result.initial_margin == sim.margins["btc"].initial_margin
    assert result.maintenance_margin == sim.margins["btc"].maintenance_margin
    assert result.worst_scenario == "-16% vol same"
    assert result.params_version == "2024-06-17"
    names = [c.name for c in result.components]
    assert names == ["risk_matrix_margin", "open_orders_margin", "mmp_margin", "spot_margin"]
    pnl = {c.instrument: c.pnl for c in result.contributions}
    assert pnl["BTC-PERPETUAL"] == pytest.approx(PERP[0], rel=1e-12)
    assert pnl["BTC-28JUN24"] == pytest.approx(FUT[0], rel=1e-12)
    assert sum(pnl.values()) == pytest.approx(-sim.margins["btc"].worst_case, rel=1e-12)
    b = batch.result(batch.rows_of("b")[0])
    assert b.initial_margin == pytest.approx(b.maintenance_margin / 0.8)
