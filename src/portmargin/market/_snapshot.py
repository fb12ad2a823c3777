"""MarketSnapshot: the market state at one valuation time, read-only."""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from portmargin.core import (
    MarketDataError,
    ValidationError,
    require_epoch_ms,
    require_finite,
    require_non_empty,
    require_positive,
    year_fraction,
)
from portmargin.market._history import PriceHistory
from portmargin.market._quotes import FutureQuote, OptionQuote
from portmargin.market._smile import FloatArray, VolSmile, check_strikes

__all__ = ["ExpiryKey", "MarketSnapshot"]

ExpiryKey = tuple[str, int]
"""``(underlying, expiry_ms)``, e.g. ``("BTC", 1593158400000)``."""


def _empty() -> Mapping[Any, Any]:
    return MappingProxyType({})


def _frozen(field_name: str, value: object) -> dict[Any, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(field_name, value, "a mapping")
    return dict(value)


def _expiry_key(field_name: str, key: object, valuation_ms: int) -> ExpiryKey:
    if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str)):
        raise ValidationError(field_name, key, "keys (underlying, expiry_ms)")
    underlying = require_non_empty(field_name, key[0])
    expiry_ms = require_epoch_ms(field_name, key[1])
    if expiry_ms <= valuation_ms:
        raise ValidationError(field_name, key, f"an expiry after valuation_ms {valuation_ms}")
    return underlying, expiry_ms


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _ForwardCurve:
    """Listed forwards of one underlying, built once with the snapshot.

    ``expiries_ms`` (epoch ms, ascending) and ``forwards`` (USD per coin) have shape ``(n,)``;
    ``node_times`` (ACT/365 year fractions from valuation time) and ``node_log_basis``
    (``ln(forward / index)``) have shape ``(n + 1,)``, starting with the node ``(0, 0)``.
    """

    expiries_ms: npt.NDArray[np.int64]
    forwards: FloatArray
    node_times: FloatArray
    node_log_basis: FloatArray


def _forward_curves(
    valuation_ms: int, index: Mapping[str, float], forwards: Mapping[ExpiryKey, float]
) -> dict[str, _ForwardCurve]:
    """One :class:`_ForwardCurve` per underlying with listed forwards."""
    curves: dict[str, _ForwardCurve] = {}
    for underlying in sorted({u for u, _ in forwards}):
        listed = np.array(sorted(e for u, e in forwards if u == underlying), dtype=np.int64)
        listed_forwards = np.array([forwards[underlying, int(e)] for e in listed])
        curves[underlying] = _ForwardCurve(
            expiries_ms=listed,
            forwards=listed_forwards,
            node_times=np.concatenate(([0.0], year_fraction(valuation_ms, listed))),
            node_log_basis=np.concatenate(([0.0], np.log(listed_forwards / index[underlying]))),
        )
    return curves


