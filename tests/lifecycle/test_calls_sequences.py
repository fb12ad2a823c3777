"""Margin calls over sequences of evaluations (lifecycle.md §4 hysteresis, §5).

One account, MM 1,000 and IM 1,250 USD unless stated: MARGIN_CALL while 1,000 <= E < 1,100,
WARNING while 1,100 <= E < 1,250, LIQUIDATION below 1,000; leaving LIQUIDATION needs
E >= 1,050.
"""

from __future__ import annotations

import numpy as np
import pytest
from calls_support import HOUR_MS, PARAMS, assessment, with_calls

from portmargin.core import ValidationError
from portmargin.lifecycle import (
    AccountState,
    Assessment,
    CallEvent,
    CallStatus,
    CashFlows,
    LifecycleParams,
    MarginCall,
    MonitorState,
    StateChange,
    advance,
    call_amounts,
)

T0 = 1_700_000_000_000
IM, MM = 1_250.0, 1_000.0


def _run(
    equities: list[float],
    params: LifecycleParams = PARAMS,
    times: list[int] | None = None,
    cash: dict[int, float] | None = None,
):
    """States and events after each evaluation (one minute apart unless ``times``)."""
    state = MonitorState.empty()
    out = []
    for k, e in enumerate(equities):
        at = T0 + (times[k] if times is not None else k * 60_000)
        flows = CashFlows.of({"A0": cash[k]}) if cash and k in cash else None
        step = advance(state, assessment([e], [IM], [MM]), at, params, flows)
        state = step.state
        out.append((state.state_of("A0"), step))
    return out


def _kinds(step) -> list[str]:
    return [e.kind.value if isinstance(e, CallEvent) else "state" for e in step.events]


def test_issue_raise_then_met_by_equity() -> None:
    run = _run([1_300, 1_050, 1_020.5, 1_030, 1_260])
    assert [s for s, _ in run] == [
        AccountState.HEALTHY,
        AccountState.MARGIN_CALL,
        AccountState.MARGIN_CALL,
        AccountState.MARGIN_CALL,
        AccountState.HEALTHY,
    ]
    assert _kinds(run[1][1]) == ["state", "issued"]
    issued = run[1][1].calls[0]
    assert issued.amount_usd == 200.0  # ceil(1,250 - 1,050) = 200 > min call 100
    assert _kinds(run[2][1]) == ["raised"]
    raised = run[2][1].events[0]
    assert isinstance(raised, CallEvent)
    assert raised.previous_amount_usd == 200.0
    assert raised.call.amount_usd == 230.0  # ceil(229.5)
    assert raised.call.deadline_ms == issued.deadline_ms  # deadline unchanged
    assert raised.call.issued_at_ms == issued.issued_at_ms
    # equity recovers a little: the amount is never lowered, nothing happens
    assert run[3][1].events == ()
    assert run[3][0] is AccountState.MARGIN_CALL
    assert run[3][1].state.open_call("A0").amount_usd == 230.0
    met = run[4][1]
    assert _kinds(met) == ["met", "state"]
    call_event = met.events[0]
    assert isinstance(call_event, CallEvent)
    assert call_event.reason == "equity"
    assert call_event.call.status is CallStatus.MET
    assert call_event.call.closed_at_ms == T0 + 4 * 60_000
    assert call_event.call.amount_usd == 230.0
    assert met.state.open_calls() == []


def test_minimum_call_amount() -> None:
    run = _run([1_099])  # shortfall 151 over min call 100
    assert run[0][1].calls[0].amount_usd == 151.0
    small = assessment([1_099], [1_150], [1_000])  # shortfall 51 < min call
    (call,) = advance(MonitorState.empty(), small, T0, PARAMS).calls
    assert call.amount_usd == 100.0


def test_call_stays_open_in_warning_until_equity_reaches_im() -> None:
    run = _run([1_050, 1_200, 1_090])
    assert [s for s, _ in run] == [
        AccountState.MARGIN_CALL,
        AccountState.WARNING,
        AccountState.MARGIN_CALL,
    ]
    assert _kinds(run[1][1]) == ["state"]  # the call is not released by WARNING
    assert _kinds(run[2][1]) == ["state"]  # re-entering with an open call: no new call
    (call,) = run[2][1].state.open_calls()
    assert call.amount_usd == 200.0


