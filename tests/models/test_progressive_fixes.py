"""ProgressiveGAN checked against independent expectations (the reference's measures, NumPy)."""

import keras
import numpy as np
import pytest
from helpers import REPO_ROOT, to_numpy

from keras_facegen.backend import input_gradients
from keras_facegen.callbacks import resume_from, save_checkpoint
from keras_facegen.data import halve, synthetic_faces
from keras_facegen.losses.base import realness
from keras_facegen.models import (
    ProgressiveGAN,
    ProgressiveSchedule,
    fade_layers,
    pggan_discriminator,
    pggan_generator,
)
from keras_facegen.models.progressive import phases

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


def _faces8():
    return halve(synthetic_faces(16, resolution=16, seed=0)[0])


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


# === 2. Learning rates: the stage's for default optimizers, scaled for the user's ===


def _first_step_of_the_8x8_fade(gan, images):
    """Trains to the 8x8 fade's first step, then runs it; returns the weights before and after."""
    fade = [p for p in phases(gan.schedule) if p.kind == "fade"][0]
    gan.fit(images, until=fade.first, verbose=0)
    before = [to_numpy(v) for v in gan.generator.trainable_variables]
    before_d = [to_numpy(v) for v in gan.discriminator.trainable_variables]
    gan.fit(images, until=fade.first + fade.stage.batch_size, verbose=0)
    after = [to_numpy(v) for v in gan.generator.trainable_variables]
    after_d = [to_numpy(v) for v in gan.discriminator.trainable_variables]
    return (before, after), (before_d, after_d)


def _step_size(before, after):
    # Adam with beta_1 = 0 and fresh moments moves every weight with a gradient by the
    # learning rate on its first step: lr * sqrt(1 - 0.99) * |g| / (sqrt(0.01 g^2) + eps).
    moves = np.concatenate([np.abs(a - b).ravel() for a, b in zip(after, before)])
    return float(np.median(moves[moves > 1e-9]))


def _adam(rate):
    return keras.optimizers.Adam(rate, beta_1=0.0, beta_2=0.99, epsilon=1e-8)


@pytest.mark.parametrize(
    "optimizers, expected",
    [
        ({}, (5e-4, 5e-4)),  # default optimizers: the 8x8 stage's rate
        ({"generator_optimizer": 1e-4, "discriminator_optimizer": 4e-4}, (5e-5, 2e-4)),
    ],
    ids=["default", "user"],
)
def test_a_new_phase_runs_the_stages_learning_rate_with_fresh_adam_moments(optimizers, expected):
    gan = _gan(8, schedule_kwargs={"learning_rates": {8: 5e-4}})
    gan.compile(**{k: _adam(v) for k, v in optimizers.items()})
    images = _faces8()
    (g0, g1), (d0, d1) = _first_step_of_the_8x8_fade(gan, images)
    assert _step_size(g0, g1) == pytest.approx(expected[0], rel=0.02)
    assert _step_size(d0, d1) == pytest.approx(expected[1], rel=0.02)
    # The moments were reset at the phase boundary: one step since, and with beta_1 = 0 the
    # first moment is that step's gradient and the second 0.01 times its square.
    for optimizer in (gan.generator_optimizer, gan.discriminator_optimizer):
        assert int(to_numpy(optimizer.iterations)) == 1
        for m, v in zip(optimizer._momentums, optimizer._velocities):
            np.testing.assert_allclose(to_numpy(v), 0.01 * to_numpy(m) ** 2, rtol=1e-5, atol=1e-30)


def test_learning_rate_schedule_optimizers_train_or_are_refused_clearly():
    decay = keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=10, decay_rate=0.5)
    gan = _gan(8)
    gan.compile(
        generator_optimizer=keras.optimizers.Adam(decay),
        discriminator_optimizer=keras.optimizers.Adam(decay),
    )
    gan.fit(_faces8(), verbose=0)
    assert gan.counter_values()["images_seen"] == gan.schedule.total_images

    gan = _gan(8, schedule_kwargs={"learning_rates": {8: 5e-4}})
    with pytest.raises(
        ValueError, match=r"generator optimizer runs on a LearningRateSchedule.*8x8"
    ):
        gan.compile(generator_optimizer=keras.optimizers.Adam(decay))


# === 3, 4. predict / evaluate / reload / resume follow images_seen ===


