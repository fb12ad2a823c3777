"""Read a Derive PMRM_2 conformance case file (``test_<n>_<name>.json``).

Schema: ``specs/derive-pm2.md`` §8. Numbers may be JSON numbers or decimal strings (read with
``float(str)``). Two kinds of problem are told apart:

- the file cannot be read as a case (not JSON, a missing or unknown key, a value of the wrong
  type, a non-finite number): :class:`~portmargin.core.DataFormatError` naming the file and the
  JSON key path;
- the file is well-formed but an input or the parameter set violates a rule of the method
  (e.g. a skew scenario with a spot shock): the case is returned with ``rejection`` set to the
  validation message (key path included), for the conformance check to report.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import numpy as np

from portmargin.core import DataFormatError, ValidationError
from portmargin.methods.derive_pm2 import (
    DeriveCase,
    DeriveCollateralFeed,
    DeriveCollateralHolding,
    DeriveCollateralParams,
    DeriveExpected,
    DeriveExpiryFeed,
    DeriveMarket,
    DeriveOptions,
    DeriveParams,
    DerivePortfolio,
    parameters_to_pack,
)

__all__ = ["load_derive_case"]

T = TypeVar("T")

_SCENARIO_KEYS = (
    "Cash",
    "SpotPrice",
    "SpotConfidence",
    "NumPerps",
    "PerpPrice",
    "PerpConfidence",
    "UnrealisedPerpPNL",
    "UnrealisedFunding",
    "StablePrice",
)
_SCENARIO_OPTIONAL = (
    "StableConfidence",
    "LastEntryPrice",
    "FundingIndex",
    "SystemFundingIndex",
    "Collaterals",
    "Options",
    "OptionFeeds",
)
_COLLATERAL_KEYS = ("Name", "Amount", "Price", "Confidence", "IsRiskCancelling")
_COLLATERAL_OPTIONAL = ("MMHaircut", "IMHaircut", "ConfidenceFactor")
_OPTION_KEYS = ("Expiry", "Strike", "IsCall", "Amount", "MarkVol")
_OPTION_OPTIONAL = (
    "ExiryTs",
    "MarkDiscount",
    "k",
    "k_star",
    "linear_mult_cap",
    "abs_mult_cap",
    "linear_multiplier",
    "abs_multiplier",
)
_FEED_KEYS = (
    "FeedExpiry",
    "Forward",
    "ForwardConfidence",
    "Rate",
    "RateConfidence",
    "OptionVolConfidences",
)
_FEED_OPTIONAL = ("SVIparam",)
_COLLATERAL_FIELDS = {
    "name": "Name",
    "amount": "Amount",
    "price": "Price",
    "confidence": "Confidence",
    "mm_haircut": "MMHaircut",
    "im_haircut": "IMHaircut",
}
_OPTION_FIELDS = {
    "expiry_seconds": "Expiry",
    "strike": "Strike",
    "is_call": "IsCall",
    "amount": "Amount",
}
_FEED_FIELDS = {
    "expiry_seconds": "FeedExpiry",
    "forward": "Forward",
    "forward_confidence": "ForwardConfidence",
    "rate": "Rate",
    "rate_confidence": "RateConfidence",
    "vol_confidence": "OptionVolConfidences",
}
_SCENARIO_FIELDS = {
    **_FEED_FIELDS,
    **_COLLATERAL_FIELDS,
    "cash": "Cash",
    "perp_position": "NumPerps",
    "perp_value": "UnrealisedPerpPNL",
    "spot_price": "SpotPrice",
    "spot_confidence": "SpotConfidence",
    "perp_price": "PerpPrice",
    "perp_confidence": "PerpConfidence",
    "stable_price": "StablePrice",
    "collaterals": "Collaterals",
    "expiries": "OptionFeeds",
}


_INDEXED = re.compile(r"^(\w+)\[(\d+)\](.*)$")


class _Reader:
    """Typed access to the parsed JSON, raising DataFormatError with the key path.

    ``rejection`` keeps the first domain-rule violation met while building the typed inputs;
    reading goes on so that format errors anywhere in the file are still reported.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.rejection: str | None = None

    def build(self, make: Callable[[], T], where: Callable[[str], str]) -> T | None:
        """Run a constructor; record a ValidationError (with its JSON key path), return None."""
        try:
            return make()
        except ValidationError as exc:
            self.reject(ValidationError(where(exc.field), exc.value, exc.expected))
            return None

    def reject(self, error: ValidationError) -> None:
        if self.rejection is None:
            self.rejection = str(error)

    def fail(self, path: str, message: str) -> NoReturn:
        raise DataFormatError(self.source, message, column=path or "<root>")

    def obj(self, node: object, path: str) -> Mapping[str, Any]:
        if not isinstance(node, dict):
            self.fail(path, f"expected a JSON object, got {type(node).__name__}")
        return node

    def arr(self, node: object, path: str) -> list[Any]:
        if not isinstance(node, list):
            self.fail(path, f"expected a JSON array, got {type(node).__name__}")
        return node

    def keys(
        self,
        node: Mapping[str, Any],
        path: str,
        required: tuple[str, ...],
        optional: tuple[str, ...],
    ) -> None:
        for key in required:
            if key not in node:
                self.fail(f"{path}.{key}" if path else key, "required key is missing")
        for key in node:
            if key not in required and key not in optional:
                self.fail(
                    f"{path}.{key}" if path else key,
                    f"unknown key {key!r} (known: {', '.join(required + optional)})",
                )

    def num(self, node: object, path: str) -> float:
        value: float | None = None
        if isinstance(node, int | float) and not isinstance(node, bool):
            value = float(node)
        elif isinstance(node, str):
            try:
                value = float(node)
            except ValueError:
                value = None
        if value is None or not math.isfinite(value):
            self.fail(path, f"expected a finite number or decimal string, got {node!r}")
        return value

    def flag(self, node: object, path: str) -> bool:
        if isinstance(node, bool):
            return node
        if isinstance(node, int | float | str) and not isinstance(node, bool):
            try:
                value = float(node)
            except ValueError:
                value = math.nan
            if value in (0.0, 1.0):
                return value == 1.0
        self.fail(path, f"expected a boolean or 0/1, got {node!r}")

    def text(self, node: object, path: str) -> str:
        if not isinstance(node, str):
            self.fail(path, f"expected a string, got {node!r}")
        return node


