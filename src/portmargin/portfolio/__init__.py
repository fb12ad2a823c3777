"""Positions and portfolios (one per account)."""

from portmargin.portfolio._model import Portfolio, Position

__all__ = ["Portfolio", "Position"]
