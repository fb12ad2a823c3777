"""The plain-data plotly figures carry the numbers of the results they draw."""

from __future__ import annotations

import json

import numpy as np
import pytest

from portmargin.analysis import Comparison, MethodRun, compute_margin, sample_portfolios
from portmargin.core import ValidationError
from portmargin.io.figures import (
    MarginHistory,
    account_grid_figures,
    components_figure,
    figure_div_html,
    figure_json,
    history_figure,
    method_margins_figure,
    smile_figure,
)
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.results import MarginComponent, MarginResult


def _result() -> MarginResult:
    tree = MarginComponent(
        name="scenario_risk",
        amount=120.0,
        currency="BTC",
        source="worst of 27",
        children=(
            MarginComponent(name="options", amount=100.0, currency="BTC"),
            MarginComponent(name="futures", amount=-5.0, currency="BTC"),
        ),
    )
    addon = MarginComponent(name="delta_addon", amount=7.5, currency="BTC", source="|delta|")
    return MarginResult(
        account="a",
        method="m",
        currency="BTC",
        initial_margin=127.5,
        maintenance_margin=95.0,
        components=(tree, addon),
    )


def test_components_bars_follow_the_tree() -> None:
    fig = components_figure([_result()])
    (trace,) = fig["data"]
    assert trace["y"] == [
        "scenario_risk",
        "scenario_risk › options",
        "scenario_risk › futures",
        "delta_addon",
    ]
    assert trace["x"] == [120.0, 100.0, -5.0, 7.5]
    assert trace["customdata"] == ["worst of 27", "", "", "|delta|"]
    assert trace["name"] == "BTC (BTC)"


def test_method_bars_carry_usd_amounts_and_name_failures() -> None:
    comparison = Comparison(
        account="acc",
        baseline="standard",
        runs=(
            MethodRun(method="standard", initial_margin_usd=1000.0, maintenance_margin_usd=800.0),
            MethodRun(method="deribit-pm", initial_margin_usd=400.0, maintenance_margin_usd=300.0),
            MethodRun(
                method="span", initial_margin_usd=None, maintenance_margin_usd=None, error="no"
            ),
        ),
    )
    fig = method_margins_figure(comparison)
    im, mm = fig["data"]
    assert im["name"] == "IM"
    assert mm["name"] == "MM"
    assert im["x"] == ["standard", "deribit-pm", "span"]
    assert im["y"] == [1000.0, 400.0, None]
    assert mm["y"] == [800.0, 300.0, None]
    assert fig["layout"]["annotations"][0]["text"] == "not computed: span"


def test_history_lines_are_sorted_in_time_and_gaps_are_null() -> None:
    history = MarginHistory(
        currency="BTC",
        times_ms=np.array([1_590_105_600_000, 1_590_019_200_000], dtype=np.int64),
        initial_margin=np.array([2.0, 1.0]),
        maintenance_margin=np.array([1.5, 0.5]),
        equity=np.array([np.nan, 3.0]),
    )
    fig = history_figure(history, "t")
    im, mm, equity = fig["data"]
    assert im["x"] == ["2020-05-21 00:00:00", "2020-05-22 00:00:00"]
    assert im["y"] == [1.0, 2.0]
    assert mm["y"] == [0.5, 1.5]
    assert equity["y"] == [3.0, None]
    json.loads(figure_json(fig))  # no NaN in the JSON
    with pytest.raises(ValidationError, match="equity"):
        MarginHistory(
            currency="BTC",
            times_ms=np.array([1], dtype=np.int64),
            initial_margin=np.array([1.0]),
            maintenance_margin=np.array([1.0]),
            equity=np.array([]),
        )


def test_smiles_hold_the_mark_ivs_in_percent(demo_snapshot: MarketSnapshot) -> None:
    fig = smile_figure(demo_snapshot, "BTC")
    expiries = demo_snapshot.expiries("BTC")
    assert len(fig["data"]) == 2 * len(expiries)
    first = demo_snapshot.smiles[("BTC", expiries[0])]
    markers = fig["data"][1]
    assert markers["mode"] == "markers"
    assert markers["x"] == pytest.approx(list(first.strikes))
    assert markers["y"] == pytest.approx(list(100 * np.asarray(first.vols)))


def test_grid_heatmap_marks_the_worst_scenario(demo_snapshot: MarketSnapshot) -> None:
    book = next(b for b in sample_portfolios(demo_snapshot) if b.account == "naked-short-call")
    method = get_method("deribit-pm")
    params = load_params(method)
    batch = compute_margin(method, [book], demo_snapshot, params)
    figures = account_grid_figures(batch, book, demo_snapshot, params)
    assert figures
    worst = batch.result(batch.rows_of(book.account)[0]).worst_scenario
    marked = [f for f in figures if f["layout"]["shapes"]]
    assert len(marked) == 1
    (shape,) = marked[0]["layout"]["shapes"]
    heat = marked[0]["data"][0]
    row, col = int(shape["y0"] + 0.5), int(shape["x0"] + 0.5)
    assert heat["customdata"][row][col] == worst
    assert worst in marked[0]["layout"]["title"]["text"]
    # the outlined cell is the largest loss of its grid
    z = np.array([[np.nan if v is None else v for v in r] for r in heat["z"]])
    assert z[row, col] == np.nanmin(z)


def test_no_grid_for_a_method_without_one(demo_snapshot: MarketSnapshot) -> None:
    book = sample_portfolios(demo_snapshot)[0]
    method = get_method("var")
    params = load_params(method)
    batch = compute_margin(method, [book], demo_snapshot, params)
    assert account_grid_figures(batch, book, demo_snapshot, params) is None


def test_figure_html_cannot_be_closed_by_text() -> None:
    fig = {"data": [{"type": "bar", "name": "</script><script>alert(1)</script>"}], "layout": {}}
    out = figure_div_html(fig, "f-1")
    assert "</script><script>alert" not in out
    assert "\\u003c/script\\u003e" in out
    assert json.loads(figure_json(fig)) == fig
    with pytest.raises(ValidationError, match="div_id"):
        figure_div_html(fig, "x'); alert(1);//")
