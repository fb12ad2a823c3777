"""MarginBatch: validation, component trees, concatenation, contributions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from portmargin.core import ValidationError
from portmargin.results import Contribution, MarginBatch


def batch(accounts: list[str], im: list[float], explain_tag: str = "") -> MarginBatch:
    n = len(accounts)
    return MarginBatch(
        method="m",
        params_version="v1",
        account=np.array(accounts, dtype=object),
        currency=np.array(["BTC"] * n, dtype=object),
        initial_margin=np.array(im),
        maintenance_margin=np.array(im) * 0.8,
        components={
            "risk": np.array(im),
            "risk/worst": np.array(im) * 0.9,
            "risk/roll": np.array(im) * 0.1,
        },
        sources={"risk/worst": "scenario -16%"},
        worst_scenario=np.array(["-16%"] * n, dtype=object),
        explain=lambda i: (Contribution(instrument=f"{explain_tag}{i}", quantity=1.0, pnl=-1.0),),
    )


def test_result_tree() -> None:
    r = batch(["a", "b"], [1.0, 2.0]).result(1)
    assert r.account == "b"
    assert r.initial_margin == 2.0
    assert r.maintenance_margin == pytest.approx(1.6)
    (risk,) = r.components
    assert [c.name for c in risk.children] == ["worst", "roll"]
    assert risk.children[0].amount == pytest.approx(1.8)
    assert risk.children[0].source == "scenario -16%"
    assert r.worst_scenario == "-16%"
    assert r.contributions[0].instrument == "1"
    assert r.params_version == "v1"


def test_concat_keeps_rows_and_explanations() -> None:
    first = batch(["a"], [1.0], "x")
    grouped = replace(
        batch(["b", "c"], [2.0, 3.0], "y"), group=np.array(["k1", "k2"], dtype=object)
    )
    both = MarginBatch.concat([first, grouped])
    assert both.group is not None
    assert list(both.group) == [None, "k1", "k2"]
    assert both.result(2).group == "k2"
    assert both.result(0).group == ""
    assert list(both.account) == ["a", "b", "c"]
    assert both.rows_of("c") == [2]
    assert both.result(2).contributions[0].instrument == "y1"
    assert both.result(0).contributions[0].instrument == "x0"


@pytest.mark.parametrize("bad", [np.nan, -1.0, np.inf])
def test_requirements_must_be_finite_and_non_negative(bad: float) -> None:
    with pytest.raises(ValidationError, match="account 'b'"):
        batch(["a", "b"], [1.0, bad])


def test_row_counts_must_agree() -> None:
    with pytest.raises(ValidationError, match="rows"):
        MarginBatch(
            method="m",
            params_version="v",
            account=np.array(["a"], dtype=object),
            currency=np.array(["BTC", "BTC"], dtype=object),
            initial_margin=np.zeros(1),
            maintenance_margin=np.zeros(1),
            components={},
        )
