"""Read a Deribit ``private/pme/simulate`` result into a ``deribit_pm.PmeCase``.

Accepted files: the bare ``result`` object or a JSON-RPC envelope ``{"jsonrpc", "id",
"result"}``. Numbers are parsed as their printed literals, so that expected values keep the
precision they were printed with (``specs/deribit-pm.md`` §12.3).

Market built from the file (documented choices):

- valuation time ``model_params.general.timestamp``; index per ``index_price`` pair
  ``<base>_usd`` (USD per coin);
- futures and perpetuals: ``ticker.<name>.mark_price`` (USD) as venue quote; a dated future's
  mark is also the forward of its expiry unless an option of that expiry gives one;
- options: ``ticker.<name>.mark_iv`` (percent) and ``underlying_price`` (expiry forward). Per
  expiry the forward is the ``underlying_price`` of the first option by name; the smile holds
  one vol per strike (the out-of-the-money side's when call and put differ: call for
  ``K >= F``).

Only instruments held in ``portfolio.position`` need market data. An instrument whose ticker
lacks a needed field, whose index is missing or which has expired is listed in
``PmeCase.insufficient`` ("insufficient market data"); nothing is guessed.

Malformed files raise :class:`~portmargin.core.DataFormatError` naming the file and the JSON
path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from portmargin.core import DataFormatError, PortmarginError, ValidationError, config_from_mapping
from portmargin.instruments import Future, Option, Perpetual, parse_instrument
from portmargin.io.params import read_pack
from portmargin.market import FutureQuote, MarketSnapshot, VolSmile
from portmargin.methods import get_method
from portmargin.methods.deribit_pm import (
    DeribitPMParams,
    ExpectedLiteral,
    MarginInputs,
    PmeCase,
)

__all__ = ["load_pme_simulate"]

_EXPECTED_ROOTS = (
    "initial_risk_vectors",
    "pre_aggregated_risk_vectors",
    "aggregated_risk_vectors",
    "margins",
)
_INPUT_FIELDS = ("open_orders_margin", "mmp_margin", "spot_margin")


class _Number(str):
    """A JSON number kept as its printed characters."""

    __slots__ = ()


def _reject_constant(text: str) -> NoReturn:
    raise ValueError(f"non-finite number {text}")


class _Reader:
    """Typed access to the parsed document with errors naming the JSON path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> NoReturn:
        raise DataFormatError(self.source, f"{path}: {message}")

    def table(self, node: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(node, Mapping):
            self.fail(path, "expected an object")
        return node

    def get(self, node: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in node:
            self.fail(f"{path}.{key}" if path else key, "required key missing")
        return node[key]

    def number(self, node: Any, path: str) -> float:
        if not isinstance(node, _Number):
            self.fail(path, "expected a number")
        return float(node)

    def integer(self, node: Any, path: str) -> int:
        if not isinstance(node, _Number) or not node.lstrip("-").isdigit():
            self.fail(path, "expected a whole number")
        return int(node)


def _plain(node: Any) -> Any:
    """Printed numbers → int (integer literal) or float; containers recursively."""
    if isinstance(node, _Number):
        return int(node) if node.lstrip("-").isdigit() else float(node)
    if isinstance(node, Mapping):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _document(path: Path, r: _Reader) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataFormatError(r.source, f"cannot read file: {exc.strerror or exc}") from None
    try:
        doc = json.loads(
            text, parse_float=_Number, parse_int=_Number, parse_constant=_reject_constant
        )
    except ValueError as exc:
        raise DataFormatError(r.source, f"is not valid JSON: {exc}") from None
    top = r.table(doc, "$")
    if "error" in top:
        r.fail("error", f"JSON-RPC error reply {_plain(top['error'])!r}")
    if "result" in top and "model_params" not in top:
        return r.table(top["result"], "result")
    return top


def _params(doc: Mapping[str, Any], name: str, r: _Reader) -> DeribitPMParams:
    """The response's ``model_params`` plus what the venue does not publish there (the
    engine's ``[assumptions]`` and the margin mode, S:PM) from the method's default pack."""
    model = _plain(r.table(r.get(doc, "model_params", ""), "model_params"))
    pack = read_pack(get_method("deribit-pm").default_pack)
    engine = {"assumptions": pack["assumptions"], "margin_mode": pack["margin_mode"]}
    try:
        return config_from_mapping(
            DeribitPMParams,
            {**engine, **model, "version": f"pme-simulate:{name}"},
            "model_params",
        )
    except ValidationError as exc:
        r.fail(exc.field, f"got {exc.value!r}, expected {exc.expected}")


def _expected(doc: Mapping[str, Any], r: _Reader) -> tuple[ExpectedLiteral, ...]:
    out: list[ExpectedLiteral] = []

    def walk(node: Any, path: str, exact: bool) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                walk(v, f"{path}.{k}", exact or k == "worst_case_bucket")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]", exact)
        elif isinstance(node, str):
            out.append(ExpectedLiteral(path=path, text=str(node), exact=exact))
        else:
            r.fail(path, "expected a number or a string")

    for root in _EXPECTED_ROOTS:
        if root in doc:
            walk(r.table(doc[root], root), root, False)
    return tuple(out)


def _inputs(doc: Mapping[str, Any], r: _Reader) -> dict[str, MarginInputs]:
    margins = r.table(r.get(doc, "margins", ""), "margins")
    out: dict[str, MarginInputs] = {}
    for ccy, entry in margins.items():
        path = f"margins.{ccy}.initial_margin_details"
        details = r.table(
            r.get(r.table(entry, f"margins.{ccy}"), "initial_margin_details", f"margins.{ccy}"),
            path,
        )
        values = {f: r.number(details[f], f"{path}.{f}") for f in _INPUT_FIELDS if f in details}
        try:
            out[ccy] = MarginInputs(**values)
        except ValidationError as exc:
            r.fail(f"{path}.{exc.field}", f"got {exc.value!r}, expected {exc.expected}")
    return out


class _MarketBuilder:
    """Collects index, quotes, forwards and smiles for the held instruments."""

    def __init__(self, doc: Mapping[str, Any], valuation_ms: int, r: _Reader) -> None:
        self.r = r
        self.valuation_ms = valuation_ms
        self.ticker = r.table(r.get(doc, "ticker", ""), "ticker")
        pairs = r.table(r.get(doc, "index_price", ""), "index_price")
        self.index = {
            pair.split("_")[0].upper(): r.number(v, f"index_price.{pair}")
            for pair, v in pairs.items()
            if pair.endswith("_usd")
        }
        self.futures: dict[str, FutureQuote] = {}
        self.future_forwards: dict[tuple[str, int], float] = {}
        self.options: dict[tuple[str, int], list[tuple[str, Option, float, float]]] = {}
        self.missing: dict[str, str] = {}

    def _field(self, name: str, key: str) -> float | None:
        entry = self.ticker.get(name)
        if entry is None:
            return None
        value = self.r.table(entry, f"ticker.{name}").get(key)
        return None if value is None else self.r.number(value, f"ticker.{name}.{key}")

    def add(self, name: str) -> None:
        inst = parse_instrument(name)
        if not isinstance(inst, Future | Perpetual | Option):
            return
        if inst.underlying not in self.index:
            self.missing[name] = f"no index_price.{inst.underlying.lower()}_usd"
            return
        if isinstance(inst, Future | Option) and inst.expiry_ms <= self.valuation_ms:
            self.missing[name] = "expired at valuation time"
            return
        if isinstance(inst, Option):
            iv, fwd = self._field(name, "mark_iv"), self._field(name, "underlying_price")
            if iv is None or fwd is None:
                self.missing[name] = f"ticker.{name} lacks mark_iv or underlying_price"
                return
            key = (inst.underlying, inst.expiry_ms)
            self.options.setdefault(key, []).append((name, inst, iv / 100.0, fwd))
            return
        mark = self._field(name, "mark_price")
        if mark is None:
            self.missing[name] = f"ticker.{name} lacks mark_price"
            return
        self.futures[name] = FutureQuote(
            instrument_name=name, instrument=inst, timestamp_ms=self.valuation_ms, mark_price=mark
        )
        if isinstance(inst, Future):
            self.future_forwards[inst.underlying, inst.expiry_ms] = mark

    def snapshot(self) -> MarketSnapshot:
        forwards = dict(self.future_forwards)
        smiles: dict[tuple[str, int], VolSmile] = {}
        for key, rows in self.options.items():
            rows.sort(key=lambda row: row[0])
            forward = rows[0][3]
            vols: dict[float, float] = {}
            for _, inst, iv, _ in rows:
                otm = inst.is_call == (inst.strike >= forward)
                if inst.strike not in vols or otm:
                    vols[inst.strike] = iv
            strikes = np.array(sorted(vols))
            forwards[key] = forward
            smiles[key] = VolSmile(
                expiry_ms=key[1],
                forward=forward,
                strikes=strikes,
                vols=np.array([vols[k] for k in strikes.tolist()]),
            )
        return MarketSnapshot(
            valuation_ms=self.valuation_ms,
            index_prices=self.index,
            forwards=forwards,
            smiles=smiles,
            futures=self.futures,
            metadata={"source": "private/pme/simulate", "forward_pick": "first option by name"},
            allow_unlisted=True,  # held options are listed by their tickers, kept as smiles only
        )


def load_pme_simulate(path: str | os.PathLike[str]) -> PmeCase:
    """Load a ``private/pme/simulate`` result file.

    Parameters
    ----------
    path
        JSON file: the ``result`` object or the whole JSON-RPC reply.

    Returns
    -------
    PmeCase
        Parameters, market, positions (coins), venue inputs per currency and every expected
        literal under ``initial_risk_vectors``, ``pre_aggregated_risk_vectors``,
        ``aggregated_risk_vectors`` and ``margins``.

    Raises
    ------
    DataFormatError
        If the file cannot be read, is not JSON, is a JSON-RPC error, or a required key is
        missing or has the wrong type; the message names the file and the JSON path.
    """
    file = Path(path)
    r = _Reader(str(file))
    doc = _document(file, r)
    params = _params(doc, file.stem, r)
    general = r.table(doc["model_params"]["general"], "model_params.general")
    valuation_ms = r.integer(
        r.get(general, "timestamp", "model_params.general"), "model_params.general.timestamp"
    )
    portfolio = r.table(r.get(doc, "portfolio", ""), "portfolio")
    held = r.table(r.get(portfolio, "position", "portfolio"), "portfolio.position")
    positions = {n: r.number(q, f"portfolio.position.{n}") for n, q in held.items()}
    market = _MarketBuilder(doc, valuation_ms, r)
    for name in positions:
        try:
            market.add(name)
        except PortmarginError as exc:
            r.fail(f"portfolio.position.{name}", str(exc))
    try:
        snapshot = market.snapshot()
    except PortmarginError as exc:
        r.fail("ticker", str(exc))
    return PmeCase(
        name=file.stem,
        params=params,
        market=snapshot,
        positions=positions,
        inputs=_inputs(doc, r),
        expected=_expected(doc, r),
        insufficient=market.missing,
    )
