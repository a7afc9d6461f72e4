"""Augmentation inside GAN.fit: ADA's p in the step, gradients to the generator, exact resume."""

from __future__ import annotations

import gan_fixtures as F
import keras
import numpy as np
import pytest
from helpers import to_numpy

from keras_facegen import callbacks
from keras_facegen.augment import ADA, TRANSFORMS, Augment
from keras_facegen.backend import value_and_grad
from keras_facegen.models import GAN


def _planted_discriminator(answer: float) -> keras.Model:
    """Always answers ``answer`` (zero kernel; a learning rate of 0 keeps it so)."""
    images = keras.Input((8, 8, 3))
    x = keras.layers.GlobalAveragePooling2D()(images)
    out = keras.layers.Dense(
        1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(answer)
    )(x)
    return keras.Model(images, out)


def _planted_gan(answer: float, p: float, **compile_kwargs) -> GAN:
    # Two of ADA's transforms: the planted D's answer, hence r_t and p's steps, does not depend
    # on the images, and the whole "ada" pipeline cost 20-30 s per test on JAX (compiling its
    # ops); the full pipeline trains and resumes in test_interrupted_ada_run_resumes_....
    ada = ADA(
        target=0.6, pipeline=("xflip", "brightness"), p=p, speed_images=64, interval=1, seed=0
    )
    gan = GAN(F.tiny_generator(), _planted_discriminator(answer), augment=ada, seed=1)
    gan.compile(
        discriminator_optimizer=keras.optimizers.SGD(learning_rate=0.0),
        **{**F.fast_compile_kwargs(), **compile_kwargs},
    )
    return gan


@pytest.mark.parametrize("steps_per_execution", [1, 2])
def test_p_rises_when_d_always_says_real(steps_per_execution):
    if keras.backend.backend() == "torch" and steps_per_execution > 1:
        pytest.skip("one step per execution on torch")
    gan = _planted_gan(5.0, p=0.0, steps_per_execution=steps_per_execution)
    history = gan.fit(F.face_like_images(32), batch_size=8, epochs=1, shuffle=False, verbose=0)
    # 4 steps of 8 images, each adjustment +8/64: p = 0.5, r_t = +1.
    assert float(to_numpy(gan.augment.p)) == pytest.approx(0.5)
    assert history.history["aug_p"][-1] == pytest.approx(0.5)
    assert history.history["r_t"][-1] == pytest.approx(1.0)


