"""Assessments built from given E, IM, MM (USD) for the call monitor tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import Assessment, LifecycleParams, classify

PARAMS = load_lifecycle_params()
HOUR_MS = 3_600_000


def assessment(
    equity: Sequence[float],
    im: Sequence[float],
    mm: Sequence[float],
    accounts: Sequence[str] | None = None,
    params: LifecycleParams = PARAMS,
) -> Assessment:
    """Every account holding positions, states classified from the figures."""
    e, i, m = (np.array(v, dtype=np.float64) for v in (equity, im, mm))
    ids = tuple(accounts) if accounts is not None else tuple(f"A{k}" for k in range(len(e)))
    state = classify(e, i, m, np.ones(len(e), dtype=bool), params.states)
    return Assessment(
        accounts=ids,
        equity=e,
        initial_margin=i,
        maintenance_margin=m,
        state=state,
        margining="given",
    )


def with_calls(**calls: str) -> LifecycleParams:
    """The default pack with ``calls`` keys overridden (e.g. ``release="deposit"``)."""
    return load_lifecycle_params(overrides=tuple(f"calls.{k}={v}" for k, v in calls.items()))
