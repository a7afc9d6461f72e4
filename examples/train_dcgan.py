"""Train a face DCGAN on the built-in synthetic faces (or a folder of images).

Runs on any Keras backend (``KERAS_BACKEND=tensorflow|jax|torch``). The defaults finish in a
few minutes on a laptop CPU and write sample grids, a checkpoint and the trained generator::

    python examples/train_dcgan.py --steps 1500 --out runs/example
    python examples/train_dcgan.py --preset face96 --data ~/faces --steps 20000 --out runs/f96

Rerun with ``--resume`` to continue an interrupted run exactly where it stopped.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import keras

from keras_facegen import models, training


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="face64_small", choices=models.preset_names())
    parser.add_argument("--data", default="synthetic", help="'synthetic' or an image folder")
    parser.add_argument("--num-images", type=int, default=10000, help="synthetic faces")
    parser.add_argument("--resolution", type=int, default=None, help="default: the preset's")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--no-matching", action="store_true", help="plain adversarial loss")
    parser.add_argument("--ema", type=float, default=None, help="generator EMA decay")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier run in --out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/train_dcgan"))
    return parser.parse_args(argv)


def main(args: argparse.Namespace) -> training.TrainResult:
    keras.utils.set_random_seed(args.seed)
    preset = models.get_preset(args.preset)
    resolution = args.resolution or preset["resolution"]

    # === Data ===
    images = training.training_images(args.data, resolution, args.num_images, args.seed)

    # === Model: the preset's networks, loss, matching terms and optimizers ===
    gan = models.gan_from_preset(
        preset,
        matching=not args.no_matching,
        resolution=resolution,
        ema_decay=args.ema,
        seed=args.seed,
    )

    # === Training: sample grids, atomic checkpoints, exact resume ===
    result = training.train(
        gan,
        images,
        args.out,
        steps=args.steps,
        batch_size=args.batch_size or preset["batch_size"],
        resume=args.resume,
        overwrite=args.overwrite,
        checkpoint_every=min(args.checkpoint_every, args.steps),
        seed=args.seed,
        info={"preset": args.preset, "data": args.data},
    )
    last = {key: round(values[-1], 4) for key, values in result.history.items()}
    print(f"trained {result.steps} steps on {keras.backend.backend()}; last epoch: {last}")
    print(f"generator: {result.generator_path}")
    print(f"samples:   {result.samples_path} (and {args.out / 'samples'}/)")
    return result


if __name__ == "__main__":
    main(parse_args())
