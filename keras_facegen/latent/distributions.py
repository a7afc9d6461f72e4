"""Random latents for generators: Gaussian or uniform in the hex-code box."""

from __future__ import annotations

import numpy as np

from keras_facegen._validation import check_int

LATENT_DISTRIBUTIONS = ("normal", "uniform")


def sample_latents(
    num: int, latent_dim: int, distribution: str = "normal", seed: int | None = None
) -> np.ndarray:
    """Draws random latents with NumPy (reproducible across backends for a given seed).

    Args:
        num: Number of latents (at least 1).
        latent_dim: Size of each latent (at least 1).
        distribution: ``"normal"`` (standard Gaussian, ProGAN-style) or ``"uniform"`` (in
            ``[-1, 1]``, the face DCGAN's box, every latent has a hex code).
        seed: Seed for ``numpy.random.default_rng``; ``None`` draws fresh entropy.

    Returns:
        float32 array ``(num, latent_dim)``.

    Raises:
        ValueError: On a non-positive ``num`` / ``latent_dim`` or an unknown distribution.

    Example:
        >>> sample_latents(2, 16, "uniform", seed=0).shape
        (2, 16)
    """
    num, latent_dim = check_int(num, "num"), check_int(latent_dim, "latent_dim")
    if distribution not in LATENT_DISTRIBUTIONS:
        raise ValueError(
            f"distribution must be one of {LATENT_DISTRIBUTIONS}; received "
            f"distribution={distribution!r}."
        )
    rng = np.random.default_rng(seed)
    shape = (int(num), int(latent_dim))
    if distribution == "normal":
        return rng.standard_normal(shape).astype(np.float32)
    return rng.uniform(-1.0, 1.0, shape).astype(np.float32)