def test_release_by_deposit_whatever_prices_do() -> None:
    params = with_calls(release="deposit")
    run = _run([1_050, 1_060, 1_040, 1_030], params, cash={1: 120.0, 2: -20.0, 3: 150.0})
    assert _kinds(run[1][1]) == []  # 120 of 200 deposited
    assert run[1][1].state.open_call("A0").deposits_usd == 120.0
    assert _kinds(run[2][1]) == ["raised"]  # 1,040: raised to 210; net deposits 100
    step = run[3][1]
    assert _kinds(step) == ["raised", "met"]  # raised to 220, then met by 250 of deposits
    (call,) = step.calls
    assert (call.status, call.amount_usd, call.deposits_usd) == (CallStatus.MET, 220.0, 250.0)
    assert step.events[1].reason == "deposit"
    assert run[3][0] is AccountState.MARGIN_CALL  # prices did not recover: state unchanged
    assert step.state.open_calls() == []


def test_deposits_before_the_call_do_not_count() -> None:
    params = with_calls(release="deposit")
    run = _run([1_050, 1_050], params, cash={0: 500.0})
    assert run[0][1].calls[0].deposits_usd == 0.0
    assert _kinds(run[1][1]) == []


def test_equity_release_ignores_deposits_alone() -> None:
    run = _run([1_050, 1_050], cash={1: 10_000.0})  # the deposit is not in this E: still short
    assert _kinds(run[1][1]) == []


def test_expiry_then_liquidation() -> None:
    times = [0, HOUR_MS - 1, HOUR_MS, HOUR_MS + 60_000, HOUR_MS + 120_000]
    run = _run([1_050, 1_060, 1_200, 1_240, 1_250], times=times)
    assert _kinds(run[1][1]) == []  # 1,060: shortfall 190 < 200, not raised
    step = run[2][1]
    assert _kinds(step) == ["expired", "state"]
    assert step.calls[0].status is CallStatus.EXPIRED
    assert step.calls[0].closed_at_ms == T0 + HOUR_MS
    # E = 1,200 is a WARNING by the table, but the call expired with E < IM
    assert run[2][0] is AccountState.LIQUIDATION
    assert run[3][0] is AccountState.LIQUIDATION  # still below IM
    assert run[4][0] is AccountState.HEALTHY  # E >= IM (and >= 1.05 MM)
    assert not run[4][1].state.called_out[0]


def test_expiry_with_restrict_keeps_the_table_state_reduce_only() -> None:
    params = with_calls(on_expiry="restrict")
    run = _run([1_050, 1_200, 1_050, 1_300], params, times=[0, HOUR_MS, HOUR_MS + 1, HOUR_MS + 2])
    assert _kinds(run[1][1]) == ["expired", "state"]
    assert run[1][0] is AccountState.WARNING
    assert bool(run[1][1].state.reduce_only[0])
    assert bool(run[1][1].state.called_out[0])
    # re-entering MARGIN_CALL after the expiry: a new call
    assert _kinds(run[2][1]) == ["state", "issued"]
    assert run[2][1].calls[0].issued_at_ms == T0 + HOUR_MS + 1
    assert run[3][0] is AccountState.HEALTHY
    assert not bool(run[3][1].state.reduce_only[0])


def test_restrict_expiry_without_leaving_margin_call_issues_no_new_call() -> None:
    params = with_calls(on_expiry="restrict")
    run = _run([1_050, 1_050, 1_050], params, times=[0, HOUR_MS, 2 * HOUR_MS])
    assert _kinds(run[1][1]) == ["expired"]
    assert run[1][0] is AccountState.MARGIN_CALL
    assert _kinds(run[2][1]) == []


def test_superseded_by_liquidation() -> None:
    run = _run([1_050, 900])
    step = run[1][1]
    assert _kinds(step) == ["superseded", "state"]
    assert step.calls[0].status is CallStatus.SUPERSEDED
    assert step.calls[0].amount_usd == 200.0  # not raised on the way out


def test_expiry_is_reported_before_a_liquidation_at_the_same_evaluation() -> None:
    run = _run([1_050, 900], times=[0, HOUR_MS])
    assert _kinds(run[1][1]) == ["expired", "state"]


