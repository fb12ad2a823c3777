"""Invariants of the call monitor over random sequences of evaluations (hypothesis)."""

from __future__ import annotations

import numpy as np
from calls_support import PARAMS, assessment, with_calls
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.lifecycle import (
    STATES,
    CallEvent,
    CallEventKind,
    CallStatus,
    CashFlows,
    LifecycleParams,
    MonitorState,
    StateChange,
    advance,
)

N = 4
IDS = tuple(f"acct-{k}" for k in range(N))
MM = np.array([1_000.0, 500.0, 2_000.0, 50.0])
IM = 1.25 * MM

_step = st.tuples(
    st.lists(st.floats(-0.2, 1.6), min_size=N, max_size=N),  # equity / IM
    st.integers(0, 2 * 3_600_000),  # time since the last evaluation, ms
    st.lists(st.floats(-300.0, 300.0), min_size=N, max_size=N),  # cash
)
_params = st.sampled_from(
    [
        PARAMS,
        with_calls(release="deposit"),
        with_calls(on_expiry="restrict"),
        with_calls(release="deposit", on_expiry="restrict"),
    ]
)


def _replay(params: LifecycleParams, steps: list) -> list:
    state = MonitorState.empty()
    at = 1_700_000_000_000
    out = []
    for fractions, dt, cash in steps:
        at += dt
        a = assessment(np.array(fractions) * IM, IM, MM, IDS, params)
        step = advance(state, a, at, params, CashFlows(accounts=IDS, amount_usd=np.array(cash)))
        state = step.state
        out.append(step)
    return out


@settings(max_examples=150, deadline=None)
@given(_params, st.lists(_step, min_size=1, max_size=25))
def test_open_call_amount_never_decreases(params: LifecycleParams, steps: list) -> None:
    amounts: dict[str, float] = {}
    for step in _replay(params, steps):
        for call in step.state.open_calls():
            if call.id in amounts:
                assert call.amount_usd >= amounts[call.id]
            amounts[call.id] = call.amount_usd
        for event in step.events:
            if isinstance(event, CallEvent) and event.kind is CallEventKind.RAISED:
                assert event.previous_amount_usd is not None
                assert event.call.amount_usd > event.previous_amount_usd


@settings(max_examples=100, deadline=None)
@given(_params, st.lists(_step, min_size=1, max_size=20))
def test_deterministic_given_the_sequence(params: LifecycleParams, steps: list) -> None:
    one, two = _replay(params, steps), _replay(params, steps)
    for a, b in zip(one, two, strict=True):
        assert a.events == b.events
        assert a.calls == b.calls
        assert a.state.state.tolist() == b.state.state.tolist()
        np.testing.assert_array_equal(a.state.call_amount, b.state.call_amount)


@settings(max_examples=150, deadline=None)
@given(_params, st.lists(_step, min_size=1, max_size=25))
def test_every_account_exactly_one_state_and_at_most_one_open_call(
    params: LifecycleParams,
    steps: list,
) -> None:
    previous: list[int] = [-1] * N
    for step in _replay(params, steps):
        s = step.state
        assert s.accounts == IDS
        assert all(0 <= c < len(STATES) for c in s.state.tolist())
        # an open call is never left in LIQUIDATION or BANKRUPT (superseded or expired);
        # with equity release never in HEALTHY either (E >= IM meets it)
        has = ~np.isnan(s.call_amount)
        allowed = {1, 2} if params.calls.release.value == "equity" else {0, 1, 2}
        assert set(s.state[has].tolist()) <= allowed
        issued = [
            e.call.account
            for e in step.events
            if isinstance(e, CallEvent) and e.kind is CallEventKind.ISSUED
        ]
        assert len(issued) == len(set(issued))
        closed = [c for c in step.calls if c.status is not CallStatus.OPEN]
        assert all(c.closed_at_ms is not None for c in closed)
        # state change events are exactly the changed accounts, from their previous state
        changes = {e.account: e for e in step.events if isinstance(e, StateChange)}
        for k, account in enumerate(IDS):
            now = int(s.state[k])
            if now != previous[k]:
                assert changes[account].new is STATES[now]
                old = changes[account].old
                assert (old is None) == (previous[k] < 0)
            else:
                assert account not in changes
        previous = s.state.tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(_step, min_size=1, max_size=25))
def test_equity_release_open_calls_are_below_im(steps: list) -> None:
    at_im = []
    for fractions, _, _ in steps:
        at_im.append(np.array(fractions) >= 1.0)
    for step, above in zip(_replay(PARAMS, steps), at_im, strict=True):
        assert not np.any(above & ~np.isnan(step.state.call_amount))
