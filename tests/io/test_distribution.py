"""The scenario P&L histogram with VaR and ES marked."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portmargin.core import ValidationError
from portmargin.io.report import TailMarks, pnl_distribution_figure, pnl_distribution_html


def _lines(fig: object) -> dict[str, tuple[float, float]]:
    return {s.name: (s.x0, s.x1) for s in fig.layout.shapes}  # type: ignore[attr-defined]


def test_var_and_es_are_drawn_at_minus_their_values() -> None:
    pnl = np.random.default_rng(7).normal(0.0, 1000.0, 500)
    fig = pnl_distribution_figure(pnl, TailMarks(confidence=0.99, var=2300.0, es=2650.5))
    assert _lines(fig) == {"VaR": (-2300.0, -2300.0), "ES": (-2650.5, -2650.5)}
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["VaR 99%: 2,300 USD", "ES 99%: 2,650 USD"]
    assert [a.x for a in fig.layout.annotations] == [-2300.0, -2650.5]
    bars = fig.data[0]
    np.testing.assert_array_equal(bars.x, pnl)
    assert float(np.sum(bars.y)) == pytest.approx(1.0)


@given(st.lists(st.floats(0.0, 10.0), min_size=3, max_size=30))
def test_weights_become_probabilities(raw: list[float]) -> None:
    w = np.array(raw) + 0.01
    fig = pnl_distribution_figure(
        np.arange(w.size, dtype=float), TailMarks(confidence=0.9, var=1.0, es=2.0), weights=w
    )
    np.testing.assert_allclose(fig.data[0].y, w / w.sum())


def test_html_is_a_div_without_remote_scripts() -> None:
    page = pnl_distribution_html([-5.0, 1.0, 2.0], TailMarks(confidence=0.975, var=5.0, es=5.0))
    assert page.startswith("<div")
    assert re.search(r"<script[^>]*\bsrc=", page) is None
    assert "VaR 97.5%: 5 USD" in page


@pytest.mark.parametrize(
    ("pnl", "weights", "field"),
    [
        ([], None, "pnl_usd"),
        ([[1.0, 2.0]], None, "pnl_usd"),
        ([1.0, float("nan")], None, "pnl_usd"),
        ([1.0, 2.0], [1.0], "weights"),
        ([1.0, 2.0], [1.0, -1.0], "weights"),
        ([1.0, 2.0], [0.0, 0.0], "weights"),
    ],
)
def test_bad_vectors_are_rejected(pnl: list[object], weights: object, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        pnl_distribution_figure(pnl, TailMarks(confidence=0.99, var=1.0, es=1.0), weights=weights)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"confidence": 1.0, "var": 1.0, "es": 1.0}, "confidence"),
        ({"confidence": 0.0, "var": 1.0, "es": 1.0}, "confidence"),
        ({"confidence": 0.99, "var": float("inf"), "es": 1.0}, "var"),
        ({"confidence": 0.99, "var": 1.0, "es": float("nan")}, "es"),
    ],
)
def test_marks_validate(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        TailMarks(**kwargs)
