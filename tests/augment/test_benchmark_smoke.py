"""Smoke test of benchmarks/augment_cost.py (tiny settings, active backend, in-process)."""

import pytest
from helpers import backend, load_benchmark

# The script is under test, not the library: once per CI (the TensorFlow pass).
pytestmark = pytest.mark.once


def _module():
    return load_benchmark("augment_cost")


def test_augment_cost_quick_times_every_side(capsys):
    results = _module().main(["--quick"])
    assert [r["side"] for r in results] == ["none", "diffaugment", "ada", "ada_p0"]
    assert all(r["backend"] == backend() and r["images_per_s"] > 0 for r in results)
    assert f"| {backend()} | ada | 4 |" in capsys.readouterr().out


def test_table_reports_the_overhead_over_none():
    rows = [
        {
            "backend": "jax",
            "side": "none",
            "batch_size": 8,
            "images_per_s": 100.0,
            "load_average": 1.0,
        },
        {
            "backend": "jax",
            "side": "ada",
            "batch_size": 8,
            "images_per_s": 80.0,
            "load_average": 1.0,
        },
    ]
    text = _module().table(rows)
    assert "| jax | ada | 8 | 80.0 | +25% | 1.0 |" in text
    with pytest.raises(SystemExit, match="unknown"):
        _module().main(["--quick", "--sides", "bgc"])
