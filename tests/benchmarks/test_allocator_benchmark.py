"""Smoke test of benchmarks/allocator.py (tiny preset, each allocator setting in its process)."""

import pytest
from helpers import load_benchmark


def _module():
    return load_benchmark("allocator")


@pytest.mark.multibackend
@pytest.mark.slow
def test_allocator_benchmark_quick_runs_each_setting_in_its_own_process(capsys):
    results = _module().main(["--quick", "--backends", "torch", "--configs", "default,tuned"])
    states = {r["config"]: r["state"] for r in results}
    # The worker's import did what each setting says: tuned by the library, else left alone.
    assert states == {"default": "default", "tuned": "tuned"}
    assert all(r["images_per_s"] > 0 and r["faults"] >= 0 for r in results)
    assert "torch face64_small: tuned / default = " in capsys.readouterr().out
