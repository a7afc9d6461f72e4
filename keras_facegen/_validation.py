"""Argument checks shared across keras-facegen (no imports from the package: any floor uses it)."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_int(value: Any, argument: str, minimum: int = 1) -> int:
    """Returns ``value`` as an ``int`` if it is an integer (not a bool) ``>= minimum``.

    Args:
        value: The value passed by the caller.
        argument: The argument's name, for the message.
        minimum: The smallest accepted value.

    Returns:
        ``int(value)``.

    Raises:
        ValueError: Naming the argument, the value received and what was expected.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{argument} must be {expected}; received {argument}={value!r}.")
    return int(value)
