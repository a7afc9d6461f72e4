import keras
import numpy as np
import pytest

from keras_facegen.latent import (
    as_generator,
    generate_images,
    minimize_latents,
    project,
    projection_loss,
)


def tiny_generator(latent_dim=4, size=2):
    model = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            keras.layers.Dense(size * size * 3, activation="tanh"),
            keras.layers.Reshape((size, size, 3)),
        ]
    )
    rng = np.random.default_rng(0)
    kernel = rng.normal(scale=0.5, size=(latent_dim, size * size * 3)).astype("float32")
    model.layers[0].set_weights([kernel, np.zeros(size * size * 3, "float32")])
    return model, kernel


class FakeGAN:
    def __init__(self, generator):
        self.generator = generator


def test_as_generator_kinds():
    model, kernel = tiny_generator()
    fn, dim = as_generator(model)
    assert dim == 4
    z = np.float32([[0.1, -0.2, 0.3, 0.0]])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(fn(z)).reshape(1, -1), np.tanh(z @ kernel), rtol=1e-5
    )
    assert as_generator(FakeGAN(model))[1] == 4

    def plain(z):
        return np.zeros((len(z), 2, 2, 3))

    assert as_generator(plain) == (plain, None)
    plain.latent_dim = 7
    assert as_generator(plain)[1] == 7
    with pytest.raises(ValueError, match="generator must be a keras.Model"):
        as_generator(42)