def _expiry_array(expiries_ms: npt.ArrayLike) -> npt.NDArray[np.int64]:
    array = np.asarray(expiries_ms)
    if array.dtype.kind not in "iu":
        raise ValidationError("expiries_ms", expiries_ms, "integer epoch milliseconds")
    return array.astype(np.int64)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MarketSnapshot:
    """Index prices, forwards, vol smiles, rates and venue quotes at one valuation time.

    All mappings are stored read-only (``types.MappingProxyType``). The snapshot is never
    mutated; a shocked market is a new snapshot (``dataclasses.replace`` re-validates).
    Instances compare by identity.

    Attributes
    ----------
    valuation_ms
        Valuation time, Unix epoch milliseconds UTC.
    index_prices
        Underlying (``BTC``) → index price, USD per coin, > 0.
    forwards
        ``(underlying, expiry_ms)`` → forward of that expiry, USD per coin, > 0. Every listed
        expiry is after ``valuation_ms`` and its underlying has an index price.
    smiles
        ``(underlying, expiry_ms)`` → :class:`VolSmile`; each key also has a forward, equal to
        the smile's own ``forward``.
    rates
        Currency → continuously compounded rate (fraction per year). A currency not listed
        has rate 0 (discount factor 1), as on Deribit.
    quotes
        Option instrument name → :class:`OptionQuote` (venue rows, for display and checks).
    futures
        Future or perpetual name → :class:`FutureQuote` (venue marks).
    metadata
        Free-form provenance, str → str (e.g. ``source``, ``forward_pick``).
    excluded
        Instrument name → reason, for venue rows the loader left out (bad values, failed
        plausibility rules). Such an instrument is not listed, even if its smile covers it.
    allow_unlisted
        Whether instruments the snapshot does not list may be priced from the forwards and
        smiles (:meth:`with_unlisted_allowed`). ``False`` by default: holding one is an error.
    history
        Daily closes that come with the market (:meth:`with_history`), read by methods that
        build scenarios from history (``var``); ``None`` if none were supplied.
    quoted_options
        Derived from ``quotes`` (not an argument): ``(underlying, expiry_ms, strike, is_call)``
        of every quoted option, the keys by which an option is listed.

    Notes
    -----
    What the snapshot lists (``portmargin.risk.resolve_instruments`` enforces it unless
    ``allow_unlisted``): an option with a quote of the same underlying, expiry, strike and
    call/put type (the settlement may differ: a USDC-settled option reads the inverse option's
    quote); a dated future with a future quote, or whose expiry has a forward (the venue's
    forward of a listed option expiry is that future or its synthetic); a perpetual, spot pair
    or currency balance whose underlying has an index price. Instruments named in ``excluded``
    are never listed.

    Forward of an unlisted expiry (:meth:`forward`): the log-basis ``ln(F / S)`` against the
    index ``S`` is linear in time between the nodes ``(T = 0, 0)`` and the listed expiries;
    beyond the last listed expiry its annualised log-basis ``ln(F_n / S) / T_n`` is kept.
    At or before valuation time (``T <= 0``) the forward is the index.

    Vol of an unlisted expiry (:meth:`vol`), at log-moneyness ``k = ln(K / F(T))``: between
    two listed smiles the total variance ``sigma**2 * T`` is linear in time at the same ``k``;
    before the first and after the last smile the vol of the nearest smile at ``k`` is kept
    (flat vol in time).
    """

    valuation_ms: int
    index_prices: Mapping[str, float]
    forwards: Mapping[ExpiryKey, float] = field(default_factory=_empty)
    smiles: Mapping[ExpiryKey, VolSmile] = field(default_factory=_empty, repr=False)
    rates: Mapping[str, float] = field(default_factory=_empty)
    quotes: Mapping[str, OptionQuote] = field(default_factory=_empty, repr=False)
    futures: Mapping[str, FutureQuote] = field(default_factory=_empty, repr=False)
    metadata: Mapping[str, str] = field(default_factory=_empty)
    excluded: Mapping[str, str] = field(default_factory=_empty, repr=False)
    allow_unlisted: bool = False
    history: PriceHistory | None = field(default=None, repr=False)
    _curves: Mapping[str, _ForwardCurve] = field(init=False, repr=False)
    quoted_options: frozenset[tuple[str, int, float, bool]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        valuation_ms = require_epoch_ms("valuation_ms", self.valuation_ms)
        _set = object.__setattr__
        _set(self, "valuation_ms", valuation_ms)
        index = {
            require_non_empty("index_prices", u): require_positive(f"index_prices[{u!r}]", p)
            for u, p in _frozen("index_prices", self.index_prices).items()
        }
        forwards: dict[ExpiryKey, float] = {}
        for key, value in _frozen("forwards", self.forwards).items():
            underlying, expiry_ms = _expiry_key("forwards", key, valuation_ms)
            if underlying not in index:
                raise ValidationError("forwards", key, "an underlying with an index price")
            forwards[underlying, expiry_ms] = require_positive(f"forwards[{key!r}]", value)
        smiles: dict[ExpiryKey, VolSmile] = {}
        for key, smile in _frozen("smiles", self.smiles).items():
            checked = _expiry_key("smiles", key, valuation_ms)
            if not isinstance(smile, VolSmile) or smile.expiry_ms != checked[1]:
                raise ValidationError(f"smiles[{key!r}]", smile, "a VolSmile of that expiry")
            if forwards.get(checked) != smile.forward:
                raise ValidationError(
                    f"smiles[{key!r}]", smile.forward, "a smile forward equal to forwards[key]"
                )
            smiles[checked] = smile
        rates = {
            require_non_empty("rates", c): require_finite(f"rates[{c!r}]", r)
            for c, r in _frozen("rates", self.rates).items()
        }
        _set(self, "index_prices", MappingProxyType(index))
        _set(self, "forwards", MappingProxyType(forwards))
        _set(self, "smiles", MappingProxyType(smiles))
        _set(self, "rates", MappingProxyType(rates))
        _set(self, "quotes", MappingProxyType(_named("quotes", self.quotes, OptionQuote)))
        _set(self, "futures", MappingProxyType(_named("futures", self.futures, FutureQuote)))
        _set(self, "metadata", MappingProxyType(_text_map("metadata", self.metadata)))
        _set(self, "excluded", MappingProxyType(_text_map("excluded", self.excluded)))
        if not isinstance(self.allow_unlisted, bool):
            raise ValidationError("allow_unlisted", self.allow_unlisted, "a bool")
        if self.history is not None and not isinstance(self.history, PriceHistory):
            raise ValidationError("history", self.history, "a PriceHistory or None")
        _set(self, "_curves", MappingProxyType(_forward_curves(valuation_ms, index, forwards)))
        _set(
            self,
            "quoted_options",
            frozenset(
                (i.underlying, i.expiry_ms, i.strike, i.is_call)
                for i in (q.instrument for q in self.quotes.values())
            ),
        )

    def with_history(self, history: PriceHistory) -> MarketSnapshot:
        """The same snapshot carrying the daily closes ``history``."""
        return dataclasses.replace(self, history=history)

    def with_unlisted_allowed(self) -> MarketSnapshot:
        """The same snapshot, allowing instruments it does not list to be priced from the
        forwards and smiles (``allow_unlisted=True``); ``self`` if already allowed."""
        if self.allow_unlisted:
            return self
        return dataclasses.replace(self, allow_unlisted=True)

    @property
    def underlyings(self) -> tuple[str, ...]:
        """Underlyings with an index price, sorted."""
        return tuple(sorted(self.index_prices))

    def expiries(self, underlying: str) -> tuple[int, ...]:
        """Listed expiries (epoch ms, ascending) with a forward for ``underlying``."""
        curve = self._curves.get(underlying)
        return () if curve is None else tuple(curve.expiries_ms.tolist())

    def year_fraction(self, expiry_ms: int) -> float:
        """ACT/365 year fraction from valuation time to ``expiry_ms``; <= 0 once expired."""
        return float(year_fraction(self.valuation_ms, require_epoch_ms("expiry_ms", expiry_ms)))

    def index(self, underlying: str) -> float:
        """Index price of ``underlying``, USD per coin.

        Raises
        ------
        MarketDataError
            If the snapshot has no index price for ``underlying``.
        """
        try:
            return self.index_prices[underlying]
        except KeyError:
            have = ", ".join(self.underlyings) or "none"
            raise MarketDataError(
                f"no index price for underlying {underlying!r} (have: {have})"
            ) from None

    def forward(self, underlying: str, expiry_ms: int) -> float:
        """Forward of ``underlying`` for ``expiry_ms``, USD per coin.

        A listed expiry returns its forward exactly; others follow the rule in the class notes.

        Raises
        ------
        MarketDataError
            If ``underlying`` has no index price or no listed forward.
        """
        require_epoch_ms("expiry_ms", expiry_ms)
        return float(self._forwards(underlying, np.array([expiry_ms], dtype=np.int64))[0])

    def forwards_for(
        self, underlyings: Sequence[str] | npt.ArrayLike, expiries_ms: npt.ArrayLike
    ) -> FloatArray:
        """Forwards (USD per coin) for many ``(underlying, expiry)`` pairs at once.

        Parameters
        ----------
        underlyings
            Underlying codes, broadcast with ``expiries_ms``.
        expiries_ms
            Integer epoch milliseconds.

        Returns
        -------
        numpy.ndarray of float64
            Broadcast shape of the inputs; same values as :meth:`forward` element by element.
        """
        names, expiries = np.broadcast_arrays(np.asarray(underlyings), _expiry_array(expiries_ms))
        out = np.empty(names.shape, dtype=np.float64)
        for underlying in np.unique(names):
            mask = names == underlying
            out[mask] = self._forwards(str(underlying), expiries[mask])
        return out

    def vol(self, underlying: str, expiry_ms: int, strikes: npt.ArrayLike) -> FloatArray:
        """Implied vols (fractions) of ``underlying`` for one expiry at ``strikes`` (USD).

        A listed expiry uses its smile; others follow the rule in the class notes.

        Returns
        -------
        numpy.ndarray of float64
            Same shape as ``strikes``; finite and >= 0.

        Raises
        ------
        MarketDataError
            If ``underlying`` has no smile, no index price or no forward.
        """
        expiry_ms = require_epoch_ms("expiry_ms", expiry_ms)
        return self._vol(underlying, expiry_ms, check_strikes("strikes", strikes))

    def _vol(self, underlying: str, expiry_ms: int, strikes: FloatArray) -> FloatArray:
        """:meth:`vol` for an already checked expiry and strikes."""
        listed = self.smiles.get((underlying, expiry_ms))
        if listed is not None:
            return listed._vol(np.log(strikes / listed.forward))
        smiles = sorted(
            (s for (u, _), s in self.smiles.items() if u == underlying),
            key=lambda s: s.expiry_ms,
        )
        if not smiles:
            raise MarketDataError(
                f"no vol smile for underlying {underlying!r} (asked for expiry {expiry_ms})"
            )
        k = np.log(strikes / self.forward(underlying, expiry_ms))
        if expiry_ms <= smiles[0].expiry_ms:
            return smiles[0]._vol(k)
        if expiry_ms >= smiles[-1].expiry_ms:
            return smiles[-1]._vol(k)
        upper = bisect.bisect_right([s.expiry_ms for s in smiles], expiry_ms)
        lo, hi = smiles[upper - 1], smiles[upper]
        w_lo = lo._vol(k) ** 2 * self.year_fraction(lo.expiry_ms)
        w_hi = hi._vol(k) ** 2 * self.year_fraction(hi.expiry_ms)
        weight = (expiry_ms - lo.expiry_ms) / (hi.expiry_ms - lo.expiry_ms)
        variance = w_lo + weight * (w_hi - w_lo)
        return np.sqrt(variance / self.year_fraction(expiry_ms))

    def vols_for(
        self,
        underlyings: Sequence[str] | npt.ArrayLike,
        expiries_ms: npt.ArrayLike,
        strikes: npt.ArrayLike,
    ) -> FloatArray:
        """Implied vols (fractions) for many options at once.

        Parameters
        ----------
        underlyings, expiries_ms, strikes
            Underlying codes, integer epoch milliseconds and strikes (USD), broadcast together.

        Returns
        -------
        numpy.ndarray of float64
            Broadcast shape of the inputs; same values as :meth:`vol` element by element.
            Loops run per distinct ``(underlying, expiry)``, not per option.
        """
        names, expiries, strike_array = np.broadcast_arrays(
            np.asarray(underlyings),
            _expiry_array(expiries_ms),
            check_strikes("strikes", strikes),
        )
        out = np.empty(names.shape, dtype=np.float64)
        for underlying in np.unique(names):
            of_underlying = names == underlying
            for expiry in np.unique(expiries[of_underlying]):
                mask = of_underlying & (expiries == expiry)
                expiry_ms = require_epoch_ms("expiry_ms", int(expiry))
                out[mask] = self._vol(str(underlying), expiry_ms, strike_array[mask])
        return out

    def discount_factor(self, currency: str, expiry_ms: int) -> float:
        """Discount factor ``exp(-r T)`` of ``currency`` to ``expiry_ms``; 1 once ``T <= 0``.

        ``r`` is ``rates[currency]`` (0 when the currency is not listed).
        """
        tau = max(self.year_fraction(expiry_ms), 0.0)
        return math.exp(-self.rates.get(currency, 0.0) * tau)

    def _forwards(self, underlying: str, expiries_ms: npt.NDArray[np.int64]) -> FloatArray:
        spot = self.index(underlying)
        curve = self._curves.get(underlying)
        if curve is None:
            raise MarketDataError(f"no forward for underlying {underlying!r} (no listed expiry)")
        listed, times, log_basis = curve.expiries_ms, curve.node_times, curve.node_log_basis
        tau = year_fraction(self.valuation_ms, expiries_ms)
        inside = np.interp(tau, times, log_basis)
        beyond = log_basis[-1] / times[-1] * tau
        out = spot * np.exp(np.where(tau > times[-1], beyond, inside))
        position = np.searchsorted(listed, expiries_ms).clip(max=listed.size - 1)
        exact = listed[position] == expiries_ms
        return np.where(exact, curve.forwards[position], out)


def _named(
    field_name: str, value: object, kind: type[OptionQuote] | type[FutureQuote]
) -> dict[Any, Any]:
    items = _frozen(field_name, value)
    for key, quote in items.items():
        if not isinstance(quote, kind) or quote.instrument_name != key:
            raise ValidationError(f"{field_name}[{key!r}]", quote, f"a {kind.__name__} of {key!r}")
    return items


def _text_map(field_name: str, value: object) -> dict[str, str]:
    items = _frozen(field_name, value)
    for key, text in items.items():
        if not isinstance(key, str) or not isinstance(text, str):
            raise ValidationError(field_name, {key: text}, "str keys and str values")
    return {str(k): str(v) for k, v in items.items()}
