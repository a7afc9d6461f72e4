"""Multi-scale structural similarity (Wang et al., 2003) and the MS-SSIM diversity of a sample.

MS-SSIM compares two images at 5 scales (halving the size between scales): contrast and
structure at every scale, luminance at the coarsest one, combined with the standard weights
``(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)``. The implementation follows the reference used by
Progressive GAN and TF-GAN (``MultiScaleSSIM`` of ``tensorflow/models``): an 11x11 Gaussian
window with sigma 1.5 ("valid" filtering), K1 = 0.01, K2 = 0.03, 2x2 averaging between scales,
and, where a scale is smaller than the window, a window shrunk to the image with sigma scaled
alike (so 64x64 and smaller images work). Colour channels are handled as
``tf.image.ssim_multiscale`` handles them: each channel's terms are averaged over pixels and
clipped at 0 (so the fractional powers stay defined for unrelated images), the weighted product
over scales is taken per channel, and the channels are averaged last. For images of at least
161x161 pixels (where the window never shrinks) the result equals ``tf.image.ssim_multiscale``.

:func:`mean_ms_ssim` averages MS-SSIM over random pairs of *generated* images (Odena et al.,
2017; Karras et al., 2018): lower means more varied samples; compare it with the same figure
on real images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_facegen._validation import check_int
from keras_facegen.metrics._checks import as_images, check_same_shape, check_seed

__all__ = ["MS_SSIM_WEIGHTS", "mean_ms_ssim", "ms_ssim"]

#: The standard 5-scale weights of Wang et al. (2003).
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gaussian_1d(size: int, sigma: float) -> np.ndarray:
    # As the reference's _FSpecialGauss: centred, half-integer offsets for even sizes.
    offset = 0.5 if size % 2 == 0 else 0.0
    radius = size // 2
    x = np.arange(-radius, radius + 1 - (size % 2 == 0), dtype=np.float64) + offset
    g = np.exp(-(x**2) / (2.0 * sigma**2)) if sigma > 0 else (x == 0).astype(np.float64)
    return g / g.sum()


def _filter_valid(x: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering of (N, H, W, C) along H and W."""
    size = len(window)
    h, w = x.shape[1] - size + 1, x.shape[2] - size + 1
    rows = sum(window[i] * x[:, i : i + h] for i in range(size))
    return sum(window[j] * rows[:, :, j : j + w] for j in range(size))


