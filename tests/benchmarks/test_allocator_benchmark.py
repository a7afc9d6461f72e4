"""Smoke test of benchmarks/allocator.py (tiny preset, each allocator setting in its process)."""

import importlib.util
import sys

import pytest
from helpers import REPO_ROOT

# The benchmark imports benchmarks/_common.py, as it does when run as a script.
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))


def _module():
    spec = importlib.util.spec_from_file_location(
        "allocator_benchmark", REPO_ROOT / "benchmarks" / "allocator.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.multibackend
@pytest.mark.slow
def test_allocator_benchmark_quick_runs_each_setting_in_its_own_process(capsys):
    results = _module().main(["--quick", "--backends", "torch", "--configs", "default,tuned"])
    states = {r["config"]: r["state"] for r in results}
    # The worker's import did what each setting says: tuned by the library, else left alone.
    assert states == {"default": "default", "tuned": "tuned"}
    assert all(r["images_per_s"] > 0 and r["faults"] >= 0 for r in results)
    assert "torch face64_small: tuned / default = " in capsys.readouterr().out
