"""Smoke test of benchmarks/train_throughput.py (tiny settings, active backend)."""

import importlib.util

from helpers import REPO_ROOT, backend


def test_train_throughput_quick_reports_a_positive_ratio(capsys):
    spec = importlib.util.spec_from_file_location(
        "train_throughput", REPO_ROOT / "benchmarks" / "train_throughput.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (result,) = module.main(["--quick"])
    assert result["backend"] == backend()
    assert result["gan_images_per_s"] > 0 and result["reference_images_per_s"] > 0
    assert result["ratio"] > 0
    assert "ratio" in capsys.readouterr().out
