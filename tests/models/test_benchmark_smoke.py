"""Smoke test of benchmarks/train_throughput.py (tiny settings, active backend, in-process)."""

import pytest
from helpers import backend, load_benchmark

# The script is under test, not the library: once per CI (the TensorFlow pass).
pytestmark = pytest.mark.once


def _module():
    return load_benchmark("train_throughput")


def test_train_throughput_quick_times_every_side(capsys):
    results = _module().main(["--quick", "--sides", "gan,keras,reference"])
    assert [r["side"] for r in results] == ["gan", "keras", "reference"]
    for result in results:
        assert result["backend"] == backend()
        assert result["preset"] == "tiny"
        assert result["images_per_s"] > 0
        assert len(result["runs"]) == 1 and result["spread"] == 0
    out = capsys.readouterr().out
    assert "| tiny | " + backend() + " | 4 |" in out
    assert "GAN / reference" in out


def test_table_computes_the_ratios_from_the_best_runs():
    def row(backend, side, speed):
        return {
            "preset": "p",
            "backend": backend,
            "side": side,
            "batch_size": 8,
            "images_per_s": speed,
            "spread": 0.25,
        }

    results = [
        row("tensorflow", "gan", 80.0),
        row("jax", "gan", 60.0),
        row("jax", "keras", 10.0),
        row("jax", "reference", 50.0),
        {"preset": "p", "backend": "torch", "side": "keras", "batch_size": 8, "skipped": "x"},
    ]
    lines = _module().table(results).splitlines()
    assert lines[2] == "| p | tensorflow | 8 | 80.0 (25%) | 1.00 | - | - | - | - | - |"
    assert lines[3] == "| p | jax | 8 | 60.0 (25%) | 0.75 | 10.0 | 6.00 | - | 50.0 | 1.20 |"
    assert lines[4] == "| p | torch | 8 | - | - | - | - | - | - | - |"


def test_strided_convs_quick_times_every_layer_and_computation(capsys):
    module = load_benchmark("strided_convs")
    from keras_facegen.layers import _strided

    threshold = _strided.MATMUL_MIN_OUTPUT_CHANNELS
    try:
        results = module.main(["--quick"])["tiny"]
    finally:
        _strided.MATMUL_MIN_OUTPUT_CHANNELS = threshold
    assert list(results) == ["keras", "rewrite_conv", "rewrite_matmul", "auto"]
    for rows in results.values():
        # Two transposed convs in the generator, two strided convs in the discriminator.
        assert [(r["network"], r["layer"]) for r in rows] == [
            ("generator", "block1_conv"),
            ("generator", "block2_conv"),
            ("discriminator", "block1_conv"),
            ("discriminator", "block2_conv"),
        ]
        assert all(r["ms"] > 0 for r in rows)
    assert "| tiny | layer | input | filters | keras |" in capsys.readouterr().out
