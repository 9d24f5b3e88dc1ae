"""Checks of numeric options: finite, in range, the right kind; errors name the keyword.

``float("nan")`` compares false with everything, so ``value <= 0`` lets it through: every check
here asks for what is allowed (``math.isfinite(v) and v > 0``) instead of refusing what is not.
Booleans are refused where numbers are expected (``True`` is an ``int`` in Python).
"""

from __future__ import annotations

import math

from ._errors import ConfigurationError

__all__ = ["check_fraction", "check_non_negative", "check_positive"]


def _number(name: str, value: object, *, integer: bool) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        kind = "an integer" if integer else "a number"
        raise ConfigurationError(f"{name} must be {kind}, not {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigurationError(f"{name} must be a finite number, not {value!r}")
    return number


def check_positive(name: str, value: object, *, integer: bool = False) -> None:
    """Refuse anything but a finite number above zero (None passes: "no limit").

    Raises:
        ConfigurationError: Naming the keyword and the value.
    """
    if value is not None and _number(name, value, integer=integer) <= 0:
        raise ConfigurationError(f"{name} must be positive (or None), not {value!r}")


def check_non_negative(name: str, value: object, *, integer: bool = False) -> None:
    """Refuse anything but a finite number at or above zero (None passes).

    Raises:
        ConfigurationError: Naming the keyword and the value.
    """
    if value is not None and _number(name, value, integer=integer) < 0:
        raise ConfigurationError(f"{name} must be zero or more (or None), not {value!r}")


def check_fraction(name: str, value: object) -> None:
    """Refuse anything but a number in [0, 1] (None passes).

    Raises:
        ConfigurationError: Naming the keyword and the value.
    """
    if value is not None and not 0.0 <= _number(name, value, integer=False) <= 1.0:
        raise ConfigurationError(f"{name} must lie in [0, 1], not {value!r}")
