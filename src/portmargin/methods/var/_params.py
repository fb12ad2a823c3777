"""Parameters of the ``var`` method (``var-margin.md`` section 2), one frozen tree per pack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from portmargin.core import (
    ValidationError,
    optional_key,
    require_finite,
    require_non_empty,
    require_non_negative,
    require_positive,
)

__all__ = [
    "Generator",
    "LiquidityParams",
    "Measure",
    "MonteCarloParams",
    "ProxyParams",
    "VarParams",
    "VolModel",
]


class Generator(StrEnum):
    """Scenario generator: historical (``hs``), filtered historical (``fhs``), Monte Carlo."""

    HS = "hs"
    FHS = "fhs"
    MC = "mc"


class Measure(StrEnum):
    """Risk measure that sets the margin (both are always reported)."""

    VAR = "var"
    ES = "es"


class VolModel(StrEnum):
    """Implied-vol response to a scenario (section 4).

    ``STICKY_STRIKE``: vols unchanged. ``VOL_BETA``: ``max(sigma + vol_beta R, min_vol)``
    (absolute shock per unit log return). ``WORST_OF``: both, keeping per scenario the larger
    loss of each margined portfolio as a whole.
    """

    STICKY_STRIKE = "sticky_strike"
    VOL_BETA = "vol_beta"
    WORST_OF = "worst_of"


def _day(name: str, value: object) -> date:
    """A TOML date or a ``YYYY-MM-DD`` string as a :class:`datetime.date`."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(name, value, "a date YYYY-MM-DD")


