"""worst_loss, its labels and explanations, worst_group and group_totals."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from portmargin.results import Contribution
from portmargin.risk import ScenarioExplainer, group_totals, worst_group, worst_loss

finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(pnl=arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 6)), elements=finite))
def test_loss_is_minus_the_lowest_pnl_at_the_first_lowest_column(pnl: np.ndarray) -> None:
    worst = worst_loss(pnl)
    assert np.array_equal(worst.loss, np.maximum(0.0, -pnl.min(axis=1)))
    assert np.array_equal(worst.column, np.argmin(pnl, axis=1))


def test_weights_scale_the_pnl_before_the_worst_is_taken() -> None:
    pnl = np.array([[-10.0, -6.0, 5.0]])
    worst = worst_loss(pnl, weights=np.array([0.5, 1.0, 1.0]))
    assert worst.loss.tolist() == [6.0]
    assert worst.column.tolist() == [1]


def test_priority_breaks_ties_and_nan_is_the_worst() -> None:
    pnl = np.array([[-3.0, -3.0, 1.0], [2.0, np.nan, np.nan]])
    worst = worst_loss(pnl, priority=np.array([2, 1, 0]))
    assert worst.column.tolist() == [1, 2]
    assert worst.loss[0] == 3.0
    assert np.isnan(worst.loss[1])


def test_a_baseline_wins_unless_a_scenario_is_strictly_lower() -> None:
    pnl = np.array([[-2.0, 1.0], [-1.0, 0.0], [-0.5, 3.0]])
    worst = worst_loss(pnl, baseline=np.array([-1.0, -1.0, 0.0]))
    assert worst.loss.tolist() == [2.0, 1.0, 0.5]
    assert worst.column.tolist() == [0, -1, 0]
    labels = worst.labels(["down", "up"], baseline="basis")
    assert labels.tolist() == ["down", "basis", "down"]


def test_labels_are_blank_where_nothing_is_lost_unless_asked() -> None:
    worst = worst_loss(np.array([[1.0, 2.0], [-1.0, 0.0]]))
    assert worst.labels(["a", "b"]).tolist() == [None, "a"]
    assert worst.labels(["a", "b"], blank_without_loss=False).tolist() == ["a", "a"]


def test_no_rows() -> None:
    worst = worst_loss(np.zeros((0, 3)))
    assert worst.loss.shape == worst.column.shape == (0,)


def test_explainer_gives_each_position_its_pnl_in_the_worst_scenario() -> None:
    q = sp.csr_array(np.array([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]]))
    unit = np.array([[1.0, -4.0], [0.5, 0.25], [2.0, 3.0]])  # columns 0 and 2 of q
    worst = worst_loss(np.asarray(q[[0]][:, [0, 2]] @ unit[[0, 2]]))
    explain = ScenarioExplainer(
        quantities=q,
        pnl=unit[[0, 2]],
        names=["A", "C"],
        worst=worst,
        columns=np.array([0, 2]),
        rows=np.array([0]),
    )
    assert worst.column.tolist() == [1]
    assert explain(0) == (
        Contribution(instrument="A", quantity=2.0, pnl=-8.0),
        Contribution(instrument="C", quantity=-1.0, pnl=-3.0),
    )
    based = worst_loss(np.array([[0.0]]), baseline=np.array([-1.0]))
    assert ScenarioExplainer(quantities=q[[0]], pnl=unit, names="ABC", worst=based)(0) == ()


def test_worst_group_and_group_totals() -> None:
    losses = [np.array([1.0, 0.0, 5.0]), np.array([2.0, 0.0, 5.0])]
    labels = [np.array(["a1", None, "a3"], object), np.array(["b1", None, "b3"], object)]
    worst, which = worst_group(losses, labels, 3)
    assert worst.tolist() == ["b1", None, "a3"]
    assert which.tolist() == [1, 0, 0]
    none, first = worst_group([], [], 2)
    assert none.tolist() == [None, None]
    assert first.tolist() == [0, 0]
    totals = group_totals({"x": losses, "y": losses[:1] * 2}, ["BTC", "ETH"], 3)
    assert list(totals) == ["x", "x/BTC", "x/ETH", "y", "y/BTC", "y/ETH"]
    assert totals["x"].tolist() == [3.0, 0.0, 10.0]
    assert totals["y/ETH"].tolist() == [1.0, 0.0, 5.0]
    assert group_totals({"x": []}, [], 2)["x"].tolist() == [0.0, 0.0]


def test_group_totals_need_one_array_per_key() -> None:
    with pytest.raises(ValueError, match="zip"):
        group_totals({"x": [np.zeros(2)]}, ["BTC", "ETH"], 2)