def test_p_falls_when_d_always_says_fake():
    gan = _planted_gan(-5.0, p=0.75)
    history = gan.fit(F.face_like_images(32), batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert float(to_numpy(gan.augment.p)) == pytest.approx(0.25)
    assert history.history["r_t"][-1] == pytest.approx(-1.0)


def _smooth_pair() -> tuple[keras.Model, keras.Model]:
    """Tiny networks without kinks (tanh), so central differences are accurate."""
    init = keras.initializers.GlorotUniform(seed=4)
    z = keras.Input((F.LATENT_DIM,))
    x = keras.layers.Dense(4 * 4 * 4, activation="tanh", kernel_initializer=init)(z)
    x = keras.layers.UpSampling2D(2)(keras.layers.Reshape((4, 4, 4))(x))
    fake = keras.layers.Conv2D(3, 3, padding="same", activation="tanh", kernel_initializer=init)(x)
    images = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(4, 3, strides=2, activation="tanh", kernel_initializer=init)(images)
    logits = keras.layers.Dense(1, kernel_initializer=init)(keras.layers.Flatten()(y))
    return keras.Model(z, fake), keras.Model(images, logits)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_gradient_reaches_the_generator_through_each_transform(name):
    generator, discriminator = _smooth_pair()
    augment = Augment([name], p=1.0, seed=2)
    gan = GAN(generator, discriminator, augment=augment, seed=3)
    real = F.face_like_images(4)
    z0 = np.random.default_rng(0).normal(size=(4, F.LATENT_DIM)).astype("float32")
    seeds = [to_numpy(s.state).copy() for s in (augment.seed_generator, gan.seed_generator)]

    def g_loss(z):
        # The same random draws (augmentation parameters) at every evaluation.
        for generator_state, state in zip((augment.seed_generator, gan.seed_generator), seeds):
            generator_state.state.assign(state)
        return gan._generator_objective(real, z, training=True)[0]

    _, grad = value_and_grad(g_loss)(z0)
    grad = to_numpy(grad)
    assert np.abs(grad).max() > 1e-4
    eps = 1e-2
    for index in [(0, 0), (1, 2), (3, 3)]:
        plus, minus = z0.copy(), z0.copy()
        plus[index] += eps
        minus[index] -= eps
        numeric = (float(to_numpy(g_loss(plus))) - float(to_numpy(g_loss(minus)))) / (2 * eps)
        assert grad[index] == pytest.approx(numeric, rel=0.05, abs=2e-4), (name, index)


def test_the_discriminator_sees_augmented_images_and_evaluation_does_not():
    seen = []

    class Spy(keras.layers.Layer):
        def call(self, x):
            if not isinstance(x, keras.KerasTensor):
                seen.append(to_numpy(x))
            return keras.ops.mean(x, axis=(1, 2, 3))[:, None]

        def compute_output_shape(self, shape):
            return (shape[0], 1)

    images = keras.Input((8, 8, 3))
    discriminator = keras.Model(images, Spy()(images))
    augment = Augment(["cutout"], p=1.0, seed=0)
    gan = GAN(F.tiny_generator(), discriminator, augment=augment)
    real = F.face_like_images(4)
    z = np.zeros((4, F.LATENT_DIM), "float32")
    seen.clear()  # (building the functional model called it on a symbolic input)
    gan._discriminator_objective(real, z, training=True)
    assert len(seen) == 2  # reals, then fakes: every image lost at least a corner to cutout
    assert all((batch == 0).all(axis=-1).sum(axis=(1, 2)).min() >= 4 for batch in seen)
    seen.clear()
    gan._discriminator_objective(real, z, training=False)
    np.testing.assert_array_equal(seen[0], real)


def _ada_gan():
    gan = GAN(
        F.tiny_generator(seed=11),
        F.tiny_discriminator(seed=12),
        augment=ADA(p=0.4, speed_images=64, interval=2, mirror=True, seed=7),
        seed=3,
    )
    gan.compile(**F.fast_compile_kwargs())
    return gan


def test_interrupted_ada_run_resumes_to_the_same_weights_and_p(tmp_path):
    images = F.face_like_images(8)
    uninterrupted = _ada_gan()
    uninterrupted.fit(images, batch_size=4, epochs=3, shuffle=False, verbose=0)
    p = float(to_numpy(uninterrupted.augment.p))
    assert p != pytest.approx(0.4)  # p moved during the run

    first = _ada_gan()
    checkpoint = callbacks.GANCheckpoint(tmp_path / "ckpt", every_n_steps=1)
    first.fit(images, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[checkpoint])
    resumed = _ada_gan()
    initial_epoch = callbacks.resume_from(resumed, tmp_path / "ckpt")
    resumed.fit(
        images, batch_size=4, epochs=3, initial_epoch=initial_epoch, shuffle=False, verbose=0
    )
    assert float(to_numpy(resumed.augment.p)) == pytest.approx(p, abs=1e-7)
    for a, b in zip(uninterrupted.variables, resumed.variables):
        np.testing.assert_allclose(to_numpy(b), to_numpy(a), rtol=1e-5, atol=1e-6)


def test_keras_file_keeps_the_pipeline_and_its_state(tmp_path):
    gan = _ada_gan()
    gan.fit(F.face_like_images(8), batch_size=4, epochs=1, shuffle=False, verbose=0)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    assert isinstance(loaded.augment, ADA) and loaded.augment.mirror
    for name in ("p", "r_t", "sign_sum", "sign_count", "observed_steps"):
        assert float(to_numpy(getattr(loaded.augment, name))) == pytest.approx(
            float(to_numpy(getattr(gan.augment, name)))
        ), name
    fixed = GAN(F.tiny_generator(), F.tiny_discriminator(), augment="diffaugment")
    clone = GAN.from_config(fixed.get_config())
    assert clone.augment.transforms == fixed.augment.transforms
    assert (
        GAN.from_config(GAN(F.tiny_generator(), F.tiny_discriminator()).get_config()).augment
        is None
    )


class _Logs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rows = []

    def on_train_batch_end(self, batch, logs=None):
        self.rows.append((int(logs["resolution"]), float(logs["aug_p"]), float(logs["r_t"])))


def test_progressive_gan_augments_at_each_stage_resolution():
    from keras_facegen.data import synthetic_faces
    from keras_facegen.models import (
        ProgressiveGAN,
        ProgressiveSchedule,
        pggan_discriminator,
        pggan_generator,
    )

    small = {"fmap_base": 32, "fmap_max": 8}
    batches = {4: 4, 8: 4, 16: 4}
    schedule = ProgressiveSchedule(16, fade_images=8, stable_images=8, batch_sizes=batches)
    gan = ProgressiveGAN(
        pggan_generator(16, latent_dim=8, **small),
        pggan_discriminator(16, **small),
        schedule=schedule,
        # Two of ADA's transforms, one whose draws scale with the stage's side (the integer
        # translation): the whole pipeline triples XLA's compile of the three stages' steps
        # (penalty gradients through it included); test_pipeline and test_transforms check it.
        augment=ADA(pipeline=["xint", "brightness"], p=0.5, speed_images=40, interval=1, seed=0),
        seed=0,
    )
    gan.compile()
    logs = _Logs()
    images, _ = synthetic_faces(16, resolution=16, seed=0)
    gan.fit(images, callbacks=[logs], verbose=0)
    assert {row[0] for row in logs.rows} == {4, 8, 16}
    # Each step moves p by 4/40 in the direction of r_t, at every stage.
    p = 0.5
    for _, logged_p, r_t in logs.rows:
        p = min(max(p + np.sign(r_t - 0.6) * 0.1, 0.0), 1.0)
        assert logged_p == pytest.approx(p, abs=1e-6)
    clone = ProgressiveGAN.from_config(gan.get_config())
    assert isinstance(clone.augment, ADA)


def test_gan_from_preset_takes_augment():
    from keras_facegen.models import gan_from_preset

    gan = gan_from_preset("face64_small", resolution=32, augment="ada", compile=False)
    assert isinstance(gan.augment, ADA) and gan.augment.target == 0.6
    assert gan_from_preset("face64_small", resolution=32, compile=False).augment is None
