"""Tiny generators, discriminators and images for the GAN tests (module ``gan_fixtures``)."""

from __future__ import annotations

import keras
import numpy as np

LATENT_DIM = 4


def tiny_generator(
    size: int = 8,
    channels: int = 3,
    latent_dim: int = LATENT_DIM,
    seed: int = 0,
    batch_norm: bool = True,
) -> keras.Model:
    """latents -> (size, size, channels) images in [-1, 1]; a few hundred weights."""
    init = keras.initializers.GlorotUniform(seed=seed)
    z = keras.Input((latent_dim,), name="latents")
    # No bias before BatchNorm: its exact-zero gradient would be pure rounding noise, which
    # Adam turns into +-lr steps that differ between backends.
    x = keras.layers.Dense(
        (size // 2) * (size // 2) * 4, use_bias=not batch_norm, kernel_initializer=init
    )(z)
    x = keras.layers.Reshape((size // 2, size // 2, 4))(x)
    if batch_norm:
        x = keras.layers.BatchNormalization()(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.UpSampling2D(2, interpolation="nearest")(x)
    x = keras.layers.Conv2D(channels, 3, padding="same", kernel_initializer=init)(x)
    images = keras.layers.Activation("tanh", dtype="float32")(x)
    return keras.Model(z, images, name="tiny_generator")


def tiny_discriminator(
    size: int = 8, channels: int = 3, logits: int = 1, seed: int = 1, batch_norm: bool = False
) -> keras.Model:
    """(size, size, channels) images -> (N, logits); its last activation is named "features"."""
    init = keras.initializers.GlorotUniform(seed=seed)
    images = keras.Input((size, size, channels), name="images")
    x = keras.layers.Conv2D(
        4, 3, strides=2, padding="same", use_bias=not batch_norm, kernel_initializer=init
    )(images)
    if batch_norm:
        x = keras.layers.BatchNormalization()(x)
    x = keras.layers.LeakyReLU(0.2, name="features")(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(logits, kernel_initializer=init, dtype="float32")(x)
    return keras.Model(images, out, name="tiny_discriminator")


def face_like_images(num: int = 16, size: int = 8, channels: int = 3, seed: int = 0) -> np.ndarray:
    """Float32 images in [-1, 1]: smooth blobs, so a GAN has something learnable."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    centers = rng.uniform(0.3, 0.7, (num, 2))
    blob = np.exp(
        -((xx[None] - centers[:, :1, None]) ** 2 + (yy[None] - centers[:, 1:, None]) ** 2) * 8
    )
    images = blob[..., None] * rng.uniform(0.5, 1.0, (num, 1, 1, channels))
    return (images * 2.0 - 1.0).astype("float32")


def fast_compile_kwargs() -> dict:
    """``compile`` arguments that keep tiny test runs quick on the active backend.

    XLA compiles every new JAX train step for seconds, far longer than the few tiny steps a
    test runs; the jitted path is covered by the tests that keep the default.
    """
    return {"jit_compile": False} if keras.backend.backend() == "jax" else {}
