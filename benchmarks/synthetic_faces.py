"""Benchmark: how fast keras_facegen.data.synthetic_faces draws faces.

Times 10,000 faces at 64x64 against the 10 s target, and compares with a plain reference: a
naive per-image PIL.ImageDraw face (ellipses and arcs, no anti-aliasing, far fewer features),
drawn for a few hundred images in the same process. Optionally writes the documentation grid.

    python benchmarks/synthetic_faces.py            # full run
    python benchmarks/synthetic_faces.py --quick    # smoke test, a second or two
    python benchmarks/synthetic_faces.py --grid docs/images/synthetic_faces.png
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from keras_facegen.data import synthetic_faces

TARGET_SECONDS = 10.0
TARGET_IMAGES = 10_000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-images", type=int, default=TARGET_IMAGES)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--reference-images", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--grid", type=Path, default=None, help="write an 8x8 PNG grid here")
    parser.add_argument("--grid-resolution", type=int, default=64)
    args = parser.parse_args(argv)
    if args.quick:
        args.num_images, args.reference_images, args.repeats = 200, 20, 1
    return args


def naive_pil_faces(num_images: int, resolution: int, seed: int = 0) -> np.ndarray:
    """The reference: one face at a time with PIL.ImageDraw, a Python loop per image."""
    rng = np.random.default_rng(seed)
    out = np.empty((num_images, resolution, resolution, 3), dtype=np.float32)
    r = resolution
    for i in range(num_images):
        bg, skin, hair = (tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(3))
        yaw, smile = rng.uniform(-1, 1, 2)
        image = Image.new("RGB", (r, r), bg)
        draw = ImageDraw.Draw(image)
        shift = yaw * 0.12 * r
        draw.ellipse([0.18 * r, 0.08 * r, 0.82 * r, 0.7 * r], fill=hair)
        draw.ellipse([0.24 * r, 0.18 * r, 0.76 * r, 0.9 * r], fill=skin)
        for side in (-1, 1):
            ex = 0.5 * r + side * 0.12 * r + shift
            draw.ellipse([ex - 0.06 * r, 0.42 * r, ex + 0.06 * r, 0.5 * r], fill=(245, 245, 240))
            draw.ellipse([ex - 0.02 * r, 0.44 * r, ex + 0.02 * r, 0.48 * r], fill=(20, 15, 15))
        top = 0.64 * r - smile * 0.05 * r
        box = [0.38 * r + shift, top, 0.62 * r + shift, top + 0.1 * r]
        draw.arc(box, 0 if smile >= 0 else 180, 180 if smile >= 0 else 360, fill=(150, 40, 50))
        out[i] = np.asarray(image, dtype=np.float32) / 127.5 - 1
    return out


def best_time(fn, repeats: int) -> tuple[float, float]:
    """Best wall-clock and CPU seconds over ``repeats`` runs (CPU time shows the cost on a busy
    machine, where wall-clock time mostly measures the neighbours)."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def save_grid(path: Path, resolution: int, rows: int = 8, seed: int = 0) -> Path:
    """An rows x rows PNG of faces (own tiny grid code: no dependency on keras_facegen.sampling)."""
    images, _ = synthetic_faces(rows * rows, resolution=resolution, seed=seed)
    pixels = np.round((images + 1) * 127.5).astype(np.uint8)
    grid = pixels.reshape(rows, rows, resolution, resolution, 3).swapaxes(1, 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid.reshape(rows * resolution, rows * resolution, 3)).save(path)
    return path


def main(args) -> dict[str, float]:
    synthetic_faces(8, resolution=args.resolution)  # warm-up: imports, first allocations
    seconds, cpu_seconds = best_time(
        lambda: synthetic_faces(args.num_images, resolution=args.resolution), args.repeats
    )
    rate = args.num_images / seconds
    projected = TARGET_IMAGES / rate
    reference_seconds, _ = best_time(
        lambda: naive_pil_faces(args.reference_images, args.resolution), 1
    )
    reference_rate = args.reference_images / reference_seconds
    print(
        f"synthetic_faces: {args.num_images} images at {args.resolution}x{args.resolution} "
        f"in {seconds:.2f} s = {rate:,.0f} images/s ({cpu_seconds:.2f} s of CPU time)"
    )
    print(
        f"  {TARGET_IMAGES} images would take {projected:.2f} s: "
        f"{projected / TARGET_SECONDS:.2f}x the {TARGET_SECONDS:.0f} s target"
    )
    print(
        f"naive PIL.ImageDraw reference: {reference_rate:,.0f} images/s "
        f"({args.reference_images} images); synthetic_faces is {rate / reference_rate:.1f}x that"
    )
    if args.grid is not None:
        print(f"wrote {save_grid(args.grid, args.grid_resolution)}")
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "images_per_second": rate,
        "target_ratio": projected / TARGET_SECONDS,
        "reference_images_per_second": reference_rate,
    }


if __name__ == "__main__":
    main(parse_args())
