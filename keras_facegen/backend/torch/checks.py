"""Run-time checks on the torch backend: shapes are static here (also under ``jit``)."""

from __future__ import annotations

from typing import Any


def assert_divisible(value: Any, divisor: Any, message: str) -> Any:
    """Raises ``ValueError(message)`` unless ``value % divisor == 0``; returns ``value``."""
    if int(value) % int(divisor):
        raise ValueError(message)
    return value
