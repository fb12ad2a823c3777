"""Conformance checks any margin method can run: ``check_method(method)``.

The properties every method of the registry satisfies (margin >= 0, empty and flat books need
nothing, bad accounts set aside while the others are computed, an account gets the same alone
or in any batch, IM >= MM, every short option needs margin), as one public function, for
methods written in the package or outside it, registered or not.

Needs hypothesis, which generates the books (``pip install 'portmargin[test]'``).
"""

try:
    import hypothesis  # noqa: F401
except ImportError:  # pragma: no cover - only without the test extra
    raise ImportError(
        "portmargin.testing needs hypothesis: pip install 'portmargin[test]'"
    ) from None

from portmargin.testing._check import PROPERTIES, MethodCheckError, check_method

__all__ = ["PROPERTIES", "MethodCheckError", "check_method"]
