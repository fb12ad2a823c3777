"""A resolved row depends on its instrument and the snapshot only, not on the other rows."""

from __future__ import annotations

import dataclasses

import numpy as np

from portmargin.instruments import parse_instrument
from portmargin.market import MarketSnapshot
from portmargin.risk import resolve_instruments


def test_a_future_is_not_missing_because_an_option_of_its_expiry_has_no_vol(
    demo_snapshot: MarketSnapshot,
) -> None:
    no_smiles = dataclasses.replace(demo_snapshot, smiles={})
    future = parse_instrument("BTC-26JUN20")
    option = parse_instrument("BTC-26JUN20-9000-C")
    alone = resolve_instruments([future], no_smiles)
    both = resolve_instruments([future, option], no_smiles)
    assert dict(alone.missing) == {}
    assert set(both.missing) == {option.name}
    assert "no vol smile for underlying 'BTC'" in both.missing[option.name]
    assert both.forward[0] == alone.forward[0]
    np.testing.assert_array_equal(both.unlisted, [False, False])
