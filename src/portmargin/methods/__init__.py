"""Margin methodologies behind one protocol, registered by name.

Methodologies never import each other. Each lives in its own subpackage, exposes its
parameter and result types, and implements :class:`MarginMethod`; this module registers them
explicitly.
"""

from portmargin.methods._inputs import NO_INPUTS, AccountInputs, InputKey, InputSpec, InputValue
from portmargin.methods._protocol import (
    MarginMethod,
    MethodParams,
    compute_with_inputs,
    get_method,
    method_names,
    register,
)
from portmargin.methods._run import RunOptions, run_method
from portmargin.methods.deribit_pm import DERIBIT_PM
from portmargin.methods.derive_pm2 import DerivePM2
from portmargin.methods.okx_pm import OkxPM
from portmargin.methods.paradex_pm import ParadexPM
from portmargin.methods.span import Span
from portmargin.methods.standard import StandardMargin
from portmargin.methods.var import VarMargin

register(StandardMargin())
register(DERIBIT_PM)
register(ParadexPM())
register(OkxPM())
register(DerivePM2())
register(Span())
register(VarMargin())

__all__ = [
    "NO_INPUTS",
    "AccountInputs",
    "InputKey",
    "InputSpec",
    "InputValue",
    "MarginMethod",
    "MethodParams",
    "RunOptions",
    "compute_with_inputs",
    "get_method",
    "method_names",
    "register",
    "run_method",
]
