"""Smoke test of benchmarks/shared_cpu.py (tiny preset, alone and beside a busy process)."""

import pytest
from helpers import load_benchmark


def _module():
    return load_benchmark("shared_cpu")


@pytest.mark.multibackend
@pytest.mark.slow
def test_shared_cpu_benchmark_quick_measures_alone_and_beside_a_competitor(capsys):
    results = _module().main(["--quick", "--backends", "torch", "--configs", "cli"])
    assert [r["competitor"] for r in results] == [False, True]
    assert all(r["images_per_s"] > 0 for r in results)
    # The worker ran what `keras-facegen` sets up: PASSIVE waiting, one inter-op thread.
    assert results[0]["threads"]["wait_policy"] == "PASSIVE"
    assert results[0]["threads"]["inter_op"] == 1
    out = capsys.readouterr().out
    assert "| torch | cli | " in out and "beside / alone" in out


def test_unknown_configuration_is_refused_by_name():
    with pytest.raises(SystemExit):
        _module().parse_args(["--configs", "cli,fast"])
