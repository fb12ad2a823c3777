"""okx-pm MR8 (borrowing): an optional per-account input added to MMR before IMR."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pytest

from linear_market_support import book, market, perp
from portmargin.core import ValidationError
from portmargin.io.params import load_params
from portmargin.methods import AccountInputs, get_method
from portmargin.methods.okx_pm import OkxParams, OkxPM
from portmargin.methods.okx_pm._borrowing import borrowing_charge

METHOD = OkxPM()


def _inputs(**values: Mapping[str, object]) -> AccountInputs:
    """Per-account inputs of okx-pm."""
    return AccountInputs.of(OkxPM.account_inputs, **values)


PERP_MMR = 16_800.0
"""MMR of a long 1 BTC perp at 70,000 under okx-pm/2025 (MR6 = 24 %)."""


@pytest.fixture(scope="module")
def params() -> OkxParams:
    loaded = load_params(METHOD)
    assert isinstance(loaded, OkxParams)
    return loaded


def test_mr8_adds_to_mmr_and_imr(params: OkxParams) -> None:
    """MMR = derivatives MMR + MR8 and IMR = 1.3 x that MMR; MR8 has no unit children and
    accounts without borrowing (or with positions only) are unchanged."""
    bk = book({"a": [(perp(), 1.0)], "b": [(perp(), 1.0)], "cash": []})
    plain = METHOD.compute(bk, market(), params)
    batch = METHOD.compute(
        bk, market(), params, inputs=_inputs(borrowing={"a": 1_000.0, "cash": 250.0})
    )
    row = {a: batch.rows_of(a)[0] for a in ("a", "b", "cash")}
    assert batch.components["mr8"][row["a"]] == 1_000.0
    assert batch.components["mr8"][row["b"]] == 0.0
    assert batch.maintenance_margin[row["a"]] == pytest.approx(PERP_MMR + 1_000.0)
    assert batch.initial_margin[row["a"]] == pytest.approx(1.3 * (PERP_MMR + 1_000.0))
    assert batch.components["derivatives_mmr"][row["a"]] == pytest.approx(PERP_MMR)
    assert batch.maintenance_margin[row["cash"]] == 250.0
    assert batch.initial_margin[row["cash"]] == pytest.approx(325.0)
    assert batch.maintenance_margin[row["b"]] == plain.maintenance_margin[row["b"]]
    assert not any(k.startswith("mr8/") for k in batch.components)


def test_protocol_call_and_default(params: OkxParams) -> None:
    """The registry's three-argument call still works and means MR8 = 0."""
    bk = book({"a": [(perp(), 1.0)]})
    batch = get_method("okx-pm").compute(bk, market(), params)
    assert batch.components["mr8"].tolist() == [0.0]
    assert batch.maintenance_margin[0] == pytest.approx(PERP_MMR)
    same = METHOD.compute(bk, market(), params, inputs=_inputs(borrowing={}))
    assert same.maintenance_margin.tolist() == batch.maintenance_margin.tolist()


def test_mr8_aligned_with_accounts_and_errors(params: OkxParams) -> None:
    """Values go to their own rows whatever the order; entries for accounts not in the book
    and accounts set aside as errors are ignored."""
    names = [f"acc{i:03d}" for i in range(50)]
    bk = book({n: [(perp(), 1.0)] for n in names} | {"bad": [(perp("ETH"), 1.0)]})
    amounts = {n: float(i) for i, n in reversed(list(enumerate(names)))}
    batch = METHOD.compute(
        bk, market(), params, inputs=_inputs(borrowing={**amounts, "ghost": 5.0, "bad": 1.0})
    )
    assert set(batch.errors) == {"bad"}
    got = {str(a): float(v) for a, v in zip(batch.account, batch.components["mr8"], strict=True)}
    assert got == amounts
    assert batch.maintenance_margin == pytest.approx(PERP_MMR + np.arange(50.0))


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf, "ten", None, True])
def test_bad_mr8_names_the_account(params: OkxParams, value: object) -> None:
    """A value that is not a finite number >= 0 raises, naming the account and the value."""
    bk = book({"a": [(perp(), 1.0)]})
    borrowing = {"a": 1.0, "desk-7": value}
    with pytest.raises(ValidationError, match=r"borrowing\['desk-7'\]") as info:
        METHOD.compute(bk, market(), params, inputs=_inputs(borrowing=borrowing))
    assert info.value.value is value or (isinstance(value, float) and math.isnan(value))
    assert "a finite number >= 0 (USD)" in str(info.value)


def test_borrowing_charge_kernel() -> None:
    """Integers are accepted; no accounts or no borrowing give zeros of the right shape."""
    assert borrowing_charge(("x", "y"), {"y": 3, "x": 2.5}).tolist() == [2.5, 3.0]
    assert borrowing_charge((), {"x": 1.0}).shape == (0,)
    assert borrowing_charge(("x",), None).tolist() == [0.0]
