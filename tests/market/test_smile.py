"""VolSmile: validation, interpolation in total variance over log-moneyness, flat wings."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portmargin.core import ValidationError
from portmargin.market import VolSmile

EXPIRY_MS = 1593158400000  # 26JUN20 08:00 UTC


def make_smile(strikes: list[float], vols: list[float], forward: float = 9000.0) -> VolSmile:
    return VolSmile(
        expiry_ms=EXPIRY_MS, forward=forward, strikes=np.array(strikes), vols=np.array(vols)
    )


def test_exact_at_nodes() -> None:
    smile = make_smile([7000.0, 9000.0, 12000.0], [0.95, 0.84, 0.86])
    np.testing.assert_allclose(smile.vol(smile.strikes), smile.vols, rtol=1e-14)


def test_flat_vol_beyond_the_wings() -> None:
    smile = make_smile([7000.0, 9000.0, 12000.0], [0.95, 0.84, 0.86])
    np.testing.assert_allclose(smile.vol([1.0, 6999.0]), [0.95, 0.95], rtol=1e-14)
    np.testing.assert_allclose(smile.vol([12001.0, 1e9]), [0.86, 0.86], rtol=1e-14)


def test_linear_in_variance_over_log_moneyness() -> None:
    forward = 9000.0
    smile = make_smile([8000.0, 10000.0], [0.9, 0.7], forward=forward)
    k_lo, k_hi = math.log(8000.0 / forward), math.log(10000.0 / forward)
    k = 0.25 * k_lo + 0.75 * k_hi
    expected = math.sqrt(0.25 * 0.9**2 + 0.75 * 0.7**2)
    assert float(smile.vol(forward * math.exp(k))) == pytest.approx(expected, rel=1e-12)
    assert float(smile.vol_at_moneyness(k)) == pytest.approx(expected, rel=1e-12)


def test_shape_is_preserved_and_single_strike_is_flat() -> None:
    smile = make_smile([9000.0], [0.8])
    out = smile.vol(np.full((2, 3), 5000.0))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, 0.8)


def test_arrays_are_read_only_copies() -> None:
    strikes = np.array([8000.0, 9000.0])
    smile = VolSmile(
        expiry_ms=EXPIRY_MS, forward=9000.0, strikes=strikes, vols=np.array([0.8, 0.7])
    )
    strikes[0] = 1.0
    assert smile.strikes[0] == 8000.0
    assert smile.strikes.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        smile.vols[0] = 0.1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"strikes": [9000.0, 8000.0], "vols": [0.8, 0.8]}, "strikes"),
        ({"strikes": [9000.0, 9000.0], "vols": [0.8, 0.8]}, "strikes"),
        ({"strikes": [0.0, 9000.0], "vols": [0.8, 0.8]}, "strikes"),
        ({"strikes": [], "vols": []}, "strikes"),
        ({"strikes": [[9000.0]], "vols": [[0.8]]}, "strikes"),
        ({"strikes": [9000.0], "vols": [-0.1]}, "vols"),
        ({"strikes": [9000.0], "vols": [math.nan]}, "vols"),
        ({"strikes": [9000.0], "vols": [0.8, 0.9]}, "vols"),
        ({"strikes": ["a"], "vols": [0.8]}, "strikes"),
        ({"strikes": [9000.0], "vols": [0.8], "forward": -1.0}, "forward"),
        ({"strikes": [9000.0], "vols": [0.8], "expiry_ms": 1.5e12}, "expiry_ms"),
    ],
)
def test_invalid_inputs_name_the_field(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"expiry_ms": EXPIRY_MS, "forward": 9000.0, **kwargs}
    with pytest.raises(ValidationError) as caught:
        VolSmile(**arguments)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_query_strikes_are_validated() -> None:
    smile = make_smile([9000.0], [0.8])
    with pytest.raises(ValidationError, match="strikes"):
        smile.vol([9000.0, -1.0])
    with pytest.raises(ValidationError, match="log_moneyness"):
        smile.vol_at_moneyness([math.inf])


@st.composite
def smiles(draw: st.DrawFn) -> VolSmile:
    strikes = draw(st.lists(st.floats(1.0, 1e6), min_size=1, max_size=12, unique=True).map(sorted))
    vol = st.one_of(st.just(0.0), st.floats(1e-6, 5.0))
    vols = draw(st.lists(vol, min_size=len(strikes), max_size=len(strikes)))
    forward = draw(st.floats(1.0, 1e6))
    return make_smile(strikes, vols, forward=forward)


@given(smiles(), st.lists(st.floats(1e-6, 1e9), min_size=1, max_size=20))
def test_vol_is_finite_non_negative_and_within_node_range(
    smile: VolSmile, strikes: list[float]
) -> None:
    out = smile.vol(strikes)
    assert np.all(np.isfinite(out))
    assert np.all(out >= smile.vols.min() * (1 - 1e-12))
    assert np.all(out <= smile.vols.max() * (1 + 1e-12))


def test_query_errors_name_the_first_bad_value() -> None:
    smile = make_smile([9000.0], [0.8])
    with pytest.raises(ValidationError) as caught:
        smile.vol([9000.0, -1.0, 0.0])
    assert caught.value.field == "strikes"
    assert caught.value.value == -1.0
    with pytest.raises(ValidationError, match="strikes"):
        smile.vol(["a"])
    with pytest.raises(ValidationError, match="log_moneyness"):
        smile.vol_at_moneyness(["a"])
    with pytest.raises(ValidationError) as caught:
        make_smile([8000.0, 9000.0], [0.8, math.nan])
    assert caught.value.field == "vols"
    assert math.isnan(caught.value.value)
