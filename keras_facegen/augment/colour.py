"""Colour steps as per-image affine matrices, composed and applied in one pass.

A pipeline (:class:`keras_facegen.augment.Augment`) composes all its colour steps (ADA's
brightness, contrast, luma flip, hue and saturation; DiffAugment's brightness, saturation and
contrast) into one matrix per image with :func:`colour_matrix` and ``keras.ops.matmul``, and
applies it once with :func:`colour_transform`, the way the ADA paper's implementation does: one
pass over the pixels instead of one per step. Each matrix reproduces the function of the same
name in :mod:`keras_facegen.augment.transforms`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras import ops

from keras_facegen.augment.transforms import _as_images, _dtype


def _colour_constants(channels: int) -> dict[str, Any]:
    """Constant ``(C + 1, C + 1)`` matrices the affine colour steps are built from."""
    size = channels + 1
    identity = np.eye(size, dtype="float32")
    diagonal = np.diag([1.0] * channels + [0.0]).astype("float32")  # the colour block's I
    grey = np.zeros((size, size), "float32")  # v v^T, v the unit grey axis
    grey[:channels, :channels] = 1.0 / channels
    offset = np.zeros((size, size), "float32")  # adds 1 to every channel
    offset[:channels, channels] = 1.0
    cross = np.zeros((size, size), "float32")  # k x v for the unit grey axis k (RGB only)
    if channels == 3:
        cross[:3, :3] = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]]) / math.sqrt(3.0)
    return {
        "identity": identity,
        "diagonal": diagonal,
        "grey": grey,
        "offset": offset,
        "cross": cross,
    }


def colour_matrix(step: str, value: Any, channels: int = 3, mean: Any = None) -> Any:
    """The ``(N, C + 1, C + 1)`` affine matrix of one colour step, per image.

    A colour step maps each pixel's colour ``c`` (a column, with a 1 appended) to
    ``matrix @ [c, 1]``; steps compose by matrix products (later steps on the left) and
    :func:`colour_transform` applies the product in one pass over the pixels, the way the ADA
    paper's implementation applies its colour transforms.

    Args:
        step: ``"brightness"`` (adds ``value``), ``"contrast"`` (multiplies by ``value``),
            ``"lumaflip"`` (the reflection where ``value`` is true), ``"hue"`` (rotates by
            ``value`` radians; RGB only), ``"saturation"`` (scales the distance from grey by
            ``value``) or ``"mean_contrast"`` (scales the distance from ``mean`` by ``value``).
        value: ``(N,)`` per-image parameters, as the function of the same name takes them.
        channels: Number of colour channels ``C``.
        mean: ``(N,)`` image means (only for ``"mean_contrast"``).

    Returns:
        ``(N, C + 1, C + 1)`` float32 matrices.

    Raises:
        ValueError: If ``step`` is unknown, or ``"hue"`` is asked for other than 3 channels, or
            ``"mean_contrast"`` without ``mean``.

    Example:
        >>> keras.ops.convert_to_numpy(colour_matrix("brightness", [0.5], channels=1))[0].tolist()
        [[1.0, 0.5], [0.0, 1.0]]
    """
    steps = ("brightness", "contrast", "lumaflip", "hue", "saturation", "mean_contrast")
    if step not in steps:
        raise ValueError(f"Expected `step` to be one of {list(steps)}; received step={step!r}.")
    if step == "hue" and channels != 3:
        raise ValueError(f"Hue rotation needs RGB images; received channels={channels}.")
    if step == "mean_contrast" and mean is None:
        raise ValueError("The mean_contrast step needs the image means; received mean=None.")
    k = {name: ops.convert_to_tensor(m)[None] for name, m in _colour_constants(channels).items()}
    v = ops.reshape(ops.cast(ops.convert_to_tensor(value), "float32"), (-1, 1, 1))
    if step == "brightness":
        return k["identity"] + v * k["offset"]
    if step == "contrast":
        return k["identity"] + (v - 1.0) * k["diagonal"]
    if step == "lumaflip":
        return k["identity"] - 2.0 * v * k["grey"]
    if step == "hue":
        c, s = ops.cos(v), ops.sin(v)
        return k["identity"] + (c - 1.0) * k["diagonal"] + s * k["cross"] + (1.0 - c) * k["grey"]
    if step == "saturation":
        return k["identity"] + (v - 1.0) * (k["diagonal"] - k["grey"])
    m = ops.reshape(ops.cast(ops.convert_to_tensor(mean), "float32"), (-1, 1, 1))
    return k["identity"] + (v - 1.0) * k["diagonal"] + (1.0 - v) * m * k["offset"]


def colour_transform(images: Any, matrix: Any) -> Any:
    """Applies one affine colour matrix per image: ``out[..., d] = sum_c M[d, c] x_c + M[d, C]``.

    Written as ``C`` broadcast multiply-adds (no matrix product), so an identity matrix returns
    the images exactly on every device (a TF32 matrix product on a GPU would round them).

    Args:
        images: ``(N, H, W, C)``.
        matrix: ``(N, C + 1, C + 1)`` matrices (:func:`colour_matrix`, composed with
            ``keras.ops.matmul``).

    Returns:
        The transformed batch.

    Example:
        >>> import numpy as np
        >>> x = np.array([0.2, 0.4, 0.9], "float32").reshape(1, 1, 1, 3)
        >>> out = colour_transform(x, colour_matrix("saturation", [0.0]))
        >>> np.round(keras.ops.convert_to_numpy(out)[0, 0, 0], 6).tolist()
        [0.5, 0.5, 0.5]
    """
    images = _as_images(images)
    channels = int(images.shape[-1])
    matrix = ops.cast(matrix, _dtype(images))

    def column(index: int) -> Any:
        return ops.reshape(matrix[:, :channels, index], (-1, 1, 1, channels))

    out = images[..., 0:1] * column(0) + column(channels)
    for c in range(1, channels):
        out = out + images[..., c : c + 1] * column(c)
    return out


def _grey_colour_transform(images: Any, matrix: Any) -> Any:
    """:func:`colour_transform` for a colour block ``a I + g 1 1^T`` and one offset ``o``.

    Every colour step but hue keeps that form: ``a x + (g sum_c x + o)`` is two full-size
    operations instead of ``2 C``, and exact for the identity like the general form.
    """
    images = _as_images(images)
    channels = int(images.shape[-1])
    matrix = ops.cast(matrix, _dtype(images))
    grey = ops.reshape(matrix[:, 0, 1], (-1, 1, 1, 1))
    scale = ops.reshape(matrix[:, 0, 0], (-1, 1, 1, 1)) - grey
    offset = ops.reshape(matrix[:, 0, channels], (-1, 1, 1, 1))
    return images * scale + (ops.sum(images, axis=-1, keepdims=True) * grey + offset)
