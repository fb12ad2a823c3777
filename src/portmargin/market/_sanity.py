"""Plausibility rules for venue market data, applied by the loaders before a snapshot is built."""

from __future__ import annotations

from dataclasses import dataclass

from portmargin.core import ValidationError, require_epoch_ms, require_positive

__all__ = ["SanityRules"]

_EARLIEST_MS = 1_230_940_800_000
"""2009-01-03 00:00 UTC, the first Bitcoin block: no crypto market data is older."""
_LATEST_MS = 4_102_444_800_000
"""2100-01-01 00:00 UTC."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SanityRules:
    """Bounds outside which a venue row is impossible or implausible, with their defaults.

    A loader (:func:`portmargin.io.load_snapshot`) excludes a row that breaks a row rule and
    records the reason, raises :class:`~portmargin.core.DataFormatError` when a whole column,
    the index or an option timestamp is implausible, and attaches a warning when a mark
    cannot be reproduced. All bounds are inclusive.

    Attributes
    ----------
    min_vol, max_vol
        Range of a row's mark implied vol, fractions per year. Defaults ``0.01`` (1 %) and
        ``10.0`` (1 000 %): the bundled BTC chain spans 70 %–184 %, Deribit caps quoted ask
        vols at 500 %; a row outside is excluded.
    min_median_vol, max_median_vol
        Range of the median mark implied vol over all option rows (after the percent →
        fraction conversion). Defaults ``0.02`` and ``10.0``: a median below 2 % means the
        column was given as fractions (``0.85``) instead of percent (``85.0``), above 1 000 %
        that it was multiplied by 100. Either is an error naming the column.
    max_basis
        Largest relative gap between a forward (an option row's ``underlying_price``, a future
        or perpetual mark) and the index of its underlying: the ratio must lie within
        ``[1 / (1 + max_basis), 1 + max_basis]``. Default ``0.5``: BTC and ETH futures basis
        has stayed within tens of percent a year (2 % at six months on the bundled chain), so
        a listed expiry (at most about a year out) far outside ±50 % is a broken row, not a
        market. The index itself must be within the same gap of the median forward of its
        option rows, else the load fails (a wrong index moves every forward).
    max_index_spread
        Largest relative gap between one row's index observation and the median index of all
        rows of the same underlying, same ratio form. Default ``0.1``: a snapshot's rows are
        seconds to minutes apart (0.1 % spread on the bundled chain), far less than 10 % of
        index move; a row outside is excluded before the index is chosen.
    max_forward_spread
        Largest relative gap between an option row's forward and the median forward of the
        rows of the same expiry, same ratio form. Default ``0.1``: the rows of one expiry are
        marked on one future or synthetic within minutes (at most 0.12 % apart on the bundled
        chain); a row outside is excluded, so it cannot become the expiry's forward.
    min_price_usd, max_price_usd
        Range of any USD price (index, forward, future mark), USD per coin. Defaults ``1e-8``
        and ``1e9``: no listed crypto is worth a billion dollars or less than a millionth of a
        cent. Option marks must also respect their no-arbitrage bound (an inverse call below
        1 coin, an inverse put below ``K / F`` coin, a linear call below ``F``, a linear put
        below ``K``).
    earliest_ms, latest_ms
        Range of row timestamps, Unix epoch milliseconds. Defaults 2009-01-03 (the first
        Bitcoin block) and 2100-01-01. An option row outside (a wrong unit, a corrupted cell)
        fails the load, as it would move the valuation time; a future row is excluded.
    reprice_abs_tolerance, reprice_rel_tolerance
        Repricing check: each option is repriced with Black-76 on its own ``mark_iv``,
        ``underlying_price`` and timestamp; a mark farther from that price than
        ``max(reprice_abs_tolerance * u, reprice_rel_tolerance * mark)`` gets a warning, where
        ``u`` is 1 coin for inverse options and the forward (USD) for linear ones. Defaults
        ``1e-3`` coin and ``0.05`` (5 %): on the bundled chain the repricing error has median
        3.9e-6 and maximum 2.4e-4 coin, so a warning means the mark and its vol disagree.
    """

    min_vol: float = 0.01
    max_vol: float = 10.0
    min_median_vol: float = 0.02
    max_median_vol: float = 10.0
    max_basis: float = 0.5
    max_index_spread: float = 0.1
    max_forward_spread: float = 0.1
    min_price_usd: float = 1e-8
    max_price_usd: float = 1e9
    earliest_ms: int = _EARLIEST_MS
    latest_ms: int = _LATEST_MS
    reprice_abs_tolerance: float = 1e-3
    reprice_rel_tolerance: float = 0.05

    def __post_init__(self) -> None:
        _set = object.__setattr__
        for name in (
            "min_vol",
            "max_vol",
            "min_median_vol",
            "max_median_vol",
            "max_basis",
            "max_index_spread",
            "max_forward_spread",
            "min_price_usd",
            "max_price_usd",
            "reprice_abs_tolerance",
            "reprice_rel_tolerance",
        ):
            _set(self, name, require_positive(name, getattr(self, name)))
        for name in ("earliest_ms", "latest_ms"):
            _set(self, name, require_epoch_ms(name, getattr(self, name)))
        for low, high in (
            ("min_vol", "max_vol"),
            ("min_median_vol", "max_median_vol"),
            ("min_price_usd", "max_price_usd"),
            ("earliest_ms", "latest_ms"),
        ):
            if getattr(self, low) >= getattr(self, high):
                raise ValidationError(low, getattr(self, low), f"< {high} {getattr(self, high)!r}")
