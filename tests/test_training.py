"""training.train and ema_generator on the active backend (tiny model, few steps)."""

import json

import keras
import numpy as np
import pytest

from keras_facegen import data, models, training


@pytest.fixture(scope="module")
def faces():
    images, _ = data.synthetic_faces(32, resolution=32, seed=0)
    return images


def tiny_gan(ema_decay=None):
    keras.utils.set_random_seed(5)
    return models.gan_from_preset("face64_small", resolution=32, seed=5, ema_decay=ema_decay)


def test_segments_align_to_checkpoint_intervals():
    assert training._segments(0, 5, 2) == [(2, 2), (1, 1)]
    assert training._segments(3, 5, 2) == [(1, 1), (1, 1)]
    assert training._segments(4, 9, 2) == [(2, 2), (1, 1)]
    assert training._segments(6, 6, 2) == []


def test_train_with_ema_saves_and_samples_the_ema_generator(faces, tmp_path):
    gan = tiny_gan(ema_decay=0.5)
    result = training.train(
        gan, faces, tmp_path, steps=3, batch_size=8, checkpoint_every=3, num_samples=4, verbose=0
    )
    assert result.steps == 3
    z = np.random.default_rng(1).uniform(-1, 1, (4, 16)).astype("float32")
    saved = keras.saving.load_model(result.generator_path, compile=False)
    expected = gan.generate(z, ema=True)
    np.testing.assert_allclose(
        np.clip(keras.ops.convert_to_numpy(saved(z)), -1, 1), expected, atol=1e-5
    )
    # The EMA weights are not the raw ones after three updates with decay 0.5.
    assert np.abs(gan.generate(z, ema=False) - expected).max() > 1e-4
    info = json.loads((tmp_path / "facegen.json").read_text())
    assert info["steps"] == 3 and info["latent_distribution"] == "uniform"


def test_ema_generator_needs_an_ema():
    with pytest.raises(ValueError, match="ema_decay"):
        training.ema_generator(tiny_gan())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "steps"),
        ({"batch_size": 0}, "batch_size"),
        ({"checkpoint_every": -1}, "checkpoint_every"),
    ],
)
def test_bad_counts(faces, tmp_path, kwargs, message):
    arguments = {"steps": 2, "batch_size": 8, **kwargs}
    with pytest.raises(ValueError, match=message):
        training.train(tiny_gan(), faces, tmp_path, verbose=0, **arguments)


def test_resume_past_the_requested_steps_is_refused(faces, tmp_path):
    training.train(tiny_gan(), faces, tmp_path, steps=2, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="already past steps=1"):
        training.train(tiny_gan(), faces, tmp_path, steps=1, batch_size=8, resume=True, verbose=0)


def test_readme_snippet_ema_follows_the_generator_after_a_short_run(faces):
    # The README's library snippet (face64_small, ema_decay=0.999), shortened to 40 steps:
    # with the warm-up the EMA generator draws what the raw one draws, not its initial noise.
    gan = tiny_gan(ema_decay=0.999)
    z = np.random.default_rng(2).uniform(-1, 1, (8, 16)).astype("float32")
    initial = gan.generate(z)
    gan.fit(faces, batch_size=8, epochs=10, verbose=0)
    assert gan.counter_values()["iterations"] == 40
    raw, ema = gan.generate(z), gan.generate(z, ema=True)
    to_raw, to_initial = np.abs(ema - raw).mean(), np.abs(ema - initial).mean()
    assert to_raw < 0.2 * to_initial, (to_raw, to_initial)
