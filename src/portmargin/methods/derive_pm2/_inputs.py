"""PMRM_2 inputs: the account's holdings (portfolio) and the market data it is valued with."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from portmargin.core import (
    ValidationError,
    require_finite,
    require_non_empty,
    require_non_negative,
    require_positive,
)
from portmargin.methods.derive_pm2._chain import forward_split
from portmargin.methods.derive_pm2._checks import (
    BoolArray,
    FloatArray,
    check_bool_array,
    check_float_array,
    check_range,
)

__all__ = [
    "DeriveCollateralFeed",
    "DeriveCollateralHolding",
    "DeriveExpiryFeed",
    "DeriveMarket",
    "DeriveOptions",
    "DerivePortfolio",
]


def _tuple_of(name: str, value: object, kind: type[Any]) -> tuple[Any, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(name, value, f"a sequence of {kind.__name__}")
    items = tuple(value)
    for index, item in enumerate(items):
        if not isinstance(item, kind):
            raise ValidationError(f"{name}[{index}]", item, f"a {kind.__name__}")
    return items


def _unique(name: str, keys: list[Any], attr: str) -> None:
    seen: set[Any] = set()
    for index, key in enumerate(keys):
        if key in seen:
            raise ValidationError(f"{name}[{index}].{attr}", key, "a unique value")
        seen.add(key)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DeriveOptions:
    """European options on the manager's base asset, column-wise (shape ``(n,)`` each).

    Arrays are copied and made read-only; equality is identity (``eq=False``).

    Attributes
    ----------
    expiry_seconds
        Seconds from the valuation time to expiry (>= 0; 0 = expired, settled at intrinsic).
        Options with equal values form one expiry.
    strike
        Strike in USD (> 0).
    is_call
        True for a call, False for a put.
    amount
        Signed number of contracts in base units (> 0 long, < 0 short).
    """

    expiry_seconds: FloatArray
    strike: FloatArray
    is_call: BoolArray
    amount: FloatArray

    def __init__(
        self,
        *,
        expiry_seconds: npt.ArrayLike,
        strike: npt.ArrayLike,
        is_call: npt.ArrayLike,
        amount: npt.ArrayLike,
    ) -> None:
        expiry = check_float_array("expiry_seconds", expiry_seconds, 0.0)
        size = expiry.shape[0]
        object.__setattr__(self, "expiry_seconds", expiry)
        object.__setattr__(
            self, "strike", check_float_array("strike", strike, 0.0, lo_open=True, size=size)
        )
        object.__setattr__(self, "is_call", check_bool_array("is_call", is_call, size=size))
        object.__setattr__(self, "amount", check_float_array("amount", amount, size=size))

    @classmethod
    def empty(cls) -> DeriveOptions:
        """No options."""
        return cls(expiry_seconds=[], strike=[], is_call=np.zeros(0, bool), amount=[])

    @property
    def size(self) -> int:
        """Number of option rows ``n``."""
        return int(self.strike.shape[0])

    def scaled(self, factor: float) -> DeriveOptions:
        """The same options with every amount multiplied by ``factor``."""
        return DeriveOptions(
            expiry_seconds=self.expiry_seconds,
            strike=self.strike,
            is_call=self.is_call,
            amount=self.amount * require_finite("factor", factor),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveCollateralHolding:
    """A collateral balance: asset ``name`` and ``amount`` (asset units, >= 0)."""

    name: str
    amount: float

    def __post_init__(self) -> None:
        require_non_empty("name", self.name)
        object.__setattr__(self, "amount", require_non_negative("amount", self.amount))


@dataclass(frozen=True, slots=True, kw_only=True)
class DerivePortfolio:
    """One PMRM_2 account (one base asset).

    Attributes
    ----------
    cash
        Cash balance ``C`` in USD (may be negative: borrowed).
    perp_position
        Perpetual position ``P`` in base units (> 0 long).
    perp_value
        Unrealised perp P&L plus unrealised funding, USD; counted only when ``P != 0``.
    options
        Option holdings.
    collaterals
        Collateral balances (unique names).
    """

    cash: float = 0.0
    perp_position: float = 0.0
    perp_value: float = 0.0
    options: DeriveOptions = field(default_factory=DeriveOptions.empty)
    collaterals: tuple[DeriveCollateralHolding, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "cash", require_finite("cash", self.cash))
        object.__setattr__(
            self, "perp_position", require_finite("perp_position", self.perp_position)
        )
        object.__setattr__(self, "perp_value", require_finite("perp_value", self.perp_value))
        if not isinstance(self.options, DeriveOptions):
            raise ValidationError("options", self.options, "a DeriveOptions")
        items = _tuple_of("collaterals", self.collaterals, DeriveCollateralHolding)
        _unique("collaterals", [c.name for c in items], "name")
        object.__setattr__(self, "collaterals", items)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DeriveExpiryFeed:
    """Market data of one expiry: forward, rate, vols per strike and their confidences.

    Attributes
    ----------
    expiry_seconds
        Seconds to expiry (>= 0), the key matched against ``DeriveOptions.expiry_seconds``.
    forward
        Forward price ``F`` in USD (> 0).
    rate
        Annual continuously compounded rate (may be negative; floored at 0 when used).
    strikes, vols
        The vol feed: implied vol (fraction, >= 0) at each strike (USD, > 0, unique); arrays of
        equal length ``(m,)``, read-only copies. Every held strike must be present.
    forward_confidence, rate_confidence, vol_confidence
        Feed confidences in [0, 1].
    forward_fixed_portion
        Spot-insensitive part of the forward (USD, in [0, F]) when the feed provides it;
        ``None`` applies the venue's split: ``fixed = F·(1800 - t)/1800`` for ``t < 1800`` s,
        else 0. The variable part is ``F - fixed``.
    """

    expiry_seconds: float
    forward: float
    rate: float
    strikes: FloatArray
    vols: FloatArray
    forward_confidence: float
    rate_confidence: float
    vol_confidence: float
    forward_fixed_portion: float | None

    def __init__(
        self,
        *,
        expiry_seconds: float,
        forward: float,
        rate: float,
        strikes: npt.ArrayLike,
        vols: npt.ArrayLike,
        forward_confidence: float = 1.0,
        rate_confidence: float = 1.0,
        vol_confidence: float = 1.0,
        forward_fixed_portion: float | None = None,
    ) -> None:
        fwd = require_positive("forward", forward)
        values: dict[str, Any] = {
            "expiry_seconds": require_non_negative("expiry_seconds", expiry_seconds),
            "forward": fwd,
            "rate": require_finite("rate", rate),
            "forward_confidence": check_range("forward_confidence", forward_confidence, 0.0, 1.0),
            "rate_confidence": check_range("rate_confidence", rate_confidence, 0.0, 1.0),
            "vol_confidence": check_range("vol_confidence", vol_confidence, 0.0, 1.0),
            "forward_fixed_portion": None
            if forward_fixed_portion is None
            else check_range("forward_fixed_portion", forward_fixed_portion, 0.0, fwd),
        }
        k = check_float_array("strikes", strikes, 0.0, lo_open=True)
        values["strikes"] = k
        values["vols"] = check_float_array("vols", vols, 0.0, size=k.shape[0])
        order = np.argsort(k, kind="stable")
        dup = np.flatnonzero(k[order][1:] == k[order][:-1])
        if dup.size:
            index = int(order[dup[0] + 1])
            raise ValidationError(f"strikes[{index}]", float(k[index]), "a unique strike")
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def forward_portions(self) -> tuple[float, float]:
        """``(fixed, variable)`` parts of the forward, USD: ``F_e(s) = variable·s + fixed``."""
        if self.forward_fixed_portion is not None:
            return self.forward_fixed_portion, self.forward - self.forward_fixed_portion
        fixed, variable = forward_split(np.array([self.forward]), np.array([self.expiry_seconds]))
        return float(fixed[0]), float(variable[0])


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveCollateralFeed:
    """Price (USD per asset unit, >= 0) and feed confidence (in [0, 1]) of a collateral asset."""

    name: str
    price: float
    confidence: float = 1.0

    def __post_init__(self) -> None:
        require_non_empty("name", self.name)
        object.__setattr__(self, "price", require_non_negative("price", self.price))
        object.__setattr__(self, "confidence", check_range("confidence", self.confidence, 0.0, 1.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveMarket:
    """Market data for one PMRM_2 manager (one base asset), all prices in USD.

    Attributes
    ----------
    spot_price, spot_confidence
        Spot ``S`` (> 0) and its feed confidence (in [0, 1]).
    perp_price, perp_confidence
        Perp mark ``Pp`` (>= 0; must be > 0 when a perp is held) and its confidence; the perp
        confidence only matters when a perp is held.
    stable_price
        USD value of one unit of the stable cash asset ``s_st`` (> 0); collateral values are
        divided by it and a depeg below ``peg_loss_threshold`` raises the IM factor.
    expiries
        One feed per expiry (unique ``expiry_seconds``); feeds of expiries without holdings
        are ignored.
    collaterals
        Price feeds of collateral assets (unique names).
    """

    spot_price: float
    spot_confidence: float = 1.0
    perp_price: float = 0.0
    perp_confidence: float = 1.0
    stable_price: float = 1.0
    expiries: tuple[DeriveExpiryFeed, ...] = ()
    collaterals: tuple[DeriveCollateralFeed, ...] = ()

    def __post_init__(self) -> None:
        checks = {
            "spot_price": (0.0, math.inf, True),
            "spot_confidence": (0.0, 1.0, False),
            "perp_price": (0.0, math.inf, False),
            "perp_confidence": (0.0, 1.0, False),
            "stable_price": (0.0, math.inf, True),
        }
        for name, (lo, hi, lo_open) in checks.items():
            value = check_range(name, getattr(self, name), lo, hi, lo_open=lo_open)
            object.__setattr__(self, name, value)
        feeds = _tuple_of("expiries", self.expiries, DeriveExpiryFeed)
        _unique("expiries", [f.expiry_seconds for f in feeds], "expiry_seconds")
        object.__setattr__(self, "expiries", feeds)
        coll = _tuple_of("collaterals", self.collaterals, DeriveCollateralFeed)
        _unique("collaterals", [c.name for c in coll], "name")
        object.__setattr__(self, "collaterals", coll)
