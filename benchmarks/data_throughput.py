"""Images per second of the on-disk cache stream against the in-memory stream, at 64² and 128².

All sides serve the same images in the same order as float32 batches in [-1, 1]:

- memory: ``load_images(folder, R)`` decodes the folder into RAM once (timed separately), then
  ``ShuffledBatches(images, batch_size, seed)`` gathers each batch from the array;
- cache: ``open_cache(cache).batches(R, batch_size, seed, prefetch=0)`` reads each batch on
  demand from the sharded ``.npy`` files written once by ``prepare_cache(folder, cache, 128)``
  (positional reads straight into the batch);
- cache+ahead: the same with the default read-ahead (``prefetch=2``: two threads prepare the
  next batches while the consumer works).

Each side runs in its own process (neither sees the other's memory); the sides alternate and
each keeps its best of ``--repeats`` runs. The folder is synthetic faces saved as PNG; its cache
files are in the OS page cache when timed (just written), so this measures the streaming path
itself, not a cold disk. ``--step-ms`` makes the consumer sleep that long per batch (a train
step releasing the GIL, as XLA, TensorFlow and PyTorch kernels do): read-ahead then hides the
reads behind it; with the default 0 the loop only fetches, the worst case for the cache.

    python benchmarks/data_throughput.py                # 64² and 128², 2048 images
    python benchmarks/data_throughput.py --step-ms 20   # with a 20 ms "train step"
    python benchmarks/data_throughput.py --quick        # smoke test (seconds)

Prints ``ratio = cache images/s / memory images/s`` per resolution for both cache sides
(target >= 0.8: streaming from disk costs at most a fifth of the in-memory speed), and each
side's peak memory growth (the data it holds beyond the imports).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 0.8
SIDES = ("memory", "cache", "cache+ahead")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke-test settings")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--num-images", type=int, default=2048, help="images in the folder")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=100, help="timed batches per run")
    parser.add_argument("--repeats", type=int, default=3, help="alternating timed runs per side")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--step-ms", type=float, default=0.0, help="consumer time per batch")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--resolution", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.num_images, args.batches, args.repeats, args.batch_size = 64, 8, 1, 16
        args.resolutions = [16, 32]
    return args


def run_side(args) -> dict:
    """One side, in this process: images/s over ``--batches`` batches, and peak memory."""
    from keras_facegen.data import ShuffledBatches, load_images, open_cache

    resolution = args.resolution
    base = _reset_peak_memory()
    start = time.perf_counter()
    if args.side == "memory":
        images = load_images(args.workdir / "folder", resolution)
        stream = ShuffledBatches(images, args.batch_size, seed=0)
    else:
        cache = open_cache(args.workdir / "cache")
        prefetch = 0 if args.side == "cache" else 2
        stream = cache.batches(resolution, args.batch_size, seed=0, prefetch=prefetch)
    setup = time.perf_counter() - start
    stream[0]  # first batch (and the read-ahead threads) outside the timing
    start = time.perf_counter()
    for i in range(1, args.batches + 1):
        stream[i]
        if args.step_ms:
            time.sleep(args.step_ms / 1000)
    seconds = time.perf_counter() - start
    checksum = sum(float((stream[i] + 1.0).sum(dtype="float64")) for i in range(4))
    return {
        "images_per_second": args.batches * args.batch_size / seconds,
        "setup_seconds": setup,
        "peak_rss_mb": (_peak_memory() - base) / 2**20,
        "checksum": checksum,
    }


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_memory() -> int:
    """Resets the peak resident memory where Linux allows; returns the current one in bytes."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass
    current = _status_kib("VmRSS")
    if current is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return current * 1024


def _peak_memory() -> int:
    peak = _status_kib("VmHWM")
    if peak is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return peak * 1024


