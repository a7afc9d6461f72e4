"""The pretrained face64_synthetic models shipped inside the package."""

from __future__ import annotations

import json
import shutil

import keras
import numpy as np
import pytest

from keras_facegen import data, latent, models
from keras_facegen.metrics import sliced_wasserstein_distance
from keras_facegen.models.pretrained import PRETRAINED_ROOT

NAME = "face64_synthetic"


@pytest.fixture(scope="module")
def gan():
    return models.pretrained(NAME)


def test_names_and_files():
    assert NAME in models.pretrained_names()
    folder = models.pretrained_dir(NAME)
    sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
    assert set(sizes) == {"generator.keras", "discriminator.keras", "facegen.json"}
    # "A few MB": both models together stay small enough for the wheel.
    assert sizes["generator.keras"] + sizes["discriminator.keras"] < 5_000_000


def test_recipe_is_recorded():
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "make_pretrained.py"
    if not script.is_file():
        pytest.skip("scripts/ is not part of this checkout")
    spec = importlib.util.spec_from_file_location("make_pretrained", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    info = json.loads((models.pretrained_dir(NAME) / "facegen.json").read_text())
    recipe = dict(module.SETTINGS[NAME])
    steps = recipe.pop("steps")
    assert {k: v for k, v in info["recipe"].items() if k != "steps"} == recipe
    assert info["steps"] == info["recipe"]["steps"] <= steps
    assert info["preset"] == "face64_small" and info["data"] == "synthetic"


def test_loads_with_its_facts(gan):
    assert (gan.name, gan.latent_dim, gan.latent_distribution, gan.resolution) == (
        NAME,
        16,
        "uniform",
        64,
    )
    assert gan.generator.input_shape == (None, 16)
    assert gan.generator.output_shape == (None, 64, 64, 3)
    assert gan.discriminator.output_shape == (None, 2)


def test_faces_look_like_the_training_faces(gan):
    z = latent.sample_latents(64, 16, "uniform", seed=0)
    fake = latent.generate_images(gan, z)
    real, _ = data.synthetic_faces(64, resolution=64, seed=1)
    assert fake.min() >= -1.0 and fake.max() <= 1.0
    # Not collapsed: different latents give clearly different faces.
    assert fake.std(axis=0).mean() > 0.5 * real.std(axis=0).mean()
    # Colours and layout match: the mean face is close to the data's mean face (0.05 when
    # shipped; 0.14 after 300 of its 10000 steps).
    mean_error = np.abs(fake.mean(axis=0) - real.mean(axis=0)).mean()
    assert mean_error < 0.1, mean_error
    # The discriminator finds real faces more real than noise.
    noise = np.random.default_rng(0).uniform(-1, 1, real.shape).astype("float32")
    logits_real = keras.ops.convert_to_numpy(gan.discriminator(real, training=False))
    logits_noise = keras.ops.convert_to_numpy(gan.discriminator(noise, training=False))
    margin = (logits_real[:, 1] - logits_real[:, 0]).mean()
    assert margin > (logits_noise[:, 1] - logits_noise[:, 0]).mean()


def test_sliced_wasserstein_distance_to_the_training_faces(gan):
    real, _ = data.synthetic_faces(128, resolution=64, seed=1)
    fake = latent.generate_images(gan, latent.sample_latents(128, 16, "uniform", seed=0))
    swd = float(sliced_wasserstein_distance(real, fake, num_projections=128))
    # Shipped: 46; two sets of real faces: 23; the same run after 300 steps: 178, 600: 142.
    assert swd < 80, swd


def test_generation_is_deterministic(gan):
    code = "80" * 16
    first = latent.generate_images(gan, latent.decode_hex(code))
    second = latent.generate_images(gan.generator, latent.decode_hex(code)[None])
    np.testing.assert_array_equal(first, second)


def test_unknown_name():
    with pytest.raises(ValueError, match=r"Unknown pretrained model name='nope'; available: "):
        models.pretrained("nope")


def test_load_trained_by_name_and_by_file(tmp_path):
    by_name = models.load_trained(NAME, discriminator=False)
    assert by_name.discriminator is None and by_name.latent_distribution == "uniform"
    folder = tmp_path / "run"
    shutil.copytree(models.pretrained_dir(NAME), folder)
    by_file = models.load_trained(folder / "generator.keras")
    assert by_file.name == str(folder / "generator.keras")
    assert by_file.latent_distribution == "uniform" and by_file.discriminator is not None
    # Without facegen.json: a normal latent (the CLI's old default), the size read from the model.
    (folder / "facegen.json").unlink()
    (folder / "discriminator.keras").unlink()
    bare = models.load_trained(folder / "generator.keras")
    assert (bare.latent_distribution, bare.latent_dim, bare.resolution) == ("normal", 16, 64)
    assert bare.discriminator is None
    with pytest.raises(FileNotFoundError, match="neither a generator .keras file nor a pretrained"):
        models.load_trained(tmp_path / "missing.keras")


def test_pretrained_root_is_package_data():
    assert PRETRAINED_ROOT.parent.name == "keras_facegen"
