"""Resolve portfolio + market + params into flat arrays (per option, expiry and collateral)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portmargin.core import MarketDataError, ValidationError
from portmargin.methods.derive_pm2._chain import Chain, IntArray, expiry_terms
from portmargin.methods.derive_pm2._checks import BoolArray, FloatArray
from portmargin.methods.derive_pm2._inputs import DeriveMarket, DerivePortfolio
from portmargin.methods.derive_pm2._params import DeriveParams

__all__ = ["Resolved", "resolve"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Resolved(Chain):
    """The account's option chain (see :class:`Chain`) plus holdings and confidences.

    Options are sorted by expiry (stable: portfolio order within an expiry). Per option
    ``(n_o,)``: ``amount`` (signed, base units) and ``option_rows`` (row in the portfolio).
    Per held expiry ``(n_e,)``: ``feed_confidence`` (min of forward, rate and vol
    confidences). Per collateral ``(n_c,)``:
    ``collateral_names``, ``collateral_amount`` (units held), ``collateral_value`` (USD,
    divided by the stable price),
    ``risk_cancelling``, ``mm_haircut``, ``im_haircut``, ``collateral_confidence`` (min with
    the spot confidence).
    """

    amount: FloatArray
    option_rows: IntArray
    feed_confidence: FloatArray
    collateral_names: tuple[str, ...]
    collateral_amount: FloatArray
    collateral_value: FloatArray
    risk_cancelling: BoolArray
    mm_haircut: FloatArray
    im_haircut: FloatArray
    collateral_confidence: FloatArray


def _lookup_vols(
    expiry_index: IntArray,
    strike: FloatArray,
    rows: IntArray,
    feed_pos: IntArray,
    market: DeriveMarket,
) -> FloatArray:
    """Vol of every option from its expiry's vol feed (exact strike match), shape ``(n_o,)``.

    ``rows`` are the options' rows in the portfolio (for messages).
    """
    feeds = [market.expiries[int(i)] for i in feed_pos]  # one entry per held expiry
    feed_e = np.concatenate(
        [np.full(f.strikes.shape[0], e, dtype=np.intp) for e, f in enumerate(feeds)]
        + [np.zeros(0, np.intp)]
    )
    feed_k = np.concatenate([f.strikes for f in feeds] + [np.zeros(0)])
    feed_v = np.concatenate([f.vols for f in feeds] + [np.zeros(0)])
    uniq, inverse = np.unique(np.concatenate([feed_k, strike]), return_inverse=True)
    n_k = max(uniq.shape[0], 1)
    key_feed = feed_e * n_k + inverse[: feed_k.shape[0]]
    key_opt = expiry_index * n_k + inverse[feed_k.shape[0] :]
    order = np.argsort(key_feed, kind="stable")
    pos = np.searchsorted(key_feed[order], key_opt)
    pos = np.minimum(pos, max(order.shape[0] - 1, 0))
    found = key_feed[order][pos] == key_opt if order.size else np.zeros(key_opt.shape, dtype=bool)
    if not found.all():
        bad = int(np.flatnonzero(~found)[0])
        seconds = feeds[int(expiry_index[bad])].expiry_seconds
        raise MarketDataError(
            f"no vol in the feed of expiry {seconds:g} s at strike {strike[bad]:g} "
            f"(option row {int(rows[bad])})"
        )
    return np.asarray(feed_v[order][pos], dtype=np.float64)


def resolve(portfolio: DerivePortfolio, market: DeriveMarket, params: DeriveParams) -> Resolved:
    """Match holdings with market data and parameters; derive per-expiry constants.

    Raises
    ------
    MarketDataError
        A held expiry without feed, a held strike without vol, a held collateral without
        price, or a perp position with a zero perp price.
    ValidationError
        A held collateral without risk settings in ``params`` (asset not enabled).
    """
    options = portfolio.options
    held, expiry_index = np.unique(options.expiry_seconds, return_inverse=True)
    rows = np.argsort(expiry_index.reshape(-1), kind="stable")
    expiry_index = expiry_index.astype(np.intp).reshape(-1)[rows]
    feed_seconds = np.array([f.expiry_seconds for f in market.expiries], dtype=np.float64)
    order = np.argsort(feed_seconds)
    pos = np.minimum(np.searchsorted(feed_seconds[order], held), max(order.size - 1, 0))
    ok = feed_seconds[order][pos] == held if order.size else np.zeros(held.shape, bool)
    if not ok.all():
        missing = float(held[np.flatnonzero(~ok)[0]])
        raise MarketDataError(f"no market feed for the held expiry {missing:g} s")
    feed_pos = order[pos] if order.size else np.zeros(0, np.intp)
    feeds = [market.expiries[int(i)] for i in feed_pos]
    portions = np.array([f.forward_portions() for f in feeds], dtype=np.float64).reshape(-1, 2)
    tau, rate, discount = expiry_terms(held, np.array([f.rate for f in feeds], dtype=np.float64))
    feed_conf = np.array(
        [min(f.forward_confidence, f.rate_confidence, f.vol_confidence) for f in feeds],
        dtype=np.float64,
    )
    strike = options.strike[rows]
    vol = _lookup_vols(expiry_index, strike, rows, feed_pos, market)

    if portfolio.perp_position != 0.0 and market.perp_price <= 0.0:
        raise MarketDataError("a perp position is held but the perp price is 0")

    prices = {c.name: c for c in market.collaterals}
    values, rc, mm, im, conf = [], [], [], [], []
    for index, holding in enumerate(portfolio.collaterals):
        settings = params.collateral(holding.name)
        if settings is None:
            raise ValidationError(
                f"portfolio.collaterals[{index}].name",
                holding.name,
                "an asset with risk settings in DeriveParams.collaterals (not enabled)",
            )
        feed = prices.get(holding.name)
        if feed is None:
            raise MarketDataError(f"no price feed for the held collateral {holding.name!r}")
        values.append(holding.amount * feed.price / market.stable_price)
        rc.append(settings.is_risk_cancelling)
        mm.append(settings.mm_haircut)
        im.append(settings.im_haircut)
        conf.append(min(feed.confidence, market.spot_confidence))

    return Resolved(
        expiry_index=expiry_index,
        strike=strike,
        is_call=options.is_call[rows],
        amount=options.amount[rows],
        vol=vol,
        seconds=held,
        tau=tau,
        rate=rate,
        discount=discount,
        fixed=portions[:, 0],
        variable=portions[:, 1],
        option_rows=rows.astype(np.intp),
        feed_confidence=feed_conf,
        collateral_names=tuple(c.name for c in portfolio.collaterals),
        collateral_amount=np.array([c.amount for c in portfolio.collaterals], dtype=np.float64),
        collateral_value=np.array(values, dtype=np.float64),
        risk_cancelling=np.array(rc, dtype=np.bool_),
        mm_haircut=np.array(mm, dtype=np.float64),
        im_haircut=np.array(im, dtype=np.float64),
        collateral_confidence=np.array(conf, dtype=np.float64),
    )
