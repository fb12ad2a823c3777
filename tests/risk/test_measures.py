"""VaR and ES kernel (var-margin.md section 5): the section 9 table, weights, ties, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from portmargin.core import ValidationError
from portmargin.risk import tail_risk, tail_size, var_es

# Section 9: losses of the book, of BTC and of ETH in the ten scenarios 2021-05-10 ... 05-19.
L_BOOK = np.array([4550, 2874, 5976, -2646, 7510, -2388, -462, -520, 3824, -7990], float)
L_BTC = np.array([4070, -1510, 13320, -1150, -330, 6260, 650, 6280, 1440, 13770], float)
L_ETH = np.array([480, 4384, -7344, -1496, 7840, -8648, -1112, -6800, 2384, -21760], float)

SECTION_9 = {
    # alpha: (a, k, f, tail scenario indices, weights, VaR, ES book, ES BTC/ETH, VaR BTC/ETH)
    0.90: (1.0, 1, 0.0, [4], [1.0], 5976.0, 7510.0, (13770.0, 7840.0), (13320.0, 4384.0)),
    0.80: (2.0, 2, 0.0, [4, 2], [0.5, 0.5], 4550.0, 6743.0, (13545.0, 6112.0), (6280.0, 2384.0)),
    0.75: (
        2.5,
        2,
        0.5,
        [4, 2, 0],
        [0.4, 0.4, 0.2],
        4550.0,
        6304.40,
        (12092.0, 5366.40),
        (6280.0, 2384.0),
    ),
}


@pytest.mark.parametrize("alpha", sorted(SECTION_9))
def test_section_9_book_and_standalone_figures(alpha: float) -> None:
    a, k, f, tail, weights, var, es, es_alone, var_alone = SECTION_9[alpha]
    size = tail_size(10, alpha)
    assert (size.a, size.k, size.f) == (pytest.approx(a), k, pytest.approx(f, abs=1e-12))
    risk = tail_risk(np.vstack([L_BOOK, L_BTC, L_ETH]), alpha)
    assert risk.var[0] == pytest.approx(var)
    assert risk.es[0] == pytest.approx(es)
    assert risk.es[1:] == pytest.approx(es_alone)
    assert risk.var[1:] == pytest.approx(var_alone)
    held = risk.tail_weight[0] > 0
    assert risk.tail_index[0][held].tolist() == tail
    assert risk.tail_weight[0][held] == pytest.approx(weights)
    assert risk.tail_weight.sum(axis=1) == pytest.approx(np.ones(3))
    dense = risk.dense_weights(10)
    assert dense[0] @ L_BOOK == pytest.approx(risk.es[0])
    # Euler contributions of the two legs add up to the book's ES
    euler = dense[0] @ np.vstack([L_BTC, L_ETH]).T
    assert euler.sum() == pytest.approx(es)
    # values-only path agrees
    v, e = var_es(np.vstack([L_BOOK, L_BTC, L_ETH]), alpha)
    assert v == pytest.approx(risk.var)
    assert e == pytest.approx(risk.es)


def test_alpha_090_at_ten_scenarios_is_a_valid_tail() -> None:
    # 10 x (1 - 0.9) computes as 0.9999999999999998: the epsilon keeps k = 1
    size = tail_size(10, 0.90)
    assert size.a < 1.0
    assert size.k == 1


def test_fractional_tail_weights() -> None:
    losses = np.arange(100, dtype=float)[None, ::-1]  # 99, 98, ..., 0
    risk = tail_risk(losses, 0.975)  # a = 2.5
    held = risk.tail_weight[0] > 0
    assert risk.tail_index[0][held].tolist() == [0, 1, 2]
    assert risk.tail_weight[0][held] == pytest.approx([0.4, 0.4, 0.2])
    assert risk.es[0] == pytest.approx((99 + 98 + 0.5 * 97) / 2.5)
    assert risk.var[0] == 97.0


def test_too_small_tail_raises_unless_allowed() -> None:
    losses = np.array([[3.0, 1.0, 2.0, 5.0, 4.0]])
    with pytest.raises(ValidationError, match="allow_small_sample"):
        tail_risk(losses, 0.99)
    with pytest.raises(ValidationError, match="allow_small_sample"):
        var_es(losses, 0.99)
    risk = tail_risk(losses, 0.99, allow_small_sample=True)
    assert risk.es[0] == 5.0
    assert risk.var[0] == 5.0
    assert risk.var_scenario[0] == 3
    assert var_es(losses, 0.99, allow_small_sample=True)[1][0] == 5.0


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.5, 1.5, float("nan"), True, "0.9"])
def test_confidence_outside_the_open_interval_is_rejected(alpha: object) -> None:
    with pytest.raises(ValidationError, match="confidence"):
        tail_risk(np.ones((1, 10)), alpha)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="confidence"):
        var_es(np.ones((1, 10)), alpha)  # type: ignore[arg-type]


def test_weighted_scenarios_spend_the_tail_mass() -> None:
    losses = np.array([[10.0, 50.0, 30.0, 20.0, 40.0]])
    p = np.array([0.1, 0.02, 0.05, 0.53, 0.3])
    # sorted: 50 (0.02), 40 (0.3), 30 (0.05), 20 (0.53), 10 (0.1); tail mass 0.1
    risk = tail_risk(losses, 0.90, weights=p)
    assert risk.var[0] == 40.0
    assert risk.var_scenario[0] == 4
    assert risk.es[0] == pytest.approx((0.02 * 50 + 0.08 * 40) / 0.1)
    held = risk.tail_weight[0] > 0
    assert risk.tail_index[0][held].tolist() == [1, 4]
    assert risk.tail_weight[0][held] == pytest.approx([0.2, 0.8])
    v, e = var_es(losses, 0.90, weights=p)
    assert (v[0], e[0]) == (risk.var[0], pytest.approx(risk.es[0]))


def test_equal_weights_given_explicitly_match_the_akf_rule() -> None:
    rng = np.random.default_rng(7)
    losses = rng.normal(size=(20, 250))
    for alpha in (0.99, 0.975, 0.9, 0.75):
        plain = tail_risk(losses, alpha)
        weighted = tail_risk(losses, alpha, weights=np.full(250, 1 / 250))
        assert weighted.var == pytest.approx(plain.var)
        assert weighted.es == pytest.approx(plain.es)


def test_bad_weights_are_rejected() -> None:
    with pytest.raises(ValidationError, match="weights"):
        tail_risk(np.ones((1, 3)), 0.5, weights=np.array([0.5, 0.5, 0.5]))
    with pytest.raises(ValidationError, match="weights"):
        tail_risk(np.ones((1, 3)), 0.5, weights=np.array([1.5, -0.5, 0.0]))


def test_ties_keep_scenario_order() -> None:
    losses = np.zeros((2, 1000))
    losses[1, [5, 700, 900]] = 1.0  # three-way tie across the cut of k + 1 = 2
    risk = tail_risk(losses, 0.999)  # a = 1, k = 1: tail = 1 scenario + the VaR scenario
    assert risk.tail_index[0].tolist() == [0, 1]
    assert risk.tail_index[1].tolist() == [5, 700]
    again = tail_risk(losses, 0.999)
    assert np.array_equal(again.tail_index, risk.tail_index)


@settings(max_examples=60, deadline=None)
@given(
    losses=arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(20, 300)),
        elements=st.sampled_from([-2.0, -1.0, 0.0, 1.0, 3.0, 7.5]) | st.floats(-1e6, 1e6),
    ),
    alpha=st.floats(0.5, 0.95),
)
def test_partition_path_equals_a_full_stable_sort(losses: np.ndarray, alpha: float) -> None:
    risk = tail_risk(losses, alpha)
    size = tail_size(losses.shape[1], alpha)
    order = np.argsort(-losses, axis=1, kind="stable")[:, : size.k + 1]
    assert np.array_equal(risk.tail_index, order)
    sorted_losses = -np.sort(-losses, axis=1)
    expected_es = (sorted_losses[:, : size.k].sum(axis=1) + size.f * sorted_losses[:, size.k]) / (
        size.a
    )
    assert risk.es == pytest.approx(expected_es, rel=1e-12, abs=1e-6)
    assert risk.var == pytest.approx(sorted_losses[:, size.k])
    assert np.all(risk.es >= risk.var - 1e-9 * (1 + np.abs(risk.var)))
    v, e = var_es(losses, alpha)
    assert v == pytest.approx(risk.var)
    assert e == pytest.approx(risk.es, rel=1e-12, abs=1e-6)
