"""Principal directions of a generator's latent space: the sliders of a large latent.

A 512-d latent has too many coordinates for one slider each, and each changes the face little;
:func:`principal_directions` finds the few latent directions along which the generated images
vary most, for the explorer's ``"directions"`` slider mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from keras_facegen import latent, sampling

__all__ = ["principal_directions"]


def principal_directions(
    generator: Any,
    latent_dim: int,
    distribution: str = "normal",
    num_directions: int = 8,
    num_samples: int = 128,
    seed: int = 0,
    pool: int = 16,
) -> np.ndarray:
    """Latent directions along which the generated images vary most.

    Draws ``num_samples`` latents, generates their images, shrinks them to ``pool x pool`` and
    takes the principal components of the pixels; each direction is the least-squares map from
    the (centred) latents to one component's scores, normalised to unit length. Sliders along
    them change the face a lot where one latent coordinate of a 512-d model changes little.

    Args:
        generator: Anything :func:`keras_facegen.latent.generate_images` accepts.
        latent_dim: The latent size.
        distribution: ``"normal"`` or ``"uniform"``: how the sample latents are drawn.
        num_directions: How many directions (at most ``min(num_samples, latent_dim)``).
        num_samples: How many images the components are computed from.
        seed: Seed of the sample latents.
        pool: Side of the shrunk images (a divisor of the resolution works best).

    Returns:
        float32 ``(num_directions, latent_dim)`` unit vectors, most varying first.

    Raises:
        ValueError: On a count out of range or an unknown distribution.

    Example:
        >>> principal_directions(generator, 16, "uniform", num_directions=4, num_samples=32).shape
        (4, 16)
    """
    if not 1 <= num_directions <= min(num_samples, latent_dim):
        raise ValueError(
            f"num_directions must be in [1, min(num_samples, latent_dim)] = "
            f"[1, {min(num_samples, latent_dim)}]; received num_directions={num_directions}."
        )
    z = latent.sample_latents(num_samples, latent_dim, distribution, seed=seed).astype(np.float64)
    images = latent.generate_images(generator, z).astype(np.float64)
    bilinear = Image.Resampling.BILINEAR
    shrunk = np.stack(
        [
            np.asarray(
                Image.fromarray(sampling.to_uint8(image)).resize((pool, pool), bilinear),
                dtype=np.float64,
            ).reshape(-1)
            for image in images
        ]
    )
    shrunk -= shrunk.mean(axis=0)
    _, _, components = np.linalg.svd(shrunk, full_matrices=False)
    scores = shrunk @ components[:num_directions].T
    centred = z - z.mean(axis=0)
    weights, *_ = np.linalg.lstsq(centred, scores, rcond=None)
    directions = weights.T
    directions /= np.maximum(np.linalg.norm(directions, axis=1, keepdims=True), 1e-12)
    return directions.astype(np.float32)
