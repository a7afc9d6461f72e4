"""Forward + backward time of EqualizedConv2D against keras.layers.Conv2D of the same shape.

Both layers run through the same harness in the same process: a one-layer model, the same
optimizer (SGD) and loss, ``Model.train_on_batch`` with the backend's default compilation
(``jit_compile="auto"``: XLA on TensorFlow and JAX, eager on PyTorch), warm-up steps, then
timed steps interleaved in alternating order (so drifting machine load hits both alike)
and the median of each.

    python benchmarks/layers.py                  # active backend (KERAS_BACKEND), full size
    python benchmarks/layers.py --all-backends   # one subprocess per backend, then a summary
    python benchmarks/layers.py --quick          # tiny settings, for the smoke test

Target: EqualizedConv2D / Conv2D <= 1.15 (the weight scale multiplies the kernel only).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BACKENDS = ("tensorflow", "jax", "torch")
TARGET_RATIO = 1.15
_RESULT_PREFIX = "RESULT "


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=32, help="input height and width")
    parser.add_argument("--channels", type=int, default=128, help="input channels")
    parser.add_argument("--filters", type=int, default=128)
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--jit", choices=("auto", "true", "false"), default="auto", help="Model.compile jit_compile"
    )
    parser.add_argument("--quick", action="store_true", help="tiny shapes, 2 repeats")
    parser.add_argument("--all-backends", action="store_true", help="one subprocess per backend")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.size, args.channels, args.filters = 2, 8, 4, 4
        args.warmup, args.repeats = 1, 2
    return args


def _model(layer, args):
    import keras

    model = keras.Sequential([keras.Input((args.size, args.size, args.channels)), layer])
    jit = {"auto": "auto", "true": True, "false": False}[args.jit]
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse", jit_compile=jit)
    return model


def benchmark(args: argparse.Namespace) -> dict[str, float | str]:
    """Times one training step of each layer on the active backend; returns ms and the ratio."""
    import keras
    import numpy as np

    from keras_facegen.layers import EqualizedConv2D

    keras.utils.set_random_seed(0)
    models = {
        "conv2d": _model(keras.layers.Conv2D(args.filters, args.kernel, padding="same"), args),
        "equalized_conv2d": _model(EqualizedConv2D(args.filters, args.kernel), args),
    }
    x = np.random.normal(size=(args.batch, args.size, args.size, args.channels)).astype("float32")
    y = np.zeros((args.batch, args.size, args.size, args.filters), "float32")
    for model in models.values():
        for _ in range(args.warmup):
            model.train_on_batch(x, y)
    times: dict[str, list[float]] = {name: [] for name in models}
    names = list(models)
    for repeat in range(args.repeats):
        # Alternate which layer goes first, so neither always runs on a cache the other warmed.
        for name in names if repeat % 2 == 0 else names[::-1]:
            model = models[name]
            start = time.perf_counter()
            model.train_on_batch(x, y)  # returns NumPy logs, so the step has finished
            times[name].append(time.perf_counter() - start)
    result: dict[str, float | str] = {"backend": keras.backend.backend()}
    for name, samples in times.items():
        result[f"{name}_ms"] = 1000 * float(np.median(samples))
    result["ratio"] = result["equalized_conv2d_ms"] / result["conv2d_ms"]
    return result


def _run_backend(backend: str, argv: list[str]) -> dict[str, float | str]:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(_RESULT_PREFIX):
            return json.loads(line[len(_RESULT_PREFIX) :])
    raise RuntimeError(
        f"benchmark on backend={backend!r} failed ({completed.returncode}):\n"
        f"{completed.stdout[-2000:]}\n{completed.stderr[-4000:]}"
    )


def _report(result: dict[str, float | str]) -> str:
    verdict = "ok" if result["ratio"] <= TARGET_RATIO else f"above target {TARGET_RATIO}"
    return (
        f"{result['backend']:>10}: Conv2D {result['conv2d_ms']:8.2f} ms  "
        f"EqualizedConv2D {result['equalized_conv2d_ms']:8.2f} ms  "
        f"ratio {result['ratio']:.3f} ({verdict})"
    )


def main(argv: list[str] | None = None) -> list[dict[str, float | str]]:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    print(
        f"forward+backward, batch {args.batch}, {args.size}x{args.size}x{args.channels} -> "
        f"{args.filters}, {args.kernel}x{args.kernel}, jit_compile={args.jit}, "
        f"median of {args.repeats}"
    )
    if args.all_backends:
        child_argv = [a for a in argv if a != "--all-backends"]
        results = [_run_backend(backend, child_argv) for backend in BACKENDS]
    else:
        results = [benchmark(args)]
        print(_RESULT_PREFIX + json.dumps(results[0]))
    for result in results:
        print(_report(result))
    return results


if __name__ == "__main__":
    main()
