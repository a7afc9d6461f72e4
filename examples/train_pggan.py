"""Train a progressive GAN (4x4 -> 64x64) on the built-in synthetic faces or a folder of images.

Runs on any Keras backend (``KERAS_BACKEND=tensorflow|jax|torch``). The network grows one
resolution at a time: each new block is faded in over ``--phase-images`` images, then trained
stable for as many. The run folder gets a grid per stage, ``progression.png`` (every stage's
last samples side by side), a checkpoint and the final networks::

    python examples/train_pggan.py --phase-images 3000 --out runs/pggan64
    python examples/train_pggan.py --resolution 32 --phase-images 500 --out runs/quick
    python examples/train_pggan.py --preset pggan128 --data ~/faces --out runs/pggan128

Rerun with ``--resume`` to continue an interrupted run exactly where it stopped (also in the
middle of a fade).
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

import keras

from keras_facegen import models, training


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    progressive = [n for n in models.preset_names() if models.get_preset(n)["family"] == "pggan"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="pggan64_small", choices=progressive)
    parser.add_argument("--data", default="synthetic", help="'synthetic' or an image folder")
    parser.add_argument("--num-images", type=int, default=10000, help="synthetic faces")
    parser.add_argument("--resolution", type=int, default=None, help="default: the preset's")
    parser.add_argument(
        "--phase-images",
        type=int,
        default=None,
        help="images per fade and per stable phase (default: the preset's)",
    )
    parser.add_argument("--checkpoint-every", type=int, default=200, help="train steps")
    parser.add_argument("--num-samples", type=int, default=64, help="faces per grid")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--overwrite", action="store_true", help="replace a run in --out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.add_argument("--out", type=Path, default=Path("runs/train_pggan"))
    parser.add_argument(
        "--docs-images",
        type=Path,
        default=None,
        help="also copy the grids to this folder as pggan_*.png (docs/images for the docs page)",
    )
    return parser.parse_args(argv)


def main(args: argparse.Namespace) -> training.TrainResult:
    keras.utils.set_random_seed(args.seed)
    preset = models.get_preset(args.preset)
    resolution = args.resolution or preset["resolution"]

    # === Data (at the final resolution; each stage sees it average-pooled) ===
    images = training.training_images(args.data, resolution, args.num_images, args.seed)

    # === Model: full-resolution networks, schedule, WGAN-GP + drift, Adam(1e-3, 0, 0.99) ===
    gan = models.progressive_gan_from_preset(
        preset, resolution=resolution, phase_images=args.phase_images, seed=args.seed
    )

    # === Training: stage by stage, grids per stage, atomic checkpoints, exact resume ===
    result = training.train_progressive(
        gan,
        images,
        args.out,
        resume=args.resume,
        overwrite=args.overwrite,
        checkpoint_every=args.checkpoint_every,
        num_samples=args.num_samples,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        info={"preset": args.preset, "data": args.data, "phase_images": args.phase_images},
    )
    seen = gan.counter_values()["images_seen"]
    print(f"trained {result.steps} steps ({seen:,} images) on {keras.backend.backend()}")
    print(f"generator:   {result.generator_path}")
    print(f"progression: {args.out / training.PROGRESSION_FILE}")
    print(f"samples:     {result.samples_path} (and {args.out / 'samples'}/stage_*.png)")
    if args.docs_images is not None:
        args.docs_images.mkdir(parents=True, exist_ok=True)
        copies = {args.out / training.PROGRESSION_FILE: "pggan_progression.png"}
        copies[result.samples_path] = "pggan_samples.png"
        for grid in sorted((args.out / "samples").glob("stage_*.png")):
            copies[grid] = f"pggan_{grid.name}"
        for source, name in copies.items():
            shutil.copyfile(source, args.docs_images / name)
        print(f"docs images: {', '.join(sorted(copies.values()))} in {args.docs_images}")
    return result


if __name__ == "__main__":
    main(parse_args())
