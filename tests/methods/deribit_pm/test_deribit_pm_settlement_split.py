"""Books mixing settlement currencies: S:PM per currency, said in the result; X:PM refused;
the linear (USDC) option treatment listed as an assumption."""

from __future__ import annotations

import numpy as np
import pytest
from deribit_pm_support import book, pack

from portmargin.core import ValidationError
from portmargin.io.params import read_pack
from portmargin.market import MarketSnapshot
from portmargin.methods.deribit_pm import DERIBIT_PM, DeribitPMParams
from portmargin.results import MarginBatch

INVERSE = "BTC-29MAY20-9000-C"
LINEAR = "BTC_USDC-29MAY20-9000-C"
SPLIT_NOTE = (
    "S:PM computed separately per settlement currency: BTC, USDC;"
    " cross-collateral (X:PM) is not applied"
)


def _row(batch: MarginBatch, account: str, currency: str) -> int:
    rows = [i for i in batch.rows_of(account) if batch.currency[i] == currency]
    assert len(rows) == 1
    return rows[0]


def test_mixed_book_is_split_per_settlement_currency(demo_snapshot: MarketSnapshot) -> None:
    """Inverse BTC options and linear BTC_USDC options in one account give one BTC row and one
    USDC row, each equal to the account holding that currency's positions alone."""
    mixed = {INVERSE: -2.0, "BTC-PERPETUAL": 0.5, LINEAR: 3.0}
    bk = book({"mixed": mixed, "btc": {INVERSE: -2.0, "BTC-PERPETUAL": 0.5}, "usdc": {LINEAR: 3.0}})
    batch = DERIBIT_PM.compute(bk, demo_snapshot, pack())
    assert batch.errors == {}
    assert sorted(batch.currency[batch.rows_of("mixed")].tolist()) == ["BTC", "USDC"]
    assert batch.group is not None
    for currency, alone, group in (("BTC", "btc", "btc_btc"), ("USDC", "usdc", "usdc_btc")):
        i, j = _row(batch, "mixed", currency), _row(batch, alone, currency)
        assert batch.group[i] == group
        assert batch.initial_margin[i] == batch.initial_margin[j]
        assert batch.maintenance_margin[i] == batch.maintenance_margin[j]
        for name, values in batch.components.items():
            assert values[i] == values[j], name
        result = batch.result(i)
        assert result.group == group
        root = next(c for c in result.components if c.name == "risk_matrix_margin")
        assert "settlement currency only" in root.source
        assert "X:PM not applied" in root.source
    assert SPLIT_NOTE in batch.notes
    assert "1 account(s) hold positions in several settlement currencies" in " ".join(batch.notes)


def test_no_split_note_without_a_mixed_account(demo_snapshot: MarketSnapshot) -> None:
    """Accounts with one settlement currency each: no split note (the rows are the book)."""
    bk = book({"btc": {INVERSE: -2.0}, "usdc": {LINEAR: 3.0}})
    batch = DERIBIT_PM.compute(bk, demo_snapshot, pack())
    assert not any("computed separately" in n for n in batch.notes)
    batch = DERIBIT_PM.compute(book({"btc": {INVERSE: -2.0}}), demo_snapshot, pack())
    assert not any("computed separately" in n for n in batch.notes)


@pytest.mark.parametrize(
    ("positions", "listed"),
    [
        ({LINEAR: 3.0}, True),
        ({INVERSE: -1.0, LINEAR: -1.0}, True),
        ({INVERSE: -1.0}, False),
        ({"BTC_USDC-PERPETUAL": 1.0}, False),
    ],
)
def test_usdc_option_assumptions_listed(
    demo_snapshot: MarketSnapshot, positions: dict[str, float], listed: bool
) -> None:
    """Whenever an account holds USDC-settled options the extended-table treatment (option
    clamp, dampener mode and amount) is listed as an assumption."""
    batch = DERIBIT_PM.compute(book({"a": positions}), demo_snapshot, pack())
    found = [n for n in batch.notes if n.startswith("assumption for USDC-settled options")]
    assert bool(found) is listed
    if listed:
        assert "clamp_options_in_extended=False" in found[0]
        assert "extended_dampener_mode=fixed_offset" in found[0]
        assert "currency.usd extended_dampener=25000 USD" in found[0]
        assert "(1 account(s))" in found[0]


def test_usdc_option_note_ignores_accounts_set_aside(demo_snapshot: MarketSnapshot) -> None:
    """An account set aside (no ETH market data) does not trigger the note."""
    bk = book({"ok": {INVERSE: -1.0}, "eth": {"ETH-PERPETUAL": 1.0, LINEAR: 1.0}})
    batch = DERIBIT_PM.compute(bk, demo_snapshot, pack())
    assert list(np.unique(batch.account)) == ["ok"]
    assert not any(n.startswith("assumption for USDC") for n in batch.notes)


@pytest.mark.parametrize("version", ["2024-06-17", "2026-02"])
def test_packs_declare_segregated_mode(version: str) -> None:
    """Every bundled pack says margin_mode = "S:PM" itself."""
    assert read_pack(f"deribit-pm/{version}")["margin_mode"] == "S:PM"
    assert pack(version).margin_mode == "S:PM"


def test_cross_margin_is_refused() -> None:
    """X:PM raises, naming the key and why; any other value raises too."""
    data = read_pack("deribit-pm/2024-06-17")
    data["margin_mode"] = "X:PM"
    with pytest.raises(ValidationError, match="margin_mode") as info:
        DERIBIT_PM.params_from_mapping(data)
    assert "not supported because Deribit has not published its rules" in str(info.value)
    data["margin_mode"] = "cross"
    with pytest.raises(ValidationError, match=r"margin_mode: got 'cross', expected 'S:PM'"):
        DERIBIT_PM.params_from_mapping(data)
    assert isinstance(
        DERIBIT_PM.params_from_mapping(read_pack("deribit-pm/2026-02")), DeribitPMParams
    )
