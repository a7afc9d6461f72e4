"""Differentiable image augmentations with explicit per-image parameters (``keras.ops`` only).

Every function takes a channels-last batch ``images`` of shape ``(N, H, W, C)`` and one parameter
per image, so the same call is exact on TensorFlow, JAX and PyTorch and can be checked against a
NumPy reference. The random draws and the per-image probability live in
:mod:`keras_facegen.augment.pipeline`. Every function is differentiable with respect to
``images`` (pixel blitting and cutout are permutations or masks; the geometric warp is a bicubic
resampling, linear in the pixels).

Coordinates: ``x`` runs along the width (axis 2), ``y`` along the height (axis 1), both in pixels
measured from the image centre. Geometric transforms are given as the 3x3 matrix that maps an
*output* pixel position to the *input* position it samples (the inverse of the transform).
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

#: Keys' cubic convolution parameter: ``a = -0.5`` interpolates a quadratic exactly, keeps a
#: pixel-aligned sample unchanged and blurs less than bilinear sampling.
CUBIC_A = -0.5


def _as_images(images: Any) -> Any:
    return ops.convert_to_tensor(images)


def _dtype(images: Any) -> str:
    return keras.backend.standardize_dtype(images.dtype)


def _per_image(values: Any, dtype: Any = "float32") -> Any:
    return ops.reshape(ops.cast(values, dtype), (-1, 1, 1, 1))


def _select(apply: Any, augmented: Any, images: Any) -> Any:
    """``augmented`` where ``apply`` (per image) is true, ``images`` elsewhere, exactly."""
    mask = ops.reshape(ops.cast(apply, "bool"), (-1, 1, 1, 1))
    return ops.where(mask, augmented, images)


def _static_hw(images: Any) -> tuple[int, int]:
    shape = images.shape
    if len(shape) != 4 or shape[1] is None or shape[2] is None:
        raise ValueError(
            "Augmentations take images of shape (N, H, W, C) with a known height and width; "
            f"received shape {tuple(shape)}."
        )
    return int(shape[1]), int(shape[2])


def _reflect(index: Any, size: int) -> Any:
    """Reflects integer indices into ``[0, size)`` without repeating the edge (NumPy "reflect")."""
    if size == 1:
        return ops.zeros_like(index)
    period = 2 * (size - 1)
    index = ops.mod(ops.abs(index), period)
    return ops.where(index >= size, period - index, index)


def _gather(images: Any, rows: Any, cols: Any, valid: Any = None) -> Any:
    """``out[n, y, x, ...] = images[n, rows[n, y, x, ...], cols[n, y, x, ...]]``, one gather.

    ``rows`` and ``cols`` are valid int32 indices of shape ``(N, H, W)`` or ``(N, H, W, K)``
    (``K`` pixels read per output pixel); the result has their shape plus the channels. Where
    ``valid`` (same shape, boolean) is false the output is 0: those positions read a zero pixel
    appended to the table, instead of a mask multiplied in (one full-size product less in each
    direction of the pass).
    """
    height, width = _static_hw(images)
    channels = images.shape[-1]
    batch = ops.shape(images)[0]
    taps = tuple(int(d) for d in rows.shape[3:])
    first = ops.arange(batch, dtype="int32") * (height * width)
    base = ops.reshape(first, (-1, 1, 1) + (1,) * len(taps))
    flat = base + rows * width + cols
    # Keras turns a 2-D ``take`` on PyTorch into an embedding lookup, whose backward pass (a
    # sort-based scatter) took twice as long as index_select's on a CPU; a 3-D table avoids it
    # (TensorFlow's gather ran 10-20 % slower on the 3-D table, so it keeps the 2-D one).
    table_shape = (-1, channels, 1) if keras.backend.backend() == "torch" else (-1, channels)
    table = ops.reshape(images, table_shape)
    if valid is not None:
        zero = ops.zeros((1,) + table_shape[1:], _dtype(images))
        table = ops.concatenate([table, zero], axis=0)
        flat = ops.where(valid, flat, batch * (height * width))
    pixels = ops.take(table, ops.reshape(flat, (-1,)), axis=0)
    return ops.reshape(pixels, (-1, height, width, *taps, channels))


def _grid(images: Any) -> tuple[Any, Any]:
    """Integer row and column indices of every output pixel, shape ``(1, H, W)`` each."""
    height, width = _static_hw(images)
    rows = ops.reshape(ops.arange(height, dtype="int32"), (1, height, 1))
    cols = ops.reshape(ops.arange(width, dtype="int32"), (1, 1, width))
    return rows + ops.zeros((1, 1, width), "int32"), cols + ops.zeros((1, height, 1), "int32")


# === Pixel blitting ===


def xflip(images: Any, flip: Any) -> Any:
    """Mirrors the images whose ``flip`` entry is true left to right.

    Args:
        images: ``(N, H, W, C)``.
        flip: ``(N,)`` booleans (or 0/1).

    Returns:
        The batch, flipped where asked.

    Example:
        >>> import numpy as np
        >>> x = np.arange(4, dtype="float32").reshape(1, 1, 4, 1)
        >>> keras.ops.convert_to_numpy(xflip(x, [True]))[0, 0, :, 0].tolist()
        [3.0, 2.0, 1.0, 0.0]
    """
    images = _as_images(images)
    return _select(flip, ops.flip(images, axis=2), images)


def rotate90(images: Any, turns: Any) -> Any:
    """Rotates each square image by ``turns`` quarter turns counter-clockwise (``np.rot90``).

    Args:
        images: ``(N, S, S, C)``.
        turns: ``(N,)`` integers; taken modulo 4.

    Returns:
        The rotated batch.

    Raises:
        ValueError: If the images are not square.

    Example:
        >>> import numpy as np
        >>> x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
        >>> keras.ops.convert_to_numpy(rotate90(x, [1]))[0, :, :, 0].tolist()
        [[1.0, 3.0], [0.0, 2.0]]
    """
    images = _as_images(images)
    height, width = _static_hw(images)
    if height != width:
        raise ValueError(f"rotate90 needs square images; received {height}x{width}.")
    turns = ops.mod(ops.cast(turns, "int32"), 4)
    # np.rot90(a, 1, axes=(1, 2)) == flip(transpose(a), axis=1).
    once = ops.flip(ops.transpose(images, (0, 2, 1, 3)), axis=1)
    twice = ops.flip(ops.flip(images, axis=1), axis=2)
    thrice = ops.flip(ops.transpose(images, (0, 2, 1, 3)), axis=2)
    out = _select(ops.equal(turns, 1), once, images)
    out = _select(ops.equal(turns, 2), twice, out)
    return _select(ops.equal(turns, 3), thrice, out)


def translate_integer(images: Any, shift_x: Any, shift_y: Any, padding: str = "reflect") -> Any:
    """Shifts each image by whole pixels: ``out[y, x] = images[y - shift_y, x - shift_x]``.

    Args:
        images: ``(N, H, W, C)``.
        shift_x: ``(N,)`` integer shifts to the right.
        shift_y: ``(N,)`` integer shifts down.
        padding: ``"reflect"`` (mirror the image past its edge, as ADA) or ``"zeros"``
            (DiffAugment's translation).

    Returns:
        The shifted batch.

    Raises:
        ValueError: If ``padding`` is not one of the two.

    Example:
        >>> import numpy as np
        >>> x = np.arange(4, dtype="float32").reshape(1, 1, 4, 1) + 1
        >>> out = translate_integer(x, [1], [0], padding="zeros")
        >>> keras.ops.convert_to_numpy(out)[0, 0, :, 0].tolist()
        [0.0, 1.0, 2.0, 3.0]
    """
    images = _as_images(images)
    if padding not in ("reflect", "zeros"):
        raise ValueError(
            f"Expected `padding` to be 'reflect' or 'zeros'; received padding={padding!r}."
        )
    height, width = _static_hw(images)
    rows, cols = _shifted_grid(images, shift_x, shift_y)
    if padding == "reflect":
        return _gather(images, _reflect(rows, height), _reflect(cols, width))
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    return _gather(images, ops.clip(rows, 0, height - 1), ops.clip(cols, 0, width - 1), inside)


def _shifted_grid(images: Any, shift_x: Any, shift_y: Any) -> tuple[Any, Any]:
    """Rows ``(N, H, 1)`` and columns ``(N, 1, W)`` read after an integer shift (may lie outside).

    Kept separable: index arithmetic and masks on rows and columns, not on every pixel.
    """
    height, width = _static_hw(images)
    rows = ops.reshape(ops.arange(height, dtype="int32"), (1, height, 1))
    cols = ops.reshape(ops.arange(width, dtype="int32"), (1, 1, width))
    rows = rows - ops.reshape(ops.cast(shift_y, "int32"), (-1, 1, 1))
    cols = cols - ops.reshape(ops.cast(shift_x, "int32"), (-1, 1, 1))
    return rows, cols


# === Geometric (one bicubic resampling of a composed matrix) ===


def scale_matrix(scale_x: Any, scale_y: Any | None = None) -> Any:
    """Inverse matrices of a scaling about the centre (``scale_y`` defaults to ``scale_x``).

    Args:
        scale_x: ``(N,)`` horizontal scale factors (> 0; > 1 enlarges).
        scale_y: ``(N,)`` vertical scale factors, or ``None`` for an isotropic scaling.

    Returns:
        ``(N, 3, 3)`` float32 matrices mapping output positions to input positions.

    Example:
        >>> keras.ops.convert_to_numpy(scale_matrix([2.0]))[0].tolist()
        [[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 1.0]]
    """
    sx = ops.cast(ops.convert_to_tensor(scale_x), "float32")
    sy = sx if scale_y is None else ops.cast(ops.convert_to_tensor(scale_y), "float32")
    zero, one = ops.zeros_like(sx), ops.ones_like(sx)
    rows = [[1.0 / sx, zero, zero], [zero, 1.0 / sy, zero], [zero, zero, one]]
    return ops.stack([ops.stack(r, axis=-1) for r in rows], axis=-2)


def rotation_matrix(angle: Any) -> Any:
    """Inverse matrices of a rotation about the centre by ``angle`` radians (counter-clockwise).

    Args:
        angle: ``(N,)`` angles in radians; ``pi / 2`` turns the image like ``np.rot90``.

    Returns:
        ``(N, 3, 3)`` float32 matrices mapping output positions to input positions.

    Example:
        >>> import numpy as np
        >>> m = keras.ops.convert_to_numpy(rotation_matrix([np.pi / 2]))[0]
        >>> (np.round(m, 6) + 0.0).tolist()  # + 0.0 turns -0.0 into 0.0
        [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    angle = ops.cast(ops.convert_to_tensor(angle), "float32")
    c, s = ops.cos(angle), ops.sin(angle)
    zero, one = ops.zeros_like(angle), ops.ones_like(angle)
    # y points down, so a counter-clockwise turn on screen samples input (c x - s y, s x + c y).
    rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return ops.stack([ops.stack(r, axis=-1) for r in rows], axis=-2)


def translation_matrix(shift_x: Any, shift_y: Any) -> Any:
    """Inverse matrices of a translation by ``(shift_x, shift_y)`` pixels (may be fractional).

    Args:
        shift_x: ``(N,)`` shifts to the right, in pixels.
        shift_y: ``(N,)`` shifts down, in pixels.

    Returns:
        ``(N, 3, 3)`` float32 matrices mapping output positions to input positions.

    Example:
        >>> keras.ops.convert_to_numpy(translation_matrix([1.5], [0.0]))[0, 0].tolist()
        [1.0, 0.0, -1.5]
    """
    tx = ops.cast(ops.convert_to_tensor(shift_x), "float32")
    ty = ops.cast(ops.convert_to_tensor(shift_y), "float32")
    zero, one = ops.zeros_like(tx), ops.ones_like(tx)
    rows = [[one, zero, -tx], [zero, one, -ty], [zero, zero, one]]
    return ops.stack([ops.stack(r, axis=-1) for r in rows], axis=-2)


def _cubic_weight(distance: Any) -> Any:
    d = ops.abs(distance)
    a = CUBIC_A
    near = ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0
    far = ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a
    return ops.where(d <= 1.0, near, ops.where(d < 2.0, far, ops.zeros_like(d)))


def warp(images: Any, matrix: Any) -> Any:
    """Resamples each image at ``matrix @ (x, y, 1)`` (bicubic, reflection padding).

    Output pixel ``(row, col)`` sits at ``x = col - (W - 1) / 2``, ``y = row - (H - 1) / 2``;
    it takes the bicubic (Keys, ``a = -0.5``) interpolation of the input at the mapped position,
    reading past the edges from the image mirrored there (no dark borders, which the
    discriminator would learn to spot). A pixel-aligned position returns that pixel exactly.

    Args:
        images: ``(N, H, W, C)``.
        matrix: ``(N, 3, 3)`` inverse transforms (see :func:`rotation_matrix` and friends;
            compose them with ``keras.ops.matmul``).

    Returns:
        The resampled batch.

    Example:
        >>> import numpy as np
        >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
        >>> out = warp(x, translation_matrix([1.0], [0.0]))
        >>> keras.ops.convert_to_numpy(out)[0, 0, :, 0].tolist()
        [1.0, 0.0, 1.0, 2.0]
    """
    images = _as_images(images)
    height, width = _static_hw(images)
    channels = int(images.shape[-1])
    batch = ops.shape(images)[0]
    matrix = ops.cast(matrix, "float32")
    rows, cols = _grid(images)
    x = ops.cast(cols, "float32") - (width - 1) / 2.0
    y = ops.cast(rows, "float32") - (height - 1) / 2.0

    def coefficient(i: int, j: int) -> Any:
        return ops.reshape(matrix[:, i, j], (-1, 1, 1))

    src_x = coefficient(0, 0) * x + coefficient(0, 1) * y + coefficient(0, 2)
    src_y = coefficient(1, 0) * x + coefficient(1, 1) * y + coefficient(1, 2)
    # The mirrored image is symmetric about its first and last pixel and the cubic kernel is
    # even, so a position reflected into [0, size - 1] interpolates to the same value: all four
    # taps then lie within one pixel of the image, read from a copy padded by reflection.
    src_x = _reflect_position(src_x + (width - 1) / 2.0, width)
    src_y = _reflect_position(src_y + (height - 1) / 2.0, height)
    base_x, base_y = ops.floor(src_x), ops.floor(src_y)
    frac_x, frac_y = src_x - base_x, src_y - base_y
    base_x, base_y = ops.cast(base_x, "int32"), ops.cast(base_y, "int32")
    offsets = (-1, 0, 1, 2)
    weights_y = ops.stack([_cubic_weight(frac_y - d) for d in offsets], axis=-1)
    weights_x = ops.stack([_cubic_weight(frac_x - d) for d in offsets], axis=-1)
    # Rows -1 .. H + 1 and columns -1 .. W + 1 of the mirrored image.
    padded = ops.take(images, _reflected_range(height), axis=1)
    padded = ops.take(padded, _reflected_range(width), axis=2)
    padded_width = width + 3
    # Entry (n, row, col) of the table holds the four rows row - 1 .. row + 2 at padded column
    # col: one gather of 4 x 4 taps reads 4 contiguous entries of 4 C values, not 16 of C.
    strips = ops.stack([padded[:, i : i + height] for i in range(4)], axis=3)
    table_shape = (
        (-1, 4 * channels, 1) if keras.backend.backend() == "torch" else (-1, 4 * channels)
    )
    table = ops.reshape(strips, table_shape)  # torch: a 3-D table, see _gather
    first = ops.reshape(ops.arange(batch, dtype="int32") * (height * padded_width), (-1, 1, 1, 1))
    columns = ops.reshape(ops.arange(4, dtype="int32"), (1, 1, 1, 4))
    flat = first + ops.expand_dims(base_y * padded_width + base_x, -1) + columns
    taps = ops.take(table, ops.reshape(flat, (-1,)), axis=0)  # column tap j, then row tap i
    taps = ops.reshape(taps, (-1, height, width, 16, channels))
    weight = ops.expand_dims(weights_x, -1) * ops.expand_dims(weights_y, -2)
    weight = ops.cast(ops.reshape(weight, (-1, height, width, 16, 1)), _dtype(images))
    return ops.sum(taps * weight, axis=3)


def _reflect_position(position: Any, size: int) -> Any:
    """Continuous positions mirrored into ``[0, size - 1]`` (period ``2 (size - 1)``)."""
    if size == 1:
        return ops.zeros_like(position)
    period = 2.0 * (size - 1)
    position = ops.abs(position)
    position = position - period * ops.floor(position / period)
    return ops.where(position > size - 1, period - position, position)


def _reflected_range(size: int) -> Any:
    """Indices ``-1 .. size + 1`` reflected into ``[0, size)`` (see :func:`_reflect`)."""
    return _reflect(ops.arange(-1, size + 2, dtype="int32"), size)


# === Colour ===


def _luma(images: Any) -> Any:
    return ops.mean(images, axis=-1, keepdims=True)


def brightness(images: Any, offset: Any) -> Any:
    """Adds ``offset`` to every pixel and channel of each image.

    Args:
        images: ``(N, H, W, C)``.
        offset: ``(N,)`` offsets.

    Returns:
        ``images + offset``.

    Example:
        >>> import numpy as np
        >>> out = brightness(np.zeros((1, 1, 1, 3)), [0.25])
        >>> float(keras.ops.convert_to_numpy(out)[0, 0, 0, 1])
        0.25
    """
    images = _as_images(images)
    return images + _per_image(offset, _dtype(images))


def contrast(images: Any, factor: Any) -> Any:
    """Multiplies each image by ``factor`` (about 0, the mid-grey of images in [-1, 1]; ADA).

    Args:
        images: ``(N, H, W, C)``.
        factor: ``(N,)`` factors.

    Returns:
        ``images * factor``.

    Example:
        >>> import numpy as np
        >>> out = contrast(np.full((1, 1, 1, 3), 0.5), [2.0])
        >>> float(keras.ops.convert_to_numpy(out)[0, 0, 0, 0])
        1.0
    """
    images = _as_images(images)
    return images * _per_image(factor, _dtype(images))


def mean_contrast(images: Any, factor: Any) -> Any:
    """Scales each image's deviation from its own mean by ``factor`` (DiffAugment's contrast).

    Args:
        images: ``(N, H, W, C)``.
        factor: ``(N,)`` factors.

    Returns:
        ``mean + (images - mean) * factor``, ``mean`` over height, width and channels.

    Example:
        >>> import numpy as np
        >>> x = np.array([0.0, 1.0], "float32").reshape(1, 1, 2, 1)
        >>> keras.ops.convert_to_numpy(mean_contrast(x, [2.0]))[0, 0, :, 0].tolist()
        [-0.5, 1.5]
    """
    images = _as_images(images)
    mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    return mean + (images - mean) * _per_image(factor, _dtype(images))


def luma_flip(images: Any, flip: Any) -> Any:
    """Inverts the luma (the channel mean) of the images whose ``flip`` is true, keeping chroma.

    The reflection ``I - 2 v v^T`` about the plane orthogonal to ``v = (1, 1, 1) / sqrt(3)``.

    Args:
        images: ``(N, H, W, 3)``.
        flip: ``(N,)`` booleans (or 0/1).

    Returns:
        ``images - 2 * mean_c(images)`` where flipped.

    Example:
        >>> import numpy as np
        >>> x = np.array([0.5, 0.5, 0.5], "float32").reshape(1, 1, 1, 3)
        >>> keras.ops.convert_to_numpy(luma_flip(x, [1]))[0, 0, 0].tolist()
        [-0.5, -0.5, -0.5]
    """
    images = _as_images(images)
    return _select(flip, images - 2.0 * _luma(images), images)


def hue_rotation(images: Any, angle: Any) -> Any:
    """Rotates every RGB vector about the grey axis ``(1, 1, 1)`` by ``angle`` radians.

    Args:
        images: ``(N, H, W, 3)``.
        angle: ``(N,)`` angles in radians.

    Returns:
        The hue-rotated batch (luma and saturation unchanged).

    Raises:
        ValueError: If the images do not have 3 channels.

    Example:
        >>> import numpy as np
        >>> x = np.array([1.0, 0.0, 0.0], "float32").reshape(1, 1, 1, 3)
        >>> out = hue_rotation(x, [2 * np.pi / 3])
        >>> (np.round(keras.ops.convert_to_numpy(out)[0, 0, 0], 6) + 0.0).tolist()
        [0.0, 1.0, 0.0]
    """
    images = _as_images(images)
    if images.shape[-1] != 3:
        raise ValueError(f"hue_rotation needs RGB images; received {images.shape[-1]} channels.")
    angle = _per_image(angle, _dtype(images))
    c, s = ops.cos(angle), ops.sin(angle)
    luma = _luma(images)
    r, g, b = images[..., 0:1], images[..., 1:2], images[..., 2:3]
    # Rodrigues' formula about the unit grey axis k: v cos + (k x v) sin + k (k . v)(1 - cos).
    cross = ops.concatenate([b - g, r - b, g - r], axis=-1) / math.sqrt(3.0)
    return images * c + cross * s + luma * (1.0 - c)


def saturation(images: Any, factor: Any) -> Any:
    """Scales each pixel's distance from grey by ``factor``, keeping its luma (channel mean).

    Args:
        images: ``(N, H, W, C)``.
        factor: ``(N,)`` factors (0 gives grey, 1 the identity).

    Returns:
        ``mean_c + (images - mean_c) * factor``.

    Example:
        >>> import numpy as np
        >>> x = np.array([1.0, 0.0, 0.5], "float32").reshape(1, 1, 1, 3)
        >>> keras.ops.convert_to_numpy(saturation(x, [0.0]))[0, 0, 0].tolist()
        [0.5, 0.5, 0.5]
    """
    images = _as_images(images)
    luma = _luma(images)
    return luma + (images - luma) * _per_image(factor, _dtype(images))


# === Cutout ===


def _cut(images: Any, center_x: Any, center_y: Any, size: float) -> Any:
    """``(N, H, W)`` booleans: true inside each image's square (rows and columns apart)."""
    height, width = _static_hw(images)
    x = (ops.reshape(ops.arange(width, dtype="float32"), (1, 1, width)) + 0.5) / width
    y = (ops.reshape(ops.arange(height, dtype="float32"), (1, height, 1)) + 0.5) / height
    cx = ops.reshape(ops.cast(center_x, "float32"), (-1, 1, 1))
    cy = ops.reshape(ops.cast(center_y, "float32"), (-1, 1, 1))
    return (ops.abs(x - cx) < size / 2.0) & (ops.abs(y - cy) < size / 2.0)


def cutout(images: Any, center_x: Any, center_y: Any, size: float = 0.5) -> Any:
    """Zeroes a square of side ``size`` (a fraction of the side) centred at the given point.

    A pixel is cut when its centre, in fractions of the width and height (``(col + 0.5) / W``),
    lies less than ``size / 2`` from the square's centre along both axes.

    Args:
        images: ``(N, H, W, C)``.
        center_x: ``(N,)`` horizontal centres in [0, 1].
        center_y: ``(N,)`` vertical centres in [0, 1].
        size: The square's side as a fraction of the image side, in (0, 1].

    Returns:
        The batch with one square set to 0 per image.

    Example:
        >>> import numpy as np
        >>> out = cutout(np.ones((1, 1, 4, 1), "float32"), [0.5], [0.5], size=0.5)
        >>> keras.ops.convert_to_numpy(out)[0, 0, :, 0].tolist()
        [1.0, 0.0, 0.0, 1.0]
    """
    images = _as_images(images)
    keep = ops.logical_not(_cut(images, center_x, center_y, size))
    return images * ops.expand_dims(ops.cast(keep, _dtype(images)), -1)
