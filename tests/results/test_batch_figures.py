"""Per-row figures a method attaches to a MarginBatch: Arrow columns, take, concat, JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from portmargin.cli._margin_output import _json_rows
from portmargin.core import ValidationError
from portmargin.results import Contribution, MarginBatch


def batch(accounts: list[str], es: list[float], with_figures: bool = True) -> MarginBatch:
    n = len(accounts)
    figures = (
        {
            "risk_measures.es": np.array(es),
            "risk_measures.as_of": np.full(n, "2020-05-21", dtype=object),
            "flag": np.ones(n),
        }
        if with_figures
        else {}
    )
    return MarginBatch(
        method="m",
        params_version="v",
        account=np.array(accounts, dtype=object),
        currency=np.full(n, "USD", dtype=object),
        initial_margin=np.ones(n),
        maintenance_margin=np.ones(n),
        components={"core": np.ones(n)},
        figures=figures,
        explain=lambda i: (
            Contribution(instrument="X", quantity=1.0, pnl=-2.0, figures={"euler_es": 2.0}),
        ),
    )


def test_figures_become_arrow_columns_with_nulls_on_error_rows() -> None:
    table = batch(["a", "b"], [1.5, 2.5]).to_arrow({"c": "bad row"})
    assert table.column("risk_measures.es").to_pylist() == [1.5, 2.5, None]
    assert table.column("risk_measures.as_of").to_pylist() == ["2020-05-21", "2020-05-21", None]
    assert table.column_names.index("risk_measures.es") > table.column_names.index("margin_ratio")


def test_figures_follow_take_and_concat() -> None:
    b = batch(["a", "b"], [1.5, 2.5])
    assert b.take(np.array([1])).figures["risk_measures.es"].tolist() == [2.5]
    joined = MarginBatch.concat([b, batch(["c"], [9.0], with_figures=False)])
    assert joined.figures["risk_measures.es"].tolist()[:2] == [1.5, 2.5]
    assert np.isnan(joined.figures["risk_measures.es"][2])
    assert joined.figures["risk_measures.as_of"].tolist() == ["2020-05-21", "2020-05-21", None]


def test_figures_of_the_wrong_length_are_rejected() -> None:
    with pytest.raises(ValidationError, match="figures"):
        MarginBatch(
            method="m",
            params_version="v",
            account=np.array(["a"], dtype=object),
            currency=np.array(["USD"], dtype=object),
            initial_margin=np.ones(1),
            maintenance_margin=np.ones(1),
            components={},
            figures={"x": np.ones(2)},
        )


def test_json_nests_dotted_figures_and_lists_contribution_figures() -> None:
    rows = [json.loads(r) for r in _json_rows(batch(["a", "b"], [1.5, 2.5]), {})]
    assert rows[1]["risk_measures"] == {"es": 2.5, "as_of": "2020-05-21"}
    assert rows[0]["flag"] == 1.0
    assert rows[0]["contributions"][0]["figures"] == {"euler_es": 2.0}
    assert Contribution(instrument="X", quantity=1.0, pnl=0.0).to_dict() == {
        "instrument": "X",
        "quantity": 1.0,
        "pnl": 0.0,
    }
