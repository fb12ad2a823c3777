"""``run_mc_bench``: a small Monte Carlo VaR/ES run of the BTC/ETH book on the bundled data."""

from __future__ import annotations

import numpy as np

from portmargin.bench import run_mc_bench


def test_mc_bench_reports_every_stage_and_a_coherent_var_es() -> None:
    result = run_mc_bench(paths=2000, positions=8)
    assert result.paths == 2000
    assert result.positions == 8
    assert list(result.stages) == ["read", "estimate", "simulate", "risk_array", "aggregate"]
    assert result.seconds == sum(result.stages.values())
    assert np.isfinite(result.var)
    assert 0 < result.var <= result.es
    assert result.to_dict()["stages"] == result.stages


def test_mc_bench_is_reproducible() -> None:
    a = run_mc_bench(paths=500, positions=4)
    b = run_mc_bench(paths=500, positions=4)
    assert (a.var, a.es) == (b.var, b.es)
