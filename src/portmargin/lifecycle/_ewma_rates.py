"""Dynamic rates on notional with EWMA volatility memory (``lifecycle.md`` §10.3, method C)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from portmargin.core import ValidationError, require_non_negative, require_positive
from portmargin.lifecycle._requirements import NotionalRates, Requirements
from portmargin.market import MarketSnapshot
from portmargin.risk import Book

__all__ = ["EwmaRates"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EwmaRates:
    """MM rate ``clip(k sigma, floor, cap)`` on notional, with ``sigma`` updated by the move.

    At a market whose index of underlying ``u`` is ``S`` (reference ``S_0``):
    ``sigma^2 = lambda sigma_0^2 + (1 - lambda) ln(S / S_0)^2`` (one EWMA step of
    ``var-margin.md`` §3.3 with the move as the new daily return), and
    ``MM = clip(k sigma, floor, cap) |q| P`` summed as :class:`NotionalRates` does (``P`` the
    mark of futures and perpetuals, the index for options). At ``S = S_0`` exactly no return
    has been observed and ``sigma = sigma_0``: the state before the move.
    ``IM = im_ratio clip(k sigma_0, floor, cap) |q| P``: the IM rate is set from the state at
    ``S_0`` and does not move (``lifecycle.md`` §10.3: IM = 1.25 × MM at ``S_0``), so in a
    crash MM may exceed IM.

    Attributes
    ----------
    sigma0
        Underlying → daily EWMA volatility before the move (fraction, > 0), e.g.
        ``{"BTC": 0.030217}``.
    reference
        Underlying → index price ``S_0`` the volatility state belongs to (USD, > 0); the same
        keys as ``sigma0``.
    multiplier
        ``k`` (default 3), > 0.
    floor, cap
        Bounds of the MM rate (defaults 0.08 and 0.40), ``0 <= floor <= cap``.
    ewma_lambda
        ``lambda`` in (0, 1) (default 0.94).
    im_ratio
        IM rate over the MM rate at ``S_0``, >= 1 (default 1.25).
    """

    sigma0: Mapping[str, float]
    reference: Mapping[str, float]
    multiplier: float = 3.0
    floor: float = 0.08
    cap: float = 0.40
    ewma_lambda: float = 0.94
    im_ratio: float = 1.25

    def __post_init__(self) -> None:
        if not self.sigma0 or set(self.sigma0) != set(self.reference):
            raise ValidationError(
                "reference", sorted(self.reference), f"the keys of sigma0 {sorted(self.sigma0)}"
            )
        for u in self.sigma0:
            require_positive(f"sigma0[{u!r}]", self.sigma0[u])
            require_positive(f"reference[{u!r}]", self.reference[u])
        object.__setattr__(self, "multiplier", require_positive("multiplier", self.multiplier))
        floor = require_non_negative("floor", self.floor)
        if not require_non_negative("cap", self.cap) >= floor:
            raise ValidationError("cap", self.cap, f"a rate >= floor {floor:g}")
        lam = self.ewma_lambda
        if isinstance(lam, bool) or not isinstance(lam, int | float) or not 0.0 < lam < 1.0:
            raise ValidationError("ewma_lambda", lam, "a number in the open interval (0, 1)")
        if not require_positive("im_ratio", self.im_ratio) >= 1.0:
            raise ValidationError("im_ratio", self.im_ratio, "a ratio >= 1")
        object.__setattr__(self, "sigma0", MappingProxyType(dict(self.sigma0)))
        object.__setattr__(self, "reference", MappingProxyType(dict(self.reference)))

    @property
    def name(self) -> str:
        """E.g. ``"ewma rates clip(3 sigma, 0.08, 0.4)"``."""
        return f"ewma rates clip({self.multiplier:g} sigma, {self.floor:g}, {self.cap:g})"

    def sigma(self, underlying: str, price: float) -> float:
        """Daily volatility after the move from ``S_0`` to ``price`` (``sigma_0`` at
        ``S_0``)."""
        s0 = self.reference[underlying]
        sig0 = self.sigma0[underlying]
        if price == s0:
            return sig0
        r = math.log(price / s0)
        lam = self.ewma_lambda
        return math.sqrt(lam * sig0 * sig0 + (1.0 - lam) * r * r)

    def mm_rate(self, underlying: str, price: float) -> float:
        """``clip(k sigma, floor, cap)`` at ``price`` of ``underlying``."""
        return float(np.clip(self.multiplier * self.sigma(underlying, price), self.floor, self.cap))

    def im_rate(self, underlying: str) -> float:
        """``im_ratio clip(k sigma_0, floor, cap)``."""
        return self.im_ratio * self.mm_rate(underlying, self.reference[underlying])

    def requirements(self, book: Book, market: MarketSnapshot) -> Requirements:
        """IM and MM of every account of ``book`` at ``market``, USD (two sparse products)."""
        mm = {u: self.mm_rate(u, market.index(u)) for u in sorted(self.sigma0)}
        im = {u: self.im_rate(u) for u in sorted(self.sigma0)}
        by_mm = NotionalRates(mm_rates=mm, im_rates=mm).requirements(book, market)
        by_im = NotionalRates(mm_rates=im, im_rates=im).requirements(book, market)
        return Requirements(
            accounts=book.accounts,
            initial_margin=by_im.initial_margin,
            maintenance_margin=by_mm.maintenance_margin,
            errors=by_mm.errors,
        )