def _whole(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValidationError(name, value, f"a whole number >= {low}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class MonteCarloParams:
    """Monte Carlo generator settings (section 3.4).

    Attributes
    ----------
    paths
        Number of simulated paths, >= 1.
    seed
        Seed of the ``PCG64`` generator (mandatory for reproducible margins).
    jump_threshold
        Jump detection threshold in EWMA sigmas, > 0.
    """

    paths: int
    seed: int
    jump_threshold: float

    def __post_init__(self) -> None:
        _whole("paths", self.paths, 1)
        _whole("seed", self.seed, 0)
        require_positive("jump_threshold", self.jump_threshold)


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidityParams:
    """Liquidity and concentration add-on of one underlying (section 7).

    Attributes
    ----------
    spread
        Full bid-ask spread, fraction of price (BTC 0.0005).
    impact_coeff
        ``Y``: square-root impact coefficient.
    depth_fraction
        Depth ``V = depth_fraction x`` median daily USD volume of the last 30 valid days.
    half_vol_spread
        Half the implied-vol bid-ask spread, in vol points (1.0 = 0.01 of sigma).
    vega_depth
        ``VD``: vega the market absorbs, USD per vol point.
    """

    spread: float
    impact_coeff: float
    depth_fraction: float
    half_vol_spread: float
    vega_depth: float

    def __post_init__(self) -> None:
        for name in ("spread", "impact_coeff", "half_vol_spread"):
            require_non_negative(name, getattr(self, name))
        require_positive("depth_fraction", self.depth_fraction)
        require_positive("vega_depth", self.vega_depth)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyParams:
    """Stand-in returns ``beta x r_proxy`` before an underlying's own history (section 3.1).

    Attributes
    ----------
    underlying
        Proxy underlying (``"BTC"``).
    beta
        Multiplier of the proxy's daily log returns.
    """

    underlying: str
    beta: float

    def __post_init__(self) -> None:
        require_non_empty("underlying", self.underlying)
        require_finite("beta", self.beta)


@dataclass(frozen=True, slots=True, kw_only=True)
class VarParams:
    """A ``var`` parameter pack (``var-margin.md`` section 2).

    Attributes
    ----------
    version
        Pack version recorded in results.
    method
        Scenario generator.
    measure
        Measure that sets the margin.
    confidence
        One-sided confidence ``alpha`` in (0, 1).
    holding_period_days
        Margin period of risk ``h``, whole days >= 1 (also the time shift of options).
    lookback_days
        Number of joint daily returns in the window, >= 1.
    overlapping
        Overlapping h-day windows.
    sqrt_time_scaling
        ``sqrt(h) x`` 1-day returns instead of summed daily returns.
    ewma_lambda, ewma_seed_returns
        EWMA decay in (0, 1) and the number of first returns seeding it.
    mc
        Monte Carlo settings.
    vol_model
        Implied-vol response.
    vol_beta
        Absolute vol change per unit log return (``vol_beta`` and ``worst_of`` models).
    min_vol
        Floor of shocked vols (decimal), >= 0.
    offset_cap
        Share of the cross-group diversification benefit granted, in [0, 1].
    liquidity
        Add-on parameters per underlying; an underlying without an entry cannot be margined.
    ratio_im_mm
        ``IM = ratio x MM``, >= 1.
    history_start
        Per underlying, first return end date used for scenarios ({} for none).
    proxies
        Per underlying, a proxy for the dates before its own history ({} for none).
    allow_small_sample
        Accept a tail of less than one scenario (``ES = L_1``) instead of raising.
    as_of
        Last return end date used; the market's valuation date when omitted.
    """

    version: str
    method: Generator
    measure: Measure
    confidence: float
    holding_period_days: int
    lookback_days: int
    overlapping: bool
    sqrt_time_scaling: bool
    ewma_lambda: float
    ewma_seed_returns: int
    mc: MonteCarloParams
    vol_model: VolModel
    vol_beta: float
    min_vol: float
    offset_cap: float
    liquidity: Mapping[str, LiquidityParams]
    ratio_im_mm: float
    history_start: Mapping[str, date]
    proxies: Mapping[str, ProxyParams]
    allow_small_sample: bool
    as_of: date | None = field(
        default=None, metadata=optional_key("defaults to the market's valuation date")
    )

    def __post_init__(self) -> None:
        require_non_empty("version", self.version)
        for name, kind in (("method", Generator), ("measure", Measure), ("vol_model", VolModel)):
            if not isinstance(getattr(self, name), kind):
                raise ValidationError(
                    name, getattr(self, name), f"one of {[m.value for m in kind]}"
                )
        alpha = require_finite("confidence", self.confidence)
        if not 0.0 < alpha < 1.0:
            raise ValidationError("confidence", alpha, "a number in the open interval (0, 1)")
        _whole("holding_period_days", self.holding_period_days, 1)
        _whole("lookback_days", self.lookback_days, 1)
        _whole("ewma_seed_returns", self.ewma_seed_returns, 1)
        if not 0.0 < require_finite("ewma_lambda", self.ewma_lambda) < 1.0:
            raise ValidationError("ewma_lambda", self.ewma_lambda, "a number in (0, 1)")
        require_finite("vol_beta", self.vol_beta)
        require_non_negative("min_vol", self.min_vol)
        if not 0.0 <= require_finite("offset_cap", self.offset_cap) <= 1.0:
            raise ValidationError("offset_cap", self.offset_cap, "a fraction in [0, 1]")
        if require_finite("ratio_im_mm", self.ratio_im_mm) < 1.0:
            raise ValidationError("ratio_im_mm", self.ratio_im_mm, "a ratio >= 1 (IM >= MM)")
        if not self.liquidity:
            raise ValidationError("liquidity", {}, "parameters for at least one underlying")
        starts = {str(u): _day(f"history_start.{u}", d) for u, d in self.history_start.items()}
        object.__setattr__(self, "history_start", MappingProxyType(starts))
        object.__setattr__(self, "liquidity", MappingProxyType(dict(self.liquidity)))
        object.__setattr__(self, "proxies", MappingProxyType(dict(self.proxies)))
        for u, p in self.proxies.items():
            if p.underlying == u or p.underlying in self.proxies:
                raise ValidationError(
                    f"proxies.{u}.underlying", p.underlying, "an underlying that is not proxied"
                )
        if self.as_of is not None:
            object.__setattr__(self, "as_of", _day("as_of", self.as_of))

    def coverage(self) -> dict[str, tuple[str, ...]]:
        """Underlyings with liquidity parameters (sorted); any settlement currency (``*``):
        every loss is converted to USD."""
        return {"underlyings": tuple(sorted(self.liquidity)), "settlement": ("*",)}
