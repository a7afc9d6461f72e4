"""Gradient paths of the GAN train step: each term reaches exactly the player it should, and one
step equals a step computed independently in NumPy (active backend)."""

import keras
import numpy as np
import pytest
from helpers import to_numpy

from keras_facegen import losses
from keras_facegen.models import GAN

LATENT, PIXELS, HIDDEN, BATCH = 3, 4, 3, 6


def _networks():
    z = keras.Input((LATENT,))
    x = keras.layers.Dense(PIXELS, activation="tanh", name="g_dense")(z)
    generator = keras.Model(z, keras.layers.Reshape((2, 2, 1))(x), name="g")
    images = keras.Input((2, 2, 1))
    h = keras.layers.Flatten()(images)
    h = keras.layers.Dense(HIDDEN, activation="tanh", name="features")(h)
    discriminator = keras.Model(images, keras.layers.Dense(1, name="d_out")(h), name="d")
    rng = np.random.default_rng(7)
    generator.set_weights([rng.normal(0, 0.7, w.shape) for w in generator.get_weights()])
    discriminator.set_weights([rng.normal(0, 0.7, w.shape) for w in discriminator.get_weights()])
    return generator, discriminator


def _data():
    rng = np.random.default_rng(3)
    images = rng.uniform(-1, 1, (BATCH, 2, 2, 1)).astype("float32")
    latents = rng.standard_normal((BATCH, LATENT)).astype("float32")
    return images, latents


def _one_step(penalties=(), matching=(), g_opt=None, d_opt=None):
    generator, discriminator = _networks()
    gan = GAN(generator, discriminator, penalties=penalties, matching=matching, seed=0)
    gan.compile(
        generator_optimizer=g_opt or keras.optimizers.SGD(0.5),
        discriminator_optimizer=d_opt or keras.optimizers.SGD(0.5),
        jit_compile=False,
    )
    images, latents = _data()
    gan.train_on_batch(images, latents)
    return [to_numpy(w) for w in generator.weights], [to_numpy(w) for w in discriminator.weights]


def _differs(a, b):
    return any(not np.allclose(x, y, rtol=0, atol=1e-7) for x, y in zip(a, b))


def _same(a, b):
    return all(np.allclose(x, y, rtol=0, atol=1e-7) for x, y in zip(a, b))


PENALTIES = {
    "gradient_penalty": lambda: losses.GradientPenalty(5.0),
    "r1_penalty": lambda: losses.R1Penalty(5.0),
    "drift": lambda: losses.Drift(5.0),
}
MATCHING = {
    "feature_matching": lambda: losses.FeatureMatching(5.0),
    "mean_image_matching": lambda: losses.MeanImageMatching(5.0),
}


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_each_penalty_changes_the_discriminator_update_and_never_the_generator_update(name):
    g_plain, d_plain = _one_step()
    g_pen, d_pen = _one_step(penalties=[PENALTIES[name]()])
    assert _differs(d_plain, d_pen), f"{name} did not change the discriminator's update"
    # With a frozen discriminator the generator step sees the same D in both runs, so any
    # difference would be the penalty leaking into the generator's loss.
    frozen = keras.optimizers.SGD(0.0)
    g_plain, _ = _one_step(d_opt=frozen)
    g_pen, _ = _one_step(penalties=[PENALTIES[name]()], d_opt=keras.optimizers.SGD(0.0))
    assert _same(g_plain, g_pen), f"{name} changed the generator's update"


@pytest.mark.parametrize("name", sorted(MATCHING))
def test_each_matching_term_changes_the_generator_update_and_never_the_discriminator_update(name):
    g_plain, d_plain = _one_step()
    g_match, d_match = _one_step(matching=[MATCHING[name]()])
    assert _differs(g_plain, g_match), f"{name} did not change the generator's update"
    assert _same(d_plain, d_match), f"{name} changed the discriminator's update"


# === One step against NumPy: finite differences in float64 and Adam by hand ===


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _g_forward(params, z):
    kernel, bias = params
    return np.tanh(z @ kernel + bias)  # (N, 4): the images, flattened row-major


def _d_forward(params, x):
    k1, b1, k2, b2 = params
    hidden = np.tanh(x @ k1 + b1)
    return (hidden @ k2 + b2)[:, 0], hidden


def _d_input_gradient(params, x):
    k1, b1, k2, _ = params
    hidden = np.tanh(x @ k1 + b1)
    return ((1 - hidden**2) * k2[:, 0]) @ k1.T


def _numeric_gradient(loss, params, eps=1e-6):
    grads = []
    for i, p in enumerate(params):
        g = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            shifted = [q.copy() for q in params]
            shifted[i][index] += eps
            up = loss(shifted)
            shifted[i][index] -= 2 * eps
            g[index] = (up - loss(shifted)) / (2 * eps)
        grads.append(g)
    return grads


