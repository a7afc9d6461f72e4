"""Trains and exports the pretrained models shipped inside the package.

``face64_synthetic`` is the ``face64_small`` preset (16-d uniform latent, 64x64) trained on the
built-in synthetic faces with a generator EMA. Its settings live in :data:`SETTINGS` below and
in ``docs/explorer.md``; the run is resumable and exact, so an interrupted run continued with
``--resume`` gives the same weights as an uninterrupted one.

Usage (from the repository root; the run takes about 45 minutes on 2 CPU cores)::

    KERAS_BACKEND=tensorflow python scripts/make_pretrained.py
    KERAS_BACKEND=tensorflow python scripts/make_pretrained.py --resume   # after a stop
    KERAS_BACKEND=tensorflow python scripts/make_pretrained.py --resume --steps 6000
        # stop early at a checkpoint (6000 = steps already done) and export what is there

It writes ``keras_facegen/pretrained/face64_synthetic/{generator,discriminator}.keras`` and
``facegen.json`` (the settings, the step count, the backend).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DATA = REPO / "keras_facegen" / "pretrained"

#: The recipe of each shipped model: ``keras-facegen train`` arguments.
SETTINGS = {
    "face64_synthetic": {
        "preset": "face64_small",
        "data": "synthetic",
        "num_images": 10000,
        "steps": 10000,
        "ema": 0.995,
        "seed": 0,
        "checkpoint_every": 500,
    },
}


def parse_args() -> argparse.Namespace:
    """The command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default="face64_synthetic", choices=sorted(SETTINGS))
    parser.add_argument("--steps", type=int, default=None, help="override the recipe's steps")
    parser.add_argument(
        "--work", type=Path, default=REPO / "runs" / "pretrained", help="run folder (not shipped)"
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in --work")
    return parser.parse_args()


def main(args: argparse.Namespace) -> None:
    """Trains (or resumes) the named model's run and copies its models into the package."""
    from keras_facegen import cli

    settings = dict(SETTINGS[args.name])
    if args.steps is not None:
        settings["steps"] = args.steps
    work = args.work / args.name
    argv = [
        "train",
        "--preset", settings["preset"],
        "--data", settings["data"],
        "--num-images", str(settings["num_images"]),
        "--steps", str(settings["steps"]),
        "--ema", str(settings["ema"]),
        "--seed", str(settings["seed"]),
        "--checkpoint-every", str(settings["checkpoint_every"]),
        "--out", str(work),
        "--quiet",
    ]  # fmt: skip
    if args.resume:
        argv.append("--resume")
    status = cli.main(argv)
    if status:
        raise SystemExit(status)

    target = PACKAGE_DATA / args.name
    target.mkdir(parents=True, exist_ok=True)
    for name in ("generator.keras", "discriminator.keras"):
        shutil.copyfile(work / name, target / name)
    info = json.loads((work / "facegen.json").read_text())
    info.update(
        {
            "name": args.name,
            "recipe": settings,
            "made_by": "scripts/make_pretrained.py",
        }
    )
    (target / "facegen.json").write_text(json.dumps(info, indent=2) + "\n")
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.2f} MB" for p in sorted(target.iterdir()))
    print(f"exported {args.name} ({info['steps']} steps) to {target}: {sizes}")


if __name__ == "__main__":
    main(parse_args())
