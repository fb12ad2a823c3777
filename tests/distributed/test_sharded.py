"""Sharded margin runs (in process and on a Dask LocalCluster) equal the local run."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import portmargin.risk._priced as priced_module
from cli_support import run_cli
from portmargin.bench._margin import venue_instruments
from portmargin.core import DataFormatError
from portmargin.data import demo_chain_path
from portmargin.distributed import DaskExecutor, LocalExecutor, margin_sharded
from portmargin.instruments import Instrument
from portmargin.io.inputs import read_account_inputs
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.risk import InstrumentTable, PricedSnapshot
from portmargin.risk._table import resolve_fresh

T = TypeVar("T")
R = TypeVar("R")

CHAIN = str(demo_chain_path())


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory, demo_snapshot: MarketSnapshot) -> Path:
    """300 accounts grouped by account in row groups of 250 rows, with odd accounts mixed in."""
    rng = np.random.default_rng(5)
    names = [i.name for i in venue_instruments(demo_snapshot)]
    accounts, instruments, quantities = [], [], []
    for a in range(300):
        for _ in range(int(rng.integers(1, 12))):
            accounts.append(f"acct-{a:04d}")
            instruments.append(names[int(rng.integers(len(names)))])
            quantities.append(float(np.round(rng.normal(), 1)) or 0.5)
    extra = [
        ("acct-0100", "NOT-AN-INSTRUMENT", 1.0),
        ("flat", "BTC-PERPETUAL", 1.0),
        ("flat", "BTC-PERPETUAL", -1.0),
        ("cash", "BTC", 2.0),
        ("cash", "USDC", 500.0),
        ("smile", "BTC-27JUN20-9000-C", -1.0),
    ]
    position = accounts.index("acct-0101")
    for k, (a, i, q) in enumerate(extra):
        accounts.insert(position + k, a)
        instruments.insert(position + k, i)
        quantities.insert(position + k, q)
    table = pa.table({"account": accounts, "instrument": instruments, "quantity": quantities})
    path = tmp_path_factory.mktemp("venue") / "positions.parquet"
    pq.write_table(table, path, row_group_size=250)
    return path


def rows(path: Path) -> list[dict[str, Any]]:
    table = pq.read_table(path) if path.suffix == ".parquet" else _csv(path)
    out = table.to_pylist()
    return sorted(out, key=lambda r: (r["account"], r["currency"] or "", r["group"] or ""))


def _csv(path: Path) -> pa.Table:
    import pyarrow.csv as pcsv

    text = ("account", "status", "method", "params_version", "currency", "group")
    types = {name: pa.string() for name in (*text, "worst_scenario", "error")}
    return pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types=types))


@pytest.fixture(scope="module")
def local(venue: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("local") / "results.parquet"
    proc = run_cli(
        "margin", str(venue), "--market", CHAIN, "--method", "deribit-pm", "--out", str(out)
    )
    assert proc.returncode == 1, proc.stderr  # acct-0100 and smile
    return rows(out)


def test_local_run_accounts_for_every_account(local: list[dict[str, Any]]) -> None:
    status = {r["account"]: r["status"] for r in local}
    assert len(status) == 303
    assert status["acct-0100"] == status["smile"] == "error"
    assert status["flat"] == status["cash"] == "ok"
    bad = next(r for r in local if r["account"] == "acct-0100")
    assert "NOT-AN-INSTRUMENT" in bad["error"]
    assert "column instrument" in bad["error"] or "instrument" in bad["error"]


def test_in_process_shards_equal_the_local_run(
    venue: Path, local: list[dict[str, Any]], demo_snapshot: MarketSnapshot, tmp_path: Path
) -> None:
    method = get_method("deribit-pm")
    out = tmp_path / "sharded.parquet"
    done = margin_sharded(venue, out, method, load_params(method), demo_snapshot, LocalExecutor())
    assert len(done.shards) == 2
    assert done.accounts == 303
    assert set(done.errors) == {"acct-0100", "smile"}
    assert rows(out) == local
    assert not out.with_name(out.name + ".parts").exists()


class RecordingExecutor(LocalExecutor):
    """Runs in this process and keeps the shared values it was given."""

    shared: Mapping[str, Any]

    def map(self, fn: Callable[..., R], items: Sequence[T], shared: Mapping[str, Any]) -> list[R]:
        self.shared = shared
        return super().map(fn, items, shared)


def test_shards_get_the_snapshot_priced_once_for_the_file(
    venue: Path,
    local: list[dict[str, Any]],
    demo_snapshot: MarketSnapshot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolved: list[str] = []

    def counting(instruments: tuple[Instrument, ...], market: MarketSnapshot) -> InstrumentTable:
        resolved.extend(i.name for i in instruments)
        return resolve_fresh(instruments, market)

    monkeypatch.setattr(priced_module, "resolve_fresh", counting)
    method = get_method("deribit-pm")
    out = tmp_path / "priced.parquet"
    executor = RecordingExecutor()
    margin_sharded(venue, out, method, load_params(method), demo_snapshot, executor)
    market = executor.shared["market"]
    assert isinstance(market, PricedSnapshot)
    names = set(pq.read_table(venue, columns=["instrument"]).column("instrument").to_pylist())
    names.discard("NOT-AN-INSTRUMENT")
    assert set(market.table.names) == names
    assert "BTC-27JUN20-9000-C" in market.table.missing
    assert Counter(n for n in resolved if n in names) == dict.fromkeys(names, 1)
    assert rows(out) == local


def test_dask_local_cluster_equals_the_local_run(
    venue: Path, local: list[dict[str, Any]], demo_snapshot: MarketSnapshot, tmp_path: Path
) -> None:
    method = get_method("deribit-pm")
    out = tmp_path / "dask.csv"
    with DaskExecutor(workers=2) as executor:
        assert executor.workers == 2
        done = margin_sharded(venue, out, method, load_params(method), demo_snapshot, executor)
    assert len(done.shards) == 4
    assert sorted(s.index for s in done.shards) == [0, 1, 2, 3]
    sharded = rows(out)
    assert [r["account"] for r in sharded] == [r["account"] for r in local]
    for a, b in zip(sharded, local, strict=True):
        for key, value in b.items():
            if isinstance(value, float):
                assert a[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
            else:
                assert (a[key] or None) == (value or None), key


def test_cli_workers_equal_the_local_run(
    venue: Path, local: list[dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "cli.parquet"
    proc = run_cli(
        "margin",
        str(venue),
        "--market",
        CHAIN,
        "--method",
        "deribit-pm",
        "--out",
        str(out),
        "--workers",
        "2",
    )
    assert proc.returncode == 1, proc.stderr
    assert "303 accounts in, 301 computed, 2 with errors" in proc.stdout
    assert "error: account acct-0100" in proc.stderr
    assert rows(out) == local


def test_sharded_runs_refuse_what_they_cannot_do(
    venue: Path, demo_snapshot: MarketSnapshot, tmp_path: Path
) -> None:
    method = get_method("standard")
    params = load_params(method)
    with pytest.raises(DataFormatError, match="Parquet"):
        margin_sharded(
            tmp_path / "p.csv",
            tmp_path / "o.parquet",
            method,
            params,
            demo_snapshot,
            LocalExecutor(),
        )
    with pytest.raises(DataFormatError, match=r"\.parquet or \.csv"):
        margin_sharded(venue, tmp_path / "o.jsonl", method, params, demo_snapshot, LocalExecutor())
    proc = run_cli(
        "margin", str(venue), "--market", CHAIN, "--method", "standard", "--workers", "2"
    )
    assert proc.returncode == 2
    assert "--out" in proc.stderr


def test_e2e_benchmark_runs_the_file_on_dask_workers() -> None:
    from portmargin.bench import run_e2e_bench

    result = run_e2e_bench(accounts=600, baseline_accounts=100, workers=(2,))
    (sharded,) = result.sharded
    assert sharded.workers == 2
    assert sharded.accounts == result.run.accounts == 600
    assert sharded.exit_code == result.run.exit_code
    assert "margin" in sharded.stages


def test_cli_on_a_running_cluster_equals_the_local_run(
    venue: Path, local: list[dict[str, Any]], tmp_path: Path
) -> None:
    """A scheduler and a worker started as separate processes, as on a real cluster."""
    import json
    import time

    dask = str(Path(sys.executable).with_name("dask"))
    info = tmp_path / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    listen = ["--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
    scheduler = subprocess.Popen(
        [dask, "scheduler", *listen, "--scheduler-file", str(info)], **quiet
    )
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        worker = subprocess.Popen(
            [dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--no-nanny"], **quiet
        )
        out = tmp_path / "remote.parquet"
        args = ["margin", str(venue), "--market", CHAIN, "--method", "deribit-pm"]
        proc = run_cli(*args, "--out", str(out), "--scheduler", address)
        assert proc.returncode == 1, proc.stderr
        assert "on 1 worker(s)" in proc.stdout
        assert rows(out) == local
    finally:
        for p in (worker, scheduler):
            if p is not None:
                p.terminate()
                p.wait(timeout=30)


def test_unreachable_scheduler_is_a_clear_error(venue: Path, tmp_path: Path) -> None:
    args = ["margin", str(venue), "--market", CHAIN, "--method", "standard"]
    proc = run_cli(*args, "--out", str(tmp_path / "o.parquet"), "--scheduler", "tcp://127.0.0.1:9")
    assert proc.returncode == 2
    assert "cannot reach the Dask scheduler tcp://127.0.0.1:9" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sharded_runs_pass_the_inputs_of_each_shards_accounts(
    venue: Path, local: list[dict[str, Any]], demo_snapshot: MarketSnapshot, tmp_path: Path
) -> None:
    """Per-account inputs reach the accounts of every shard: the sharded run with an inputs
    file equals the local command-line run with the same file, and differs from the run
    without it exactly in those accounts."""
    method = get_method("deribit-pm")
    given = {f"acct-{a:04d}": 0.01 * (a + 1) for a in range(0, 300, 15)}
    inputs_file = tmp_path / "inputs.csv"
    inputs_file.write_text(
        "account,group,mmp_margin\n" + "".join(f"{a},btc_btc,{v}\n" for a, v in given.items()),
        encoding="utf-8",
    )
    expected = tmp_path / "local.parquet"
    proc = run_cli(
        "margin", str(venue), "--market", CHAIN, "--method", "deribit-pm",
        "--out", str(expected), "--inputs", str(inputs_file),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    out = tmp_path / "sharded.parquet"
    inputs = read_account_inputs(inputs_file, method.account_inputs)
    margin_sharded(venue, out, method, load_params(method), demo_snapshot, LocalExecutor(), inputs)
    assert rows(out) == rows(expected)
    changed = {
        r["account"]
        for r, base in zip(rows(out), local, strict=True)
        if r["initial_margin"] != base["initial_margin"]
    }
    assert changed == set(given)
