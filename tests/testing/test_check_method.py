"""``check_method``: every registered method passes; broken methods are caught and named."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import InputSpec, MarginMethod, MethodParams, get_method, method_names
from portmargin.results import MarginBatch
from portmargin.risk import Book
from portmargin.testing import PROPERTIES, MethodCheckError, check_method


@pytest.mark.parametrize("name", method_names())
def test_every_registered_method_passes(name: str) -> None:
    check_method(get_method(name), examples=10)


class Wrapped:
    """A method defined outside the package and not registered: deribit-pm's numbers, changed
    by ``change`` (batch, book) → batch."""

    description = "deribit-pm, changed"
    account_inputs: tuple[InputSpec, ...] = ()

    def __init__(self, change: Callable[[MarginBatch, Book], MarginBatch]) -> None:
        self.inner: MarginMethod = get_method("deribit-pm")
        self.name = "wrapped"
        self.default_pack = self.inner.default_pack
        self.change = change

    def params_from_mapping(self, data: Mapping[str, Any]) -> MethodParams:
        return self.inner.params_from_mapping(data)

    def compute(self, book: Book, market: MarketSnapshot, params: Any) -> MarginBatch:
        batch = self.inner.compute(book, market, params)
        return dataclasses.replace(self.change(batch, book), method=self.name)


def check(change: Callable[[MarginBatch, Book], MarginBatch]) -> MethodCheckError:
    method = Wrapped(change)
    with pytest.raises(MethodCheckError) as info:
        check_method(method, params=load_params(method.inner), examples=10)
    error = info.value
    assert error.method == "wrapped"
    assert error.property in PROPERTIES
    assert f"'{error.property}' failed" in str(error)
    assert f"example: {error.example}" in str(error)
    return error


def test_an_unregistered_method_outside_the_package_passes() -> None:
    method = Wrapped(lambda batch, _: batch)
    assert "wrapped" not in method_names()
    check_method(method, params=load_params(method.inner), examples=3)


def test_negative_margin_is_caught() -> None:
    error = check(
        lambda batch, _: dataclasses.replace(batch, initial_margin=-batch.initial_margin - 1.0)
    )
    assert error.property == "every listed short option needs IM > 0 and MM > 0"
    assert "compute raised ValidationError" in str(error)
    assert "a finite amount >= 0" in str(error)


def test_zero_margin_for_short_options_is_caught() -> None:
    def zero(batch: MarginBatch, _: Book) -> MarginBatch:
        n = len(batch)
        return dataclasses.replace(
            batch, initial_margin=np.zeros(n), maintenance_margin=np.zeros(n)
        )

    error = check(zero)
    assert error.property == "every listed short option needs IM > 0 and MM > 0"
    assert "IM 0.0, MM 0.0" in str(error)
    assert error.example.count("(") == 1  # one account, one short option


def test_mm_above_im_is_caught_with_a_small_book() -> None:
    def swap(batch: MarginBatch, _: Book) -> MarginBatch:
        return dataclasses.replace(
            batch,
            initial_margin=batch.maintenance_margin,
            maintenance_margin=batch.initial_margin,
        )

    error = check(swap)
    assert error.property == "margin is finite, >= 0, and MM <= IM"
    assert error.example.startswith("acc0: [(")
    assert error.example.count("(") == 1  # shrunk to one position


def test_margin_that_depends_on_other_accounts_is_caught() -> None:
    def crowded(batch: MarginBatch, book: Book) -> MarginBatch:
        k = float(len(book.accounts))
        return dataclasses.replace(
            batch,
            initial_margin=batch.initial_margin * k,
            maintenance_margin=batch.maintenance_margin * k,
        )

    error = check(crowded)
    assert error.property == "an account gets the same alone, in any batch, in any order"
    assert "alone against in the batch" in str(error)


def test_raising_on_a_bad_account_is_caught() -> None:
    def strict(batch: MarginBatch, _: Book) -> MarginBatch:
        if batch.errors:
            raise ValueError(f"cannot margin {sorted(batch.errors)}")
        return batch

    error = check(strict)
    assert error.property == "bad accounts are set aside, the others computed"
    assert "compute raised ValueError: cannot margin ['bad']" in str(error)


def test_examples_must_be_positive() -> None:
    with pytest.raises(ValueError, match="examples"):
        check_method(get_method("standard"), examples=0)


def test_a_method_without_input_declarations_is_caught() -> None:
    """``account_inputs`` is part of the protocol: a method without it fails by name."""
    method = Wrapped(lambda batch, _: batch)
    method.account_inputs = None  # type: ignore[assignment]
    with pytest.raises(MethodCheckError) as info:
        check_method(method, params=load_params(method.inner), examples=3)
    assert info.value.property == "declares its per-account inputs and refuses undeclared ones"
    assert "not a tuple of InputSpec" in str(info.value)
