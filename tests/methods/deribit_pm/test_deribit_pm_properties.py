"""Invariants of ``DeribitPM.compute`` on the bundled BTC chain (hypothesis)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from deribit_pm_support import book, names_of, pack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portmargin.data import demo_chain_path
from portmargin.io.deribit import load_snapshot
from portmargin.methods.deribit_pm import DERIBIT_PM, DampenerMode, simulate_pme

CHAIN = load_snapshot(demo_chain_path()).snapshot
NAMES = (
    "BTC-PERPETUAL",
    "BTC-26JUN20",
    "BTC-25SEP20",
    *names_of(CHAIN, 1, 3),
    *names_of(CHAIN, 4, 4),
    *names_of(CHAIN, 6, 2),
)
PACK = pack()
NO_DAMPENER = dataclasses.replace(
    PACK,
    assumptions=dataclasses.replace(PACK.assumptions, extended_dampener_mode=DampenerMode.NONE),
)
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

sizes = st.floats(-5, 5, allow_nan=False).map(lambda x: round(x, 3))
portfolios = st.dictionaries(st.sampled_from(NAMES), sizes, min_size=1, max_size=6).filter(
    lambda p: any(v != 0 for v in p.values())
)


def _worst(positions: dict[str, float], params=PACK) -> float:  # type: ignore[no-untyped-def]
    batch = DERIBIT_PM.compute(book({"a": positions}), CHAIN, params)
    assert not batch.errors
    return float(batch.components["risk_matrix_margin/worst_case"].sum())


@FAST
@given(portfolios)
def test_margins_non_negative(p: dict[str, float]) -> None:
    batch = DERIBIT_PM.compute(book({"a": p}), CHAIN, PACK)
    assert np.all(batch.initial_margin >= 0)
    assert np.all(batch.maintenance_margin >= 0)
    assert np.all(batch.components["risk_matrix_margin/worst_case"] >= 0)
    assert batch.maintenance_margin == pytest.approx(0.8 * batch.components["risk_matrix_margin"])


def test_empty_book_has_no_margin() -> None:
    batch = DERIBIT_PM.compute(book({"a": {}}), CHAIN, PACK)
    assert float(batch.initial_margin.sum()) == 0.0
    assert not batch.errors


@FAST
@given(portfolios)
def test_long_and_short_same_contracts_cancel(p: dict[str, float]) -> None:
    short = {k: -v for k, v in p.items()}
    long_sim, short_sim = simulate_pme(p, CHAIN, PACK), simulate_pme(short, CHAIN, PACK)
    for key, vec in long_sim.pre_aggregated_risk_vectors.items():
        other = short_sim.pre_aggregated_risk_vectors[key]
        assert np.array_equal(np.add(vec.standard, other.standard), np.zeros(27))
        assert np.array_equal(np.add(vec.extended, other.extended), np.zeros(8))
    merged = {k: p.get(k, 0.0) + short.get(k, 0.0) for k in p}
    batch = DERIBIT_PM.compute(book({"a": merged}), CHAIN, PACK)
    assert float(batch.components["risk_matrix_margin/worst_case"].sum()) == 0.0
    assert float(batch.initial_margin.sum()) == 0.0


@FAST
@given(portfolios, portfolios)
def test_worst_loss_is_subadditive(a: dict[str, float], b: dict[str, float]) -> None:
    ab = {k: a.get(k, 0.0) + b.get(k, 0.0) for k in set(a) | set(b)}
    if not any(abs(v) > 0 for v in ab.values()):
        return
    total = _worst(ab, NO_DAMPENER)
    assert total <= _worst(a, NO_DAMPENER) + _worst(b, NO_DAMPENER) + 1e-12


@FAST
@given(portfolios, st.floats(0.1, 10))
def test_scaling_scales_worst_case(p: dict[str, float], k: float) -> None:
    scaled = {n: k * v for n, v in p.items()}
    assert _worst(scaled, NO_DAMPENER) == pytest.approx(k * _worst(p, NO_DAMPENER), rel=1e-9)


@FAST
@given(st.floats(0.1, 20), st.floats(0.2, 1.0))
def test_short_future_hedge_lowers_margin(q: float, h: float) -> None:
    alone = DERIBIT_PM.compute(book({"a": {"BTC-PERPETUAL": q}}), CHAIN, PACK)
    hedged = DERIBIT_PM.compute(
        book({"a": {"BTC-PERPETUAL": q, "BTC-26JUN20": -h * q}}), CHAIN, PACK
    )
    assert float(hedged.initial_margin[0]) < float(alone.initial_margin[0])
