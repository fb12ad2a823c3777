"""MarginBatch.from_groups: the rows of several groups in one batch."""

from __future__ import annotations

import numpy as np

from portmargin.results import Contribution, GroupRows, MarginBatch


def rows(accounts: list[str], group: str | None, im: float, explained: bool) -> GroupRows:
    n = len(accounts)

    def explain(i: int) -> tuple[Contribution, ...]:
        return (Contribution(instrument=f"{group}-{i}", quantity=1.0, pnl=-im),)

    return GroupRows(
        account=np.array(accounts, dtype=object),
        currency="USDC",
        group=group,
        initial_margin=np.full(n, im),
        maintenance_margin=np.full(n, im / 2),
        components={"a": np.full(n, im)},
        worst_scenario=np.full(n, group, dtype=object),
        explain=explain if explained else None,
    )


def test_rows_group_after_group_with_their_explanations() -> None:
    batch = MarginBatch.from_groups(
        [
            rows(["x", "y"], "btc", 2.0, True),
            rows([], "eth", 1.0, True),
            rows(["x"], None, 0.0, False),
        ],
        method="m",
        params_version="v",
        sources={"a": "rule a", "b": "rule b"},
        errors={"z": "bad"},
        notes=("n",),
    )
    assert batch.account.tolist() == ["x", "y", "x"]
    assert batch.group is not None
    assert batch.group.tolist() == ["btc", "btc", None]
    assert batch.initial_margin.tolist() == [2.0, 2.0, 0.0]
    assert batch.components["a"].tolist() == [2.0, 2.0, 0.0]
    assert batch.components["b"].tolist() == [0.0, 0.0, 0.0]
    assert batch.explain is not None
    assert batch.explain(1) == (Contribution(instrument="btc-1", quantity=1.0, pnl=-2.0),)
    assert batch.explain(2) == ()
    assert dict(batch.errors) == {"z": "bad"}
    assert batch.notes == ("n",)


def test_no_groups_give_an_empty_batch() -> None:
    batch = MarginBatch.from_groups([], method="m", params_version="v", sources={"a": "rule"})
    assert len(batch) == 0
    assert batch.components["a"].shape == (0,)
    assert batch.worst_scenario is not None
    assert batch.worst_scenario.shape == (0,)
