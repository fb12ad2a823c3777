"""Wording shared by notes and messages."""

from collections.abc import Sequence

__all__ = ["name_some"]


def name_some(names: Sequence[str], limit: int) -> str:
    """The first ``limit`` names joined by commas, then how many more there are.

    Parameters
    ----------
    names : sequence of str
        The names to list, in the order they should appear.
    limit : int
        How many names to spell out (≥ 0).

    Returns
    -------
    str
        For example ``"a, b and 3 more"``; the empty string for no names.
    """
    shown = ", ".join(names[:limit])
    rest = len(names) - limit
    if rest <= 0:
        return shown
    return f"{shown} and {rest} more" if shown else f"{rest} more"
