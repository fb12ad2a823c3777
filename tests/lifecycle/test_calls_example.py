"""lifecycle.md §10.1 through the call monitor: the state at each price row and the call of
5,200 USD issued at 44,500 / 3,560."""

from __future__ import annotations

import pytest
from calls_support import HOUR_MS, PARAMS
from example_support import MARKET, RATES, example_holdings

from portmargin.lifecycle import (
    AccountState,
    CallEvent,
    CallEventKind,
    CallStatus,
    MonitorState,
    StateChange,
    advance,
    assess,
)
from portmargin.risk import moved_market

ROWS = [
    (50_000, 4_000, AccountState.HEALTHY),
    (45_000, 3_600, AccountState.WARNING),
    (44_500, 3_560, AccountState.MARGIN_CALL),
    (42_000, 3_200, AccountState.LIQUIDATION),
]
T0 = MARKET.valuation_ms


def _at(btc: float, eth: float):
    market = moved_market(MARKET, {"BTC": btc / 50_000 - 1, "ETH": eth / 4_000 - 1})
    return assess(example_holdings(), market, RATES, PARAMS)


def test_states_row_by_row_and_the_call_of_5200() -> None:
    state = MonitorState.empty()
    seen = []
    steps = []
    for k, (btc, eth, expected) in enumerate(ROWS):
        step = advance(state, _at(btc, eth), T0 + k * 60_000, PARAMS)
        state = step.state
        seen.append(state.state_of("A"))
        steps.append(step)
        assert seen[-1] is expected
    issued = [e for e in steps[2].events if isinstance(e, CallEvent)]
    assert [e.kind for e in issued] == [CallEventKind.ISSUED]
    call = issued[0].call
    assert call.amount_usd == 5_200.0  # ceil_to(42,275 - 37,075, 1) = 5,200 > min call 100
    assert call.id == f"A@{T0 + 120_000}"
    assert call.deadline_ms == T0 + 120_000 + HOUR_MS
    assert call.status is CallStatus.OPEN
    # 42,000 / 3,200: E < MM, the open call is superseded by the liquidation
    kinds = [(type(e).__name__, getattr(e, "kind", None)) for e in steps[3].events]
    assert kinds == [("CallEvent", CallEventKind.SUPERSEDED), ("StateChange", None)]
    (change,) = [e for e in steps[3].events if isinstance(e, StateChange)]
    assert (change.old, change.new) == (AccountState.MARGIN_CALL, AccountState.LIQUIDATION)
    assert change.equity == pytest.approx(13_900, abs=1e-6)
    assert change.maintenance_margin == pytest.approx(31_200, abs=1e-6)
    assert change.initial_margin == pytest.approx(39_000, abs=1e-6)
    assert state.open_calls() == []


def test_state_changes_carry_e_im_mm_of_the_row() -> None:
    step = advance(MonitorState.empty(), _at(45_000, 3_600), T0, PARAMS)
    (change,) = step.events
    assert isinstance(change, StateChange)
    assert (change.old, change.new) == (None, AccountState.WARNING)
    assert (change.equity, change.initial_margin, change.maintenance_margin) == pytest.approx(
        (40_750, 42_750, 34_200), abs=1e-6
    )
    assert step.calls == ()  # WARNING issues no call
    assert bool(step.state.reduce_only[0])
