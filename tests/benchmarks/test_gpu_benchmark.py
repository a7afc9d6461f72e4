"""Tests of benchmarks/gpu.py: the FLOP counter by hand, and quick runs of every side on CPU."""

import keras
import pytest
from helpers import load_benchmark

from keras_facegen.layers import (
    EqualizedConv2D,
    EqualizedDense,
    SpaceToDepthConv2D,
    SubpixelConv2DTranspose,
)


def _module():
    return load_benchmark("gpu")


def test_forward_flops_of_keras_layers_by_hand():
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    # Conv: 8*8 outputs x 4 filters x (3*3*3) taps = 6912 MACs; Dense: 256 x 10 = 2560 MACs.
    gpu = _module()
    assert gpu.forward_flops(model) == 2 * (6912 + 2560) == 18944
    # A nested model counts its layers once.
    outer = keras.Sequential([keras.Input((8, 8, 3)), model])
    assert gpu.forward_flops(outer) == 18944


def test_forward_flops_of_library_layers_by_hand():
    model = keras.Sequential(
        [
            keras.Input((4, 4, 2)),
            SubpixelConv2DTranspose(3, 4, strides=2, padding="same"),  # -> 8x8x3
            SpaceToDepthConv2D(5, 3, strides=2, padding="same"),  # -> 4x4x5
            EqualizedConv2D(6, 1),  # -> 4x4x6
            keras.layers.Flatten(),
            EqualizedDense(7),
        ]
    )
    # Transposed: 4*4*2 inputs x 4*4 taps x 3 filters = 1536 MACs (every input times every
    # tap); strided: 4*4*5 outputs x 3*3*3 = 2160; 1x1: 4*4*6 x 5 = 480; dense: 96 x 7 = 672.
    assert _module().forward_flops(model) == 2 * (1536 + 2160 + 480 + 672) == 9696


def test_step_flops_rules_and_peaks():
    gpu = _module()
    assert gpu.step_flops("dcgan64", 10, 100, batch=2) == 2 * (4 * 10 + 9 * 100)
    assert gpu.step_flops("pggan128", 10, 100, batch=2) == 2 * (4 * 10 + 18 * 100)
    assert gpu.peak_tflops("NVIDIA H100 80GB HBM3", "bf16") == 989.0
    assert gpu.peak_tflops("NVIDIA H100 PCIe", "bf16") == 756.0
    assert gpu.peak_tflops("NVIDIA A100-SXM4-40GB", "fp32") == 156.0
    assert gpu.peak_tflops("CPU", "fp32") is None


def _check_rows(rows, sides, precisions):
    assert [(r["side"], r["precision"]) for r in rows] == [
        (s, p) for p in precisions for s in sides
    ]
    for r in rows:
        assert "error" not in r, r
        assert r["images_per_s"] > 0 and r["ms_per_step"] > 0
        assert r["step_flops"] > 0 and r["device"] == "CPU" and r["mfu"] is None
    reference = next(r for r in rows if r["side"] == "torch loop")
    assert reference["vs_reference"] == 1.0
    for r in rows:
        assert r["vs_reference"] == pytest.approx(r["images_per_s"] / reference["images_per_s"])


@pytest.mark.multibackend
@pytest.mark.slow
def test_gpu_benchmark_quick_dcgan_on_jax_and_the_torch_loop(capsys):
    # The library on JAX here and on PyTorch below: each backend's branches run once.
    rows = _module().main(
        ["--quick", "--backends", "jax", "--models", "dcgan64", "--precision", "fp32"]
    )
    _check_rows(rows, ["library (jax)", "torch loop"], ["fp32"])
    # Both sides (JAX and PyTorch processes) train the same networks: the same analytic count.
    assert len({(r["g_flops"], r["d_flops"]) for r in rows}) == 1
    out = capsys.readouterr().out
    assert "| dcgan64 | library (jax) | fp32 | 4 |" in out
    assert "MFU = FLOPs per step / (seconds per step x peak FLOP/s)" in out


@pytest.mark.multibackend
@pytest.mark.slow
def test_gpu_benchmark_quick_pggan_bf16_on_torch_and_the_torch_loop(capsys):
    rows = _module().main(
        ["--quick", "--backends", "torch", "--models", "pggan128", "--precision", "bf16"]
    )
    _check_rows(rows, ["library (torch)", "torch loop"], ["bf16"])
    assert "| pggan128 | torch loop | bf16 | 4 |" in capsys.readouterr().out
