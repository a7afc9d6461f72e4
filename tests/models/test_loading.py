"""The model loaders of `keras_facegen.models`: real files, errors that say what is wrong."""

import numpy as np
import pytest
from gan_fixtures import tiny_discriminator, tiny_generator

from keras_facegen import models
from keras_facegen.models.pretrained import pretrained_dir


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loading")
    generator = tiny_generator(size=16, latent_dim=4)
    discriminator = tiny_discriminator(size=16)
    generator.save(folder / "generator.keras")
    discriminator.save(folder / "discriminator.keras")
    return folder, generator, discriminator


def test_loaded_networks_compute_what_the_saved_ones_did(saved):
    folder, generator, discriminator = saved
    z = np.random.default_rng(0).uniform(-1, 1, (3, 4)).astype("float32")
    loaded = models.load_generator(folder / "generator.keras")
    np.testing.assert_allclose(loaded.predict(z, verbose=0), generator.predict(z, verbose=0))
    images = generator.predict(z, verbose=0)
    critic = models.load_discriminator(str(folder / "discriminator.keras"))
    np.testing.assert_allclose(
        critic.predict(images, verbose=0), discriminator.predict(images, verbose=0)
    )


def test_a_pretrained_name_loads_the_shipped_files():
    assert models.resolve_model("face64_synthetic") == (
        pretrained_dir("face64_synthetic") / "generator.keras"
    )
    assert models.resolve_model("face64_synthetic", "discriminator.keras") == (
        pretrained_dir("face64_synthetic") / "discriminator.keras"
    )
    generator = models.load_generator("face64_synthetic")
    assert generator.input_shape == (None, 16) and generator.output_shape == (None, 64, 64, 3)
    assert models.load_discriminator("face64_synthetic").input_shape == (None, 64, 64, 3)


def test_an_existing_file_wins_over_a_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "face64_synthetic").write_text("a file named like the model")
    assert models.resolve_model("face64_synthetic").resolve() == tmp_path / "face64_synthetic"


def test_the_wrong_kind_of_network_is_named(saved):
    folder, _, _ = saved
    with pytest.raises(ValueError, match=r"--model '.*discriminator.keras' maps \(N, 16, 16, 3\)"):
        models.load_generator(folder / "discriminator.keras", argument="--model")
    with pytest.raises(
        ValueError, match=r"discriminator '.*generator.keras' takes \(N, 4\) inputs"
    ):
        models.load_discriminator(folder / "generator.keras", argument="discriminator")


def test_a_text_file_named_keras_is_not_called_missing(tmp_path):
    fake = tmp_path / "generator.keras"
    fake.write_text("not a model")
    with pytest.raises(ValueError) as error:
        models.load_generator(fake)
    message = str(error.value)
    assert "exists but is not a zip archive" in message and "not found" not in message.lower()


def test_missing_files_and_other_formats(tmp_path):
    with pytest.raises(FileNotFoundError, match="model: no model file at .*face64_synthetic"):
        models.load_generator(tmp_path / "nothing.keras")
    with pytest.raises(FileNotFoundError, match="a folder at"):
        models.load_generator(tmp_path)
    picture = tmp_path / "face.png"
    picture.write_bytes(b"\x89PNG")
    with pytest.raises(ValueError, match="is not a Keras model file"):
        models.load_discriminator(picture)
