"""Smoke tests of examples/latent_walk.py and examples/offset_vectors.py with tiny models."""

from __future__ import annotations

import importlib.util

import keras
import numpy as np
import pytest
from helpers import REPO_ROOT
from PIL import Image

# Backend-independent (TensorFlow pass only): the example scripts are under test; the latent tools
# run on every backend in tests/latent/.
pytestmark = pytest.mark.backend_independent

LATENT_DIM = 4
SIZE = 4


def _load_example(name):
    spec = importlib.util.spec_from_file_location(
        f"{name}_example", REPO_ROOT / "examples" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _save_tiny_models(tmp_path):
    """Every pixel = tanh(sum z / 2); the discriminator's 2 logits differ by the pixel sum."""
    generator = keras.Sequential(
        [
            keras.Input((LATENT_DIM,)),
            keras.layers.Dense(SIZE * SIZE * 3, activation="tanh"),
            keras.layers.Reshape((SIZE, SIZE, 3)),
        ]
    )
    generator.layers[0].set_weights(
        [
            np.full((LATENT_DIM, SIZE * SIZE * 3), 0.5, "float32"),
            np.zeros(SIZE * SIZE * 3, "float32"),
        ]
    )
    discriminator = keras.Sequential(
        [keras.Input((SIZE, SIZE, 3)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    kernel = np.zeros((SIZE * SIZE * 3, 2), "float32")
    kernel[:, 1] = 0.1
    discriminator.layers[-1].set_weights([kernel, np.zeros(2, "float32")])
    generator_path = tmp_path / "generator.keras"
    discriminator_path = tmp_path / "discriminator.keras"
    generator.save(generator_path)
    discriminator.save(discriminator_path)
    return str(generator_path), str(discriminator_path)


def test_latent_walk_example(tmp_path, capsys):
    example = _load_example("latent_walk")
    generator_path, _ = _save_tiny_models(tmp_path)
    out_dir = tmp_path / "walk"
    args = example.parse_args(
        [
            "--model",
            generator_path,
            "--code-a",
            "00408000",
            "--code-b",
            "FFC08000",
            "--steps",
            "6",
            "--duration",
            "50",
            "--strip-steps",
            "3",
            "--out-dir",
            str(out_dir),
        ]
    )
    outputs = example.main(args)
    assert outputs["gif"] == out_dir / "morph_line.gif"
    with Image.open(outputs["gif"]) as gif:
        assert gif.n_frames == 6
        assert gif.info["duration"] == 50
        first = np.asarray(gif.convert("RGB")).astype(int)
    # The line through the two codes enters the box where coordinate 0 reaches -1 (it moves
    # fastest); every pixel of the first frame is tanh(sum(z) / 2) at that point.
    a = np.array([0, 64, 128, 0]) / 127.5 - 1
    b = np.array([255, 192, 128, 0]) / 127.5 - 1
    s = (-1 - a[0]) / (b[0] - a[0])
    start = a + s * (b - a)
    expected = np.floor((np.tanh(start.sum() / 2) + 1) * 127.5 + 0.5)
    assert abs(first[0, 0, 0] - expected) <= 3
    strip = np.asarray(Image.open(outputs["strip"]))
    assert strip.shape == (SIZE + 4, 3 * (SIZE + 2) + 2, 3)
    printed = capsys.readouterr().out
    assert "face A: 00408000" in printed and str(outputs["gif"]) in printed


def test_latent_walk_example_seeds_and_slerp(tmp_path):
    example = _load_example("latent_walk")
    generator_path, _ = _save_tiny_models(tmp_path)
    args = example.parse_args(
        [
            "--model",
            generator_path,
            "--method",
            "slerp",
            "--steps",
            "4",
            "--strip-steps",
            "2",
            "--out-dir",
            str(tmp_path / "w"),
        ]
    )
    outputs = example.main(args)
    with Image.open(outputs["gif"]) as gif:
        assert gif.n_frames == 4


def test_offset_vectors_example(tmp_path, capsys):
    example = _load_example("offset_vectors")
    generator_path, discriminator_path = _save_tiny_models(tmp_path)
    args = example.parse_args(
        [
            "--model",
            generator_path,
            "--discriminator",
            discriminator_path,
            "--num-samples",
            "16",
            "--top-k",
            "4",
            "--num-fresh",
            "4",
            "--out-dir",
            str(tmp_path / "o"),
        ]
    )
    result = example.main(args)
    # Scores grow with sum(z), so good faces have larger coordinates than bad ones and the
    # offset raises every fresh face's score.
    assert np.all(result["offset"] > 0)
    assert result["score_after"] > result["score_before"]
    assert len(result["good_code"]) == 2 * LATENT_DIM
    assert np.asarray(Image.open(result["before"])).shape == (2 * SIZE + 6, 2 * SIZE + 6, 3)
    assert np.asarray(Image.open(result["ranked"])).shape == (2 * SIZE + 6, 4 * SIZE + 10, 3)
    printed = capsys.readouterr().out
    assert f"average good code: {result['good_code']}" in printed
    assert "mean discriminator score: before" in printed
