import keras
import pytest
from helpers import load_benchmark

# The script is under test, not the library: once per CI (the TensorFlow pass).
pytestmark = pytest.mark.once


def _load_benchmark():
    return load_benchmark("layers")


def test_quick_benchmark_runs_on_the_active_backend(capsys):
    (result,) = _load_benchmark().main(["--quick"])
    assert result["backend"] == keras.backend.backend()
    assert result["conv2d_ms"] > 0 and result["equalized_conv2d_ms"] > 0
    ratio = result["equalized_conv2d_ms"] / result["conv2d_ms"]
    assert abs(result["ratio"] - ratio) < 1e-12
    assert f"ratio {ratio:.3f}" in capsys.readouterr().out