def side_in_subprocess(args, side: str, resolution: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--side",
        side,
        "--resolution",
        str(resolution),
        "--workdir",
        str(args.workdir),
        "--batch-size",
        str(args.batch_size),
        "--batches",
        str(args.batches),
        "--step-ms",
        str(args.step_ms),
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise RuntimeError(f"{side} side failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare(args) -> dict:
    """Writes the folder of PNG faces and its cache; returns how long each took."""
    from PIL import Image

    from keras_facegen.data import prepare_cache, synthetic_faces

    top = max(args.resolutions)
    folder = args.workdir / "folder"
    folder.mkdir(parents=True)
    start = time.perf_counter()
    for first in range(0, args.num_images, 512):
        count = min(512, args.num_images - first)
        images, _ = synthetic_faces(count, resolution=top, seed=first)
        pixels = ((images + 1.0) * 127.5).round().clip(0, 255).astype("uint8")
        for i, image in enumerate(pixels):
            Image.fromarray(image).save(folder / f"{first + i:06d}.png", compress_level=1)
    written = time.perf_counter() - start
    start = time.perf_counter()
    prepare_cache(folder, args.workdir / "cache", top)
    prepared = time.perf_counter() - start
    return {"write_folder_seconds": written, "prepare_cache_seconds": prepared}


def main(args) -> dict:
    if args.side:
        result = run_side(args)
        print(json.dumps(result))
        return result
    with tempfile.TemporaryDirectory(prefix="facegen-data-bench-") as scratch:
        if args.workdir is None:
            args.workdir = Path(scratch)
        args.workdir = args.workdir.resolve()
        timings = prepare(args)
        results = {"num_images": args.num_images, "batch_size": args.batch_size, **timings}
        results["prepare_images_per_second"] = args.num_images / timings["prepare_cache_seconds"]
        for resolution in args.resolutions:
            best: dict[str, dict] = {}
            for _ in range(args.repeats):
                for side in SIDES:
                    run = side_in_subprocess(args, side, resolution)
                    if run["images_per_second"] > best.get(side, run)["images_per_second"]:
                        best[side] = run
                    best.setdefault(side, run)
            # Same images in the same order: identical at the top resolution; below it the
            # cache halves its top level while load_images resizes each file directly (Pillow
            # rounds differently: values differ by at most one level in 255).
            tolerance = 0.0 if resolution == max(args.resolutions) else 1e-2
            memory_sum = best["memory"]["checksum"]
            for side in SIDES[1:]:
                if abs(memory_sum - best[side]["checksum"]) > tolerance * memory_sum + 1e-3:
                    raise RuntimeError(
                        f"memory and {side} served different images at {resolution}²: "
                        f"checksums {memory_sum} and {best[side]['checksum']}."
                    )
            speed = {side: best[side]["images_per_second"] for side in SIDES}
            results[str(resolution)] = {
                **best,
                "ratio": speed["cache"] / speed["memory"],
                "ratio_ahead": speed["cache+ahead"] / speed["memory"],
            }
    if args.json:
        print(json.dumps(results))
        return results
    print(
        f"{args.num_images} PNG faces: folder written in {results['write_folder_seconds']:.1f} s, "
        f"cache prepared in {results['prepare_cache_seconds']:.1f} s "
        f"({results['prepare_images_per_second']:.0f} images/s)"
    )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    step = f", consumer step {args.step_ms:g} ms" if args.step_ms else ""
    for resolution in args.resolutions:
        r = results[str(resolution)]
        memory = r["memory"]
        print(
            f"{resolution}x{resolution}, batch {args.batch_size}{step}: memory "
            f"{memory['images_per_second']:.0f} images/s (load {memory['setup_seconds']:.1f} s, "
            f"holds {memory['peak_rss_mb']:.0f} MB)"
        )
        for side, key in (("cache", "ratio"), ("cache+ahead", "ratio_ahead")):
            run = r[side]
            print(
                f"  {side:<11} {run['images_per_second']:.0f} images/s (open "
                f"{run['setup_seconds']:.2f} s, holds {run['peak_rss_mb']:.0f} MB): "
                f"ratio = {side} / memory = {r[key]:.2f} (target >= {TARGET_RATIO})"
            )
    return results


if __name__ == "__main__":
    main(parse_args())
