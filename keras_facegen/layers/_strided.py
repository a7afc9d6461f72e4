"""Pieces shared by the layers that turn a strided convolution into a stride-1 one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

# Backends on which the rewritten computation is faster than Keras' own (measured on CPU).
FAST_BACKENDS = ("jax",)


def taps(kernel: int, stride: int) -> int:
    """Kernel rows per parity class once the kernel is zero-padded to a multiple of ``stride``."""
    return -(-kernel // stride)


def pad_kernel_to_stride(kernel: Any, kernel_size: Sequence[int], strides: Sequence[int]) -> Any:
    """Zero-pads a ``(kh, kw, a, b)`` kernel so each spatial size is a multiple of its stride."""
    (kh, kw), (sh, sw) = kernel_size, strides
    jh, jw = taps(kh, sh), taps(kw, sw)
    return ops.pad(kernel, ((0, jh * sh - kh), (0, jw * sw - kw), (0, 0), (0, 0)))


def check_implementation(implementation: str, choices: Sequence[str]) -> str:
    """Returns ``implementation`` if it is one of ``choices``; else a ValueError naming it."""
    if implementation not in choices:
        raise ValueError(
            f"Expected `implementation` to be one of {tuple(choices)}, but received "
            f"implementation={implementation!r}."
        )
    return implementation


def rewrite_enabled(implementation: str) -> bool:
    """Whether ``implementation`` asks for the rewritten computation on the active backend."""
    if implementation == "keras":
        return False
    return implementation != "auto" or keras.backend.backend() in FAST_BACKENDS
