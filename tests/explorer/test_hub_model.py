"""The explorer around a TF-Hub-style 512-d generator: direction sliders plus a seed."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

httpx = pytest.importorskip("httpx")
tf = pytest.importorskip("tensorflow")

# Backend-independent (TensorFlow pass only): a TensorFlow SavedModel is served through TensorFlow
# whatever the Keras backend.
pytestmark = pytest.mark.backend_independent

LATENT_DIM = 512


class _Generator(tf.Module):
    """z (N, 512) -> sigmoid(z W) as 8x8x3 images, upsampled to 32x32, in [0, 1]."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        weights = rng.standard_normal((LATENT_DIM, 8 * 8 * 3)) / np.sqrt(LATENT_DIM)
        self.w = tf.Variable(weights.astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, LATENT_DIM], tf.float32)])
    def __call__(self, z):
        x = tf.reshape(tf.sigmoid(tf.matmul(z, self.w)), [-1, 8, 8, 3])
        return tf.repeat(tf.repeat(x, 4, axis=1), 4, axis=2)


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("hub") / "progan_like"
    tf.saved_model.save(_Generator(), str(path))
    return path


def test_serve_hub_module(module_dir, run_server):
    from keras_facegen import latent
    from keras_facegen.explorer import load_explorer_app

    app = load_explorer_app(hub=str(module_dir), num_directions=6)
    engine = app.state.engine
    with run_server(app) as running, httpx.Client(base_url=running.url, timeout=60) as http:
        info = http.get("/api/info").json()
        assert info["latent_dim"] == LATENT_DIM and info["resolution"] == 32
        assert info["latent_distribution"] == "normal" and info["mode"] == "directions"
        assert info["sliders"] == [f"pc{i}" for i in range(1, 7)]
        assert info["name"].startswith("ProGAN (") and info["has_discriminator"] is False
        response = http.post("/api/generate", json={"code": "ff" + "80" * 5, "seed": 3})
        image = np.asarray(Image.open(io.BytesIO(response.content)))
        z = latent.sample_latents(1, LATENT_DIM, "normal", seed=3)[0].astype(np.float64)
        z += 3.0 * (latent.decode_hex("ff" + "80" * 5).astype(np.float64) @ engine.directions)
        expected = 1 / (1 + np.exp(-(z @ _Generator().w.numpy().astype(np.float64))))
        expected = np.floor(expected * 255 + 0.5).reshape(8, 8, 3).repeat(4, 0).repeat(4, 1)
        np.testing.assert_allclose(image, expected, atol=1)
    # The first principal direction changes the image more than a random direction does.
    rng = np.random.default_rng(1)
    random_direction = rng.standard_normal(LATENT_DIM)
    random_direction /= np.linalg.norm(random_direction)
    base = latent.sample_latents(16, LATENT_DIM, "normal", seed=5)
    change = []
    for direction in (engine.directions[0], random_direction):
        moved = latent.generate_images(engine.generator, base + 2.0 * direction.astype(np.float32))
        change.append(np.abs(moved - latent.generate_images(engine.generator, base)).mean())
    assert change[0] > 1.5 * change[1]


def test_model_and_hub_are_exclusive(module_dir):
    from keras_facegen.explorer import load_explorer_app

    with pytest.raises(ValueError, match="Pass model= or hub=, not both"):
        load_explorer_app("face64_synthetic", hub=str(module_dir))
    with pytest.raises(FileNotFoundError, match="No discriminator file at 'missing.keras'"):
        load_explorer_app(hub=str(module_dir), discriminator="missing.keras")