def _field_map(prefix: str, names: Mapping[str, str]) -> Callable[[str], str]:
    """Translate a dataclass field (``"price"``, ``"expiries[2].expiry_seconds"``) to a key path."""

    def where(field: str) -> str:
        m = _INDEXED.match(field)
        if m is None:
            return f"{prefix}.{names.get(field, field)}"
        head, index, rest = m.group(1), m.group(2), m.group(3).lstrip(".")
        sub = f".{names.get(rest, rest)}" if rest else ""
        return f"{prefix}.{names.get(head, head)}[{index}]{sub}"

    return where


def _expected(r: _Reader, node: object) -> DeriveExpected:
    res = r.obj(node, "Result")
    # Result carries many diagnostics; only the compared keys are required, none is refused.
    r.keys(res, "Result", ("IM", "MM", "reg_losses", "tail_losses", "skew_losses"), tuple(res))
    groups: dict[str, tuple[float, ...]] = {}
    for group, width in (("reg_losses", 3), ("tail_losses", 3), ("skew_losses", 2)):
        rows = r.arr(res[group], f"Result.{group}")
        values = []
        for i, row in enumerate(rows):
            items = r.arr(row, f"Result.{group}[{i}]")
            if len(items) != width:
                r.fail(f"Result.{group}[{i}]", f"expected {width} entries, got {len(items)}")
            values.append(r.num(items[-1], f"Result.{group}[{i}][{width - 1}]"))
        groups[group] = tuple(values)
    optional = {
        name: r.num(res[key], f"Result.{key}") if key in res else None
        for name, key in (("option_mtm", "OptionMTM"), ("collateral_mtm", "CollateralMTM"))
    }
    return DeriveExpected(
        im=r.num(res["IM"], "Result.IM"),
        mm=r.num(res["MM"], "Result.MM"),
        reg_losses=groups["reg_losses"],
        tail_losses=groups["tail_losses"],
        skew_losses=groups["skew_losses"],
        **optional,
    )


