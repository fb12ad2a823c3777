"""Per-account inputs: declarations, validation, and their way through ``run_method``."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import linear_market_support as lm
from portmargin.core import ValidationError
from portmargin.io.params import load_params
from portmargin.methods import (
    NO_INPUTS,
    AccountInputs,
    InputKey,
    InputSpec,
    get_method,
    method_names,
    run_method,
)

AMOUNT = InputSpec(name="amount", description="an amount", default="0", unit="USD")
CHOICE = InputSpec(name="unit", description="a unit", default="A", choices=("A", "B"))
PER_GROUP = InputSpec(
    name="part",
    description="a part per group",
    default="0",
    per=InputKey.ACCOUNT_GROUP,
    group="a group key such as 'btc_btc'",
)
SPECS = (AMOUNT, CHOICE, PER_GROUP)


def test_values_are_parsed_from_numbers_and_text() -> None:
    inputs = AccountInputs.build(
        SPECS,
        [
            ("a", "", "amount", "1200.5"),
            ("b", "", "amount", 3),
            ("a", "", "unit", " B "),
            ("a", "btc_btc", "part", 0.25),
        ],
    )
    assert inputs.per_account("amount") == {"a": 1200.5, "b": 3.0}
    assert inputs.per_account("unit") == {"a": "B"}
    assert inputs.get("part") == {("a", "btc_btc"): 0.25}
    assert inputs.get("missing") == {}
    assert inputs.accounts() == {"a", "b"}
    assert len(inputs) == 4
    assert bool(inputs)
    assert not NO_INPUTS


@pytest.mark.parametrize(
    ("record", "match"),
    [
        (
            ("a", "", "nope", 1.0),
            r"input: got 'nope', expected one of \['amount', 'part', 'unit'\]",
        ),
        (
            ("a", "", "amount", -1.0),
            r"amount\['a'\]: got -1.0, expected a finite number >= 0 \(USD\)",
        ),
        (("a", "", "amount", math.nan), r"amount\['a'\]"),
        (("a", "", "amount", math.inf), r"amount\['a'\]"),
        (("a", "", "amount", True), r"amount\['a'\]: got True"),
        (("a", "", "amount", "ten"), r"amount\['a'\]: got 'ten'"),
        (("a", "", "amount", None), r"amount\['a'\]: got None"),
        (("a", "", "unit", "a"), r"unit\['a'\]: got 'a', expected one of 'A', 'B'"),
        (("a", "", "part", 1.0), r"part\['a'\].*a group as well: a group key such as 'btc_btc'"),
        (("a", "x", "amount", 1.0), r"amount\['a', 'x'\].*no group \(one value per account\)"),
        (("", "", "amount", 1.0), r"amount: account: got '', expected a non-empty account id"),
    ],
)
def test_bad_values_name_input_account_and_expectation(
    record: tuple[str, str, str, object], match: str
) -> None:
    with pytest.raises(ValidationError, match=match):
        AccountInputs.build(SPECS, [record])


def test_a_value_given_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"amount\['a'\].*one value \(given twice\)"):
        AccountInputs.build(SPECS, [("a", "", "amount", 1.0), ("a", "", "amount", 2.0)])


def test_declarations_are_checked() -> None:
    with pytest.raises(ValidationError, match="name"):
        InputSpec(name="Bad Name", description="x", default="0")
    with pytest.raises(ValidationError, match="group"):
        InputSpec(name="x", description="x", default="0", per=InputKey.ACCOUNT_GROUP)
    with pytest.raises(ValidationError, match="group"):
        InputSpec(name="x", description="x", default="0", group="why")
    with pytest.raises(ValidationError, match="minimum"):
        InputSpec(name="x", description="x", default="0", minimum=math.nan)
    assert AMOUNT.to_dict()["minimum"] == 0.0
    assert CHOICE.to_dict()["choices"] == ["A", "B"]


def test_restrict_select_merge_and_replace() -> None:
    inputs = AccountInputs.of(SPECS, amount={"a": 1.0, "b": 2.0}, unit={"a": "B"})
    assert inputs.restrict(["unit"]).names == ("unit",)
    assert inputs.select(["b"]).per_account("amount") == {"b": 2.0}
    assert inputs.select(["b"]).names == ("amount",)
    newer = AccountInputs.of(SPECS, amount={"a": 5.0})
    assert inputs.merged(newer).per_account("amount") == {"a": 5.0, "b": 2.0}
    assert inputs.merged(newer).per_account("unit") == {"a": "B"}
    replaced = inputs.replace_accounts(newer)
    assert replaced.per_account("amount") == {"a": 5.0, "b": 2.0}
    assert replaced.per_account("unit") == {}
    copied = inputs.with_copies({"a": "a-after"})
    assert copied.per_account("unit") == {"a": "B", "a-after": "B"}


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=5),
        st.floats(min_value=0, max_value=1e9, allow_nan=False),
        max_size=6,
    )
)
def test_select_keeps_exactly_the_chosen_accounts(values: dict[str, float]) -> None:
    inputs = AccountInputs.of(SPECS, amount=values)
    chosen = sorted(values)[::2]
    assert inputs.select(chosen).per_account("amount") == {a: values[a] for a in chosen}


@pytest.mark.parametrize("name", method_names())
def test_undeclared_inputs_are_refused_by_every_method(name: str) -> None:
    method = get_method(name)
    stray = InputSpec(name="not_declared", description="x", default="0")
    inputs = AccountInputs.of([stray], not_declared={"a": 1.0})
    book = lm.book({"a": [(lm.perp(), 1.0)]})
    with pytest.raises(ValidationError, match=f"input: got 'not_declared', expected .*{name}"):
        run_method(method, book, lm.market(), load_params(method), inputs=inputs)


def test_inputs_of_accounts_outside_the_book_are_not_used() -> None:
    """okx-pm refuses a spot unit for an account it does not hold when called directly;
    through ``run_method`` inputs are cut to the book's accounts."""
    method = get_method("okx-pm")
    params = load_params(method, "okx-pm/2024")
    inputs = AccountInputs.of(method.account_inputs, spot_unit={"ghost": "USD"})
    book = lm.book({"a": [(lm.perp(), 1.0)]})
    alone = run_method(method, book, lm.market(), params)
    given = run_method(method, book, lm.market(), params, inputs=inputs)
    assert given.maintenance_margin.tolist() == alone.maintenance_margin.tolist()
    with pytest.raises(ValidationError, match=r"spot_unit\['ghost'\].*an account of the book"):
        method.compute(book, lm.market(), params, inputs=inputs)  # type: ignore[call-arg]
