"""Helpers shared by the Derive PMRM_2 tests (not collected: no ``test_`` prefix)."""

from __future__ import annotations

from typing import Any


def mainnet_mapping() -> dict[str, Any]:
    """The venue's mainnet-script parameter set (derive-pm2.md §6) in the ``Parameters`` layout.

    33 scenarios: the regular grid in the mainnet order (Up, None, Down inside a level), eight
    dampened tails, then the two skews. Independent of the conformance files.
    """
    scenarios: list[dict[str, Any]] = [{"SpotShock": 1.18, "VolShockDirection": "Up"}]
    for move in (0.135, 0.09, 0.045, 0.0, -0.045, -0.09, -0.135):
        scenarios += [
            {"SpotShock": 1 + move, "VolShockDirection": d} for d in ("Up", "None", "Down")
        ]
    scenarios.append({"SpotShock": 0.82, "VolShockDirection": "Up"})
    for d in scenarios:
        d["DampeningFactor"] = 1.0
    tails = [(0.34, 0.21), (0.67, 0.42), (1.5, 0.2772), (2.0, 0.1386), (3.0, 0.0693)]
    tails += [(4.0, 0.0462), (5.0, 0.03465), (6.0, 0.02772)]
    scenarios += [
        {"SpotShock": s, "VolShockDirection": "Up", "DampeningFactor": d} for s, d in tails
    ]
    scenarios += [
        {"SpotShock": 1.0, "VolShockDirection": d, "DampeningFactor": 1.0}
        for d in ("LINEAR", "ABS")
    ]
    return {
        "Scenarios": scenarios,
        "VolShock": {
            "VOLRANGEUP": 0.5,
            "VOLRANGEDOWN": 0.3,
            "SHORTTERMPOWER": 0.3,
            "LONGTERMPOWER": 0.13,
            "DTE_FLOOR": 1.0,
            "MIN_VOL_EVAL_SHOCKED": 0.4,
        },
        "Margin": {
            "IM_LOSS_FACTOR": 1.0,
            "MM_LOSS_FACTOR": 0.8,
            "BASE_STATIC_DISCOUNT": 1.05,
            "LONG_RATE_MULTSCALE": 0.0,
            "LONG_RATE_ADDSCALE": 0.16,
            "BASE_STATIC_DISCOUNT_NEG": 0.95,
            "SHORT_RATE_MULTSCALE": 0.0,
            "SHORT_RATE_ADDSCALE": 0.16,
        },
        "BasisContingency": {
            "SCENARIO_SPOT_UP": 1.045,
            "SCENARIO_SPOT_DOWN": 0.955,
            "BASIS_CONT_ADD_FACTOR": 0.5,
            "BASIS_CONT_MULT_FACTOR": 2.0,
        },
        "OtherContingency": {
            "PEG_LOSS_THRESHOLD": 0.99,
            "PEG_LOSS_FACTOR": 4.0,
            "CONF_THRESHOLD": 0.55,
            "CONF_MARGIN": 1.0,
            "MM_PERP_PERCENT": 0.03,
            "IM_PERP_PERCENT": 0.01,
            "MM_OPTION_PERCENT": 0.003,
            "IM_OPTION_PERCENT": 0.002,
        },
        "SkewShock": {
            "LINEAR_SCALE_CAP": 0.25,
            "LINEAR_CBASE": -0.1,
            "ABS_SCALE_CAP": 0.25,
            "ABS_CBASE": -0.1,
            "MIN_K_STAR": 0.01,
            "MIN_WIDTH_SCALE": 4.0,
            "VOL_PARAM_STATIC": 0.6,
            "VOL_PARAM_SCALE": 0.0,
        },
    }


def synthetic_case() -> dict[str, Any]:
    """A small, well-formed case file (dict form) with the mainnet parameter set.

    One ETH call spread (20 days), a short perp, cash and one risk-cancelling collateral; the
    ``Result`` numbers are placeholders (the loader does not check them).
    """
    n_scenarios = len(mainnet_mapping()["Scenarios"])
    return {
        "Scenario": {
            "Cash": -500,
            "SpotPrice": "3000.5",
            "SpotConfidence": 1.0,
            "NumPerps": -0.5,
            "PerpPrice": 3001.0,
            "PerpConfidence": 1.0,
            "UnrealisedPerpPNL": 12.5,
            "UnrealisedFunding": "-2.5",
            "StablePrice": 1.0,
            "StableConfidence": 1.0,
            "Collaterals": [
                {
                    "Name": "ETH",
                    "Amount": 1.5,
                    "Price": 3000.5,
                    "Confidence": 1.0,
                    "IsRiskCancelling": True,
                    "MMHaircut": 0.056,
                    "IMHaircut": 0.07,
                    "ConfidenceFactor": 0.0,
                }
            ],
            "Options": [
                {"Expiry": 1728000, "Strike": 3000.0, "IsCall": 1, "Amount": -1.0, "MarkVol": 0.6},
                {"Expiry": 1728000, "Strike": 3200.0, "IsCall": 1, "Amount": 1.0, "MarkVol": 0.62},
            ],
            "OptionFeeds": [
                {
                    "FeedExpiry": 1728000,
                    "Forward": 3010.0,
                    "ForwardConfidence": 1.0,
                    "Rate": 0.1,
                    "RateConfidence": 1.0,
                    "OptionVolConfidences": 0.95,
                }
            ],
        },
        "Parameters": mainnet_mapping(),
        "Result": {
            "IM": -1.0,
            "MM": -1.0,
            "reg_losses": [["0", 0, "0"]] * 23,
            "tail_losses": [["0", 1, "0"]] * (n_scenarios - 25),
            "skew_losses": [["LINEAR", "0"], ["ABS", "0"]],
            "OptionMTM": 0.0,
        },
    }
