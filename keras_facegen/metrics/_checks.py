"""Input checks shared by the metrics: image batches and feature matrices as finite NumPy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "numpy") and not isinstance(x, (list, tuple)):
        try:  # tensors of any backend; keras.ops would import a backend for plain lists
            import keras

            return np.asarray(keras.ops.convert_to_numpy(x))
        except Exception:  # noqa: BLE001 - fall back to NumPy's own conversion
            pass
    return np.asarray(x)


def as_images(x: Any, name: str, min_images: int = 1, min_size: int = 1) -> np.ndarray:
    """A batch of images ``(N, H, W, C)`` as float64, checked for shape, count and NaN.

    Args:
        x: Images (NumPy, tensors or nested lists), float in any range or uint8.
        name: The argument's name, for messages.
        min_images: The fewest images accepted.
        min_size: The smallest height and width accepted.

    Returns:
        float64 array ``(N, H, W, C)``.

    Raises:
        ValueError: Naming the argument: not 4-d, too few images, too small, or not finite.
    """
    array = to_numpy(x)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
    ):
        raise ValueError(f"{name} must be a numeric array of images; received dtype {array.dtype}.")
    if array.ndim != 4:
        raise ValueError(
            f"{name} must be a batch of images (N, H, W, C), channels last; received shape "
            f"{array.shape}."
        )
    if array.shape[0] < min_images:
        raise ValueError(
            f"{name} must hold at least {min_images} image(s); received {array.shape[0]}."
        )
    if min(array.shape[1:3]) < min_size:
        raise ValueError(
            f"{name} must be at least {min_size}x{min_size} pixels; received "
            f"{array.shape[1]}x{array.shape[2]}."
        )
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s).")
    return array


def as_features(x: Any, name: str, min_rows: int = 2) -> np.ndarray:
    """A feature matrix ``(N, D)`` as float64 (a 1-d array is ``N`` one-dimensional features).

    Args:
        x: Features, one row per sample.
        name: The argument's name, for messages.
        min_rows: The fewest samples accepted.

    Returns:
        float64 array ``(N, D)``.

    Raises:
        ValueError: Naming the argument: wrong rank, too few rows, or not finite.
    """
    array = to_numpy(x)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be a numeric feature matrix; received dtype {array.dtype}.")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must be a feature matrix (N, D); received shape {array.shape}.")
    if array.shape[0] < min_rows:
        raise ValueError(
            f"{name} must hold at least {min_rows} samples; received {array.shape[0]}."
        )
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s).")
    return array


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str, what: str) -> None:
    """Raises a ``ValueError`` naming both arguments unless their shapes match.

    Args:
        a: First array.
        b: Second array.
        name_a: First argument's name.
        name_b: Second argument's name.
        what: What must match (for the message), e.g. ``"image shape"``.

    Raises:
        ValueError: If the shapes differ.
    """
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same {what}; received {a.shape} and {b.shape}."
        )


def check_seed(seed: Any) -> int | None:
    """Returns ``seed`` if it is None or an int >= 0.

    Args:
        seed: A seed.

    Returns:
        The seed.

    Raises:
        ValueError: Otherwise.
    """
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be None or an int >= 0; received seed={seed!r}.")
    return int(seed)
