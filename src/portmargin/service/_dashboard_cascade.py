"""The dashboard's cascade page: the form (shock per underlying, methods, impact depth, fund,
population) and the result of a run over the stored accounts, metrics side by side and the
chart of price and liquidated notional per round."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from starlette.datastructures import FormData

from portmargin.io.cascade_plot import cascade_figure, metric_text
from portmargin.io.figures import Figure
from portmargin.lifecycle import DEFAULT_DEPTH_1PCT, DEFAULT_FUND, PopulationKind
from portmargin.methods import method_names
from portmargin.service._cascade import (
    CascadeRequestSpec,
    CascadeRun,
)

__all__ = ["CascadeForm", "CascadeView", "cascade_form", "cascade_view", "method_choices"]

_EXTRA_METHODS = ("rates:0.04/0.05", "ewma")
"""Requirement models offered besides the registered methods."""


def method_choices() -> tuple[str, ...]:
    """Methods the form offers: the registered ones, flat rates and EWMA rates."""
    return (*method_names(), *_EXTRA_METHODS)


@dataclass(frozen=True, slots=True, kw_only=True)
class CascadeForm:
    """The form as typed: shock text per underlying, checked methods, extra method specs,
    depth, fund, population and daily σ (shown again with the result)."""

    shocks: dict[str, str]
    methods: tuple[str, ...] = ("rates:0.04/0.05",)
    extra: str = ""
    depth: str = f"{DEFAULT_DEPTH_1PCT:.0f}"
    fund: str = f"{DEFAULT_FUND:.0f}"
    population: str = PopulationKind.MAX_LEVERAGE.value
    sigma: str = ""
    choices: tuple[str, ...] = field(default_factory=method_choices)


def _number(text: str, name: str) -> float:
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{name}: {text!r} is not a number")
    return value


def cascade_form(
    underlyings: tuple[str, ...], posted: FormData | None
) -> tuple[CascadeForm, CascadeRequestSpec | None, str | None]:
    """The form for the snapshot's ``underlyings`` (defaults, or as ``posted``), the run it
    asks for and what is wrong with it (or None)."""
    if posted is None:
        shocks = dict.fromkeys(underlyings, "")
        if "BTC" in shocks:
            shocks["BTC"] = "-0.1"
        return CascadeForm(shocks=shocks), None, None
    form = CascadeForm(
        shocks={u: str(posted.get(f"shock:{u}", "")).strip() for u in underlyings},
        methods=tuple(str(m) for m in posted.getlist("method"))[:20],
        extra=str(posted.get("extra", "")).strip()[:300],
        depth=str(posted.get("depth", "")).strip()[:40],
        fund=str(posted.get("fund", "")).strip()[:40],
        population=str(posted.get("population", "")).strip(),
        sigma=str(posted.get("sigma", "")).strip()[:40],
    )
    try:
        shock = {u: _number(t, f"shock {u}") for u, t in form.shocks.items() if t}
        extra = [m.strip() for m in form.extra.split(",") if m.strip()]
        methods = [m for m in form.methods if m in form.choices] + extra
        spec = CascadeRequestSpec(
            shock=shock,
            methods=list(dict.fromkeys(methods)),
            depth_1pct_usd=_number(form.depth, "depth"),
            fund_usd=_number(form.fund, "fund"),
            population=PopulationKind(form.population),
            sigma_daily=_number(form.sigma, "daily σ") if form.sigma else None,
        )
    except ValueError as exc:  # ValidationError is a ValueError too
        return form, None, str(exc)
    return form, spec, None


@dataclass(frozen=True, slots=True, kw_only=True)
class CascadeView:
    """A run as the page shows it: method labels, metric rows as text, the chart and the
    accounts set aside."""

    labels: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]
    figure: Figure
    set_aside: tuple[tuple[str, str], ...]
    snapshot_id: int
    population: str


def cascade_view(run: CascadeRun) -> CascadeView:
    """The page's view of ``run``."""
    results = run.comparison.results
    return CascadeView(
        labels=tuple(f"{chr(ord('A') + k)}: {r.margining}" for k, r in enumerate(results)),
        rows=tuple(
            (key, tuple(metric_text(v, key == "final_move") for v in values))
            for key, values in run.comparison.table()
        ),
        figure=cascade_figure(results),
        set_aside=tuple(sorted(run.set_aside.items())),
        snapshot_id=run.snapshot_id,
        population=run.comparison.population.value,
    )
