"""``name_some``: the first names of a list, then how many more."""

import pytest

from portmargin.core import name_some


@pytest.mark.parametrize(
    ("names", "limit", "expected"),
    [
        ([], 3, ""),
        (["a"], 3, "a"),
        (["a", "b", "c"], 3, "a, b, c"),
        (["a", "b", "c", "d", "e"], 3, "a, b, c and 2 more"),
        (["a", "b"], 0, "2 more"),
    ],
)
def test_name_some(names: list[str], limit: int, expected: str) -> None:
    assert name_some(names, limit) == expected