def test_predict_and_evaluate_follow_the_stage_after_growing():
    gan = _gan(8)
    gan.compile()
    images = _faces8()
    z = np.random.default_rng(0).standard_normal((4, LATENT)).astype("float32")
    assert gan.predict(z, verbose=0).shape == (4, 4, 4, 3)
    before = gan.evaluate(images[:4], batch_size=4, verbose=0, return_dict=True)
    gan.fit(images, until=12, verbose=0)  # the middle of the 8x8 fade
    np.testing.assert_allclose(
        np.clip(gan.predict(z, verbose=0), -1, 1), gan.generate(z), atol=1e-6
    )
    after = gan.evaluate(images[:4], batch_size=4, verbose=0, return_dict=True)
    # A GAN that never compiled a 4x4 test function gives the same figures.
    fresh = _gan(8)
    fresh.compile()
    fresh.set_weights(gan.get_weights())
    fresh.seed_generator.state.assign(gan.seed_generator.state.value)  # the same latents
    expected = fresh.evaluate(images[:4], batch_size=4, verbose=0, return_dict=True)
    assert after["d_loss"] == pytest.approx(expected["d_loss"], rel=1e-5)
    assert after["d_loss"] != pytest.approx(before["d_loss"], rel=1e-3)


def test_a_reloaded_or_resumed_gan_is_at_its_stage_at_once(tmp_path):
    gan = _gan(8)
    gan.compile()
    gan.fit(_faces8(), until=12, verbose=0)  # 8x8, alpha .5
    z = np.random.default_rng(0).standard_normal((3, LATENT)).astype("float32")
    expected = gan.generate(z)
    assert expected.shape == (3, 8, 8, 3)

    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    assert loaded.resolution == 8
    np.testing.assert_allclose(loaded.generate(z), expected, atol=1e-6)

    save_checkpoint(gan, tmp_path / "checkpoint", epoch=0)
    resumed = _gan(8, seed=1)
    resumed.compile()
    resume_from(resumed, tmp_path / "checkpoint")
    assert resumed.resolution == 8
    np.testing.assert_allclose(resumed.generate(z), expected, atol=1e-6)


# === 6. A fade must run ===


def test_a_fade_with_no_train_step_is_refused_naming_the_stage():
    # 4x4's one batch of 16 reaches images_seen 16, the end of the 8x8 fade (8 + 8).
    with pytest.raises(ValueError, match=r"The 8x8 fade would run no train step.*fade_images=8"):
        _gan(8, batch=16, fade=8, stable=8)


# === Mutation guards: the real images' blend, the data position ===


def test_real_images_are_pooled_and_blended_as_the_reference_process_reals():
    gan = _gan(16)
    gan.images_seen.assign(gan.schedule.stages[1].start + 2)  # 8x8 fade, alpha 0.25
    gan.follow_schedule()
    x = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    x8 = x.reshape(2, 8, 2, 8, 2, 3).mean(axis=(2, 4))
    low = _upsample(x8.reshape(2, 4, 2, 4, 2, 3).mean(axis=(2, 4)), 2)
    expected = (1 - 0.25) * low + 0.25 * x8
    np.testing.assert_allclose(to_numpy(gan.stage_images(x, 0.25)), expected, atol=1e-6)


def test_the_fade_and_stable_phases_read_one_stream_of_the_stage():
    read = []

    def record(inputs):
        # Constant images keep their value through pooling, blending and upsampling.
        read.append(np.round(to_numpy(inputs.real_images)[:, 0, 0, 0] * 100).astype(int))
        return keras.ops.zeros(())

    record.name = "record"
    gan = _gan(8, penalties=[record])
    gan.compile(run_eagerly=True)
    values = np.arange(16, dtype="float32") / 100
    images = np.broadcast_to(values[:, None, None, None], (16, 8, 8, 3)).copy()
    gan.fit(images, verbose=0)
    # 8x8: a fade of 2 steps and a stable phase of 2 steps of 4 images: one pass over the 16
    # images, each exactly once (the stable phase continues the fade's stream).
    stage = np.concatenate(read[2:])
    assert sorted(stage.tolist()) == list(range(16))


# === 8. EMA: the docs say what the default does ===


def test_the_ema_warm_up_default_is_what_the_docs_state():
    gan = _gan(8, ema_decay=0.999)
    assert gan.ema_warmup is True
    assert float(gan.ema_decay_at(1218)) == pytest.approx(0.9927, abs=5e-5)
    assert float(gan.ema_decay_at(8991)) == pytest.approx(0.999, abs=1e-7)
    docs = (REPO_ROOT / "docs" / "progressive.md").read_text()
    assert "EMA 0.999 with warm-up" in docs and "0.9927" in docs
