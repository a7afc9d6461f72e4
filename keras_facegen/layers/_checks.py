"""Argument and shape checks shared by the layers (private: error messages live in one place)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from keras_facegen._validation import check_int


def positive_int(name: str, value: Any) -> int:
    """Returns ``value`` as an ``int`` if it is a positive integer, else raises ``ValueError``."""
    return check_int(value, name)


def positive_float(name: str, value: Any) -> float:
    """Returns ``value`` as a ``float`` if it is a finite number > 0, else raises ``ValueError``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(
            f"Expected `{name}` to be a finite number > 0, but received {name}={value!r}."
        )
    return float(value)


def unit_interval(name: str, value: Any) -> float:
    """Returns ``value`` as a ``float`` if it lies in [0, 1], else raises ``ValueError``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0.0 <= float(value) <= 1.0
    ):
        raise ValueError(
            f"Expected `{name}` to be a number in [0, 1], but received {name}={value!r}."
        )
    return float(value)


def int_pair(name: str, value: Any) -> tuple[int, int]:
    """Returns ``value`` (an int or a pair of ints, all positive) as a pair of ints."""
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    if (
        not isinstance(pair, Sequence)
        or len(pair) != 2
        or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0 for v in pair)
    ):
        raise ValueError(
            f"Expected `{name}` to be a positive integer or a pair of positive integers, "
            f"but received {name}={value!r}."
        )
    return int(pair[0]), int(pair[1])


def input_rank(
    layer: str, shape: Sequence[int | None], rank: int | None, min_rank: int = 1
) -> None:
    """Raises ``ValueError`` unless ``shape`` has ``rank`` axes (or at least ``min_rank``)."""
    if rank is not None and len(shape) != rank:
        raise ValueError(
            f"{layer} expects inputs of rank {rank}, but received input_shape={tuple(shape)} "
            f"(rank {len(shape)})."
        )
    if len(shape) < min_rank:
        raise ValueError(
            f"{layer} expects inputs of rank >= {min_rank}, but received "
            f"input_shape={tuple(shape)} (rank {len(shape)})."
        )


def known_channels(layer: str, shape: Sequence[int | None]) -> int:
    """Returns the last axis of ``shape``, raising ``ValueError`` if it is unknown (``None``)."""
    channels = shape[-1]
    if channels is None:
        raise ValueError(
            f"{layer} needs a known last (channels) axis, but received input_shape={tuple(shape)}."
        )
    return int(channels)
