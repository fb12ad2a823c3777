"""Merge market snapshots of different underlyings into one (a BTC chain and an ETH file)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from portmargin.core import MarketDataError, ValidationError, ms_to_datetime
from portmargin.market._history import PriceHistory
from portmargin.market._snapshot import MarketSnapshot

__all__ = ["DEFAULT_TIME_TOLERANCE_MS", "merge_snapshots"]

DEFAULT_TIME_TOLERANCE_MS = 3_600_000
"""One hour, in milliseconds: the largest gap allowed between the valuation times of merged
snapshots (and between the rows of one market file and its latest row).

Marks taken an hour apart still describe one market for margin purposes (BTC and ETH move
about 1 % in an hour on a typical day, far less than any margin scenario), and an hour covers
a chain captured at 23:20 UTC next to a daily close stamped at the end of the same day's last
hour. Snapshots further apart describe different markets: merging them is refused.
"""

_K = TypeVar("_K")
_V = TypeVar("_V")


def _tolerance(tolerance_ms: object) -> int:
    if isinstance(tolerance_ms, bool) or not isinstance(tolerance_ms, int) or tolerance_ms < 0:
        raise ValidationError("tolerance_ms", tolerance_ms, "an integer number of ms >= 0")
    return tolerance_ms


def _label(snapshot: MarketSnapshot) -> str:
    """``BTC`` or ``BTC+ETH``: the underlyings of one part, as a metadata prefix."""
    return "+".join(snapshot.underlyings)


def _union(
    field: str,
    parts: tuple[MarketSnapshot, ...],
    get: Callable[[MarketSnapshot], Mapping[_K, _V]],
) -> dict[_K, _V]:
    """Union of one mapping field over ``parts``; a key in two parts is an error naming both."""
    out: dict[_K, _V] = {}
    owner: dict[_K, str] = {}
    for part in parts:
        for key, value in get(part).items():
            if key in out:
                raise MarketDataError(
                    f"cannot merge snapshots: {field}[{key!r}] is in both the {owner[key]} and "
                    f"the {_label(part)} snapshot"
                )
            out[key] = value
            owner[key] = _label(part)
    return out


def _rates(parts: tuple[MarketSnapshot, ...]) -> dict[str, float]:
    """Rates of every part; a currency given different rates is an error naming both."""
    out: dict[str, float] = {}
    owner: dict[str, str] = {}
    for part in parts:
        for currency, rate in part.rates.items():
            if currency in out and out[currency] != rate:
                raise MarketDataError(
                    f"cannot merge snapshots: rate of {currency} is {out[currency]!r} in the "
                    f"{owner[currency]} snapshot and {rate!r} in the {_label(part)} snapshot"
                )
            out[currency] = rate
            owner.setdefault(currency, _label(part))
    return out


def _excluded(parts: tuple[MarketSnapshot, ...]) -> dict[str, str]:
    """Excluded instruments of every part; a name excluded by two parts keeps both reasons."""
    out: dict[str, str] = {}
    for part in parts:
        for name, reason in part.excluded.items():
            known = out.get(name)
            out[name] = reason if known is None or known == reason else f"{known}; {reason}"
    return out


def _metadata(parts: tuple[MarketSnapshot, ...], valuation_ms: int) -> dict[str, str]:
    """Each part's metadata under its label (``BTC.source``), plus what the merge did."""
    merged = {
        "source": "merged",
        "merged_from": "; ".join(
            f"{_label(p)}: {p.metadata.get('source', 'unknown source')}" for p in parts
        ),
        "valuation_time": ms_to_datetime(valuation_ms).isoformat(),
        "valuation_rule": "latest valuation time of the merged snapshots",
    }
    for part in parts:
        label = _label(part)
        merged[f"{label}.valuation_time"] = ms_to_datetime(part.valuation_ms).isoformat()
        merged.update({f"{label}.{key}": text for key, text in part.metadata.items()})
    return merged