def test_hysteresis_leaving_liquidation_needs_liq_target() -> None:
    # 990 < MM; 1,040 >= MM but < 1.05 MM: stays; 1,050 = 1.05 MM: leaves to MARGIN_CALL
    run = _run([990, 1_040, 1_049.99, 1_050, 1_040])
    assert [s for s, _ in run] == [
        AccountState.LIQUIDATION,
        AccountState.LIQUIDATION,
        AccountState.LIQUIDATION,
        AccountState.MARGIN_CALL,
        AccountState.MARGIN_CALL,
    ]
    assert _kinds(run[1][1]) == []
    assert _kinds(run[2][1]) == []
    assert _kinds(run[3][1]) == ["state", "issued"]  # a new call on entering MARGIN_CALL
    assert run[3][1].calls[0].amount_usd == 200.0


def test_bankrupt_and_back() -> None:
    run = _run([-5.0, 1_020, 1_300])
    assert [s for s, _ in run] == [
        AccountState.BANKRUPT,
        AccountState.LIQUIDATION,  # E >= MM but below 1.05 MM
        AccountState.HEALTHY,
    ]


def test_accounts_in_error_keep_their_state_and_call() -> None:
    first = advance(MonitorState.empty(), assessment([1_050], [IM], [MM]), T0, PARAMS)
    nan = np.array([np.nan])
    bad = Assessment(
        accounts=("A0",),
        equity=nan,
        initial_margin=nan,
        maintenance_margin=nan,
        state=np.array([-1], dtype=np.int8),
        margining="given",
        errors={"A0": "no price"},
    )
    step = advance(first.state, bad, T0 + 2 * HOUR_MS, PARAMS)
    assert step.events == ()
    assert step.errors == {"A0": "no price"}
    assert step.state.state_of("A0") is AccountState.MARGIN_CALL
    assert step.state.open_call("A0") == first.state.open_call("A0")


def test_only_changed_accounts_make_events_and_state_aligns_by_id() -> None:
    ids = ["c", "a", "b"]
    first = advance(
        MonitorState.empty(), assessment([1_300, 1_050, 900], [IM] * 3, [MM] * 3, ids), T0, PARAMS
    )
    # a new order and a new account: matched by id
    ids2 = ["b", "d", "a", "c"]
    step = advance(
        first.state,
        assessment([900, 1_300, 1_050, 1_300], [IM] * 4, [MM] * 4, ids2),
        T0 + 1,
        PARAMS,
    )
    changed = [e.account for e in step.events if isinstance(e, StateChange)]
    assert changed == ["d"]
    assert step.state.open_call("a") == first.state.open_call("a")
    merged = first.state.merged(step.state)
    assert sorted(merged.accounts) == ["a", "b", "c", "d"]


def test_evaluations_go_forward_in_time() -> None:
    first = advance(MonitorState.empty(), assessment([1_050], [IM], [MM]), T0, PARAMS)
    with pytest.raises(ValidationError, match="at_ms"):
        advance(first.state, assessment([1_050], [IM], [MM]), T0 - 1, PARAMS)


def test_call_amount_rounding() -> None:
    got = call_amounts(np.array([5_200.000000001, 5_199.9999999, 5_200.2, -3.0]), 1.0, 100.0)
    assert got.tolist() == [5_200.0, 5_200.0, 5_201.0, 100.0]
    assert call_amounts(np.array([1_234.0]), 50.0).tolist() == [1_250.0]


def test_margin_call_validates() -> None:
    with pytest.raises(ValidationError, match="amount_usd"):
        MarginCall(
            id="A@1",
            account="A",
            issued_at_ms=1,
            deadline_ms=2,
            amount_usd=0.0,
            status=CallStatus.OPEN,
        )
    with pytest.raises(ValidationError, match="closed_at_ms"):
        MarginCall(
            id="A@1",
            account="A",
            issued_at_ms=1,
            deadline_ms=2,
            amount_usd=5.0,
            status=CallStatus.MET,
        )
    with pytest.raises(ValidationError, match="id"):
        MarginCall(
            id="x",
            account="A",
            issued_at_ms=1,
            deadline_ms=2,
            amount_usd=5.0,
            status=CallStatus.OPEN,
        )
