"""What discriminator augmentation adds to a ``face64_small`` train step, per backend.

Each *side* runs in its own process (a fresh backend, nothing cached from the other side):
``none`` (no augmentation), ``diffaugment`` (``Augment("diffaugment")``, every transform on every
image), ``ada`` (``ADA(p=1, target=1)``: ``r_t`` never exceeds the target, so ``p`` stays at 1
and every transform runs on every image, the worst case; a step runs for the whole batch as soon
as one image picked it, so any ``p`` above a few percent costs about the same) and ``ada_p0``
(``ADA()`` as training starts: ``p = 0``, every step skipped). Each process warms up (compiles)
on two batches, then times ``--repeats`` runs of ``--steps`` batches of ``fit``; the table shows the
best run, and the overhead of each side over ``none`` on the same backend. The issue's budget is
15 %.

    python benchmarks/augment_cost.py                         # every backend, every side
    python benchmarks/augment_cost.py --backends jax --steps 10
    python benchmarks/augment_cost.py --quick                 # smoke test: tiny, in-process

``--quick`` runs every side in this process on this backend: 32x32, batch 4, one warm-up batch
and one timed one; on TensorFlow the steps run eagerly (tracing each side's ``tf.function`` was
most of a quick run).

Timings are only meaningful on an idle machine: the table prints the load average of each run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _common import quick_eager

BACKENDS = ("tensorflow", "jax", "torch")
SIDES = ("none", "diffaugment", "ada", "ada_p0")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny, this backend, in-process")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_size, args.steps, args.repeats = 4, 1, 1
    return args


def _augment(side):
    from keras_facegen.augment import ADA, Augment

    if side == "none":
        return None
    if side == "diffaugment":
        return Augment("diffaugment", seed=0)
    if side == "ada_p0":
        # ADA as training starts (and stays on large data sets): p = 0, steps skipped.
        return ADA(seed=0)
    # p = 1 and a target r_t never exceeds: every transform on every image, the worst case.
    return ADA(target=1.0, p=1.0, seed=0)


def run_side(side, batch, steps, repeats, quick=False):
    """Times ``fit`` with one side's augmentation in this process."""
    import keras
    import numpy as np

    from keras_facegen.models import gan_from_preset

    resolution = 32 if quick else 64
    gan = gan_from_preset("face64_small", resolution=resolution, seed=0, augment=_augment(side))
    images = np.random.default_rng(0).uniform(-1, 1, (batch * 2, resolution, resolution, 3))
    images = images.astype("float32")
    gan.run_eagerly = quick_eager(quick)  # tracing the step was most of a smoke run
    warmup = images[:batch] if quick else images  # quick: one batch (it compiles the step)
    gan.fit(warmup, batch_size=batch, epochs=1, verbose=0)  # compile
    runs = []
    for _ in range(repeats):
        data = np.concatenate([images] * max(1, -(-steps // 2)))[: batch * steps]
        started = time.perf_counter()
        gan.fit(data, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        runs.append(batch * steps / (time.perf_counter() - started))
    return {
        "backend": keras.backend.backend(),
        "side": side,
        "batch_size": batch,
        "images_per_s": max(runs),
        "runs": runs,
        "load_average": round(os.getloadavg()[0], 1),
    }


def _run_worker(side, backend, args):
    command = [sys.executable, __file__, "--worker", side, "--batch-size", str(args.batch_size)]
    command += ["--steps", str(args.steps), "--repeats", str(args.repeats)]
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def table(results):
    """Markdown rows with each side's overhead over ``none`` on its backend."""
    base = {r["backend"]: r["images_per_s"] for r in results if r["side"] == "none"}
    lines = [
        "| backend | side | batch | images/s | step time vs none | load average |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = base.get(r["backend"])
        overhead = f"{ratio / r['images_per_s'] - 1:+.0%}" if ratio else "n/a"
        lines.append(
            f"| {r['backend']} | {r['side']} | {r['batch_size']} | {r['images_per_s']:.1f} | "
            f"{overhead} | {r['load_average']} |"
        )
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_side(args.worker, args.batch_size, args.steps, args.repeats)))
        return None
    sides = [s for s in args.sides.split(",") if s]
    unknown = [s for s in sides if s not in SIDES]
    if unknown:
        raise SystemExit(f"--sides: unknown {unknown}; choose from {list(SIDES)}")
    if args.quick:
        results = [
            run_side(s, args.batch_size, args.steps, args.repeats, quick=True) for s in sides
        ]
    else:
        results = [
            _run_worker(side, backend, args)
            for backend in args.backends.split(",")
            for side in sides
        ]
    print(table(results))
    return results


if __name__ == "__main__":
    main()
