"""Keyed scenario sets in the risk array: joint BTC/ETH moves, vol models, Merton revaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linear_market_support import linear_future, market, option, perp
from portmargin.core import MarketDataError, ValidationError
from portmargin.instruments import Currency, Instrument
from portmargin.pricing import black76, merton
from portmargin.risk import (
    MertonJumps,
    MertonModel,
    build_risk_array,
    resolve_instruments,
)
from portmargin.scenarios import (
    Scenario,
    ScenarioSet,
    ShockTable,
    SkewShockLaw,
    VolShockLaw,
    VolShockMode,
)

SPOTS = {"BTC": 50_000.0, "ETH": 4_000.0}
MARKET = market(SPOTS, days=(30.0, 120.0), vol=0.8)
INSTRUMENTS: list[Instrument] = [
    option(30.0, 55_000.0),
    option(120.0, 40_000.0, call=False),
    option(30.0, 4_400.0, asset="ETH"),
    perp("BTC"),
    perp("ETH"),
    linear_future(120.0, "ETH"),
    Currency(code="USDC"),
]
TABLE = resolve_instruments(INSTRUMENTS, MARKET)
BTC = np.array([-0.2, 0.0, 0.1, 0.3])
ETH = np.array([-0.3, 0.05, -0.1, 0.2])
JOINT = ScenarioSet.from_shocks(
    name="joint", labels=("a", "b", "c", "d"), spot={"BTC": BTC, "ETH": ETH}, time_shift_days=1.0
)


def _declared(moves: np.ndarray) -> ScenarioSet:
    return ScenarioSet(
        name="one",
        scenarios=tuple(
            Scenario(label=str(i), spot_shock=float(m), time_shift_days=1.0)
            for i, m in enumerate(moves)
        ),
    )


def test_each_row_moves_with_its_own_underlying() -> None:
    joint = build_risk_array(TABLE, JOINT)
    alone_btc = build_risk_array(TABLE, _declared(BTC))
    alone_eth = build_risk_array(TABLE, _declared(ETH))
    btc_rows = TABLE.underlying == "BTC"
    eth_rows = TABLE.underlying == "ETH"
    np.testing.assert_array_equal(joint.pnl[btc_rows], alone_btc.pnl[btc_rows])
    np.testing.assert_array_equal(joint.pnl[eth_rows], alone_eth.pnl[eth_rows])
    np.testing.assert_array_equal(joint.pnl_usd()[eth_rows], alone_eth.pnl_usd()[eth_rows])
    assert np.all(joint.pnl[-1] == 0.0)  # a USDC balance needs no shock and never moves
    np.testing.assert_allclose(joint.pnl[4], 4_000.0 * ETH, rtol=1e-15)  # linear ETH perp


def test_declared_set_is_the_every_underlying_key() -> None:
    declared = _declared(BTC)
    keyed = ScenarioSet.from_shocks(
        name="k", labels=declared.labels, spot={"*": BTC}, time_shift_days=1.0
    )
    assert declared.underlyings == ("*",)
    np.testing.assert_array_equal(
        build_risk_array(TABLE, declared).pnl, build_risk_array(TABLE, keyed).pnl
    )
    np.testing.assert_array_equal(keyed.column("spot_shock"), BTC)
    with pytest.raises(ValidationError, match="every underlying"):
        JOINT.column("spot_shock")


def test_missing_underlying_is_an_error() -> None:
    btc_only = ScenarioSet.from_shocks(name="btc", labels=("x",), spot={"BTC": [0.1]})
    with pytest.raises(MarketDataError, match="ETH"):
        build_risk_array(TABLE, btc_only)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": ("a", "a"), "spot": {"BTC": [0.1, 0.2]}}, "unique"),
        ({"labels": ("a",), "spot": {"BTC": [-1.0]}}, "> -1"),
        ({"labels": ("a", "b"), "spot": {"BTC": [0.1]}}, r"shape \(2,\)"),
        ({"labels": ("a",), "spot": {"BTC": [math.nan]}}, "finite"),
        ({"labels": ("a",), "spot": [0.1]}, "mapping"),
        ({"labels": ("a",), "spot": {"BTC": [0.1]}, "weight": [-1.0]}, ">= 0"),
        ({"labels": (), "spot": {"BTC": []}}, "non-empty"),
        ({"labels": ("a",), "spot": {}}, "at least one underlying"),
    ],
)
def test_from_shocks_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        ScenarioSet.from_shocks(name="bad", **kwargs)  # type: ignore[arg-type]


def test_var_spec_revaluation_example() -> None:
    """``var-margin.md`` section 4: call C repriced sticky-strike and with vol beta -0.5."""
    call = resolve_instruments([option(30.0, 55_000.0)], market({"BTC": 50_000.0}, vol=0.8))
    R = math.log(1 - 0.1377)
    assert float(black76.price(50_000.0, 55_000.0, 30 / 365, 0.8, True)) == pytest.approx(
        2_699.0118, abs=5e-5
    )
    sticky = ScenarioSet.from_shocks(
        name="sticky", labels=("s",), spot={"BTC": [math.expm1(R)]}, time_shift_days=1.0
    )
    beta = ScenarioSet.from_shocks(
        name="beta",
        labels=("s",),
        spot={"BTC": [math.expm1(R)]},
        vol={"BTC": [-0.5 * R]},
        time_shift_days=1.0,
        vol_law=VolShockLaw(mode=VolShockMode.ABSOLUTE, min_vol=0.05),
    )
    assert build_risk_array(call, sticky).pnl[0, 0] == pytest.approx(-1_917.9530, abs=5e-5)
    assert pytest.approx(0.874076, abs=5e-7) == 0.8 - 0.5 * R
    assert build_risk_array(call, beta).pnl[0, 0] == pytest.approx(-1_681.5802, abs=5e-5)


JUMPS = MertonModel(
    jumps={
        "BTC": MertonJumps(intensity=3.482, mean=-0.0100, vol=0.1773),
        "ETH": MertonJumps(intensity=2.868, mean=-0.0867, vol=0.2359),
    }
)


def test_merton_revaluation_matches_the_kernel() -> None:
    ra = build_risk_array(TABLE, JOINT, model=JUMPS)
    black = build_risk_array(TABLE, JOINT)
    np.testing.assert_array_equal(ra.pnl[3:], black.pnl[3:])  # delta-one rows do not change
    np.testing.assert_array_equal(ra.value, black.value)
    for row in range(3):
        u = str(TABLE.underlying[row])
        moves = BTC if u == "BTC" else ETH
        j = JUMPS.jumps[u]
        K, sig, call = TABLE.strike[row], TABLE.sigma[row], bool(TABLE.is_call[row])
        F, T = TABLE.forward[row], TABLE.tau[row]
        now = merton.price(F, K, T, sig, call, j.intensity, j.mean, j.vol)
        later = merton.price(F * (1 + moves), K, T - 1 / 365, sig, call, j.intensity, j.mean, j.vol)
        np.testing.assert_allclose(ra.pnl[row], later - now, rtol=1e-12, atol=1e-9)


def test_merton_without_jumps_is_black76() -> None:
    flat = MertonModel(jumps={u: MertonJumps(intensity=0.0, mean=0.0, vol=0.0) for u in SPOTS})
    np.testing.assert_allclose(
        build_risk_array(TABLE, JOINT, model=flat).pnl,
        build_risk_array(TABLE, JOINT).pnl,
        rtol=1e-12,
        atol=1e-9,
    )
    with pytest.raises(MarketDataError, match="ETH"):
        build_risk_array(TABLE, JOINT, model=MertonModel(jumps={"BTC": JUMPS.jumps["BTC"]}))


def test_jumps_raise_the_crash_loss_of_a_short_tail_put() -> None:
    put = resolve_instruments([option(30.0, 30_000.0, call=False)], market({"BTC": 50_000.0}))
    crash = ScenarioSet.from_shocks(name="c", labels=("c",), spot={"BTC": [-0.3]})
    # the loss of one short put is the gain of one long put
    black_loss = build_risk_array(put, crash).pnl[0, 0]
    merton_loss = build_risk_array(put, crash, model=JUMPS).pnl[0, 0]
    assert merton_loss > black_loss > 0


@settings(max_examples=40, deadline=None)
@given(
    btc=st.lists(st.floats(-0.6, 1.0), min_size=1, max_size=6),
    eth_scale=st.floats(-2.0, 2.0),
)
def test_a_set_keyed_by_one_underlying_equals_the_declared_set(
    btc: list[float], eth_scale: float
) -> None:
    moves = np.array(btc)
    eth = np.clip(moves * eth_scale, -0.9, 3.0)
    keyed = ScenarioSet.from_shocks(
        name="k",
        labels=[str(i) for i in range(moves.size)],
        spot={"BTC": moves, "ETH": eth},
        time_shift_days=1.0,
    )
    btc_rows = TABLE.underlying == "BTC"
    np.testing.assert_array_equal(
        build_risk_array(TABLE, keyed).pnl[btc_rows],
        build_risk_array(TABLE, _declared(moves)).pnl[btc_rows],
    )


def test_skew_scenarios_tilt_the_smile_instead_of_shocking_it() -> None:
    law = SkewShockLaw(
        base_cap=0.3, c_base=0.0, min_k_star=0.05, width_scale=1.0, vol_param_static=0.5,
        vol_param_scale=0.0,
    )  # fmt: skip
    table = ShockTable(
        labels=("vol up", "skew"),
        spot={"*": np.zeros(2)},
        vol={"*": np.array([0.5, 0.5])},
        skew=np.array([-1, 0]),
    )
    risk = build_risk_array(TABLE, ScenarioSet(name="s", shocks=table, skew_laws=(law,)))
    rows = np.flatnonzero(TABLE.kind == TABLE.kind[0])  # the options
    F, K, T = TABLE.forward[rows], TABLE.strike[rows], TABLE.tau[rows]
    sigma = law.shocked_vols(TABLE.sigma[rows], np.log(K / F), T)
    now = black76.price(F, K, T, TABLE.sigma[rows], TABLE.is_call[rows], TABLE.df[rows])
    tilted = black76.price(F, K, T, sigma, TABLE.is_call[rows], TABLE.df[rows])
    np.testing.assert_allclose(risk.pnl[rows, 1], tilted - now, rtol=1e-12, atol=1e-9)
    assert np.all(risk.pnl[rows, 0] > risk.pnl[rows, 1])  # the vol law's +50 % is not applied
