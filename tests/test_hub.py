"""keras_facegen.hub: TF-Hub ProGAN loading, the generator protocol, projection, offline cache.

Every module here is a real SavedModel built by the test (TF1 hub format and TF2) and loaded
through the real ``tensorflow_hub`` resolver and loader; nothing touches the network.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import backend, run_python, to_numpy

from keras_facegen import hub
from keras_facegen.hub import HubGenerator, HubModuleUnavailableError, load_progan

LATENT_DIM = 512
SMALL_LATENT_DIM = 16
GRID = 8  # the modules make 8x8x3 images and upsample them x16 to 128x128x3
UPSAMPLE = 16
RESOLUTION = GRID * UPSAMPLE


def _weights(latent_dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((latent_dim, GRID * GRID * 3)) / np.sqrt(latent_dim)).astype(
        np.float32
    )


def _expected_unit_images(z: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """What the modules compute, in NumPy: sigmoid(z W) as 8x8x3, upsampled x16, in [0, 1]."""
    logits = z.astype(np.float64) @ weights.astype(np.float64)
    small = (1.0 / (1.0 + np.exp(-logits))).reshape(-1, GRID, GRID, 3)
    return small.repeat(UPSAMPLE, axis=1).repeat(UPSAMPLE, axis=2)


def _tf_images(z, weights):
    x = tf.reshape(tf.sigmoid(tf.matmul(z, weights)), [-1, GRID, GRID, 3])
    return tf.repeat(tf.repeat(x, UPSAMPLE, axis=1), UPSAMPLE, axis=2)


def _build_tf1_hub_module(path, weights, *, signature="default", output_shape=None):
    """A TF1-hub-format module like progan-128: empty tag set, a `default` signature."""
    graph = tf.Graph()
    with graph.as_default():
        z = tf.compat.v1.placeholder(tf.float32, [None, weights.shape[0]], name="z")
        w = tf.compat.v1.get_variable("w", initializer=tf.constant(weights))
        images = _tf_images(z, w)
        if output_shape is not None:
            images = tf.reshape(images, output_shape)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            builder = tf.compat.v1.saved_model.Builder(str(path))
            signature_def = tf.compat.v1.saved_model.predict_signature_def(
                inputs={"default": z}, outputs={"default": images}
            )
            builder.add_meta_graph_and_variables(
                session, tags=[], signature_def_map={signature: signature_def}
            )
            builder.save()
    # An empty module descriptor is what marks the TF1 hub format for hub.load.
    (path / "tfhub_module.pb").write_bytes(b"")
    return path


class _TF2Generator(tf.Module):
    def __init__(self, weights):
        super().__init__()
        self.w = tf.Variable(weights)

    @tf.function(input_signature=[tf.TensorSpec([None, LATENT_DIM], tf.float32)])
    def __call__(self, z):
        return _tf_images(z, self.w)


class _NoGeneratorModule(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(1.0)

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def scale(self, x):
        return x * self.w


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub_modules")
    weights = _weights(LATENT_DIM, seed=0)
    small_weights = _weights(SMALL_LATENT_DIM, seed=1)
    tf2 = _TF2Generator(weights)
    tf.saved_model.save(tf2, str(root / "tf2_signature"))  # __call__ -> serving_default
    tf.saved_model.save(tf2, str(root / "tf2_call"), signatures={})
    tf.saved_model.save(_NoGeneratorModule(), str(root / "no_generator"), signatures={})
    return {
        "weights": weights,
        "small_weights": small_weights,
        "tf1": _build_tf1_hub_module(root / "tf1", weights),
        "tf1_small": _build_tf1_hub_module(root / "tf1_small", small_weights),
        "tf1_flat": _build_tf1_hub_module(
            root / "tf1_flat", weights, output_shape=[-1, RESOLUTION * RESOLUTION * 3]
        ),
        "tf2_signature": root / "tf2_signature",
        "tf2_call": root / "tf2_call",
        "no_generator": root / "no_generator",
    }


@pytest.fixture(scope="module")
def generator(modules):
    return load_progan(str(modules["tf1"]))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- loading and the generator protocol ------------------------------------------------------


def test_tf1_hub_module_matches_numpy_in_minus_one_one(modules, generator):
    assert isinstance(generator, HubGenerator)
    assert generator.latent_dim == LATENT_DIM
    assert generator.resolution == RESOLUTION
    assert generator.channels == 3
    assert generator.latent_distribution == "normal"
    z = np.random.default_rng(3).standard_normal((3, LATENT_DIM)).astype(np.float32)
    images = generator(z)
    assert isinstance(images, np.ndarray)
    assert images.dtype == np.float32
    assert images.shape == (3, RESOLUTION, RESOLUTION, 3)
    unit = _expected_unit_images(z, modules["weights"])
    np.testing.assert_allclose(images, unit * 2.0 - 1.0, atol=2e-5)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert images.min() < -0.3 and images.max() > 0.3  # the rescale really spans both signs


@pytest.mark.parametrize("kind", ["tf2_signature", "tf2_call"])
def test_tf2_saved_models_load(modules, generator, kind):
    loaded = load_progan(modules[kind])  # a PathLike works too
    assert (loaded.latent_dim, loaded.resolution, loaded.channels) == (LATENT_DIM, RESOLUTION, 3)
    z = np.random.default_rng(4).standard_normal((2, LATENT_DIM)).astype(np.float32)
    np.testing.assert_allclose(loaded(z), generator(z), atol=2e-5)


def test_batching_seeds_and_backend_tensors(generator):
    latents = generator.sample_latents(5, seed=7)
    assert latents.shape == (5, LATENT_DIM) and latents.dtype == np.float32
    one_batch = generator(latents)
    np.testing.assert_allclose(generator.generate(5, seed=7, batch_size=2), one_batch, atol=1e-6)
    np.testing.assert_allclose(generator.generate(latents, batch_size=3), one_batch, atol=1e-6)
    np.testing.assert_array_equal(generator.generate(2, seed=1), generator.generate(2, seed=1))
    assert not np.allclose(generator.generate(1, seed=1), generator.generate(1, seed=2))
    # Latents may live on the active Keras backend (a jax.Array, a torch.Tensor, a tf.Tensor).
    backend_latents = keras.ops.convert_to_tensor(latents)
    np.testing.assert_allclose(generator(backend_latents), one_batch, atol=1e-6)
    np.testing.assert_allclose(generator(latents[0]), one_batch[:1], atol=1e-6)


@pytest.mark.parametrize("shape", [(2, LATENT_DIM - 1), (2, 3, LATENT_DIM), (LATENT_DIM + 1,)])
def test_wrong_latent_dimension_names_latent_dim(generator, shape):
    with pytest.raises(ValueError, match=f"latent_dim={LATENT_DIM}"):
        generator(np.zeros(shape, np.float32))
    with pytest.raises(ValueError, match="n_or_latents"):
        generator.generate(np.zeros(shape, np.float32))


def test_invalid_arguments(modules, generator):
    with pytest.raises(ValueError, match="batch_size=0"):
        generator.generate(2, batch_size=0)
    with pytest.raises(ValueError, match="n=0"):
        generator.generate(0)
    with pytest.raises(ValueError, match="output_range"):
        load_progan(str(modules["tf1"]), output_range=(1.0, 0.0))
    with pytest.raises(ValueError, match="timeout"):
        load_progan(str(modules["tf1"]), timeout=0)
    with pytest.raises(ValueError, match=r"images with shape \(1, 64, 64, 3\)"):
        generator.project(np.zeros((1, 64, 64, 3), np.float32))
    with pytest.raises(ValueError, match=r"expected \[-1, 1\]"):
        generator.project(np.full((1, RESOLUTION, RESOLUTION, 3), 255.0, np.float32))
    with pytest.raises(ValueError, match="steps=0"):
        generator.project(np.zeros((1, RESOLUTION, RESOLUTION, 3), np.float32), steps=0)


def test_module_without_generator_signature_is_rejected(modules):
    with pytest.raises(ValueError, match="no usable generator signature"):
        load_progan(str(modules["no_generator"]))
    with pytest.raises(ValueError, match="expected square images"):
        load_progan(str(modules["tf1_flat"]))
    with pytest.raises(ValueError, match="signature='missing'"):
        load_progan(str(modules["tf1"]), signature="missing")


def test_import_is_cheap():
    run_python(
        """
        import sys
        import keras_facegen.hub
        heavy = {"tensorflow", "tensorflow_hub", "keras"} & set(sys.modules)
        assert not heavy, heavy
        """,
        backend=backend(),
        timeout=120,
    )


# --- projection ------------------------------------------------------------------------------


def test_project_recovers_latent_exactly(modules):
    generator = load_progan(str(modules["tf1_small"]))
    assert generator.latent_dim == SMALL_LATENT_DIM  # read from the signature, not assumed
    rng = np.random.default_rng(11)
    truth = rng.standard_normal((2, SMALL_LATENT_DIM))
    # At the typical length the length term is zero, so the truth is the exact minimiser.
    truth = (truth / np.linalg.norm(truth, axis=1, keepdims=True) * 4.0).astype(np.float32)
    targets = generator(truth)
    latents, history = generator.project(
        targets, steps=300, learning_rate=0.05, seed=0, return_history=True
    )
    assert latents.shape == (2, SMALL_LATENT_DIM) and latents.dtype == np.float32
    assert history.shape == (300,)
    np.testing.assert_allclose(latents, truth, atol=0.05)
    assert history[-1] < 0.02 * history[0]
    np.testing.assert_allclose(generator(latents), targets, atol=0.02)


def test_project_512_loss_and_latent_project_delegation(generator):
    from keras_facegen import latent

    target = generator.generate(1, seed=5)
    start = generator.sample_latents(1, seed=6)
    latents, history = generator.project(
        keras.ops.convert_to_tensor(target[0]),  # one image, as a backend tensor
        steps=30,
        learning_rate=0.05,
        initial_latents=start,
        return_history=True,
    )
    assert latents.shape == (1, LATENT_DIM)
    assert history[-1] < 0.3 * history[0]
    # The loss is the documented one: L1 in the module's [0, 1] range + | |z| - sqrt(512) |.
    reconstruction = np.abs(generator(start) - target).sum() / 2.0
    length = abs(np.linalg.norm(start) - np.sqrt(LATENT_DIM))
    np.testing.assert_allclose(history[0], reconstruction + length, rtol=1e-4)
    # The team's latent.project hands a generator with its own project method the same call.
    delegated = latent.project(
        generator, target, steps=30, learning_rate=0.05, initial_latents=start
    )
    np.testing.assert_allclose(delegated, latents, atol=1e-5)
    # Batched projection optimises each image independently of its neighbours.
    pair = generator.project(
        np.concatenate([target, target]),
        steps=5,
        initial_latents=np.repeat(start, 2, axis=0),
        batch_size=1,
    )
    np.testing.assert_allclose(pair[0], pair[1], atol=1e-6)


def test_project_takes_a_keras_optimizer(modules):
    # SGD steps against the loss's exact gradient in NumPy (the module: sigmoid(z W), x16).
    generator = load_progan(str(modules["tf1_small"]))
    weights = modules["small_weights"]
    rng = np.random.default_rng(4)
    start = rng.standard_normal((2, SMALL_LATENT_DIM)).astype(np.float32)
    target = generator(rng.standard_normal((2, SMALL_LATENT_DIM)).astype(np.float32))
    latents = generator.project(
        target, steps=3, initial_latents=start, optimizer=keras.optimizers.SGD(0.01)
    )
    unit_target = (target.astype(np.float64) + 1.0) / 2.0
    z = start.astype(np.float64)
    for _ in range(3):
        small = 1.0 / (1.0 + np.exp(-(z @ weights.astype(np.float64))))
        signs = np.sign(_expected_unit_images(z, weights) - unit_target)
        pooled = signs.reshape(2, GRID, UPSAMPLE, GRID, UPSAMPLE, 3).sum(axis=(2, 4))
        grad = (pooled.reshape(2, -1) * small * (1 - small)) @ weights.T.astype(np.float64)
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        grad += np.sign(norms - np.sqrt(SMALL_LATENT_DIM)) * z / norms
        z -= 0.01 * grad
    np.testing.assert_allclose(latents, z, atol=2e-4)


# --- offline use ----------------------------------------------------------------------------


def test_offline_without_cache_raises_clear_error(tmp_path):
    handle = f"http://127.0.0.1:{_closed_port()}/google/progan-128/1"
    cache = tmp_path / "empty_cache"
    before = os.environ.get("TFHUB_CACHE_DIR")
    started = time.monotonic()
    with pytest.raises(HubModuleUnavailableError) as info:
        load_progan(handle, cache_dir=cache, timeout=5)
    assert time.monotonic() - started < 30
    message = str(info.value)
    folder = str(cache / hashlib.sha1(handle.encode()).hexdigest())
    assert handle in message
    assert "no network" in message and "no cached copy was found in " + folder in message
    assert "TFHUB_CACHE_DIR" in message and "tar -xzf" in message
    assert "tf-hub-format=compressed" in message
    assert os.environ.get("TFHUB_CACHE_DIR") == before
    assert hub.module_cache_dir(handle, cache) == folder


def test_stalled_server_times_out(tmp_path):
    # A socket that listens but never answers: the connect succeeds and the read would block.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        handle = f"http://127.0.0.1:{server.getsockname()[1]}/progan-128/1"
        started = time.monotonic()
        with pytest.raises(HubModuleUnavailableError, match="timed out"):
            load_progan(handle, cache_dir=tmp_path, timeout=1)
        assert time.monotonic() - started < 30
    assert socket.getdefaulttimeout() is None


def test_missing_local_directory(tmp_path):
    with pytest.raises(HubModuleUnavailableError, match="not a URL and no such directory"):
        load_progan(str(tmp_path / "nowhere"))


def test_prefilled_cache_loads_offline(modules, generator, tmp_path):
    handle = f"http://127.0.0.1:{_closed_port()}/google/progan-128/1"
    cache = tmp_path / "cache"
    # The documented recipe: extract the module into <cache>/<sha1 of the handle>.
    shutil.copytree(modules["tf1"], hub.module_cache_dir(handle, cache))
    loaded = load_progan(handle, cache_dir=cache, timeout=5)
    assert loaded.handle == handle
    z = generator.sample_latents(2, seed=9)
    np.testing.assert_allclose(loaded(z), generator(z), atol=1e-6)
    # The same through the environment variable instead of cache_dir=.
    previous = os.environ.get("TFHUB_CACHE_DIR")
    os.environ["TFHUB_CACHE_DIR"] = str(cache)
    try:
        assert load_progan(handle, timeout=5).latent_dim == LATENT_DIM
    finally:
        if previous is None:
            del os.environ["TFHUB_CACHE_DIR"]
        else:
            os.environ["TFHUB_CACHE_DIR"] = previous


# --- with the latent tools --------------------------------------------------------------------


def test_hypersphere_interpolation_then_generate(generator):
    from keras_facegen.latent import interpolate_hypersphere

    v1, v2 = generator.sample_latents(2, seed=21)
    path = to_numpy(interpolate_hypersphere(v1, v2, 6))
    assert path.shape == (6, LATENT_DIM)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(v1), rtol=1e-4)
    images = generator.generate(path, batch_size=4)
    assert images.shape == (6, RESOLUTION, RESOLUTION, 3)
    np.testing.assert_allclose(images[0], generator(v1[None])[0], atol=1e-5)
    # Neighbouring frames change smoothly: every step is smaller than the end-to-end change.
    steps = np.abs(np.diff(images, axis=0)).mean(axis=(1, 2, 3))
    assert steps.max() < np.abs(images[-1] - images[0]).mean()
