"""The user's path end to end: a positions file in, a results file out, as a separate process.

``portmargin bench e2e`` writes a synthetic venue (accounts × about 20 positions over the
bundled chain, plus coin balances) to Parquet or CSV, then runs ``portmargin margin`` on it in a
child process (``sys.executable -m portmargin``), timing the whole run and reading back the
per-stage seconds the child reports with its hidden ``--timings FILE`` option. Peak memory is
the child's own ``ru_maxrss`` (``os.wait4``). A baseline in the same run times a smaller CSV
file printed with ``--json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from portmargin.bench._margin import venue_instruments
from portmargin.core import PortmarginError
from portmargin.data import demo_chain_path
from portmargin.io import load_snapshot

__all__ = ["E2EBench", "E2ERun", "run_e2e_bench", "write_synthetic_venue"]

POSITIONS_PER_ACCOUNT = 20
"""Distinct instruments per synthetic account (before coin balances)."""
BTC_BALANCE_SHARE = 0.3
"""Share of synthetic accounts that also hold a BTC balance."""
USDC_BALANCE_SHARE = 0.2
"""Share of synthetic accounts that also hold a USDC balance."""
SEED = 20200521
"""Seed of the synthetic venue (the baseline's is ``SEED + 1``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class E2ERun:
    """One timed ``portmargin margin`` child process.

    Attributes
    ----------
    accounts, rows
        Accounts and rows in the positions file.
    format
        ``parquet`` or ``csv`` (positions file).
    output
        What the child wrote: a results file suffix (``.parquet``) or ``json`` (stdout).
    seconds
        Wall time of the child process, s (start-up and imports included).
    stages
        Stage → seconds as reported by the child (``load``, ``read``, ``book``,
        ``margin``, ``write``).
    peak_rss_mb
        Peak resident memory of the child, MiB.
    exit_code
        The child's exit code (0 when every account was computed).
    workers
        Dask workers of a sharded run (``--workers``); 0 for the in-process run.
    """

    accounts: int
    rows: int
    format: str
    output: str
    seconds: float
    stages: dict[str, float]
    peak_rss_mb: float
    exit_code: int
    workers: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class E2EBench:
    """The measured run and its baseline.

    Attributes
    ----------
    method
        Method measured.
    accounts, seconds, stages, peak_rss_mb
        Of the main run (see :class:`E2ERun`).
    write_input_seconds
        Time to generate and write the synthetic positions file in its own process (not
        part of ``seconds``).
    run
        The main run in full.
    baseline
        The CSV → ``--json`` run.
    sharded
        The main run's file again with ``--workers N`` (a local Dask cluster), one run per
        requested worker count; ``peak_rss_mb`` is the driver's (workers are separate
        processes).
    """

    method: str
    accounts: int
    seconds: float
    stages: dict[str, float]
    peak_rss_mb: float
    write_input_seconds: float
    run: E2ERun
    baseline: E2ERun
    sharded: tuple[E2ERun, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


def write_synthetic_venue(path: Path, accounts: int, rng: np.random.Generator) -> int:
    """Write a synthetic venue's positions file (suffix ``.parquet`` or ``.csv``).

    Every account holds :data:`POSITIONS_PER_ACCOUNT` distinct instruments of the bundled chain
    (options, futures, perpetual; normal quantities with a 1-coin scale, rounded to 0.1, never
    0); some also hold a BTC (0–5 BTC) or USDC (0–50,000) balance. Rows are grouped by account.

    Returns
    -------
    int
        Rows written.
    """
    instruments = venue_instruments(load_snapshot(demo_chain_path()).snapshot)
    names = [i.name for i in instruments] + ["BTC", "USDC"]
    n_inst = len(instruments)
    k = min(POSITIONS_PER_ACCOUNT, n_inst)
    picks = np.sort(rng.integers(0, n_inst - k + 1, size=(accounts, k)), axis=1)
    cols = (picks + np.arange(k)).ravel()  # strictly increasing per account: distinct
    qty = np.round(rng.normal(0.0, 1.0, size=cols.size), 1)
    qty[qty == 0.0] = 0.1
    rows = np.repeat(np.arange(accounts, dtype=np.int64), k)
    btc = np.flatnonzero(rng.random(accounts) < BTC_BALANCE_SHARE)
    usdc = np.flatnonzero(rng.random(accounts) < USDC_BALANCE_SHARE)
    rows = np.concatenate([rows, btc, usdc])
    cols = np.concatenate([cols, np.full(btc.size, n_inst), np.full(usdc.size, n_inst + 1)])
    qty = np.concatenate(
        [qty, np.round(rng.uniform(0, 5, btc.size), 3), np.round(rng.uniform(0, 5e4, usdc.size))]
    )
    order = np.argsort(rows, kind="stable")
    rows, cols, qty = rows[order], cols[order], qty[order]
    ids = pa.array([f"acct-{i:07d}" for i in range(accounts)], pa.string())
    table = pa.table(
        {
            "account": pa.DictionaryArray.from_arrays(pa.array(rows.astype(np.int32)), ids),
            "instrument": pa.DictionaryArray.from_arrays(
                pa.array(cols.astype(np.int32)), pa.array(names, pa.string())
            ),
            "quantity": pa.array(qty, pa.float64()),
        }
    )
    plain = pa.table(  # plain string columns, as a venue export has them
        {c: table.column(c).cast(pa.string()) for c in ("account", "instrument")}
        | {"quantity": table.column("quantity")}
    )
    if path.suffix.lower() == ".parquet":
        pq.write_table(plain, path)
    else:
        pa_csv.write_csv(plain, path)
    return int(qty.size)


def _run_child(args: list[str], timings: Path, stdout: Path) -> tuple[float, float, int]:
    """Run ``python -m portmargin ARGS``; wall seconds, peak RSS MiB, exit code."""
    start = time.perf_counter()
    with stdout.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "portmargin", *args, "--timings", str(timings), "--quiet"],
            stdout=out,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024.0, proc.returncode


_WRITE_VENUE = (
    "import sys; from pathlib import Path; import numpy as np; "
    "from portmargin.bench._e2e import write_synthetic_venue; "
    "print(write_synthetic_venue(Path(sys.argv[1]), int(sys.argv[2]), "
    "np.random.default_rng(int(sys.argv[3]))))"
)


def _write_input(path: Path, accounts: int, seed: int) -> int:
    """Write the synthetic venue in a child process and return its rows.

    A child started from a large parent inherits the parent's peak RSS as its own
    ``ru_maxrss`` (Linux keeps it across ``vfork`` + ``exec``), so the measuring process never
    holds the venue itself.
    """
    proc = subprocess.run(
        [sys.executable, "-c", _WRITE_VENUE, str(path), str(accounts), str(seed)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise PortmarginError(f"writing the synthetic venue failed: {proc.stderr.strip()}")
    return int(proc.stdout)


def _timed_run(
    folder: Path, positions: Path, rows: int, method: str, output: str, workers: int = 0
) -> E2ERun:
    timings = folder / f"timings-{positions.stem}-{workers}.json"
    args = ["margin", str(positions), "--market", str(demo_chain_path()), "--method", method]
    args += ["--json"] if output == "json" else ["--out", str(folder / f"results{output}")]
    args += ["--workers", str(workers)] if workers else []
    seconds, peak, code = _run_child(args, timings, folder / "stdout.txt")
    if code not in (0, 1):
        raise PortmarginError(f"portmargin margin exited with code {code} on {positions}")
    report = json.loads(timings.read_text(encoding="utf-8"))
    return E2ERun(
        accounts=int(report["accounts"]),
        rows=rows,
        format=positions.suffix.lstrip("."),
        output=output,
        seconds=seconds,
        stages={k: float(v) for k, v in report["stages"].items()},
        peak_rss_mb=peak,
        exit_code=code,
        workers=workers,
    )


def run_e2e_bench(
    accounts: int = 1_000_000,
    fmt: str = "parquet",
    method: str = "deribit-pm",
    baseline_accounts: int = 20_000,
    workers: Sequence[int] = (),
) -> E2EBench:
    """Time ``portmargin margin POSITIONS --out results.parquet`` as a separate process.

    Parameters
    ----------
    accounts
        Synthetic accounts in the main run.
    fmt
        Positions file format of the main run: ``parquet`` or ``csv``.
    method
        Method name.
    baseline_accounts
        Accounts of the baseline run: a CSV file printed with ``--json`` to a file.
    workers
        Dask worker counts to run the main file again with (``--workers``; Parquet only).

    Raises
    ------
    PortmarginError
        Sizes not > 0, an unknown format, or a child run that failed (exit code >= 2).
    """
    if accounts <= 0 or baseline_accounts <= 0:
        raise PortmarginError("benchmark sizes must be > 0")
    if fmt not in ("parquet", "csv"):
        raise PortmarginError(f"format {fmt!r} is not supported; expected 'parquet' or 'csv'")
    if workers and fmt != "parquet":
        raise PortmarginError("sharded runs (workers) read Parquet: use --format parquet")
    with tempfile.TemporaryDirectory(prefix="portmargin-e2e-") as tmp:
        folder = Path(tmp)
        positions = folder / f"positions-{accounts}.{fmt}"
        start = time.perf_counter()
        rows = _write_input(positions, accounts, SEED)
        write_seconds = time.perf_counter() - start
        run = _timed_run(folder, positions, rows, method, ".parquet")
        sharded = tuple(_timed_run(folder, positions, rows, method, ".parquet", w) for w in workers)
        small = folder / f"positions-{baseline_accounts}.csv"
        baseline_rows = _write_input(small, baseline_accounts, SEED + 1)
        baseline = _timed_run(folder, small, baseline_rows, method, "json")
    return E2EBench(
        method=method,
        accounts=accounts,
        seconds=run.seconds,
        stages=run.stages,
        peak_rss_mb=run.peak_rss_mb,
        write_input_seconds=write_seconds,
        run=run,
        baseline=baseline,
        sharded=sharded,
        notes=(
            "seconds: wall time of the child process, interpreter start-up included",
            "peak_rss_mb: the child's ru_maxrss (os.wait4); the parent stays small so the child"
            " does not inherit its peak",
        ),
    )
