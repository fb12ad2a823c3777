"""Daily close history of several underlyings and the joint daily log returns built from it.

The rules are those of the VaR/ES specification (``var-margin.md``), section 3.1 *Data
preparation*, with the window parameters of section 2 and the short-history rule of section 10:

- a daily log return ``r_t = ln(C_t / C_{t-1})`` exists only if both calendar days ``t - 1``
  and ``t`` have a valid close; a missing day removes the return ending on it and the one
  starting from it. A return is never taken over a gap and prices are never interpolated;
- a date enters the joint scenario set only if every underlying has a return on it;
- ``history_start`` per underlying drops its returns ending before that date;
- an underlying with a shorter history may use ``beta * r_proxy`` on the dates before its own
  history begins, and that use is reported;
- returns ending after ``as_of`` are not used; the window is the last ``lookback_days`` joint
  returns, and a shorter window is used as it is, flagged ``short_history``, never padded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from portmargin.core import MarketDataError, ValidationError, require_finite

__all__ = [
    "LOOKBACK_DAYS",
    "RECOMMENDED_HISTORY_START",
    "DateLike",
    "PriceHistory",
    "Proxy",
    "ReturnWindow",
    "to_day",
]

LOOKBACK_DAYS = 1095
"""Default window: number of daily joint returns (three years), ``var-margin.md`` section 2."""

RECOMMENDED_HISTORY_START: Mapping[str, np.datetime64] = MappingProxyType(
    {"ETH": np.datetime64("2017-01-01", "D")}
)
"""``history_start`` recommended by ``var-margin.md`` section 3.1 (ETH launch phase excluded).

