"""``portmargin cascade``: liquidation cascades of a positions file under one or more margin
methods, side by side (``lifecycle.md`` §9)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from portmargin.cli._common import (
    EXIT_FAILED,
    HISTORY_OPTION,
    MarketOption,
    dump_json,
    load_market,
    stderr,
    stdout,
)
from portmargin.core import ValidationError, ms_to_datetime
from portmargin.instruments import Future, Perpetual
from portmargin.io import read_positions
from portmargin.io.cascade_plot import metric_text, write_cascade_html
from portmargin.io.params import load_lifecycle_params, load_params
from portmargin.lifecycle import (
    DEFAULT_DEPTH_1PCT,
    DEFAULT_FUND,
    CascadeComparison,
    CascadeMarket,
    CascadeParams,
    FullClose,
    ImpactSlippage,
    LifecycleParams,
    LinearImpact,
    Liquidator,
    Margining,
    MethodMargining,
    PartialLiquidation,
    PopulationKind,
    PriceImpact,
    SqrtImpact,
    compare_cascades,
    ewma_daily_vol,
    is_ewma,
    requirement_model,
)
from portmargin.market import MarketSnapshot, PriceHistory
from portmargin.methods import get_method
from portmargin.risk import Book

__all__ = ["cascade"]


_METHOD_HELP = (
    "Margin method (repeatable; compared side by side): a registered method name (see "
    "`methods`, bundled parameters), 'rates:MM/IM' (flat rates on notional, e.g. "
    "rates:0.04/0.05), or 'ewma' / 'ewma:K/FLOOR/CAP' (MM clip(K sigma, FLOOR, CAP) with sigma "
    "updated by the move, IM 1.25 x MM at S0; default 3/0.08/0.40)."
)


def _per_underlying(
    option: str, items: list[str] | None, underlyings: list[str]
) -> dict[str, float]:
    """``U=X`` items (or one plain ``X`` for every underlying) as floats."""
    values: dict[str, float] = {}
    for item in items or []:
        name, sep, text = item.rpartition("=")
        try:
            number = float(text)
        except ValueError:
            raise ValidationError(option, item, "U=NUMBER or NUMBER, e.g. BTC=-0.1") from None
        targets = [name.strip().upper()] if sep else underlyings
        values.update(dict.fromkeys(targets, number))
    return values


def _derivative_underlyings(book: Book) -> list[str]:
    return sorted({i.underlying for i in book.instruments if isinstance(i, Future | Perpetual)})


def _history(market: MarketSnapshot) -> tuple[PriceHistory, str]:
    if market.history is None:
        raise ValidationError("--history", None, "daily closes for sigma and depth")
    return market.history, ms_to_datetime(market.valuation_ms).date().isoformat()


def _sigmas(
    given: dict[str, float], underlyings: list[str], market: MarketSnapshot
) -> dict[str, float]:
    """``--sigma-daily`` values, else the EWMA ``sigma_now`` of the history at the market date."""
    out = {}
    for u in underlyings:
        if u in given:
            out[u] = given[u]
        else:
            history, as_of = _history(market)
            out[u] = ewma_daily_vol(history, u, as_of)
    return out


def _margining(spec: str, market: MarketSnapshot, sigmas: dict[str, float]) -> Margining:
    def method(name: str) -> Margining:
        m = get_method(name)
        return MethodMargining(method=m, params=load_params(m))

    return requirement_model(spec, market, sigmas=lambda: sigmas, method=method, field="--method")


def _impact(
    model: str,
    underlyings: list[str],
    market: MarketSnapshot,
    depth_1pct: dict[str, float],
    sigmas: dict[str, float],
    depth_daily: dict[str, float],
    resilience: float,
) -> CascadeMarket:
    models: dict[str, PriceImpact] = {}
    for u in underlyings:
        if model == "linear":
            models[u] = LinearImpact(depth_1pct_usd=depth_1pct.get(u, DEFAULT_DEPTH_1PCT))
        elif model == "sqrt":
            if u in depth_daily:
                depth = depth_daily[u]
            else:
                history, as_of = _history(market)
                depth = 0.01 * history.median_volume(u, as_of=as_of)
            models[u] = SqrtImpact(sigma_daily=sigmas[u], depth_usd=depth)
        else:
            raise ValidationError("--impact", model, "linear or sqrt")
    return CascadeMarket(impact=models, resilience=resilience)


def _liquidator(mode: str, params: LifecycleParams, model: CascadeMarket) -> Liquidator:
    if mode == "full":
        return FullClose()
    if mode == "partial":
        return PartialLiquidation(params=params, slippage=ImpactSlippage(impact=model.impact))
    raise ValidationError("--liquidation", mode, "full or partial")


def cascade(
    positions: Annotated[Path, typer.Argument(help="Positions file: account,instrument,quantity.")],
    market: MarketOption = None,
    method: Annotated[list[str] | None, typer.Option("--method", help=_METHOD_HELP)] = None,
    shock: Annotated[
        list[str] | None,
        typer.Option(
            "--shock",
            help="Initial move, U=X (repeatable), e.g. BTC=-0.1; X alone: every underlying held.",
        ),
    ] = None,
    impact: Annotated[
        str, typer.Option("--impact", help="Price impact: linear or sqrt.")
    ] = "linear",
    depth_1pct: Annotated[
        list[str] | None,
        typer.Option(
            "--depth-1pct",
            help="linear: USD moving the price 1 %, U=USD or USD (default 10,000,000).",
        ),
    ] = None,
    sigma_daily: Annotated[
        list[str] | None,
        typer.Option(
            "--sigma-daily",
            help="sqrt and ewma: daily vol, U=X or X "
            "(default: EWMA of the history at the market date).",
        ),
    ] = None,
    depth_daily: Annotated[
        list[str] | None,
        typer.Option(
            "--depth-daily",
            help="sqrt: daily depth V in USD, U=USD or USD "
            "(default: 1 % of the median 30-day volume).",
        ),
    ] = None,
    resilience: Annotated[
        float, typer.Option(help="Share of the cumulative impact recovered before each round.")
    ] = 0.0,
    fund: Annotated[
        float, typer.Option("--fund", help="Insurance fund at the start, USD.")
    ] = DEFAULT_FUND,
    penalty: Annotated[
        float | None,
        typer.Option(
            help="Liquidation penalty, fraction of notional (default: the lifecycle pack's)."
        ),
    ] = None,
    population: Annotated[
        PopulationKind,
        typer.Option(
            help="Deposits: cushion x IM per method, the same for all, or as in the file."
        ),
    ] = PopulationKind.MAX_LEVERAGE,
    cushion: Annotated[
        float, typer.Option(help="Deposit over IM at S0 (max-leverage, fixed-equity).")
    ] = 1.5,
    deposit: Annotated[
        float | None,
        typer.Option(
            help="fixed-equity: USD per account (default: cushion x IM of the first method)."
        ),
    ] = None,
    max_rounds: Annotated[int, typer.Option(min=1, help="Rounds at most.")] = 100,
    liquidation: Annotated[
        str,
        typer.Option(
            "--liquidation",
            help="full: close every liquidated account at once; partial: the liquidation "
            "engine's slices until E >= liq_target x MM (cost estimate from the impact model).",
        ),
    ] = "full",
    adl_offbook: Annotated[
        bool,
        typer.Option(
            "--adl-offbook",
            help="Close bankrupt accounts the fund cannot cover off-book at their "
            "bankruptcy price.",
        ),
    ] = False,
    history: HISTORY_OPTION = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write an HTML chart (works offline).")
    ] = None,
) -> None:
    """Liquidation cascade of POSITIONS after a shock, per margin method, side by side.

    Each round re-margins every surviving account at the round's price, closes those below
    maintenance, executes their net flow with the price-impact model, nets penalties and
    deficits into the insurance fund and moves the price. Futures and perpetuals only;
    accounts holding options are set aside and listed. Exit code 1 if any account was set aside.
    """
    snap = load_market(market, history=history)
    pos = read_positions(positions)
    book = pos.book
    held = _derivative_underlyings(book)
    shocks = _per_underlying("--shock", shock, held)
    if not shocks:
        raise ValidationError("--shock", shock, "at least one U=X, e.g. BTC=-0.1")
    underlyings = sorted(set(held) | set(shocks))
    specs = method or ["ewma"]
    given_sigmas = _per_underlying("--sigma-daily", sigma_daily, underlyings)
    needs_sigma = impact == "sqrt" or any(is_ewma(s) for s in specs)
    sigmas = _sigmas(given_sigmas, underlyings, snap) if needs_sigma else {}
    margins = [_margining(s, snap, sigmas) for s in specs]
    model = _impact(
        impact,
        underlyings,
        snap,
        _per_underlying("--depth-1pct", depth_1pct, underlyings),
        sigmas,
        _per_underlying("--depth-daily", depth_daily, underlyings),
        resilience,
    )
    lifecycle = load_lifecycle_params()
    params = CascadeParams.from_lifecycle(
        lifecycle,
        shock=shocks,
        fund_usd=fund,
        penalty=penalty,
        max_rounds=max_rounds,
        adl_offbook=adl_offbook,
    )
    comparison = compare_cascades(
        book,
        snap,
        margins,
        params,
        model,
        population=population,
        cushion=cushion,
        deposits=deposit,
        liquidator=_liquidator(liquidation, lifecycle, model),
    )
    set_aside = dict(pos.account_errors)
    for result, errors in zip(comparison.results, comparison.population_errors, strict=True):
        set_aside.update(errors)
        set_aside.update(result.outcomes.errors)
    if plot is not None:
        write_cascade_html(plot, comparison.results, f"Cascade of {positions.name}")
    if as_json:
        dump_json({**comparison.to_dict(), "file_errors": dict(pos.account_errors)})
    else:
        _print(comparison, set_aside)
        if plot is not None:
            stdout.print(f"chart written to {plot}")
    if set_aside:
        raise typer.Exit(EXIT_FAILED)


def _print(comparison: CascadeComparison, set_aside: dict[str, str]) -> None:
    results = comparison.results
    table = Table(title=f"Cascade ({comparison.population.value} population)")
    table.add_column("metric")
    for k, r in enumerate(results):
        table.add_column(f"{chr(ord('A') + k)}: {r.margining}", justify="right")
    for key, values in comparison.table():
        table.add_row(key, *(metric_text(v, key == "final_move") for v in values))
    stdout.print(table)
    for k, r in enumerate(results):
        rounds = Table(title=f"{chr(ord('A') + k)}: rounds")
        for col in ("round", "liquidated", "flow USD", "price", "execution", "next", "fund"):
            rounds.add_column(col, justify="right")
        for rnd in r.rounds:
            rounds.add_row(
                str(rnd.number),
                str(len(rnd.liquidated)),
                metric_text(dict(rnd.flow_usd)),
                metric_text(dict(rnd.price)),
                metric_text(dict(rnd.execution_price)),
                metric_text(dict(rnd.next_price)),
                metric_text(rnd.fund_end),
            )
        stdout.print(rounds)
    for account, reason in list(set_aside.items())[:20]:
        stderr.print(f"set aside: {account}: {reason}", markup=False, soft_wrap=True)
    if len(set_aside) > 20:
        stderr.print(f"... and {len(set_aside) - 20} more accounts set aside")
