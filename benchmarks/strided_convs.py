"""Forward + backward time of every strided conv layer of the DCGAN presets, per computation.

For each transposed conv of a preset's generator and each strided conv of its discriminator
(their real shapes and the batch sizes of ``train_throughput.py``), one training step of a
model holding just that layer (behind a trainable per-channel shift, so the input gradient is
computed as it is inside a network), for each computation:

* ``keras``: Keras' own ``conv_transpose`` / strided ``conv`` (``implementation="keras"``).
* ``rewrite_conv``: the sub-pixel / space-to-depth rewrite with its stride-1 convolution as
  ``ops.conv``.
* ``rewrite_matmul``: the same rewrite with the stride-1 convolution as one matmul (im2col).
* ``auto``: what the layers do by default on this backend.

Each computation runs in its own process (``--worker``); the table gives milliseconds per step
(median of ``--repeats``) and marks the fastest. This is how ``implementation="auto"``'s rules
in ``keras_facegen/layers/_strided.py`` were chosen.

    python benchmarks/strided_convs.py                       # default and face96, this backend
    KERAS_BACKEND=jax python benchmarks/strided_convs.py --presets face96,face64_small
    python benchmarks/strided_convs.py --quick               # smoke test, in-process
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

COMPUTATIONS = ("keras", "rewrite_conv", "rewrite_matmul", "auto")
BATCH_SIZES = {"default": 64, "dcgan64": 16, "face96": 16, "face64_small": 32, "tiny": 2}
_RESULT_PREFIX = "RESULT "


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", default="default,face96", help="comma-separated")
    parser.add_argument("--computations", default=",".join(COMPUTATIONS), help="comma-separated")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny network, in-process")
    parser.add_argument(
        "--worker", nargs=2, metavar=("PRESET", "COMPUTATION"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.presets, args.repeats = "tiny", 1
    return args


def _networks(preset: str):
    from keras_facegen.models import dcgan_discriminator, dcgan_generator

    if preset == "default":
        return dcgan_generator(latent_dim=64, resolution=32), dcgan_discriminator(resolution=32)
    if preset == "tiny":
        return (
            dcgan_generator(latent_dim=8, resolution=16, filters=[16, 8], kernel_size=5),
            dcgan_discriminator(resolution=16, filters=[8, 16], kernel_size=5),
        )
    return dcgan_generator(preset), dcgan_discriminator(preset)


def time_layers(preset: str, computation: str, repeats: int) -> list[dict]:
    """Milliseconds per training step of each strided layer of ``preset`` under ``computation``."""
    import keras
    import numpy as np

    from keras_facegen.layers import SpaceToDepthConv2D, SubpixelConv2DTranspose, _strided

    if computation == "rewrite_conv":
        _strided.MATMUL_MIN_OUTPUT_CHANNELS = sys.maxsize
    elif computation == "rewrite_matmul":
        _strided.MATMUL_MIN_OUTPUT_CHANNELS = 0
    rewrite = {SubpixelConv2DTranspose: "subpixel", SpaceToDepthConv2D: "space_to_depth"}
    batch = BATCH_SIZES[preset]
    results = []
    for network in _networks(preset):
        for layer in network.layers:
            if type(layer) not in rewrite:
                continue
            config = layer.get_config()
            config["implementation"] = {"keras": "keras", "auto": "auto"}.get(
                computation, rewrite[type(layer)]
            )
            clone = type(layer).from_config(config)
            shape = tuple(layer.input.shape[1:])
            inputs = keras.Input(shape)
            shifted = keras.layers.Dense(shape[-1], name="shift")(inputs)  # needs d(input)
            model = keras.Model(inputs, clone(shifted))
            model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse")
            rng = np.random.default_rng(0)
            x = rng.normal(size=(batch, *shape)).astype("float32")
            y = np.zeros((batch, *model.output.shape[1:]), "float32")
            for _ in range(2):
                model.train_on_batch(x, y)
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                model.train_on_batch(x, y)
                samples.append(time.perf_counter() - start)
            results.append(
                {
                    "network": network.name.split("_")[-1],
                    "layer": layer.name,
                    "input": "x".join(str(s) for s in shape),
                    "filters": layer.filters,
                    "ms": 1000 * float(np.median(samples)),
                }
            )
    return results


def _run_worker(preset: str, computation: str, repeats: int) -> list[dict]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", preset, computation]
    completed = subprocess.run(
        [*command, "--repeats", str(repeats)], env=env, capture_output=True, text=True
    )
    for line in completed.stdout.splitlines():
        if line.startswith(_RESULT_PREFIX):
            return json.loads(line[len(_RESULT_PREFIX) :])
    raise RuntimeError(f"{preset}/{computation} failed:\n{completed.stderr[-3000:]}")


def table(preset: str, by_computation: dict[str, list[dict]]) -> str:
    """A markdown table: one row per layer, ms per computation, the fastest in bold."""
    names = list(by_computation)
    lines = [
        f"| {preset} | layer | input | filters | " + " | ".join(names) + " |",
        "|---|---|---|---:|" + "---:|" * len(names),
    ]
    first = by_computation[names[0]]
    for i, row in enumerate(first):
        times = [by_computation[name][i]["ms"] for name in names]
        best = min(times)
        cells = [f"**{t:.1f}**" if t == best else f"{t:.1f}" for t in times]
        lines.append(
            f"| {row['network']} | {row['layer']} | {row['input']} | {row['filters']} | "
            + " | ".join(cells)
            + " |"
        )
    totals = [sum(r["ms"] for r in by_computation[name]) for name in names]
    lines.append("| total | | | | " + " | ".join(f"{t:.1f}" for t in totals) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, dict[str, list[dict]]]:
    args = parse_args(argv)
    if args.worker:
        print(_RESULT_PREFIX + json.dumps(time_layers(*args.worker, args.repeats)))
        return {}
    import keras

    computations = args.computations.split(",")
    print(f"backend {keras.backend.backend()}: ms per training step (median of {args.repeats})")
    out = {}
    for preset in args.presets.split(","):
        if args.quick:
            by = {c: time_layers(preset, c, args.repeats) for c in computations}
        else:
            by = {c: _run_worker(preset, c, args.repeats) for c in computations}
        out[preset] = by
        print(table(preset, by) + "\n", flush=True)
    return out


if __name__ == "__main__":
    main()
