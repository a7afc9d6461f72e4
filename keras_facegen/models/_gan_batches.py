"""What a ``GAN`` batch is: images, ``(images, latents)`` or ``{"images": ..., "latents": ...}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np


def unpack_batch(data: Any, latent_dim: int) -> tuple[Any, Any]:
    """``(images, latents or None)`` from a batch; refuses latents of the wrong shape."""
    images, latents, _ = keras.utils.unpack_x_y_sample_weight(data)
    if isinstance(images, Mapping):
        if "images" not in images:
            raise ValueError(
                "A dict batch needs the key 'images' (and optionally 'latents'); received "
                f"keys {sorted(images)}."
            )
        images, latents = images["images"], images.get("latents", latents)
    if latents is not None:
        check_batch_latents(images, latents, latent_dim)
    return images, latents


def check_batch_latents(images: Any, latents: Any, latent_dim: int) -> None:
    """Raises a ``ValueError`` unless ``latents`` are floats ``(N, latent_dim)`` for ``images``."""
    # Shapes and dtypes are static here on every backend (also in traced graphs), so a
    # wrong second element (labels, most often) is refused before it reaches the generator.
    shape = tuple(getattr(latents, "shape", np.shape(latents)))
    dtype = keras.backend.standardize_dtype(getattr(latents, "dtype", "float32"))
    image_shape = tuple(getattr(images, "shape", ()))
    same_batch = (
        not image_shape
        or not shape
        or shape[0] is None
        or image_shape[0] is None
        or int(shape[0]) == int(image_shape[0])
    )
    if (
        len(shape) != 2
        or shape[1] != latent_dim
        or not dtype.startswith(("float", "bfloat"))
        or not same_batch
    ):
        raise ValueError(
            "A GAN batch is images, (images, latents) or {'images': ..., 'latents': ...}; "
            f"latents must be floats of shape (N, {latent_dim}) with N the number of "
            f"images ({image_shape[0] if image_shape else 'N'}). Received a second element "
            f"of shape {shape} and dtype {dtype} with images of shape {image_shape}. "
            "GAN.fit takes no labels: fit(images, labels) is not a GAN batch; pass "
            "fit(images) (or latents of the right shape)."
        )