def merge_snapshots(
    *snapshots: MarketSnapshot, tolerance_ms: int = DEFAULT_TIME_TOLERANCE_MS
) -> MarketSnapshot:
    """One snapshot holding the market data of several snapshots of different underlyings.

    Parameters
    ----------
    *snapshots
        At least one :class:`MarketSnapshot`; no underlying may have an index price in two of
        them (a BTC chain and an ETH market file, not two BTC chains). One snapshot is
        returned unchanged.
    tolerance_ms
        Largest allowed gap between the earliest and the latest valuation time, milliseconds
        (default :data:`DEFAULT_TIME_TOLERANCE_MS`, one hour).

    Returns
    -------
    MarketSnapshot
        ``valuation_ms`` is the **latest** valuation time of the parts (the order of the
        arguments does not matter; forwards, smiles and quotes are kept as given, so an
        earlier part's marks are read as of that time). Index prices, forwards, smiles,
        option and futures quotes are the union of the parts. ``rates`` is the union; a
        currency with the same rate in several parts is kept once. ``excluded`` is the union;
        a name excluded by several parts keeps every distinct reason, joined by ``"; "``.
        ``metadata`` holds ``source = "merged"``, ``merged_from`` (each part's underlyings and
        source), the merged ``valuation_time`` and ``valuation_rule``, and every key of every
        part prefixed by the part's underlyings (``"BTC.files"``, ``"ETH.valuation_time"``).

    Raises
    ------
    MarketDataError
        If two parts share an underlying, an option or futures quote, or an excluded
        instrument that one of them lists; if a currency has different rates in two parts;
        if the valuation times are more than ``tolerance_ms`` apart (the error names both
        times); or if some parts allow unlisted instruments and others do not (call
        ``with_unlisted_allowed`` on every part, or on the result).
    ValidationError
        If no snapshot is given, an argument is not a ``MarketSnapshot`` or ``tolerance_ms``
        is not an integer >= 0.
    """
    tolerance = _tolerance(tolerance_ms)
    if not snapshots:
        raise ValidationError("snapshots", snapshots, "at least one MarketSnapshot")
    for i, part in enumerate(snapshots):
        if not isinstance(part, MarketSnapshot):
            raise ValidationError(f"snapshots[{i}]", part, "a MarketSnapshot")
    if len(snapshots) == 1:
        return snapshots[0]
    parts = tuple(snapshots)
    shared = sorted(
        u
        for u in {u for p in parts for u in p.underlyings}
        if sum(u in p.index_prices for p in parts) > 1
    )
    if shared:
        raise MarketDataError(
            f"cannot merge snapshots: underlying(s) {', '.join(shared)} appear in more than one "
            "snapshot (each underlying must come from one file)"
        )
    earliest = min(parts, key=lambda p: p.valuation_ms)
    latest = max(parts, key=lambda p: p.valuation_ms)
    gap = latest.valuation_ms - earliest.valuation_ms
    if gap > tolerance:
        raise MarketDataError(
            f"cannot merge snapshots: valuation times {ms_to_datetime(earliest.valuation_ms)} "
            f"({_label(earliest)}) and {ms_to_datetime(latest.valuation_ms)} ({_label(latest)}) "
            f"are {gap / 1000:.12g} s apart, more than the tolerance of {tolerance / 1000:.12g} s"
        )
    allow = {p.allow_unlisted for p in parts}
    if len(allow) > 1:
        raise MarketDataError(
            "cannot merge snapshots: some allow unlisted instruments and some do not "
            f"({', '.join(f'{_label(p)}: {p.allow_unlisted}' for p in parts)})"
        )
    quotes = _union("quotes", parts, lambda p: p.quotes)
    futures = _union("futures", parts, lambda p: p.futures)
    excluded = _excluded(parts)
    listed = sorted(set(excluded) & (set(quotes) | set(futures)))
    if listed:
        raise MarketDataError(
            f"cannot merge snapshots: {', '.join(listed)} is listed in one snapshot and "
            "excluded in another"
        )
    return MarketSnapshot(
        valuation_ms=latest.valuation_ms,
        index_prices=_union("index_prices", parts, lambda p: p.index_prices),
        forwards=_union("forwards", parts, lambda p: p.forwards),
        smiles=_union("smiles", parts, lambda p: p.smiles),
        rates=_rates(parts),
        quotes=quotes,
        futures=futures,
        metadata=_metadata(parts, latest.valuation_ms),
        excluded=excluded,
        allow_unlisted=allow.pop(),
        history=_history(parts),
    )


def _history(parts: Sequence[MarketSnapshot]) -> PriceHistory | None:
    """The daily history one part carries; several distinct histories are an error."""
    histories = {id(p.history): p.history for p in parts if p.history is not None}
    if len(histories) > 1:
        raise ValidationError(
            "history", f"{len(histories)} histories", "at most one part carrying daily history"
        )
    return next(iter(histories.values()), None)