def _collaterals(
    r: _Reader, rows: list[Any]
) -> tuple[list[DeriveCollateralHolding], list[DeriveCollateralFeed], list[DeriveCollateralParams]]:
    holdings, feeds, settings = [], [], []
    for i, row in enumerate(rows):
        p = f"Scenario.Collaterals[{i}]"
        c = r.obj(row, p)
        r.keys(c, p, _COLLATERAL_KEYS, _COLLATERAL_OPTIONAL)
        name = r.text(c["Name"], f"{p}.Name")
        amount = r.num(c["Amount"], f"{p}.Amount")
        price = r.num(c["Price"], f"{p}.Price")
        conf = r.num(c["Confidence"], f"{p}.Confidence")
        rc = r.flag(c["IsRiskCancelling"], f"{p}.IsRiskCancelling")
        mm = r.num(c.get("MMHaircut", 0.0), f"{p}.MMHaircut")
        im = r.num(c.get("IMHaircut", 0.0), f"{p}.IMHaircut")
        where = _field_map(p, _COLLATERAL_FIELDS)
        holding = r.build(partial(DeriveCollateralHolding, name=name, amount=amount), where)
        feed = r.build(
            partial(DeriveCollateralFeed, name=name, price=price, confidence=conf), where
        )
        setting = r.build(
            partial(
                DeriveCollateralParams,
                name=name,
                is_risk_cancelling=rc,
                mm_haircut=mm,
                im_haircut=im,
            ),
            where,
        )
        if holding is not None and feed is not None and setting is not None:
            holdings.append(holding)
            feeds.append(feed)
            settings.append(setting)
    return holdings, feeds, settings


class _Smile:
    """Vol feed of one expiry built from the option rows: strikes, vols and their rows."""

    def __init__(self) -> None:
        self.strikes: list[float] = []
        self.vols: list[float] = []
        self.rows: list[int] = []


def _options(r: _Reader, rows: list[Any]) -> tuple[DeriveOptions | None, dict[float, _Smile]]:
    expiry, strike, is_call, amount = [], [], [], []
    smiles: dict[float, _Smile] = {}
    for i, row in enumerate(rows):
        p = f"Scenario.Options[{i}]"
        o = r.obj(row, p)
        r.keys(o, p, _OPTION_KEYS, _OPTION_OPTIONAL)
        expiry.append(r.num(o["Expiry"], f"{p}.Expiry"))
        strike.append(r.num(o["Strike"], f"{p}.Strike"))
        is_call.append(r.flag(o["IsCall"], f"{p}.IsCall"))
        amount.append(r.num(o["Amount"], f"{p}.Amount"))
        vol = r.num(o["MarkVol"], f"{p}.MarkVol")
        smile = smiles.setdefault(expiry[-1], _Smile())
        if strike[-1] in smile.strikes:
            j = smile.strikes.index(strike[-1])
            if smile.vols[j] != vol:
                r.fail(
                    f"{p}.MarkVol",
                    f"{vol!r} differs from Scenario.Options[{smile.rows[j]}].MarkVol "
                    f"({smile.vols[j]!r}) at the same expiry and strike; the vol feed has one "
                    "vol per strike",
                )
        else:
            smile.strikes.append(strike[-1])
            smile.vols.append(vol)
            smile.rows.append(i)

    def where(field: str) -> str:
        m = _INDEXED.match(field)
        if m is None:
            return f"Scenario.Options.{_OPTION_FIELDS.get(field, field)}"
        return f"Scenario.Options[{m.group(2)}].{_OPTION_FIELDS.get(m.group(1), m.group(1))}"

    options = r.build(
        lambda: DeriveOptions(
            expiry_seconds=np.array(expiry, dtype=np.float64),
            strike=np.array(strike, dtype=np.float64),
            is_call=np.array(is_call, dtype=np.bool_),
            amount=np.array(amount, dtype=np.float64),
        ),
        where,
    )
    return options, smiles


def _feeds(r: _Reader, rows: list[Any], smiles: dict[float, _Smile]) -> list[DeriveExpiryFeed]:
    feeds = []
    for j, row in enumerate(rows):
        p = f"Scenario.OptionFeeds[{j}]"
        f = r.obj(row, p)
        r.keys(f, p, _FEED_KEYS, _FEED_OPTIONAL)
        values = {name: r.num(f[key], f"{p}.{key}") for name, key in _FEED_FIELDS.items()}
        smile = smiles.get(values["expiry_seconds"], _Smile())

        def where(field: str, p: str = p, smile: _Smile = smile) -> str:
            m = _INDEXED.match(field)
            if m is not None and m.group(1) in ("strikes", "vols"):
                key = "Strike" if m.group(1) == "strikes" else "MarkVol"
                return f"Scenario.Options[{smile.rows[int(m.group(2))]}].{key}"
            return f"{p}.{_FEED_FIELDS.get(field, field)}"

        feed = r.build(
            partial(
                DeriveExpiryFeed,
                strikes=np.array(smile.strikes, dtype=np.float64),
                vols=np.array(smile.vols, dtype=np.float64),
                **values,
            ),
            where,
        )
        if feed is not None:
            feeds.append(feed)
    return feeds


