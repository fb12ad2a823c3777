"""portmargin: portfolio margin for crypto derivatives.

Pricing (Black-76 on forwards, Merton jump diffusion, vol smiles), market snapshots built from
venue data, and the building blocks of scenario-based portfolio margin.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