def test_generate_images_batches_and_checks():
    model, kernel = tiny_generator()
    z = np.random.default_rng(1).uniform(-1, 1, (5, 4)).astype("float32")
    images = generate_images(model, z, batch_size=2)
    assert images.shape == (5, 2, 2, 3) and images.dtype == np.float32
    np.testing.assert_allclose(images.reshape(5, -1), np.tanh(z @ kernel), rtol=1e-5, atol=1e-6)
    assert generate_images(FakeGAN(model), z[0]).shape == (1, 2, 2, 3)
    with pytest.raises(ValueError, match="latent_dim=4"):
        generate_images(model, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        generate_images(model, z, batch_size=0)
    with pytest.raises(ValueError, match=r"returned shape \(2, 3\)"):
        generate_images(lambda z: np.zeros((len(z), 3)), z[:2])


def test_projection_loss_value():
    generated = np.full((2, 1, 1, 2), 0.5, "float32")
    targets = np.zeros((2, 1, 1, 2), "float32")
    latents = np.float32([[3.0, 4.0], [0.0, 1.0]])
    # |err| sum = 4 * 0.5 = 2; norms 5 and 1 vs 2 -> 3 + 1 = 4, weighted 0.5 -> 2.
    value = projection_loss(generated, targets, latents, 0.5, 2.0)
    assert float(keras.ops.convert_to_numpy(value)) == pytest.approx(4.0, rel=1e-6)
    value = projection_loss(generated, targets, latents, 0.0, 2.0)
    assert float(keras.ops.convert_to_numpy(value)) == pytest.approx(2.0, rel=1e-6)


def test_project_recovers_latent():
    model, _ = tiny_generator()
    rng = np.random.default_rng(2)
    target_z = rng.uniform(-0.8, 0.8, (3, 4)).astype("float32")
    targets = generate_images(model, target_z)
    start = target_z + rng.normal(scale=0.3, size=target_z.shape).astype("float32")
    z, history = project(
        model,
        targets,
        steps=150,
        learning_rate=0.02,
        norm_weight=0.0,
        initial_latents=start,
        return_history=True,
    )
    assert z.shape == (3, 4) and z.dtype == np.float32
    assert history.shape == (150,)
    np.testing.assert_allclose(z, target_z, atol=0.03)
    assert history[-1] < 0.1 * history[0]


def test_project_default_settings_follow_tutorial_loss():
    model, _ = tiny_generator()
    targets = generate_images(model, np.full((1, 4), 0.5, "float32"))
    z, history = project(model, targets[0], steps=3, seed=0, return_history=True)
    start = np.random.default_rng(0).standard_normal((1, 4)).astype("float32")
    # First history entry: the loss at the initial draw, with the sqrt(D) = 2 norm prior.
    expected = np.abs(generate_images(model, start) - targets).sum() + abs(
        np.linalg.norm(start) - 2.0
    )
    assert history[0] == pytest.approx(expected, rel=1e-5)
    # Adam's first step moves every coordinate by learning_rate (times the sign of the gradient).
    first = project(model, targets, steps=1, seed=0)
    np.testing.assert_allclose(np.abs(first - start), 0.01, rtol=1e-3)
    assert z.shape == (1, 4)


def test_project_delegates_to_generator_project():
    calls = {}

    class HubLike:
        def project(self, images, **kwargs):
            calls.update(kwargs, images=images)
            return np.ones((1, 3), "float32")

    out = project(HubLike(), np.zeros((1, 2, 2, 3)), steps=7, extra=1)
    np.testing.assert_array_equal(out, np.ones((1, 3)))
    assert calls["steps"] == 7 and calls["learning_rate"] == 0.01 and calls["extra"] == 1
    assert calls["beta_2"] == 0.999 and calls["norm_weight"] == 1.0


def test_project_bad_inputs():
    model, _ = tiny_generator()
    images = np.zeros((2, 2, 2, 3), "float32")
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        project(model, images, steps=0)
    with pytest.raises(ValueError, match="learning_rate must be a positive"):
        project(model, images, learning_rate=-1.0)
    with pytest.raises(ValueError, match="images must be one image"):
        project(model, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="one latent per image"):
        project(model, images, initial_latents=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="latent_dim=4"):
        project(model, images, initial_latents=np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"generator makes images of shape \(2, 2, 2, 3\)"):
        project(model, np.zeros((2, 4, 4, 3)), steps=1, seed=0)
    with pytest.raises(ValueError, match="Unexpected keyword arguments"):
        project(model, images, steps=1, extra=1)
    with pytest.raises(ValueError, match="Cannot tell the generator's latent size"):
        project(lambda z: z, images, steps=1)


def _keras_adam_reference(grad_fn, z, steps, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """keras.optimizers.Adam's documented update, in NumPy float64."""
    m = np.zeros_like(z)
    v = np.zeros_like(z)
    history = []
    for t in range(1, steps + 1):
        value, g = grad_fn(z)
        history.append(value)
        m += (g - m) * (1 - beta_1)
        v += (g * g - v) * (1 - beta_2)
        alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        z = z - alpha * m / (np.sqrt(v) + epsilon)
    return z, np.array(history)


def test_minimize_latents_is_keras_adam_on_a_variable():
    target = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    scale = np.array([1.0, 4.0, 0.25])

    def value_and_grad(z):
        diff = np.asarray(z, np.float64) - target
        return np.sum(scale * diff**2), 2.0 * scale * diff

    start = np.zeros((2, 3), np.float32)
    z, history = minimize_latents(value_and_grad, start, 25, keras.optimizers.Adam(0.1))
    expected_z, expected_history = _keras_adam_reference(
        value_and_grad, start.astype(float), 25, 0.1
    )
    np.testing.assert_allclose(z, expected_z, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(history, expected_history, rtol=1e-4)
    # The optimizer passed is a template: it is never built, so it can be used again.
    optimizer = keras.optimizers.SGD(0.1)
    first, _ = minimize_latents(value_and_grad, start, 3, optimizer)
    second, _ = minimize_latents(value_and_grad, start, 3, optimizer)
    np.testing.assert_array_equal(first, second)
    with pytest.raises(ValueError, match="optimizer must be a keras.optimizers.Optimizer"):
        minimize_latents(value_and_grad, start, 3, "adam")


def test_project_takes_a_keras_optimizer():
    # A linear generator: G(z) = reshape(z K), so the gradient of sum |G(z) - x| is exact.
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(12, use_bias=False)])
    model.add(keras.layers.Reshape((2, 2, 3)))
    kernel = np.random.default_rng(1).normal(size=(4, 12)).astype("float32")
    model.layers[0].set_weights([kernel])
    targets = np.random.default_rng(2).uniform(-1, 1, (2, 2, 2, 3)).astype("float32")
    start = np.random.default_rng(3).normal(size=(2, 4)).astype("float32")
    z = project(
        model,
        targets,
        steps=4,
        norm_weight=0.0,
        initial_latents=start,
        optimizer=keras.optimizers.SGD(0.01),
    )
    expected = start.astype(np.float64)
    flat_targets = targets.reshape(2, 12)
    for _ in range(4):
        expected -= 0.01 * np.sign(expected @ kernel - flat_targets) @ kernel.T
    np.testing.assert_allclose(z, expected, atol=1e-5)
