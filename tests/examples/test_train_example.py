"""Smoke test of examples/train_dcgan.py with tiny settings."""

import importlib.util
import json

import pytest
from helpers import REPO_ROOT
from PIL import Image

# Backend-independent (TensorFlow pass only): the example script is under test; GAN training and
# training.train run on every backend in tests/models/ and tests/test_training.py.
pytestmark = pytest.mark.backend_independent


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_dcgan_runs_and_writes_its_outputs(tmp_path, capsys):
    example = load_example("train_dcgan")
    args = example.parse_args(
        [
            "--num-images",
            "32",
            "--resolution",
            "32",
            "--steps",
            "3",
            "--batch-size",
            "8",
            "--checkpoint-every",
            "2",
            "--ema",
            "0.9",
            "--out",
            str(tmp_path),
        ]
    )
    result = example.main(args)
    assert result.steps == 3
    assert sorted(result.history) == ["d_loss", "feature_matching", "g_loss", "mean_image_matching"]
    assert json.loads((tmp_path / "facegen.json").read_text())["preset"] == "face64_small"
    with Image.open(result.samples_path) as grid:
        assert grid.size == (8 * 32 + 9 * 2,) * 2
    assert "trained 3 steps" in capsys.readouterr().out
