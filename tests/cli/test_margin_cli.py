"""``portmargin margin | methods | compare`` run as real processes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cli_support import run_cli as run
from portmargin.data import demo_chain_path

CHAIN = str(demo_chain_path())


@pytest.fixture
def positions(tmp_path: Path) -> Path:
    path = tmp_path / "positions.csv"
    path.write_text(
        "account,instrument,quantity\n"
        "alice,BTC-26JUN20-10000-C,-2\n"
        "alice,BTC-PERPETUAL,1\n"
        "bob,BTC-26JUN20-8000-P,-1\n"
        "bob,BTC-26JUN20-8000-P,-1\n"
        "carol,ETH-26JUN20-200-C,-1\n"
        "dave,BTC-26JUN20-9000-Q,1\n",
        encoding="utf-8",
    )
    return path


def test_margin_json_lists_good_and_bad_accounts(positions: Path) -> None:
    proc = run("margin", str(positions), "--market", CHAIN, "--method", "standard", "--json")
    assert proc.returncode == 1  # carol and dave could not be computed
    data = json.loads(proc.stdout)
    by_account = {a["account"]: a for a in data["accounts"]}
    for name in ("alice", "bob"):
        row = by_account[name]
        assert row["status"] == "ok"
        for key in (
            "method",
            "currency",
            "initial_margin",
            "maintenance_margin",
            "worst_scenario",
            "components",
        ):
            assert key in row
        assert row["method"] == "standard"
        assert row["initial_margin"] > 0
        assert all({"name", "amount"} <= set(c) for c in row["components"])
    assert by_account["carol"]["status"] == "error"
    assert "ETH" in by_account["carol"]["error"]
    assert "row 6" in by_account["dave"]["error"]
    assert any("summed" in w for w in data["warnings"])


def test_margin_exit_zero_when_all_accounts_compute(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text("account,instrument,quantity\nA,BTC-26JUN20-10000-C,-1\n", encoding="utf-8")
    proc = run("margin", str(path), "--market", CHAIN, "--method", "standard")
    assert proc.returncode == 0, proc.stderr
    assert "A" in proc.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--method", "no-such-method"], "no-such-method"),
        (["--method", "standard", "--params", "/no/such/pack.toml"], "cannot read"),
    ],
)
def test_margin_bad_options_are_one_line_errors(
    positions: Path, args: list[str], fragment: str
) -> None:
    proc = run("margin", str(positions), "--market", CHAIN, *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert fragment in lines[0]


def test_unknown_param_key_is_named(positions: Path, tmp_path: Path) -> None:
    from portmargin.io.params import read_pack

    pack = read_pack("standard/deribit-sm-2024")
    pack["no_such_key"] = 1
    path = tmp_path / "pack.toml"
    path.write_text(_to_toml(pack), encoding="utf-8")
    proc = run(
        "margin", str(positions), "--market", CHAIN, "--method", "standard", "--params", str(path)
    )
    assert proc.returncode == 2
    assert "no_such_key" in proc.stderr


def _to_toml(data: dict[str, object], prefix: str = "") -> str:
    scalars = []
    tables = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append(_to_toml(value, f"{prefix}{key}."))
        else:
            scalars.append(f"{key} = {json.dumps(value)}")
    head = f"[{prefix[:-1]}]\n" if prefix else ""
    return head + "\n".join(scalars) + "\n\n" + "".join(tables)


def test_what_if_reports_the_change(positions: Path) -> None:
    proc = run(
        "margin",
        str(positions),
        "--market",
        CHAIN,
        "--method",
        "standard",
        "--account",
        "alice",
        "--add",
        "BTC-26JUN20-10000-C=-1",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["what_if"][0]
    assert data["account"] == "alice"
    assert data["change_im"]["BTC"] > 0


def test_methods_lists_packs() -> None:
    proc = run("methods", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["method"]: r for r in json.loads(proc.stdout)}
    assert "standard" in rows
    assert any(p["default"] for p in rows["standard"]["packs"])
    assert all(
        not str(p["version"]).startswith("invalid") for r in rows.values() for p in r["packs"]
    )


def test_compare_side_by_side(positions: Path) -> None:
    proc = run("compare", str(positions), "--market", CHAIN, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    alice = next(a for a in data["accounts"] if a["account"] == "alice")
    methods = {m["method"]: m for m in alice["methods"]}
    assert methods["standard"]["initial_margin_usd"] > 0
    assert methods["standard"]["saving_vs_standard"] == pytest.approx(0.0)
    assert any(e["account"] == "dave" for e in data["errors"])


def test_check_derive_case_via_cli(tmp_path: Path) -> None:
    root = os.environ.get("PORTMARGIN_CONFORMANCE_DIR")
    base = (
        Path(root)
        if root
        else Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
    )
    folder = base / "derive_pm2"
    if not folder.is_dir():
        pytest.skip(f"conformance data not found at {folder}")
    good = folder / "test_12_risk_cancelling_naked_short_call.json"
    invalid = folder / "test_67_misc_skew_scenario_with_spot_move.json"
    proc = run("check", "derive-pm2", str(good), "--json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)[0]
    assert row["ok"] is True
    assert {"case", "im", "expected_im", "mm", "expected_mm", "ok"} <= set(row)
    proc = run("check", "derive-pm2", str(invalid), "--json")
    assert proc.returncode == 1
    row = json.loads(proc.stdout)[0]
    assert row["ok"] is False
    assert "skew" in row["error"].lower() or "spot" in row["error"].lower()


def test_check_deribit_docs_example_via_cli() -> None:
    root = os.environ.get("PORTMARGIN_CONFORMANCE_DIR")
    base = (
        Path(root)
        if root
        else Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
    )
    case = base / "deribit_pm" / "docs_example_btc_2024-06-17.json"
    if not case.is_file():
        pytest.skip(f"conformance data not found at {case}")
    proc = run("check", "deribit-pm", str(case), "--json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)[0]
    assert row["ok"] is True
    assert row["im"] == pytest.approx(0.122861343, abs=5e-10)
    assert row["expected_im"] == 0.122861343
    assert row["mismatches"] == []


def test_margin_derive_on_usdc_books(tmp_path: Path) -> None:
    path = tmp_path / "usdc.csv"
    path.write_text(
        "account,instrument,quantity\n"
        "u1,BTC_USDC-26JUN20-10000-C,-5\n"
        "u1,BTC_USDC-PERPETUAL,2\n"
        "u1,USDC,10000\n"
        "u2,BTC-26JUN20-10000-C,-1\n",
        encoding="utf-8",
    )
    proc = run("margin", str(path), "--market", CHAIN, "--method", "derive-pm2", "--json")
    assert proc.returncode == 1  # u2 holds a coin-settled option
    rows = {a["account"]: a for a in json.loads(proc.stdout)["accounts"]}
    assert rows["u1"]["status"] == "ok"
    assert rows["u1"]["currency"] == "USDC"
    assert rows["u1"]["group"] == "BTC"
    assert rows["u1"]["initial_margin"] > rows["u1"]["maintenance_margin"] > 0
    assert "coin-settled" in rows["u2"]["error"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_margin_out_file_matches_json(positions: Path, tmp_path: Path, suffix: str) -> None:
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    args = ["margin", str(positions), "--market", CHAIN, "--method", "deribit-pm"]
    data = json.loads(run(*args, "--json").stdout)
    out = tmp_path / f"results{suffix}"
    proc = run(*args, "--out", str(out), "--detail")
    assert proc.returncode == 1, proc.stderr
    if suffix == ".parquet":
        rows = pq.read_table(out).to_pylist()
        detail = pq.read_table(tmp_path / "results.detail.parquet").to_pylist()
    elif suffix == ".csv":
        rows = pa_csv.read_csv(out).to_pylist()
        detail = pa_csv.read_csv(tmp_path / "results.detail.csv").to_pylist()
    else:
        lines = out.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines]
        detail_lines = (tmp_path / "results.detail.jsonl").read_text(encoding="utf-8")
        detail = [json.loads(line) for line in detail_lines.splitlines()]
    by_account = {r["account"]: r for r in rows}
    assert set(by_account) == {a["account"] for a in data["accounts"]}
    for a in data["accounts"]:
        row = by_account[a["account"]]
        assert row["status"] == a["status"]
        if a["status"] == "ok":
            assert row["initial_margin"] == pytest.approx(a["initial_margin"], rel=1e-15)
            assert row["maintenance_margin"] == pytest.approx(a["maintenance_margin"], rel=1e-15)
            assert row["currency"] == a["currency"]
            assert row["worst_scenario"] == a["worst_scenario"]
            mine = [d for d in detail if d["account"] == a["account"]]
            comps = [d for d in mine if d["kind"] == "component"]
            assert [c["amount"] for c in comps] == pytest.approx(
                [c["amount"] for c in a["components"]], rel=1e-15
            )
            contribs = [d for d in mine if d["kind"] == "contribution"]
            assert [c["name"] for c in contribs] == [c["instrument"] for c in a["contributions"]]
        else:
            assert row["error"] == a["error"]


def test_margin_out_rejects_unknown_suffix(positions: Path, tmp_path: Path) -> None:
    proc = run(
        "margin", str(positions), "--market", CHAIN, "--method", "standard",
        "--out", str(tmp_path / "results.xlsx"),
    )  # fmt: skip
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "--out" in proc.stderr
    assert not (tmp_path / "results.xlsx").exists()


def _many_accounts(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "many.csv"
    lines = ["account,instrument,quantity"]
    for i in range(n):
        lines.append(f"acct-{i:04d},BTC-26JUN20-{8000 + 1000 * (i % 4)}-C,-{1 + i % 5}")
        lines.append(f"acct-{i:04d},BTC-PERPETUAL,{i % 3}")
    lines.append("broken,BTC-26JUN20-9000-Q,1")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_margin_many_accounts_prints_a_bounded_summary(tmp_path: Path) -> None:
    path = _many_accounts(tmp_path, 300)
    proc = run("margin", str(path), "--market", CHAIN, "--method", "standard", "--top", "5")
    assert proc.returncode == 1
    out = proc.stdout
    assert "301 accounts in, 300 computed, 1 with errors" in out
    assert "Totals per currency" in out
    assert "5 lowest excess over initial margin" in out
    assert len(out.splitlines()) < 40
    assert out.count("acct-") == 5
    assert proc.stderr.count("error: account broken") == 1


def test_margin_streamed_json_with_many_accounts(tmp_path: Path) -> None:
    path = _many_accounts(tmp_path, 300)
    proc = run("margin", str(path), "--market", CHAIN, "--method", "deribit-pm", "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert len(data["accounts"]) == 301
    assert data["accounts"][-1] == {
        "account": "broken",
        "status": "error",
        "method": "deribit-pm",
        "error": data["errors"][0]["error"],
    }
    assert all(len(a["contributions"]) >= 1 for a in data["accounts"][:-1])
    assert proc.stderr == ""


def test_margin_quiet_and_timings(positions: Path, tmp_path: Path) -> None:
    timings = tmp_path / "timings.json"
    path = tmp_path / "ok.csv"
    path.write_text("account,instrument,quantity\nA,BTC-26JUN20-10000-C,-1\n", encoding="utf-8")
    proc = run(
        "margin", str(path), "--market", CHAIN, "--method", "standard",
        "--quiet", "--timings", str(timings), "--out", str(tmp_path / "r.parquet"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    stages = json.loads(timings.read_text(encoding="utf-8"))["stages"]
    assert {"load", "read", "book", "margin", "write"} <= set(stages)
    assert all(v >= 0 for v in stages.values())
    assert "--timings" not in run("margin", "--help").stdout


def test_margin_detail_needs_out(positions: Path) -> None:
    proc = run("margin", str(positions), "--market", CHAIN, "--method", "standard", "--detail")
    assert proc.returncode == 2
    assert "--detail" in proc.stderr
