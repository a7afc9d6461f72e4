"""uint8 conversion and image grids, shared by ``sampling`` and ``callbacks``.

A pure helper (NumPy, and Keras only to read backend tensors) so that every floor may import
it: the training callbacks sit below ``sampling`` in the design's layering, and both must write
the same pixels for the same images. The public names are re-exported by
:mod:`keras_facegen.sampling`.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from keras_facegen._validation import check_int

__all__ = ["as_rgb_batch", "image_grid", "to_uint8"]


def to_uint8(images: Any) -> np.ndarray:
    """Converts images in ``[-1, 1]`` (floats) or uint8 to uint8.

    Floats map by ``round((x + 1) * 127.5)`` after clipping to ``[-1, 1]``; integer images must
    already lie in ``[0, 255]``.

    Args:
        images: An array or tensor of any shape.

    Returns:
        A uint8 array of the same shape.

    Raises:
        ValueError: On non-finite floats or integers outside ``[0, 255]``.

    Example:
        >>> to_uint8(np.array([-1.0, 0.0, 1.0])).tolist()
        [0, 128, 255]
    """
    array = np.asarray(keras.ops.convert_to_numpy(images))
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind in "iub":
        if array.size and (array.min() < 0 or array.max() > 255):
            raise ValueError(
                f"Integer images must lie in [0, 255]; received values in [{array.min()}, "
                f"{array.max()}]."
            )
        return array.astype(np.uint8)
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError("images contain non-finite values; expected floats in [-1, 1].")
    # Half-up rounding, as for hex codes: 0.0 -> 128.
    return np.floor((np.clip(array, -1.0, 1.0) + 1.0) * 127.5 + 0.5).astype(np.uint8)


def as_rgb_batch(images: Any, name: str = "images") -> np.ndarray:
    """A batch of images as uint8 RGB ``(N, H, W, 3)`` (one image becomes a batch of one).

    Args:
        images: ``(H, W, C)``, ``(N, H, W, C)`` or a list of ``(H, W, C)``; floats in
            ``[-1, 1]`` or uint8; ``C`` = 1 (repeated to RGB) or 3.
        name: The argument name used in error messages.

    Returns:
        uint8 array ``(N, H, W, 3)``.

    Raises:
        ValueError: On another shape, non-finite floats or integers outside ``[0, 255]``.

    Example:
        >>> as_rgb_batch(np.zeros((2, 2, 1))).shape
        (1, 2, 2, 3)
    """
    if isinstance(images, (list, tuple)):
        images = np.stack([np.asarray(keras.ops.convert_to_numpy(i)) for i in images])
    array = to_uint8(images)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[0] == 0 or array.shape[-1] not in (1, 3):
        raise ValueError(
            f"{name} must be (H, W, C) or a non-empty batch (N, H, W, C) with C = 1 or 3; "
            f"received {name} with shape {array.shape}."
        )
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return array


def image_grid(images: Any, rows: int = 1, padding: int = 2, pad_value: int = 0) -> np.ndarray:
    """Tiles a batch of images into one uint8 RGB image, row by row.

    The grid has ``rows`` rows and ``ceil(N / rows)`` columns; ``padding`` pixels of
    ``pad_value`` separate the cells and surround the grid; unused cells are ``pad_value``.

    Args:
        images: ``(N, H, W, C)`` (or a list of ``(H, W, C)``), floats in ``[-1, 1]`` or uint8,
            ``C`` = 1 (grey, repeated to RGB) or 3.
        rows: Number of rows (``1 <= rows <= N``).
        padding: Pixels between cells and around the grid (``>= 0``).
        pad_value: Grey level ``0..255`` of the padding.

    Returns:
        uint8 array ``(rows * (H + padding) + padding, cols * (W + padding) + padding, 3)``.

    Raises:
        ValueError: On bad shapes, ``rows`` outside ``[1, N]``, negative padding or a
            ``pad_value`` outside ``[0, 255]``.

    Example:
        >>> image_grid(np.zeros((4, 8, 8, 3)), rows=2, padding=1).shape
        (19, 19, 3)
    """
    batch = as_rgb_batch(images)
    num, height, width, _ = batch.shape
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or not 1 <= rows <= num:
        raise ValueError(f"rows must be an integer in [1, {num}] (the image count); got {rows!r}.")
    check_int(padding, "padding", minimum=0)
    if isinstance(pad_value, bool) or not isinstance(pad_value, (int, np.integer)):
        raise ValueError(f"pad_value must be an integer in [0, 255]; received {pad_value!r}.")
    if not 0 <= pad_value <= 255:
        raise ValueError(f"pad_value must be an integer in [0, 255]; received {pad_value!r}.")
    cols = -(-num // rows)
    grid = np.full(
        (rows * (height + padding) + padding, cols * (width + padding) + padding, 3),
        pad_value,
        dtype=np.uint8,
    )
    for index, image in enumerate(batch):
        row, col = divmod(index, cols)
        top = padding + row * (height + padding)
        left = padding + col * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid
