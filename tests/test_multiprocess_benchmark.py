"""Smoke test of benchmarks/multiprocess.py (a tiny GAN, 3 steps, 1 and 2 processes)."""

import pytest
from helpers import load_benchmark


def _module():
    return load_benchmark("multiprocess")


@pytest.mark.multibackend
@pytest.mark.slow
def test_multiprocess_benchmark_quick_measures_both_configurations(capsys):
    results = _module().main(["--quick", "--backends", "jax,torch"])
    jax, torch = results
    assert jax["backend"] == "jax" and jax["one"] > 0 and jax["two"] > 0
    assert jax["efficiency"] == pytest.approx(jax["two"] / (2 * jax["one"]))
    assert "not supported" in torch["skipped"]
    out = capsys.readouterr().out
    assert "| jax | " in out and "| torch | - | - | not supported" in out


def test_table_states_the_load_average():
    row = {"backend": "jax", "one": 10.0, "two": 15.0, "load_before": 1.5, "load_after": 2.0}
    lines = _module().table([row]).splitlines()
    assert lines[2] == "| jax | 10.0 | 15.0 | 0.75 | 1.5 -> 2.0 |"
