"""Pieces shared by the layers that turn a strided convolution into a stride-1 one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

# Backends on which "auto" picks the rewritten computation: faster than Keras' own there
# (measured on CPU; see benchmarks/README.md, "Speed").
FAST_BACKENDS = ("jax",)
# conv_valid runs as one matmul from this many output channels on; below, ``ops.conv``. On XLA's
# CPU convolution the matmul wins for many output channels (the DCGAN generators' 256-2048:
# 1.1-1.4x, forward and backward) and loses where the im2col copy outweighs the product
# (12 output channels: 2-4x slower). Measured with ``benchmarks/strided_convs.py``.
MATMUL_MIN_OUTPUT_CHANNELS = 128
# "auto" rewrites a strided convolution (space-to-depth) from this many kernel channel pairs
# (in_channels * filters) on: XLA's own strided convolution is faster below (face96's
# discriminator, 3 * 64 ... 144 * 216: 1.4-2x) and far slower above (``default``'s last layer,
# 256 * 512: 12x, through the dilated convolution of its input gradient).
SPACE_TO_DEPTH_MIN_CHANNEL_PAIRS = 65536


def taps(kernel: int, stride: int) -> int:
    """Kernel rows per parity class once the kernel is zero-padded to a multiple of ``stride``."""
    return -(-kernel // stride)


def pad_kernel_to_stride(kernel: Any, kernel_size: Sequence[int], strides: Sequence[int]) -> Any:
    """Zero-pads a ``(kh, kw, a, b)`` kernel so each spatial size is a multiple of its stride."""
    (kh, kw), (sh, sw) = kernel_size, strides
    jh, jw = taps(kh, sh), taps(kw, sw)
    return ops.pad(kernel, ((0, jh * sh - kh), (0, jw * sw - kw), (0, 0), (0, 0)))


def conv_valid(inputs: Any, kernel: Any) -> Any:
    """A stride-1 ``"valid"`` convolution of ``(N, H, W, a)`` by ``(kh, kw, a, b)``.

    From ``b >= MATMUL_MIN_OUTPUT_CHANNELS`` on, the ``kh * kw`` shifted views of ``inputs``
    are stacked along channels (im2col) and multiplied by the kernel reshaped to
    ``(kh * kw * a, b)``: one matmul; below, ``ops.conv``. Same function either way.
    """
    kh, kw, in_channels, out_channels = kernel.shape
    if out_channels < MATMUL_MIN_OUTPUT_CHANNELS:
        return ops.conv(inputs, kernel, strides=1, padding="valid")
    rows, cols = inputs.shape[1] - kh + 1, inputs.shape[2] - kw + 1
    if kh * kw == 1:
        patches = inputs
    else:
        patches = ops.concatenate(
            [inputs[:, u : u + rows, v : v + cols, :] for u in range(kh) for v in range(kw)],
            axis=-1,
        )
    return ops.matmul(patches, ops.reshape(kernel, (kh * kw * in_channels, out_channels)))


def check_implementation(implementation: str, choices: Sequence[str]) -> str:
    """Returns ``implementation`` if it is one of ``choices``; else a ValueError naming it."""
    if implementation not in choices:
        raise ValueError(
            f"Expected `implementation` to be one of {tuple(choices)}, but received "
            f"implementation={implementation!r}."
        )
    return implementation


def rewrite_enabled(implementation: str, worthwhile: bool = True) -> bool:
    """Whether ``implementation`` asks for the rewritten computation on the active backend.

    ``worthwhile``: whether the layer's shapes favour the rewrite ("auto" only).
    """
    if implementation == "keras":
        return False
    if implementation != "auto":
        return True
    return keras.backend.backend() in FAST_BACKENDS and worthwhile
