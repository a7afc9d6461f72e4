"""ProgressiveGAN checked against independent expectations (the reference's measures, NumPy)."""

import keras
import numpy as np
import pytest
from helpers import to_numpy

from keras_facegen.backend import input_gradients
from keras_facegen.losses.base import realness
from keras_facegen.models import (
    ProgressiveGAN,
    ProgressiveSchedule,
    fade_layers,
    pggan_discriminator,
    pggan_generator,
)

SMALL = {"fmap_base": 32, "fmap_max": 8}
LATENT = 8


def _gan(resolution=16, batch=4, fade=8, stable=8, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    g = pggan_generator(resolution, latent_dim=LATENT, **SMALL)
    d = pggan_discriminator(resolution, **SMALL)
    schedule = ProgressiveSchedule(
        resolution,
        fade_images=fade,
        stable_images=stable,
        batch_sizes={r: batch for r in (4, 8, 16, 32) if r <= resolution},
        **kwargs.pop("schedule_kwargs", {}),
    )
    return ProgressiveGAN(g, d, schedule=schedule, seed=seed, **kwargs)


def _go_to(gan, images_seen):
    gan.images_seen.assign(images_seen)
    state = gan.schedule(images_seen)
    gan._set_stage(state.stage, alpha=state.alpha)


def _upsample(x, factor):
    return np.repeat(np.repeat(x, factor, axis=1), factor, axis=2)


# === 1. The gradient penalty is the reference's full-resolution measure ===


def test_gradient_penalty_is_measured_at_full_resolution_across_a_growth_step():
    gan = _gan(16)
    gan.compile()
    z = np.random.default_rng(1).standard_normal((4, LATENT)).astype("float32")
    # Reals equal to the 4x4 stage's fakes (upsampled to 16x16): the interpolation between
    # real and fake is then the same point whatever the random weights, and the penalty is a
    # function of the critic alone.
    fake4 = to_numpy(gan.generator.stage(4)(z))
    real = _upsample(fake4, 4)
    measured = {}
    for name, seen in (("4x4", 0), ("8x8 alpha 0", gan.schedule.stages[1].start)):
        _go_to(gan, seen)
        logs = gan.evaluate(
            {"images": real, "latents": z}, batch_size=4, verbose=0, return_dict=True
        )
        measured[name] = logs["gradient_penalty"]

    # The reference (progressive_growing_of_gans, train.py / loss.py): reals and fakes
    # upsampled to the full resolution, the full-resolution critic (at 4x4: every later fade
    # at 0) differentiated with respect to that 16x16 input.
    network = gan.discriminator.network
    for layer in fade_layers(network).values():
        layer.alpha.assign(0.0)
    grads = to_numpy(
        input_gradients(lambda x: realness(network(x)), keras.ops.convert_to_tensor(real))
    )
    norms = np.sqrt((grads.astype("float64") ** 2).sum(axis=(1, 2, 3)))
    reference = 10.0 * np.mean((norms - 1.0) ** 2)
    assert measured["4x4"] == pytest.approx(reference, rel=1e-4)
    assert measured["8x8 alpha 0"] == pytest.approx(reference, rel=1e-4)
