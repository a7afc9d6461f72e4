"""The C allocator's share of a train step: glibc as it is vs ``keras_facegen.runtime``'s settings.

Each configuration trains a preset with ``GAN.fit`` in its own process and reports, for the timed
steps only (after untimed warm-up steps that compile): images/s, wall, user and system CPU
seconds per step, and minor page faults per step (``getrusage``):

* ``default``: glibc's own settings (``KERAS_FACEGEN_ALLOCATOR=default``);
* ``tuned``: what ``import keras_facegen`` does (``runtime.tune_allocator``: ``mallopt``);
* ``env``: the same kind of settings through glibc's environment variables
  (``MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=17179869184
  MALLOC_TOP_PAD_=536870912``), the recipe the allocator change replaces.

Prints a table and the ratio ``tuned / default`` of images/s per backend and preset (best of
``--repeats`` timed runs, each configuration in its own process).

    python benchmarks/allocator.py                                   # face64_small on TensorFlow
    python benchmarks/allocator.py --backends tensorflow,jax,torch --presets face64_small,dcgan64
    python benchmarks/allocator.py --quick                           # smoke test (seconds)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CONFIGS: dict[str, dict[str, str]] = {
    "default": {"KERAS_FACEGEN_ALLOCATOR": "default"},
    "tuned": {},
    "env": {
        "MALLOC_MMAP_THRESHOLD_": "1073741824",
        "MALLOC_TRIM_THRESHOLD_": "17179869184",
        "MALLOC_TOP_PAD_": "536870912",
    },
}

WORKER = r"""
import json, resource, sys, time
preset, steps, warmup, repeats, batch_size, resolution = sys.argv[1:7]
steps, warmup, repeats = int(steps), int(warmup), int(repeats)
batch_size = int(batch_size) if batch_size != "-" else None
resolution = int(resolution) if resolution != "-" else None
import keras, numpy as np
from keras_facegen import models, runtime
from keras_facegen.data import synthetic_faces
keras.utils.set_random_seed(0)
kwargs = {"resolution": resolution} if resolution else {}
gan = models.gan_from_preset(preset, seed=0, **kwargs)
size = gan.generator.output_shape[1]
batch = batch_size or models.get_preset(preset).get("batch_size", 64)
images, _ = synthetic_faces(batch, resolution=size, seed=0)
gan.fit(np.resize(images, (batch * warmup, size, size, 3)), batch_size=batch, verbose=0)
data = np.resize(images, (batch * steps, size, size, 3))
runs = []
for _ in range(repeats):
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    gan.fit(data, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    runs.append({
        "images_per_s": batch * steps / wall,
        "wall_s": wall / steps,
        "user_s": (after.ru_utime - before.ru_utime) / steps,
        "sys_s": (after.ru_stime - before.ru_stime) / steps,
        "faults": (after.ru_minflt - before.ru_minflt) / steps,
    })
best = max(runs, key=lambda r: r["images_per_s"])
best["state"] = runtime.allocator_state()
best["batch_size"] = batch
print(json.dumps(best))
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", default="face64_small", help="comma-separated presets")
    parser.add_argument("--backends", default="tensorflow", help="comma-separated backends")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated")
    parser.add_argument("--steps", type=int, default=10, help="train steps per timed run")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (compilation)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per process")
    parser.add_argument("--batch-size", type=int, default=None, help="the preset's by default")
    parser.add_argument("--resolution", type=int, default=None, help="the preset's by default")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.add_argument("--quick", action="store_true", help="tiny smoke-test settings")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.warmup, args.repeats, args.batch_size, args.resolution = 2, 1, 1, 4, 32
        args.presets = "face64_small"
    return args


def run(backend: str, preset: str, config: str, args: argparse.Namespace) -> dict:
    """One configuration in a fresh process; its JSON result."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIGS["env"]}
    env.pop("KERAS_FACEGEN_ALLOCATOR", None)
    env.update(CONFIGS[config], KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    if backend == "torch":
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    command = [
        sys.executable,
        "-c",
        WORKER,
        preset,
        str(args.steps),
        str(args.warmup),
        str(args.repeats),
        str(args.batch_size or "-"),
        str(args.resolution or "-"),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{backend}/{preset}/{config} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[dict]:
    """Runs every backend x preset x configuration; prints the table and the ratios."""
    args = parse_args(argv)
    load = os.getloadavg()[0]
    results = []
    for backend in args.backends.split(","):
        for preset in args.presets.split(","):
            for config in args.configs.split(","):
                result = run(backend, preset, config, args)
                result.update(backend=backend, preset=preset, config=config)
                results.append(result)
                if args.json:
                    print(json.dumps(result), flush=True)
    print(f"load average at start {load:.2f}; {args.steps} steps x best of {args.repeats}")
    print("| backend | preset | allocator | images/s | s/step | user s | sys s | faults/step |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['backend']} | {r['preset']} | {r['config']} ({r['state']}) "
            f"| {r['images_per_s']:.2f} | {r['wall_s']:.3f} | {r['user_s']:.3f} "
            f"| {r['sys_s']:.3f} | {r['faults']:.0f} |"
        )
    for backend in args.backends.split(","):
        for preset in args.presets.split(","):
            by = {
                r["config"]: r for r in results if (r["backend"], r["preset"]) == (backend, preset)
            }
            if "tuned" in by and "default" in by:
                ratio = by["tuned"]["images_per_s"] / by["default"]["images_per_s"]
                print(f"{backend} {preset}: tuned / default = {ratio:.2f}")
    return results


if __name__ == "__main__":
    main()
