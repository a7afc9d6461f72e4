"""Softened copies of face images, for classifiers that must read generated faces.

Generated faces are softer than the crisp synthetic ones. A classifier trained on crisp faces
only can read softness itself as an attribute: the attribute classifier of this library, trained
on crisp synthetic faces, read real faces blurred by one pixel as frontal (its yaw spread fell
to 0.33x), so generated faces looked collapsed onto frontal poses. Training it on
:func:`softened_copies` removes that bias (spread 1.03x at one pixel of blur).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_facegen._images import to_uint8
from keras_facegen._validation import check_int

__all__ = ["SOFTENINGS", "soften", "softened_copies"]

#: The kinds of softening :func:`soften` applies.
SOFTENINGS = ("blur", "resample", "noise")
# Strength ranges that softened_copies draws from, per kind (uniform).
_STRENGTHS = {"blur": (0.5, 2.5), "resample": (0.2, 0.75), "noise": (0.05, 0.3)}


def _check_image(image: Any) -> np.ndarray:
    array = np.asarray(image, np.float32)
    if array.ndim != 3 or array.shape[-1] not in (1, 3):
        raise ValueError(
            "Expected `image` of shape (height, width, 1 or 3) in [-1, 1]; received shape "
            f"{array.shape}."
        )
    return array


def soften(
    image: Any, kind: str, strength: float, rng: np.random.Generator | None = None
) -> np.ndarray:
    """One ``[-1, 1]`` image made less sharp, the way generated faces are.

    Args:
        image: ``(height, width, channels)`` in ``[-1, 1]``, channels 1 or 3.
        kind: ``"blur"`` (Gaussian blur of radius ``strength`` pixels, Pillow), ``"resample"``
            (bilinear resize down to ``strength`` times the size, then back up) or ``"noise"``
            (Gaussian noise of standard deviation ``strength``, clipped to ``[-1, 1]``).
        strength: The blur radius, the size fraction in ``(0, 1]`` or the noise std.
        rng: Random numbers for ``"noise"`` (default: a new unseeded generator).

    Returns:
        The softened image, float32, same shape. Blur and resampling pass through 8-bit
        pixels (Pillow), so values are rounded to multiples of ``1 / 127.5``.

    Raises:
        ValueError: If ``kind``, ``strength`` or the image's shape is invalid.

    Example:
        >>> stripes = np.where(np.arange(8)[:, None] % 2 == 0, 1.0, -1.0) * np.ones((8, 8, 3))
        >>> float(np.abs(soften(stripes, "blur", 1.0)).max()) < 0.7
        True
    """
    from PIL import Image, ImageFilter

    array = _check_image(image)
    if kind not in SOFTENINGS:
        raise ValueError(f"Expected `kind` to be one of {SOFTENINGS}; received kind={kind!r}.")
    if not np.isfinite(strength) or strength <= 0 or (kind == "resample" and strength > 1):
        expected = "in (0, 1]" if kind == "resample" else "> 0"
        raise ValueError(
            f"Expected `strength` {expected} for kind={kind!r}; received strength={strength!r}."
        )
    if kind == "noise":
        rng = rng if rng is not None else np.random.default_rng()
        noisy = array + rng.normal(0.0, strength, array.shape)
        return np.clip(noisy, -1.0, 1.0).astype(np.float32)
    height, width, channels = array.shape
    pixels = to_uint8(array)
    picture = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
    if kind == "blur":
        picture = picture.filter(ImageFilter.GaussianBlur(float(strength)))
    else:
        small = (max(2, round(width * strength)), max(2, round(height * strength)))
        picture = picture.resize(small, Image.Resampling.BILINEAR).resize(
            (width, height), Image.Resampling.BILINEAR
        )
    out = np.asarray(picture, np.float32) / 127.5 - 1.0
    return out.reshape(height, width, channels)


def softened_copies(images: Any, seed: int = 0, sharp_fraction: float = 0.4) -> np.ndarray:
    """Copies of ``images`` with all but about ``sharp_fraction`` of them softened.

    Each softened image gets one :func:`soften` kind, drawn uniformly, at a strength drawn
    uniformly (blur radius 0.5-2.5 px, resample to 0.2-0.75 of the size, noise std 0.05-0.3).
    Train an attribute classifier on these (with the original labels) so that it reads soft
    generated faces as it reads sharp real ones.

    Args:
        images: ``(N, height, width, channels)`` in ``[-1, 1]``.
        seed: Seed of the choices and the noise.
        sharp_fraction: Expected fraction left unchanged, in ``[0, 1]``.

    Returns:
        A new float32 array of the same shape; ``images`` is not modified.

    Raises:
        ValueError: If ``images`` is not a batch of images or ``sharp_fraction`` is out of
            range.

    Example:
        >>> faces = np.zeros((10, 16, 16, 3), "float32")
        >>> softened_copies(faces, seed=0).shape
        (10, 16, 16, 3)
    """
    seed = check_int(seed, "seed", minimum=0)
    if not 0.0 <= float(sharp_fraction) <= 1.0:
        raise ValueError(
            f"Expected `sharp_fraction` in [0, 1]; received sharp_fraction={sharp_fraction!r}."
        )
    out = np.array(images, np.float32, copy=True)
    if out.ndim != 4:
        raise ValueError(
            f"Expected `images` of shape (N, height, width, channels); received shape {out.shape}."
        )
    rng = np.random.default_rng(seed)
    for i in range(len(out)):
        if rng.uniform() < sharp_fraction:
            continue
        kind = SOFTENINGS[rng.integers(len(SOFTENINGS))]
        strength = rng.uniform(*_STRENGTHS[kind])
        out[i] = soften(out[i], kind, strength, rng)
    return out
