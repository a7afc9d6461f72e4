"""Private array helpers shared by the latent tools (NumPy in, NumPy out)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


def as_float_array(x: Any, name: str, dtype: str = "float64") -> np.ndarray:
    """Converts NumPy data, Python sequences or backend tensors to a finite float array.

    Latent math runs in float64 (hex codes and bounds land on exact values); public functions
    cast their results to float32.
    """
    try:
        array = np.asarray(keras.ops.convert_to_numpy(x), dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{name} must be a numeric array or tensor; received {name}={x!r} ({error})."
        ) from error
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite values; received {name}={x!r}.")
    return array


def as_latents(x: Any, name: str) -> np.ndarray:
    """Converts to a float64 array of one latent ``(D,)`` or a batch ``(N, D)``."""
    array = as_float_array(x, name)
    if array.ndim not in (1, 2) or array.shape[-1] == 0:
        raise ValueError(
            f"{name} must be one latent vector (D,) or a batch (N, D) with D > 0; received "
            f"{name} with shape {array.shape}."
        )
    return array


def check_same_dim(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raises ValueError unless ``a`` and ``b`` have the same latent size and compatible batches."""
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"{name_a} and {name_b} must have the same latent size; received {name_a} with shape "
            f"{a.shape} and {name_b} with shape {b.shape}."
        )
    if a.ndim == 2 and b.ndim == 2 and a.shape[0] != b.shape[0]:
        raise ValueError(
            f"Batched {name_a} and {name_b} must have the same number of latents; received "
            f"{name_a} with shape {a.shape} and {name_b} with shape {b.shape}."
        )


def as_steps(t: Any) -> tuple[np.ndarray, bool]:
    """Returns interpolation weights as a float64 array and whether they form a steps axis."""
    array = as_float_array(t, "t")
    if array.ndim > 1:
        raise ValueError(f"t must be a scalar or a 1-d array; received t with shape {array.shape}.")
    return array, array.ndim == 1


def check_num_steps(num_steps: Any, minimum: int = 2) -> int:
    """Validates a number of path points."""
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)):
        raise ValueError(f"num_steps must be an integer; received num_steps={num_steps!r}.")
    if num_steps < minimum:
        raise ValueError(
            f"num_steps must be at least {minimum} (both ends are included); received "
            f"num_steps={num_steps}."
        )
    return int(num_steps)