def _adam_first_step(params, grads, learning_rate, beta_1, beta_2, epsilon):
    # Keras' Adam at iteration 1: m, v from zero; alpha = lr * sqrt(1 - b2) / (1 - b1).
    alpha = learning_rate * np.sqrt(1 - beta_2) / (1 - beta_1)
    out = []
    for p, g in zip(params, grads):
        m, v = (1 - beta_1) * g, (1 - beta_2) * g * g
        out.append(p - alpha * m / (np.sqrt(v) + epsilon))
    return out


def test_one_train_step_equals_an_independent_numpy_step():
    gamma, weight = 2.0, 3.0
    adam = {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 0.05}
    generator, discriminator = _networks()
    g0 = [w.astype("float64") for w in generator.get_weights()]
    d0 = [w.astype("float64") for w in discriminator.get_weights()]
    images, latents = _data()
    real, z = images.reshape(BATCH, PIXELS).astype("float64"), latents.astype("float64")

    fake = _g_forward(g0, z)

    def d_loss(params):
        real_logits, _ = _d_forward(params, real)
        fake_logits, _ = _d_forward(params, fake)
        r1 = 0.5 * gamma * np.mean(np.sum(_d_input_gradient(params, real) ** 2, axis=1))
        return np.mean(_softplus(-real_logits)) + np.mean(_softplus(fake_logits)) + r1

    d1 = _adam_first_step(d0, _numeric_gradient(d_loss, d0), **adam)

    def g_loss(params):
        fake_images = _g_forward(params, z)
        fake_logits, _ = _d_forward(d1, fake_images)
        matching = weight * 0.5 * np.sum((fake_images.mean(0) - real.mean(0)) ** 2)
        return np.mean(_softplus(-fake_logits)) + matching

    g1 = _adam_first_step(g0, _numeric_gradient(g_loss, g0), **adam)

    gan = GAN(
        generator,
        discriminator,
        penalties=[losses.R1Penalty(gamma)],
        matching=[losses.MeanImageMatching(weight)],
        seed=0,
    )
    gan.compile(
        generator_optimizer=keras.optimizers.Adam(**adam),
        discriminator_optimizer=keras.optimizers.Adam(**adam),
        jit_compile=False,
    )
    logs = gan.train_on_batch(images, latents, return_dict=True)
    np.testing.assert_allclose(float(logs["d_loss"]), d_loss(d0), rtol=1e-5)
    np.testing.assert_allclose(float(logs["g_loss"]), g_loss(g0), rtol=1e-5)
    assert _differs(d0, d1) and _differs(g0, g1)
    for got, expected in zip(discriminator.get_weights(), d1):
        np.testing.assert_allclose(got, expected, atol=2e-6)
    for got, expected in zip(generator.get_weights(), g1):
        np.testing.assert_allclose(got, expected, atol=2e-6)


# === Lazy R1: the penalty in every k-th train step, k times as heavy ===


def _weights(model):
    return [to_numpy(w) for w in model.weights]


@pytest.mark.parametrize("jit_compile", [False, "auto"])
def test_lazy_r1_penalises_every_kth_step_k_times_and_skips_the_others(jit_compile):
    gamma, every = 1.5, 2
    images, latents = _data()

    def gan_with(penalties, weights=None):
        generator, discriminator = _networks()
        if weights is not None:
            generator.set_weights(weights[0])
            discriminator.set_weights(weights[1])
        gan = GAN(generator, discriminator, penalties=penalties, seed=0)
        gan.compile(
            generator_optimizer=keras.optimizers.SGD(0.5),
            discriminator_optimizer=keras.optimizers.SGD(0.5),
            jit_compile=jit_compile,
        )
        return gan

    lazy = gan_with([losses.R1Penalty(gamma, every=every)])
    first = lazy.train_on_batch(images, latents, return_dict=True)
    after_first = (_weights(lazy.generator), _weights(lazy.discriminator))
    second = lazy.train_on_batch(images, latents, return_dict=True)

    # Step 0 (a multiple of k): the same update as R1 with gamma * k in every step.
    heavy = gan_with([losses.R1Penalty(gamma * every)])
    heavy_logs = heavy.train_on_batch(images, latents, return_dict=True)
    np.testing.assert_allclose(first["r1_penalty"], heavy_logs["r1_penalty"], rtol=1e-5)
    assert float(first["r1_penalty"]) > 0
    for got, expected in zip(after_first[1], _weights(heavy.discriminator)):
        np.testing.assert_allclose(got, expected, atol=1e-6)

    # Step 1: the update without any penalty, from the weights step 0 left.
    plain = gan_with([], weights=after_first)
    plain.train_on_batch(images, latents)
    assert float(second["r1_penalty"]) == 0.0
    for got, expected in zip(_weights(lazy.discriminator), _weights(plain.discriminator)):
        np.testing.assert_allclose(got, expected, atol=1e-6)
    for got, expected in zip(_weights(lazy.generator), _weights(plain.generator)):
        np.testing.assert_allclose(got, expected, atol=1e-6)
