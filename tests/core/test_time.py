"""Epoch-millisecond conversions: values a datetime cannot hold raise a typed error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portmargin.core import ValidationError, datetime_to_ms, ms_to_datetime


def test_round_trip() -> None:
    moment = datetime(2020, 5, 21, 23, 20, tzinfo=UTC)
    assert ms_to_datetime(datetime_to_ms(moment)) == moment


@pytest.mark.parametrize("ms", [300_000_000_000_000, -1e20, float("nan"), float("inf")])
def test_out_of_range_is_a_validation_error(ms: float) -> None:
    with pytest.raises(ValidationError, match="years 1 to 9999") as caught:
        ms_to_datetime(ms)  # type: ignore[arg-type]
    assert caught.value.field == "ms"
