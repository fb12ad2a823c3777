"""``run_cascade_bench`` on a small synthetic population: coherent counts, reproducible."""

from __future__ import annotations

from portmargin.bench import run_cascade_bench


def test_cascade_bench_reports_a_coherent_run() -> None:
    result = run_cascade_bench(accounts=2000, baseline_accounts=20)
    assert result.accounts == 2000
    assert result.rounds >= 1
    assert 0 < result.accounts_liquidated <= result.accounts
    assert result.evaluations >= result.accounts
    assert result.baseline_accounts == 20
    assert result.seconds > 0
    assert result.baseline_seconds == result.baseline_seconds_per_account * result.evaluations
    assert result.to_dict()["rounds"] == result.rounds


def test_cascade_bench_outcome_is_reproducible() -> None:
    a = run_cascade_bench(accounts=500, baseline_accounts=5)
    b = run_cascade_bench(accounts=500, baseline_accounts=5)
    assert (a.rounds, a.accounts_liquidated, a.liquidated_notional) == (
        b.rounds,
        b.accounts_liquidated,
        b.liquidated_notional,
    )