def _ssim_and_cs(
    x: np.ndarray,
    y: np.ndarray,
    max_val: float,
    filter_size: int,
    sigma: float,
    k1: float,
    k2: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair, per-channel SSIM and contrast-structure, averaged over pixels: (N, C) each."""
    size = min(filter_size, x.shape[1], x.shape[2])
    window = _gaussian_1d(size, size * sigma / filter_size)
    mu_x, mu_y = _filter_valid(x, window), _filter_valid(y, window)
    sigma_xx = _filter_valid(x * x, window) - mu_x * mu_x
    sigma_yy = _filter_valid(y * y, window) - mu_y * mu_y
    sigma_xy = _filter_valid(x * y, window) - mu_x * mu_y
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    cs_map = (2.0 * sigma_xy + c2) / (sigma_xx + sigma_yy + c2)
    luminance = (2.0 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1)
    return (luminance * cs_map).mean(axis=(1, 2)), cs_map.mean(axis=(1, 2))


def _downsample(x: np.ndarray) -> np.ndarray:
    """2x2 mean (the reference's 2x2 box filter with 'reflect' borders, then every 2nd pixel)."""
    if x.shape[1] % 2:
        x = np.concatenate([x, x[:, -1:]], axis=1)
    if x.shape[2] % 2:
        x = np.concatenate([x, x[:, :, -1:]], axis=2)
    return 0.25 * (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2])


def _default_max_val(*arrays: Any) -> float:
    return 255.0 if all(np.asarray(a).dtype == np.uint8 for a in arrays) else 2.0


def _ms_ssim_batch(
    a: np.ndarray,
    b: np.ndarray,
    max_val: float,
    weights: np.ndarray,
    filter_size: int,
    filter_sigma: float,
    k1: float,
    k2: float,
) -> np.ndarray:
    css: list[np.ndarray] = []
    for scale in range(len(weights)):
        ssim, cs = _ssim_and_cs(a, b, max_val, filter_size, filter_sigma, k1, k2)
        css.append(cs)
        if scale < len(weights) - 1:
            a, b = _downsample(a), _downsample(b)
    values = np.stack([*css[:-1], ssim], axis=-1)  # (N, C, scales): cs ... cs, ssim last
    per_channel = np.prod(np.maximum(values, 0.0) ** weights, axis=-1)
    return per_channel.mean(axis=-1)


def ms_ssim(
    a: Any,
    b: Any,
    max_val: float | None = None,
    weights: Any = MS_SSIM_WEIGHTS,
    filter_size: int = 11,
    filter_sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float | np.ndarray:
    """Multi-scale SSIM of two images, or of corresponding pairs in two batches.

    Args:
        a: An image ``(H, W, C)`` or a batch ``(N, H, W, C)``, channels last.
        b: The same shape as ``a``.
        max_val: The dynamic range ``L``: default 2.0 for float images (the library's
            [-1, 1]) and 255 when both inputs are uint8.
        weights: One weight per scale (the standard 5); images must be at least
            ``2 ** (len(weights) - 1)`` pixels on each side.
        filter_size: Gaussian window size.
        filter_sigma: Gaussian window sigma.
        k1: Luminance stabilizer constant.
        k2: Contrast stabilizer constant.

    Returns:
        A float for two images; a float64 array ``(N,)`` for two batches. 1.0 for identical
        images, towards 0 for unrelated ones.

    Raises:
        ValueError: If the shapes differ, an image is too small for the scales, a value is
            NaN, or an argument is out of range.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).uniform(-1, 1, (32, 32, 3))
        >>> round(ms_ssim(x, x), 6)
        1.0
    """
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    if weights.size == 0 or not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(f"weights must be non-negative numbers; received weights={weights}.")
    filter_size = check_int(filter_size, "filter_size")
    if max_val is None:
        max_val = _default_max_val(a, b)
    if isinstance(max_val, bool) or not np.isfinite(max_val) or max_val <= 0:
        raise ValueError(f"max_val must be a positive number; received max_val={max_val!r}.")
    single = np.ndim(a) == 3 and np.ndim(b) == 3
    min_size = 2 ** (weights.size - 1)
    a = as_images(np.asarray(a)[None] if single else a, "a", min_size=min_size)
    b = as_images(np.asarray(b)[None] if single else b, "b", min_size=min_size)
    check_same_shape(a, b, "a", "b", "shape")
    values = _ms_ssim_batch(a, b, float(max_val), weights, filter_size, filter_sigma, k1, k2)
    return float(values[0]) if single else values


def mean_ms_ssim(
    images: Any,
    num_pairs: int = 1000,
    seed: int | None = 0,
    max_val: float | None = None,
    batch_size: int = 64,
) -> float:
    """Mean MS-SSIM over random pairs of distinct images: the sample-diversity figure.

    Lower is more diverse. Progressive GAN reports it for generated sets next to the same
    figure on the training data; a generator that collapses to few faces scores far above the
    data. This figure clips each scale's negative terms at 0 and averages over colour channels
    (as ``tf.image.ssim_multiscale``), unlike the MS-SSIM script the Progressive GAN paper used
    (no clipping, channels together), so compare it only with figures computed here.

    Args:
        images: ``(N, H, W, C)`` images, ``N >= 2``.
        num_pairs: Random pairs ``(i, j)``, ``i != j`` (drawn with replacement).
        seed: Seed of the pairs (NumPy); ``None`` for fresh ones.
        max_val: Dynamic range, see :func:`ms_ssim`.
        batch_size: Pairs compared at once (bounds memory).

    Returns:
        The mean MS-SSIM, a float.

    Raises:
        ValueError: With fewer than 2 images, NaN, or a bad count.

    Example:
        >>> import numpy as np
        >>> faces = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3))
        >>> 0.0 <= mean_ms_ssim(faces, num_pairs=10) < 0.1
        True
    """
    num_pairs = check_int(num_pairs, "num_pairs")
    batch_size = check_int(batch_size, "batch_size")
    seed = check_seed(seed)
    if max_val is None:
        max_val = _default_max_val(images)
    images = as_images(images, "images", min_images=2)
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(images), num_pairs)
    # A second index from the other N - 1 images: never a pair of an image with itself.
    second = (first + rng.integers(1, len(images), num_pairs)) % len(images)
    values = [
        ms_ssim(images[first[s : s + batch_size]], images[second[s : s + batch_size]], max_val)
        for s in range(0, num_pairs, batch_size)
    ]
    return float(np.mean(np.concatenate(values)))
