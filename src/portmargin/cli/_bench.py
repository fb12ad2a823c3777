"""``portmargin bench``: benchmarks that print portmargin's figures beside a baseline's."""

from __future__ import annotations

from typing import Annotated

import typer

from portmargin.bench import (
    run_cascade_bench,
    run_e2e_bench,
    run_incremental_bench,
    run_liqprice_bench,
    run_margin_bench,
    run_mc_bench,
    run_pricing_bench,
    run_recompute_bench,
    run_service_bench,
    run_var_bench,
)
from portmargin.cli._common import dump_json, load_market, stdout
from portmargin.data import demo_chain_path
from portmargin.io import load_snapshot
from portmargin.io.deribit import load_deribit_chain_csv
from portmargin.io.params import load_lifecycle_params, load_params
from portmargin.lifecycle import MethodMargining
from portmargin.methods import get_method
from portmargin.methods.var import VarMargin, VarParams

__all__ = ["bench_app"]

bench_app = typer.Typer(help="Benchmarks (figures and ratios against a baseline, same run).")


@bench_app.command("pricing")
def pricing(
    evaluations: Annotated[int, typer.Option(min=1, help="Options per kernel call.")] = 1_000_000,
    baseline: Annotated[
        int, typer.Option(min=1, help="Options priced by the QuantLib loop.")
    ] = 20_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Black-76 evaluations per second: numpy kernel vs a QuantLib blackFormula loop."""
    result = run_pricing_bench(evaluations, baseline)
    if as_json:
        dump_json(result.to_dict())
        return
    stdout.print(
        f"Black-76 numpy kernel : {result.evals_per_second / 1e6:8.1f} M evaluations/s "
        f"({result.evaluations:,} options in {result.seconds * 1e3:.1f} ms, one core)"
    )
    stdout.print(
        f"QuantLib blackFormula : {result.baseline_evals_per_second / 1e6:8.3f} M evaluations/s "
        f"({result.baseline_evaluations:,} options in {result.baseline_seconds * 1e3:.1f} ms, "
        "Python loop)"
    )
    stdout.print(f"speed-up              : {result.speedup:8.1f}x")


@bench_app.command("margin")
def margin(
    accounts: Annotated[int, typer.Option(min=1, help="Synthetic accounts.")] = 100_000,
    method: Annotated[str, typer.Option(help="Method to measure.")] = "deribit-pm",
    baseline: Annotated[
        int, typer.Option(min=1, help="Accounts run one by one as the baseline.")
    ] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Venue-wide margin on the bundled chain: batch path vs a per-account loop."""
    m = get_method(method)
    snap = load_snapshot(demo_chain_path()).snapshot
    result = run_margin_bench(m, load_params(m), snap, accounts, baseline)
    if as_json:
        dump_json(result.to_dict())
        return
    stdout.print(
        f"{result.method}: {result.accounts:,} accounts, {result.positions:,} positions, "
        f"{result.instruments} instruments"
    )
    stdout.print(
        f"batch        : {result.seconds:8.3f} s  ({result.accounts_per_second:,.0f} accounts/s)"
    )
    stdout.print(
        f"per-account  : {result.baseline_seconds_per_account * 1e3:8.3f} ms/account "
        f"(loop over {result.baseline_accounts} accounts)"
    )
    stdout.print(f"speed-up     : {result.speedup:8.1f}x   peak RSS {result.peak_rss_mb:,.0f} MiB")


@bench_app.command("incremental")
def incremental(
    accounts: Annotated[int, typer.Option(min=1, help="Synthetic accounts.")] = 100_000,
    method: Annotated[str, typer.Option(help="Method to measure.")] = "deribit-pm",
    updates: Annotated[int, typer.Option(min=1, help="One-account changes timed.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A kept MarginEngine: a new snapshot re-margins every account, a one-account change
    re-margins that account; against a full run over the book."""
    m = get_method(method)
    path = demo_chain_path()
    markets = (
        load_deribit_chain_csv(path).snapshot,
        load_deribit_chain_csv(path, forward_pick="median").snapshot,
    )
    result = run_incremental_bench(m, load_params(m), markets, accounts, updates)
    if as_json:
        dump_json(result.to_dict())
        return
    stdout.print(f"{result.method}: {result.accounts:,} accounts, {result.positions:,} positions")
    stdout.print(f"first full run        : {result.full_seconds:8.3f} s")
    stdout.print(f"new snapshot          : {result.new_snapshot_seconds:8.3f} s (median of 3)")
    stdout.print(
        f"one account changed   : {result.one_account_ms:8.3f} ms (median of {result.updates}); "
        f"a full run instead: {result.one_account_full_run_ms:,.0f} ms"
    )


@bench_app.command("e2e")
def e2e(
    accounts: Annotated[int, typer.Option(min=1, help="Synthetic accounts.")] = 1_000_000,
    fmt: Annotated[
        str, typer.Option("--format", help="Positions file format: parquet or csv.")
    ] = "parquet",
    method: Annotated[str, typer.Option(help="Method to run.")] = "deribit-pm",
    baseline: Annotated[
        int, typer.Option(min=1, help="Accounts of the CSV → --json baseline run.")
    ] = 20_000,
    workers: Annotated[
        list[int] | None,
        typer.Option(
            "--workers", min=1, help="Also run the file on N local Dask workers (repeatable)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """File in → results out: `portmargin margin POSITIONS --out results.parquet` as a child
    process on a synthetic venue, with stage seconds and peak memory, and a CSV → --json
    baseline; with --workers, the same file sharded over a local Dask cluster."""
    get_method(method)
    result = run_e2e_bench(accounts, fmt, method, baseline, tuple(workers or ()))
    if as_json:
        dump_json(result.to_dict())
        return
    labelled = [("run", result.run), ("baseline", result.baseline)]
    labelled += [(f"{r.workers} worker(s)", r) for r in result.sharded]
    for label, run in labelled:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in run.stages.items())
        stdout.print(
            f"{label:11}: {run.accounts:,} accounts, {run.rows:,} rows, {run.format} → "
            f"{run.output}: {run.seconds:.2f} s wall, peak RSS {run.peak_rss_mb:,.0f} MiB "
            f"(stages s: {stages})"
        )


@bench_app.command("mc")
def mc(
    paths: Annotated[int, typer.Option(min=100, help="Monte Carlo paths.")] = 100_000,
    positions: Annotated[int, typer.Option(min=1, help="Positions of the book.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Monte Carlo 1-day VaR/ES of one BTC/ETH book: Merton estimation on the bundled history,
    paths, Black-76 risk array, aggregation; seconds per stage (target <= 5 s in total)."""
    result = run_mc_bench(paths, positions)
    if as_json:
        dump_json(result.to_dict())
        return
    stdout.print(f"{result.paths:,} paths, {result.positions} positions (BTC and ETH)")
    for stage, seconds in result.stages.items():
        stdout.print(f"{stage:12}: {seconds:8.3f} s")
    stdout.print(f"{'total':12}: {result.seconds:8.3f} s")
    stdout.print(f"99 % VaR / ES: {result.var:,.2f} / {result.es:,.2f} USD")


@bench_app.command("var")
def var(
    accounts: Annotated[int, typer.Option(min=1, help="Synthetic accounts.")] = 10_000,
    positions: Annotated[int, typer.Option(min=1, help="Positions drawn per account.")] = 20,
    params: Annotated[
        str | None, typer.Option("--params", help="var parameter pack (default var/default).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """VaR/ES margin (FHS expected shortfall by default) of synthetic accounts on the bundled
    chain with the bundled daily history: seconds per stage, per account, peak memory."""
    pack = load_params(VarMargin(), params)
    if not isinstance(pack, VarParams):
        raise TypeError("the var method loads VarParams")
    snap = load_snapshot(demo_chain_path()).snapshot
    result = run_var_bench(snap, pack, accounts, positions)
    if as_json:
        dump_json(result.to_dict())
        return
    stdout.print(
        f"var ({result.method}, {result.measure}): {result.accounts:,} accounts, "
        f"{result.positions:,} positions, {result.instruments} instruments, "
        f"{result.scenarios:,} scenarios"
    )
    for name, seconds in result.stages.items():
        stdout.print(f"{name:12}: {seconds:8.3f} s")
    stdout.print(
        f"aggregation : {result.aggregation_seconds:8.3f} s (compute - scenarios - revaluation)"
    )
    stdout.print(
        f"per account : {result.seconds_per_account * 1e3:8.3f} ms   "
        f"peak RSS {result.peak_rss_mb:,.0f} MiB   errors {result.account_errors}"
    )


@bench_app.command("cascade")
def cascade(
    accounts: Annotated[int, typer.Option(min=1, help="Synthetic accounts.")] = 100_000,
    method: Annotated[
        str, typer.Option(help="'ewma' (dynamic rates) or a registered method name.")
    ] = "ewma",
    baseline: Annotated[
        int, typer.Option(min=1, help="Accounts valued and margined one by one as the baseline.")
    ] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Liquidation cascade over a synthetic population: batch rounds vs a per-account loop."""
    r = run_cascade_bench(accounts, baseline, method)
    if as_json:
        dump_json(r.to_dict())
        return
    stdout.print(f"{r.method}: {r.accounts:,} accounts, {r.positions:,} positions")
    stdout.print(
        f"cascade      : {r.seconds:8.3f} s, {r.rounds} rounds ({r.round_seconds * 1e3:.1f} ms "
        f"per round), {r.accounts_liquidated:,} accounts liquidated"
    )
    stdout.print(
        f"per-account  : {r.baseline_seconds_per_account * 1e3:8.3f} ms/account (loop over "
        f"{r.baseline_accounts}), {r.baseline_seconds:,.1f} s for the cascade's "
        f"{r.evaluations:,} evaluations"
    )
    stdout.print(f"speed-up     : {r.speedup:8.1f}x")


@bench_app.command("liqprice")
def liqprice(
    accounts: Annotated[int, typer.Option(min=1, help="Demo-like accounts.")] = 1_000,
    method: Annotated[str, typer.Option(help="Method giving MM.")] = "standard",
    underlying: Annotated[
        str | None, typer.Option(help="Move only this underlying (default: all held).")
    ] = "BTC",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Liquidation prices of demo-like accounts on the bundled market: one batch, timed."""
    m = get_method(method)
    margining = MethodMargining(method=m, params=load_params(m))
    direction = {underlying.upper(): 1.0} if underlying else None
    result = run_liqprice_bench(
        load_market(None), accounts, margining, load_lifecycle_params(), direction
    )
    if as_json:
        dump_json(result.to_dict())
        return
    stdout.print(
        f"{result.margining}: {result.accounts:,} accounts ({result.positions:,} positions), "
        f"moving {result.direction}"
    )
    stdout.print(
        f"liquidation prices : {result.seconds:8.2f} s wall, {result.cpu_seconds:.2f} s CPU "
        f"({result.cpu_seconds / result.accounts * 1e3:.2f} ms CPU/account)"
    )
    stdout.print(
        f"grid calls         : {result.grid_calls:,} batched; Brent evaluations "
        f"{result.refine_evaluations:,} (one account each)"
    )
    stdout.print(
        f"roots              : {result.reachable_down:,} down, {result.reachable_up:,} up; "
        f"{result.liquidatable:,} liquidatable now; {result.errors:,} errors"
    )


@bench_app.command("service")
def service(
    seconds: Annotated[float, typer.Option(min=0.1, help="Timed window, seconds.")] = 10.0,
    clients: Annotated[
        int, typer.Option(min=1, help="Concurrent keep-alive clients of the load generator.")
    ] = 4,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 2,
    method: Annotated[str, typer.Option(help="Margin method of both routes.")] = "deribit-pm",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Requests/s and latency of `portmargin serve` over HTTP on loopback (what-if and account
    margin of a 50-position account, driven from a separate process), beside the same margin
    computed in process (target >= 200 requests/s, p99 <= 50 ms, no error, on 2 cores)."""
    get_method(method)
    result = run_service_bench(seconds, clients, workers, method)
    if as_json:
        dump_json(result.to_dict())
        return
    stdout.print(
        f"portmargin serve --workers {result.workers}, {result.clients} clients, "
        f"{result.seconds:.1f} s, {result.positions}-position account, {result.method} "
        f"({result.cpus} CPUs, load average {result.load_average:.2f} before the run)",
        markup=False,
    )
    stdout.print(
        f"loaded {result.load_accounts:,} accounts ({result.load_rows:,} positions) through "
        f"POST /v1/positions in {result.load_seconds:.2f} s; server ready in "
        f"{result.start_seconds:.1f} s",
        markup=False,
    )
    for r in result.routes:
        errors = ", ".join(f"{k}: {v}" for k, v in r.errors.items()) or "none"
        stdout.print(r.route, markup=False)
        stdout.print(
            f"  HTTP       : {r.per_second:8.1f} requests/s  p50 {r.p50_ms:6.2f} ms  "
            f"p99 {r.p99_ms:6.2f} ms  errors {errors}",
            markup=False,
        )
        stdout.print(
            f"  in process : {r.baseline_per_second:8.1f} calls/s     p50 "
            f"{r.baseline_p50_ms:6.2f} ms  (HTTP p50 / in-process p50: {r.overhead_ratio:.1f}x)",
            markup=False,
        )
    cpu = " + ".join(f"{v:.1f}" for v in result.server_cpu_seconds) or "n/a"
    stdout.print(
        f"CPU seconds in the window: server processes {cpu}, load generator "
        f"{result.load_generator_cpu_seconds:.1f}; clients per server process "
        f"{' + '.join(map(str, result.connections))}",
        markup=False,
    )
    met = "met" if result.target_met else "NOT met"
    stdout.print(
        f"all routes : {result.per_second:8.1f} requests/s  p50 {result.p50_ms:6.2f} ms  "
        f"p99 {result.p99_ms:6.2f} ms  errors {result.errors}; target (>= 200 requests/s, "
        f"p99 <= 50 ms, no error) {met}",
        markup=False,
    )


@bench_app.command("recompute")
def recompute(
    accounts: Annotated[int, typer.Option(min=1, help="Stored accounts.")] = 100_000,
    positions: Annotated[int, typer.Option(min=1, help="Random positions per account.")] = 20,
    method: Annotated[str, typer.Option(help="Method recomputed.")] = "standard",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """POST /v1/recompute through the API (in process) over a stored random book on a SQLite
    file: store time, job time and its stages, accounts/s, peak memory (target <= 30 s for
    100,000 x 20 on 2 cores)."""
    get_method(method)
    result = run_recompute_bench(accounts, positions, method)
    if as_json:
        dump_json(result.to_dict())
        return
    stdout.print(
        f"{result.method}: {result.accounts:,} accounts x {result.positions_per_account} "
        f"positions on SQLite"
    )
    stdout.print(f"store the book : {result.store_seconds:8.2f} s")
    stdout.print(
        f"recompute job  : {result.job_seconds:8.2f} s  ({result.accounts_per_second:,.0f} "
        f"accounts/s, {result.rows:,} results, {result.errors} errors)"
    )
    for stage, value in result.stages.items():
        stdout.print(f"  {stage:12} : {value:8.2f} s")
    stdout.print(f"peak RSS       : {result.peak_rss_mb:8,.0f} MiB")
