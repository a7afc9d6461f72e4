"""Smoke test: the synthetic-faces benchmark runs end to end with --quick."""

import importlib.util

import numpy as np
import pytest
from helpers import REPO_ROOT
from PIL import Image

# The script is under test, not the library: once per CI (the TensorFlow pass).
pytestmark = pytest.mark.once


def load_benchmark():
    path = REPO_ROOT / "benchmarks" / "synthetic_faces.py"
    spec = importlib.util.spec_from_file_location("benchmark_synthetic_faces", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_quick(tmp_path, capsys):
    benchmark = load_benchmark()
    grid = tmp_path / "grid.png"
    result = benchmark.main(benchmark.parse_args(["--quick", "--grid", str(grid)]))
    out = capsys.readouterr().out
    assert "images/s" in out and "target" in out and "PIL.ImageDraw" in out
    assert result["images_per_second"] > 0 and result["reference_images_per_second"] > 0
    assert np.isclose(result["target_ratio"], 1000 / result["images_per_second"])
    with Image.open(grid) as image:
        assert image.size == (512, 512)
        pixels = np.asarray(image)
    assert pixels.std() > 20  # faces, not a blank canvas


def test_naive_reference_draws_faces():
    faces = load_benchmark().naive_pil_faces(3, 32)
    assert faces.shape == (3, 32, 32, 3) and faces.dtype == np.float32
    assert faces.min() >= -1 and faces.max() <= 1 and faces.std() > 0.1
