"""The C allocator's share of a train step: glibc as it is vs ``keras_facegen.runtime``'s settings.

Each configuration trains a preset with ``GAN.fit`` in its own process and reports, for the timed
steps only (after untimed warm-up steps that compile): images/s, wall, user and system CPU
seconds per step, and minor page faults per step (``getrusage``):

* ``default``: glibc's own settings (``KERAS_FACEGEN_ALLOCATOR=default``);
* ``tuned``: what ``import keras_facegen`` does (``runtime.tune_allocator``: ``mallopt``,
  every thread on the main heap);
* ``arenas``: the same but glibc's per-thread heaps kept (``KERAS_FACEGEN_ALLOCATOR=arenas``,
  the library's setting before ``M_ARENA_MAX``);
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

from _common import (
    add_fit_timing_options,
    block_other_frameworks,
    fit_timing_arguments,
    quick_fit_timing,
    run_worker,
    time_preset_fit,
)

CONFIGS: dict[str, dict[str, str]] = {
    "default": {"KERAS_FACEGEN_ALLOCATOR": "default"},
    "tuned": {},
    "arenas": {"KERAS_FACEGEN_ALLOCATOR": "arenas"},
    "env": {
        "MALLOC_MMAP_THRESHOLD_": "1073741824",
        "MALLOC_TRIM_THRESHOLD_": "17179869184",
        "MALLOC_TOP_PAD_": "536870912",
    },
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", default="face64_small", help="comma-separated presets")
    parser.add_argument("--backends", default="tensorflow", help="comma-separated backends")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated")
    add_fit_timing_options(parser, steps=10, warmup=2)
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.add_argument("--quick", action="store_true", help="tiny smoke-test settings")
    parser.add_argument("--worker", metavar="PRESET", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        quick_fit_timing(args)
        args.presets = "face64_small"
    return args


def run(backend: str, preset: str, config: str, args: argparse.Namespace) -> dict:
    """One configuration in a fresh process; its JSON result."""
    env: dict[str, str | None] = {k: None for k in (*CONFIGS["env"], "KERAS_FACEGEN_ALLOCATOR")}
    env.update(CONFIGS[config])
    if backend == "torch":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    arguments = ["--worker", preset, *fit_timing_arguments(args)]
    return run_worker(__file__, arguments, backend, env=env)


def worker(args: argparse.Namespace) -> None:
    """Inside the fresh process: time the preset, print one JSON line."""
    block_other_frameworks()
    from keras_facegen import runtime

    result = time_preset_fit(
        args.worker, args.steps, args.warmup, args.repeats, args.batch_size, args.resolution
    )
    print(json.dumps({**result, "state": runtime.allocator_state()}))


def main(argv: list[str] | None = None) -> list[dict]:
    """Runs every backend x preset x configuration; prints the table and the ratios."""
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return []
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