def _inputs(
    r: _Reader, node: object
) -> tuple[DerivePortfolio | None, DeriveMarket | None, list[DeriveCollateralParams]]:
    sc = r.obj(node, "Scenario")
    r.keys(sc, "Scenario", _SCENARIO_KEYS, _SCENARIO_OPTIONAL)
    num = {key: r.num(sc[key], f"Scenario.{key}") for key in _SCENARIO_KEYS}
    for key in ("StableConfidence", "LastEntryPrice", "FundingIndex", "SystemFundingIndex"):
        if key in sc:
            r.num(sc[key], f"Scenario.{key}")
    holdings, prices, settings = _collaterals(
        r, r.arr(sc.get("Collaterals", []), "Scenario.Collaterals")
    )
    options, smiles = _options(r, r.arr(sc.get("Options", []), "Scenario.Options"))
    feeds = _feeds(r, r.arr(sc.get("OptionFeeds", []), "Scenario.OptionFeeds"), smiles)
    if options is None or r.rejection is not None:
        return None, None, settings
    where = _field_map("Scenario", _SCENARIO_FIELDS)
    portfolio = r.build(
        lambda: DerivePortfolio(
            cash=num["Cash"],
            perp_position=num["NumPerps"],
            perp_value=num["UnrealisedPerpPNL"] + num["UnrealisedFunding"],
            options=options,
            collaterals=tuple(holdings),
        ),
        where,
    )
    market = r.build(
        lambda: DeriveMarket(
            spot_price=num["SpotPrice"],
            spot_confidence=num["SpotConfidence"],
            perp_price=num["PerpPrice"],
            perp_confidence=num["PerpConfidence"],
            stable_price=num["StablePrice"],
            expiries=tuple(feeds),
            collaterals=tuple(prices),
        ),
        where,
    )
    return portfolio, market, settings


def _params(
    r: _Reader, node: object, settings: list[DeriveCollateralParams]
) -> DeriveParams | None:
    mapping = r.obj(node, "Parameters")
    try:
        parameters_to_pack(mapping)
    except ValidationError as exc:  # the file's shape: unknown or missing key, not a number
        r.fail(f"Parameters.{exc.field}", f"got {exc.value!r}, expected {exc.expected}")
    try:
        return DeriveParams.from_mapping(mapping, collaterals=settings)
    except ValidationError as exc:  # a rule of the method: the case is rejected
        if exc.field.startswith("collaterals"):
            m = _INDEXED.match(exc.field)
            path = f"Scenario.Collaterals[{m.group(2)}].Name" if m else "Scenario.Collaterals"
        else:
            path = f"Parameters.{exc.field}"
        r.reject(ValidationError(path, exc.value, exc.expected))
        return None


def load_derive_case(path: str | os.PathLike[str]) -> DeriveCase:
    """Load a PMRM_2 conformance case file.

    Parameters
    ----------
    path
        The JSON file (``Scenario``, ``Parameters``, ``Result``).

    Returns
    -------
    DeriveCase
        Named after the file stem, with typed inputs and the expected results; ``rejection``
        is set (and the inputs may be None) when an input or the parameter set violates a rule
        of the method.

    Raises
    ------
    DataFormatError
        The file cannot be read, is not JSON, or has a missing / unknown key or a value of the
        wrong type; the error names the file and the JSON key path.
    """
    source = os.fspath(path)
    name = Path(source).stem
    r = _Reader(source)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(source, f"cannot read the file: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(
            source, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    root = r.obj(data, "")
    r.keys(root, "", ("Scenario", "Parameters", "Result"), ())
    expected = _expected(r, root["Result"])
    portfolio, market, settings = _inputs(r, root["Scenario"])
    params = _params(r, root["Parameters"], settings)
    if r.rejection is not None or portfolio is None or market is None or params is None:
        return DeriveCase(
            name=name,
            source=source,
            expected=expected,
            rejection=r.rejection or "inputs rejected",
        )
    return DeriveCase(
        name=name,
        source=source,
        expected=expected,
        portfolio=portfolio,
        market=market,
        params=params,
    )
