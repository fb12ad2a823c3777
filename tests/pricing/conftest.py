"""Shared fixtures for the pricing tests: seeded generators and random option grids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

OptionGrid = dict[str, NDArray[Any]]


def _option_grid(
    rng: np.random.Generator,
    n: int,
    *,
    moneyness: float = 1.5,
    sigma: tuple[float, float] = (0.05, 3.0),
    tau: tuple[float, float] = (1.0 / 8760.0, 5.0),
    rate: float = 0.1,
) -> OptionGrid:
    """Keyword arguments of ``black76.price`` for ``n`` random options.

    Forwards log-uniform in [1e3, 2e5] USD, ``ln(F/K)`` uniform in ``+-moneyness``, vols
    uniform in ``sigma``, maturities log-uniform in ``tau`` (years), discount factors from
    rates uniform in [0, ``rate``], calls and puts half and half.
    """
    forward = np.exp(rng.uniform(np.log(1e3), np.log(2e5), n))
    t = np.exp(rng.uniform(np.log(tau[0]), np.log(tau[1]), n))
    return {
        "forward": forward,
        "strike": forward * np.exp(-rng.uniform(-moneyness, moneyness, n)),
        "tau": t,
        "sigma": rng.uniform(*sigma, n),
        "is_call": rng.random(n) < 0.5,
        "df": np.exp(-rng.uniform(0.0, rate, n) * t),
    }


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


@pytest.fixture
def option_grid() -> Callable[..., OptionGrid]:
    """Factory ``option_grid(rng, n, **ranges)`` of random option arguments."""
    return _option_grid
