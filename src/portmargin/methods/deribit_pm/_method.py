"""``DeribitPM``: the S:PM method behind the :class:`~portmargin.methods.MarginMethod` protocol."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from portmargin.core import ValidationError, config_from_mapping
from portmargin.market import MarketSnapshot
from portmargin.methods._inputs import NO_INPUTS, AccountInputs, InputKey, InputSpec, check_inputs
from portmargin.methods.deribit_pm._batch import BatchRun, GroupRun, InputOverrides, run_batch
from portmargin.methods.deribit_pm._params import DeribitPMParams, MarginInputs
from portmargin.results import GroupRows, MarginBatch
from portmargin.risk import STABLECOINS, Book, Kind, ScenarioExplainer

__all__ = ["ACCOUNT_INPUTS", "COMPONENT_SOURCES", "DeribitPM"]

_GROUP = "aggregation key '<settlement>_<base>' in lower case, e.g. 'btc_btc' or 'usdc_eth'"
_UNIT = "settlement currency of the group"
ACCOUNT_INPUTS: tuple[InputSpec, ...] = tuple(
    InputSpec(
        name=name,
        description=description,
        default=f"the pack's assumptions.{name}",
        unit=_UNIT,
        per=InputKey.ACCOUNT_GROUP,
        group=_GROUP,
    )
    for name, description in (
        ("open_orders_margin", "margin of the account's open orders, computed by the venue"),
        ("mmp_margin", "market-maker-protection margin, computed by the venue"),
        ("spot_margin", "margin of spot holdings and spot orders, computed by the venue"),
    )
)
"""Venue-computed parts of a row's initial margin, per account and aggregation key
(``private/pme/simulate`` returns them; this engine cannot compute them from positions)."""

COMPONENT_SOURCES: Mapping[str, str] = {
    "risk_matrix_margin": "round(worst_case, worst_case_decimals) + roll_shock + delta_shock"
    " + correlation_contingency; S:PM of the row's settlement currency only (no"
    " cross-collateral, X:PM not applied)",
    "risk_matrix_margin/worst_case": "largest loss of the aggregated standard (27) and extended"
    " (8) vectors after pnl_offset and extended_dampener",
    "risk_matrix_margin/roll_shock": "sum over roll groups of |delta| * max(min_annualised_move,"
    " annualised_move_risk * T)",
    "risk_matrix_margin/delta_shock": "delta_shock_model on the net coin delta of the pair",
    "risk_matrix_margin/correlation_contingency": "0 for segregated books",
    "open_orders_margin": "venue input",
    "mmp_margin": "venue input",
    "spot_margin": "venue input",
}
"""Component name → the rule that produces it."""


def _notes(params: DeribitPMParams, run: BatchRun) -> tuple[str, ...]:
    a = params.assumptions
    return (
        "segregated portfolio margin: one row per account and key <settlement>_<base>",
        "currency balances and spot pairs are ignored (spot margin is a venue input)",
        f"vol_order={','.join(a.vol_order)}; vol_up_floor={a.vol_up_floor.value};"
        f" dte_floor_days={a.dte_floor_days:g}",
        f"extended_dampener_mode={a.extended_dampener_mode.value};"
        f" clamp_options_in_extended={a.clamp_options_in_extended}",
        f"roll_grouping={a.roll_grouping.value}; delta_shock_model={a.delta_shock_model.value}",
        f"worst_case_decimals={a.worst_case_decimals}; im_decimals={a.im_decimals}",
        "max_offsetable_pnl and extended_dampener are USD, converted at the index (coin books)",
        *_split_notes(run),
        *_linear_option_notes(params, run),
    )


def _split_notes(run: BatchRun) -> tuple[str, ...]:
    """The S:PM split of accounts holding positions in several settlement currencies."""
    settlements = sorted({g.settlement for g in run.groups})
    if len(settlements) < 2:
        return ()
    held = np.stack(
        [
            run.book.holders(np.concatenate([g.columns for g in run.groups if g.settlement == c]))
            for c in settlements
        ]
    )
    mixed = held.sum(axis=0) > 1
    if not mixed.any():
        return ()
    names = [c for c, h in zip(settlements, held, strict=True) if bool((h & mixed).any())]
    return (
        f"S:PM computed separately per settlement currency: {', '.join(names)};"
        " cross-collateral (X:PM) is not applied",
        f"{int(mixed.sum())} account(s) hold positions in several settlement currencies:"
        " one row per currency and key (group column), margins not netted across them",
    )


def _linear_option_notes(params: DeribitPMParams, run: BatchRun) -> tuple[str, ...]:
    """The extended-table assumptions, when computed accounts hold stablecoin-settled options
    (Deribit publishes no linear example: the treatment is the coin books' one)."""
    table = run.table
    stable = np.isin(table.settlement_currency, sorted(STABLECOINS))
    columns = np.flatnonzero((table.kind == Kind.OPTION) & stable)
    holders = run.book.holders(columns)
    if not holders.any():
        return ()
    a = params.assumptions
    currencies = sorted(set(table.settlement_currency[columns].tolist()))
    dampeners = [
        f"currency.{'usd' if c.lower() not in params.currency else c.lower()}"
        f" extended_dampener={p.extended_dampener:g} USD"
        for c in currencies
        if (p := params.currency_for(c, True)) is not None
    ]
    return (
        f"assumption for {', '.join(currencies)}-settled options ({int(holders.sum())}"
        f" account(s)): extended table clamp_options_in_extended={a.clamp_options_in_extended},"
        f" extended_dampener_mode={a.extended_dampener_mode.value}"
        f"{''.join(f', {d}' for d in dampeners)}; Deribit does not publish the linear (USDC)"
        " treatment",
    )


def _rows(run: BatchRun, g: GroupRun) -> GroupRows:
    """The batch rows of one aggregation key, explained in their worst column."""
    names = run.table.names
    return GroupRows(
        account=np.array(run.book.accounts, dtype=object)[g.accounts],
        currency=g.settlement,
        group=g.key,
        initial_margin=g.initial_margin,
        maintenance_margin=g.maintenance_margin,
        components={
            "risk_matrix_margin": g.risk_matrix_margin,
            "risk_matrix_margin/worst_case": g.worst.loss,
            "risk_matrix_margin/roll_shock": g.roll_shock,
            "risk_matrix_margin/delta_shock": g.delta_shock,
            "risk_matrix_margin/correlation_contingency": g.correlation_contingency,
            "open_orders_margin": g.open_orders_margin,
            "mmp_margin": g.mmp_margin,
            "spot_margin": g.spot_margin,
        },
        worst_scenario=g.worst.labels(g.grid.labels),
        explain=ScenarioExplainer(
            quantities=g.quantities,
            pnl=g.pnl,
            names=[names[c] for c in g.columns.tolist()],
            worst=g.worst,
        ),
    )


def to_batch(run: BatchRun, params: DeribitPMParams) -> MarginBatch:
    """Columnar result of a :class:`BatchRun`: one row per (account, aggregation key)."""
    return MarginBatch.from_groups(
        [_rows(run, g) for g in run.groups],
        method=DeribitPM.name,
        params_version=params.version,
        sources=COMPONENT_SOURCES,
        errors=run.errors,
        notes=_notes(params, run),
    )


class DeribitPM:
    """Deribit segregated portfolio margin (S:PM), ``specs/deribit-pm.md``.

    Every amount is in the row's settlement currency (BTC for inverse BTC products, USDC for
    linear ones). An account holding several settlement currencies gets one row per
    currency, said in ``notes``; cross margin (X:PM, ``margin_mode``) is refused by the pack.
    """

    name = "deribit-pm"
    description = "Deribit segregated portfolio margin: 27 + 8 scenario risk matrix"
    default_pack = "deribit-pm/2024-06-17"
    account_inputs = ACCOUNT_INPUTS

    def params_from_mapping(self, data: Mapping[str, Any]) -> DeribitPMParams:
        """Parameters from a parsed pack; unknown keys raise ``ValidationError`` naming them."""
        return config_from_mapping(DeribitPMParams, data)

    def compute(
        self,
        book: Book,
        market: MarketSnapshot,
        params: DeribitPMParams,
        *,
        inputs: AccountInputs = NO_INPUTS,
    ) -> MarginBatch:
        """Margin of every account of ``book``, one row per account and aggregation key.

        Parameters
        ----------
        book
            Positions (coins of underlying, > 0 long).
        market
            Index, forwards, smiles and futures marks at the valuation time.
        params
            Parameter pack.
        inputs
            Per-account inputs (:data:`ACCOUNT_INPUTS`): open-order, MMP and spot margin of
            a row ``(account, "<settlement>_<base>")``; a row without a value uses
            ``params.assumptions``.

        Returns
        -------
        MarginBatch
            IM, MM and the components of :data:`COMPONENT_SOURCES` per row; accounts with
            missing market data or parameters are in ``errors``.
        """
        check_inputs(self.name, self.account_inputs, inputs)
        return to_batch(run_batch(book, market, params, _overrides(inputs, params)), params)


def _overrides(inputs: AccountInputs, params: DeribitPMParams) -> InputOverrides:
    """Venue inputs of every row ``inputs`` gives a value for, the pack's defaults filling
    the parts not given.

    Raises
    ------
    ValidationError
        If a group key is not ``<settlement>_<base>`` of a settlement currency and a pair
        the pack has parameters for.
    """
    keys = {key for spec in ACCOUNT_INPUTS for key in inputs.get(spec.name)}
    defaults = params.assumptions
    overrides: dict[tuple[str, str], MarginInputs] = {}
    for account, group in sorted(keys):
        settlement, sep, base = group.upper().partition("_")
        known = (
            sep
            and group == group.lower()
            and params.pair(base) is not None
            and params.currency_for(settlement, settlement in STABLECOINS) is not None
        )
        if not known:
            raise ValidationError(
                f"inputs[{account!r}, {group!r}]",
                group,
                f"an {_GROUP}, of a settlement currency and pair pack {params.version} has "
                f"parameters for (currency {sorted(params.currency)}, currency_pair "
                f"{sorted(params.currency_pair)})",
            )
        given = {
            spec.name: float(
                inputs.get(spec.name).get((account, group), getattr(defaults, spec.name))
            )
            for spec in ACCOUNT_INPUTS
        }
        overrides[account, group] = MarginInputs(**given)
    return overrides