A recommendation, not a default: :meth:`PriceHistory.joint_returns` applies no start date
unless one is passed.
"""

DateLike = dt.date | str | np.datetime64
"""A calendar day: ``datetime.date``, ISO string ``"YYYY-MM-DD"`` or ``numpy.datetime64``."""

_ONE_DAY = np.timedelta64(1, "D")
_T = TypeVar("_T", bound=np.generic)


def to_day(field_name: str, value: DateLike) -> np.datetime64:
    """``value`` as a ``numpy.datetime64[D]`` calendar day (UTC), or :class:`ValidationError`."""
    if isinstance(value, dt.datetime):
        raise ValidationError(field_name, value, "a calendar day, not a date and time")
    if not isinstance(value, dt.date | str | np.datetime64):
        raise ValidationError(field_name, value, "a date, 'YYYY-MM-DD' or numpy.datetime64")
    try:
        day = cast(np.datetime64, np.array([value], dtype="datetime64[D]")[0])
    except ValueError:
        raise ValidationError(field_name, value, "a date in the form 'YYYY-MM-DD'") from None
    if np.isnat(day):
        raise ValidationError(field_name, value, "a date, not NaT")
    return day


@dataclass(frozen=True, slots=True, kw_only=True)
class Proxy:
    """Stand-in returns for an underlying on the dates before its own history begins.

    Attributes
    ----------
    underlying
        The underlying whose returns are borrowed (e.g. ``"BTC"``).
    beta
        Multiplier: the proxied return is ``beta * r_proxy`` (log returns, dimensionless).
    """

    underlying: str
    beta: float

    def __post_init__(self) -> None:
        if not isinstance(self.underlying, str) or not self.underlying:
            raise ValidationError("Proxy.underlying", self.underlying, "a non-empty string")
        object.__setattr__(self, "beta", require_finite("Proxy.beta", self.beta))


def _readonly(a: NDArray[_T]) -> NDArray[_T]:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PriceHistory:
    """Daily closes of several underlyings on one date axis. No I/O; never mutated.

    Attributes
    ----------
    underlyings
        Underlying names, e.g. ``("BTC", "ETH")``; unique, one column of :attr:`closes` each.
    dates
        Shape ``(n_days,)``, ``datetime64[D]`` (UTC calendar days), strictly increasing. Days
        need not be contiguous: an absent day is a missing close.
    closes
        Shape ``(n_days, n_underlyings)``, float64, USD per unit of the underlying. ``NaN``
        marks a missing close (before an underlying's first day, or a dropped row); every
        other value is finite and > 0.
    volumes
        Optional, shape ``(n_days, n_underlyings)``, float64: USD traded on the day (Yahoo's
        ``Volume`` for crypto pairs), for the liquidity add-on of ``var-margin.md`` section 7.
        ``NaN`` where unknown; every other value is finite and >= 0.
    """

    underlyings: tuple[str, ...]
    dates: NDArray[np.datetime64]
    closes: NDArray[np.float64]
    volumes: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        names = tuple(self.underlyings)
        if not names or any(not isinstance(u, str) or not u for u in names):
            raise ValidationError(
                "PriceHistory.underlyings", self.underlyings, "one or more non-empty names"
            )
        if len(set(names)) != len(names):
            raise ValidationError("PriceHistory.underlyings", names, "unique names")
        dates = np.asarray(self.dates)
        if dates.ndim != 1 or not np.issubdtype(dates.dtype, np.datetime64):
            raise ValidationError(
                "PriceHistory.dates", self.dates, "a 1-d numpy datetime64 array of days"
            )
        dates = dates.astype("datetime64[D]")
        if np.isnat(dates).any():
            raise ValidationError("PriceHistory.dates", "NaT", "no missing dates")
        if dates.size > 1 and not (np.diff(dates) > np.timedelta64(0, "D")).all():
            bad = int(np.flatnonzero(np.diff(dates) <= np.timedelta64(0, "D"))[0]) + 1
            raise ValidationError(
                f"PriceHistory.dates[{bad}]", str(dates[bad]), "strictly increasing dates"
            )
        closes = np.array(self.closes, dtype=np.float64)
        if closes.shape != (dates.size, len(names)):
            raise ValidationError(
                "PriceHistory.closes",
                f"shape {closes.shape}",
                f"shape (n_days, n_underlyings) = {(dates.size, len(names))}",
            )
        bad_mask = ~np.isnan(closes) & ~(np.isfinite(closes) & (closes > 0))
        if bad_mask.any():
            i, j = (int(x[0]) for x in np.nonzero(bad_mask))
            raise ValidationError(
                f"PriceHistory.closes[{names[j]}, {dates[i]}]",
                float(closes[i, j]),
                "a finite close > 0 or NaN for a missing day",
            )
        if self.volumes is not None:
            volumes = np.array(self.volumes, dtype=np.float64)
            if volumes.shape != closes.shape:
                raise ValidationError(
                    "PriceHistory.volumes", f"shape {volumes.shape}", f"shape {closes.shape}"
                )
            bad_mask = ~np.isnan(volumes) & ~(np.isfinite(volumes) & (volumes >= 0))
            if bad_mask.any():
                i, j = (int(x[0]) for x in np.nonzero(bad_mask))
                raise ValidationError(
                    f"PriceHistory.volumes[{names[j]}, {dates[i]}]",
                    float(volumes[i, j]),
                    "a finite USD volume >= 0 or NaN when unknown",
                )
            object.__setattr__(self, "volumes", _readonly(volumes))
        object.__setattr__(self, "underlyings", names)
        object.__setattr__(self, "dates", _readonly(dates))
        object.__setattr__(self, "closes", _readonly(closes))

    def column(self, underlying: str) -> int:
        """Column of ``underlying`` in :attr:`closes`; :class:`MarketDataError` if absent."""
        try:
            return self.underlyings.index(underlying)
        except ValueError:
            raise MarketDataError(
                f"no price history for {underlying!r}; available: {list(self.underlyings)}"
            ) from None

    def median_volume(
        self, underlying: str, *, as_of: DateLike | None = None, rows: int = 30
    ) -> float:
        """Median daily USD volume over the last ``rows`` valid rows up to and including ``as_of``.

        A valid row has both a close and a volume (``var-margin.md`` section 7: the median of
        the 30-day USD volume; ``as_of`` defaults to the last date).

        Raises
        ------
        MarketDataError
            No volumes, or fewer than ``rows`` valid rows up to ``as_of``.
        """
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
            raise ValidationError("rows", rows, "an integer >= 1")
        j = self.column(underlying)
        cut = self.dates[-1] if as_of is None else to_day("as_of", as_of)
        if self.volumes is None:
            raise MarketDataError(f"the price history has no volumes (needed for {underlying})")
        valid = np.isfinite(self.closes[:, j]) & np.isfinite(self.volumes[:, j])
        picked = np.flatnonzero(valid & (self.dates <= cut))[-rows:]
        if picked.size < rows:
            raise MarketDataError(
                f"{underlying}: {picked.size} rows with a close and a volume up to {cut}; "
                f"expected {rows}"
            )
        return float(np.median(self.volumes[picked, j]))

    def log_returns(self) -> NDArray[np.float64]:
        """Daily log returns, shape ``(n_days, n_underlyings)``, row ``t`` ending on ``dates[t]``.

        ``ln(C_t / C_{t-1})`` where ``dates[t] - dates[t-1]`` is one day and both closes are
        valid; ``NaN`` otherwise (row 0, the day after a missing day, a missing day).
        """
        out = np.full(self.closes.shape, np.nan)
        if self.dates.size > 1:
            consecutive = (np.diff(self.dates) == _ONE_DAY)[:, None]
            with np.errstate(invalid="ignore"):
                r = np.log(self.closes[1:] / self.closes[:-1])
            out[1:] = np.where(consecutive, r, np.nan)
        return out

    def joint_returns(
        self,
        underlyings: Sequence[str] | None = None,
        *,
        as_of: DateLike | None = None,
        lookback_days: int = LOOKBACK_DAYS,
        history_start: Mapping[str, DateLike] | None = None,
        proxies: Mapping[str, Proxy] | None = None,
    ) -> ReturnWindow:
        """The last ``lookback_days`` joint daily log returns up to ``as_of``.

        Parameters
        ----------
        underlyings
            Underlyings of the portfolio, in the column order wanted; all by default.
        as_of
            Last return end date used (inclusive); the last date of the history by default.
        lookback_days
            Number of joint returns ``n`` in the window (``var-margin.md`` section 2: 1095).
        history_start
            Per underlying, first return end date used (inclusive); returns ending earlier are
            not used. Underlyings not named have no start date.
        proxies
            Per underlying, a :class:`Proxy` whose ``beta * r`` stands in on the dates before
            the underlying's own first usable return (after its ``history_start``). A return
            missing later (a gap) is not proxied: the date is skipped. The proxy's own
            ``history_start`` applies; a proxy cannot itself be proxied.

        Returns
        -------
        ReturnWindow
            Dates, returns, which entries came from a proxy, and ``short_history``.

        Raises
        ------
        ValidationError
            Unknown underlying in a parameter, ``lookback_days`` not an integer >= 1, chained
            or self proxies.
        MarketDataError
            No date has a return for every underlying up to ``as_of``.
        """
        if isinstance(underlyings, str):
            raise ValidationError("underlyings", underlyings, "a sequence of names, e.g. ['BTC']")
        names = self.underlyings if underlyings is None else tuple(underlyings)
        if not names or len(set(names)) != len(names):
            raise ValidationError("underlyings", underlyings, "one or more unique names")
        cols = [self.column(u) for u in names]
        if isinstance(lookback_days, bool) or not isinstance(lookback_days, int | np.integer):
            raise ValidationError("lookback_days", lookback_days, "an integer >= 1")
        if lookback_days < 1:
            raise ValidationError("lookback_days", lookback_days, "an integer >= 1")
        cut = self.dates[-1] if as_of is None else to_day("as_of", as_of)
        starts = {u: to_day(f"history_start[{u}]", d) for u, d in (history_start or {}).items()}
        for u in starts:
            self.column(u)
        proxy_map = dict(proxies or {})
        for u, p in proxy_map.items():
            if u not in names:
                raise ValidationError(f"proxies[{u}]", p, f"a proxy for one of {list(names)}")
            if not isinstance(p, Proxy):
                raise ValidationError(f"proxies[{u}]", p, "a Proxy(underlying=..., beta=...)")
            self.column(p.underlying)
            if p.underlying == u or p.underlying in proxy_map:
                raise ValidationError(
                    f"proxies[{u}]", p.underlying, "an underlying that is not itself proxied"
                )

        all_r = self.log_returns()
        in_range = (self.dates <= cut)[:, None]
        no_start = np.datetime64("NaT", "D")
        start_row = np.array([starts.get(u, no_start) for u in self.underlyings])
        after_start = np.isnat(start_row)[None, :] | (self.dates[:, None] >= start_row[None, :])
        usable_all = np.isfinite(all_r) & in_range & after_start

        r = all_r[:, cols]
        usable = usable_all[:, cols].copy()
        proxied = np.zeros_like(usable)
        for j, u in enumerate(names):
            px = proxy_map.get(u)
            if px is None:
                continue
            own = np.flatnonzero(usable[:, j])
            begins = own[0] if own.size else self.dates.size
            k = self.column(px.underlying)
            fill = usable_all[:, k] & (np.arange(self.dates.size) < begins)
            r[fill, j] = px.beta * all_r[fill, k]
            usable[fill, j] = True
            proxied[fill, j] = True

        rows = np.flatnonzero(usable.all(axis=1))
        if rows.size == 0:
            raise MarketDataError(
                f"no date up to as_of {cut} has a daily return for every one of {list(names)}"
            )
        rows = rows[-lookback_days:]
        return ReturnWindow(
            underlyings=names,
            dates=self.dates[rows],
            returns=r[rows],
            proxied=proxied[rows],
            as_of=cut,
            lookback_days=int(lookback_days),
            proxies=MappingProxyType(proxy_map),
        )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ReturnWindow:
    """Joint daily log returns chosen for scenarios (built by :meth:`PriceHistory.joint_returns`).

    Attributes
    ----------
    underlyings
        Column names of :attr:`returns`.
    dates
        Shape ``(n,)``, ``datetime64[D]``, increasing: end date of each joint return.
    returns
        Shape ``(n, n_underlyings)``, float64 daily log returns (dimensionless), all finite.
    proxied
        Shape ``(n, n_underlyings)``, bool: the entry is ``beta * r_proxy`` of the proxy.
    as_of
        Last date that could enter the window.
    lookback_days
        Window length asked for; :attr:`short_history` when fewer joint returns exist.
    proxies
        The proxies that were allowed (used or not: see :attr:`proxied`).
    """

    underlyings: tuple[str, ...]
    dates: NDArray[np.datetime64]
    returns: NDArray[np.float64]
    proxied: NDArray[np.bool_]
    as_of: np.datetime64
    lookback_days: int
    proxies: Mapping[str, Proxy] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        n = self.dates.shape[0]
        shape = (n, len(self.underlyings))
        if self.returns.shape != shape or self.proxied.shape != shape:
            raise ValidationError(
                "ReturnWindow.returns",
                f"shapes {self.returns.shape}, {self.proxied.shape}",
                f"(n, n_underlyings) = {shape}",
            )
        if not np.isfinite(self.returns).all():
            raise ValidationError("ReturnWindow.returns", "non-finite", "finite log returns")
        for name in ("dates", "returns", "proxied"):
            object.__setattr__(self, name, _readonly(np.array(getattr(self, name))))

    @property
    def n(self) -> int:
        """Number of joint returns in the window."""
        return int(self.dates.shape[0])

    @property
    def short_history(self) -> bool:
        """Fewer joint returns than :attr:`lookback_days` (used as they are, never padded)."""
        return self.n < self.lookback_days

    def proxy_dates(self, underlying: str) -> NDArray[np.datetime64]:
        """Dates on which ``underlying``'s return is its proxy's (empty if none)."""
        try:
            j = self.underlyings.index(underlying)
        except ValueError:
            raise MarketDataError(
                f"{underlying!r} is not in the window; it holds {list(self.underlyings)}"
            ) from None
        return self.dates[self.proxied[:, j]]

    def proxy_report(self) -> tuple[str, ...]:
        """One line per proxied underlying: proxy, beta, number of dates and their range."""
        lines = []
        for j, u in enumerate(self.underlyings):
            d = self.dates[self.proxied[:, j]]
            if d.size:
                p = self.proxies[u]
                lines.append(
                    f"{u}: {d.size} daily returns are {p.beta:g} x {p.underlying} "
                    f"({d[0]} to {d[-1]})"
                )
        return tuple(lines)
