"""Public surface of ``portmargin.pricing``."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import portmargin.pricing


def test_submodules_are_reachable_after_importing_the_package() -> None:
    assert portmargin.pricing.__all__ == ["black76", "implied_vol", "merton"]
    assert callable(portmargin.pricing.black76.price)
    assert callable(portmargin.pricing.implied_vol.implied_vol)
    assert callable(portmargin.pricing.merton.price)


def test_each_module_declares_its_public_names() -> None:
    expected = {
        "black76": {"price", "greeks", "inverse_price", "inverse_delta"},
        "implied_vol": {"implied_vol", "inverse_implied_vol"},
        "merton": {
            "price",
            "price_fourier",
            "characteristic_function",
            "simulate_terminal_forward",
            "simulate_paths",
        },
    }
    for name, names in expected.items():
        module = importlib.import_module(f"portmargin.pricing.{name}")
        assert set(module.__all__) == names
        assert all(callable(getattr(module, n)) for n in names)


def test_importing_the_package_does_not_import_quantlib() -> None:
    """QuantLib is a test oracle only; the kernels need numpy and scipy."""
    code = "import sys, portmargin.pricing; assert 'QuantLib' not in sys.modules"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
