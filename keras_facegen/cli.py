"""The ``keras-facegen`` command line.

Each subcommand only wires library functions together; everything it does can be done from
Python with the functions it calls. Heavy imports (Keras and a backend) happen inside the
subcommands, so ``keras-facegen --help`` and ``--version`` answer at once.

Subcommands:
    train   Train a DCGAN preset on the built-in synthetic faces or an image folder.
    sample  Write a grid of generated faces (optionally ranked by the discriminator).
    morph   Write a morphing GIF between two faces given as hex codes or seeds.
    code    Encode, decode and average hex face codes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from keras_facegen import __version__


def build_parser() -> argparse.ArgumentParser:
    """Builds the argument parser of the ``keras-facegen`` command.

    Returns:
        The parser, with one subparser per subcommand.
    """
    parser = argparse.ArgumentParser(
        prog="keras-facegen",
        description=(
            "Generate faces with GANs on Keras 3 (TensorFlow, JAX or PyTorch; pick one with "
            "the KERAS_BACKEND environment variable)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"keras-facegen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser("train", help="train a DCGAN on synthetic faces or an image folder")
    train.add_argument("--preset", default="face96", help="model preset (default: face96)")
    train.add_argument(
        "--data",
        default="synthetic",
        help="'synthetic' for the built-in procedural faces, or a folder of images",
    )
    train.add_argument("--steps", type=int, default=2000, help="total training steps")
    train.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    train.add_argument(
        "--resolution", type=int, default=None, help="image size (default: the preset's)"
    )
    train.add_argument("--out", type=Path, default=Path("runs/facegen"), help="output folder")
    train.add_argument("--resume", action="store_true", help="continue from --out's checkpoint")
    train.add_argument(
        "--no-matching",
        action="store_true",
        help="train without feature matching and mean-image matching",
    )
    train.add_argument("--sample-every", type=int, default=None, help="steps between grids")
    train.add_argument("--checkpoint-every", type=int, default=None, help="steps between saves")
    train.add_argument(
        "--num-images", type=int, default=10000, help="synthetic faces to draw (default: 10000)"
    )
    train.add_argument(
        "--ema",
        type=float,
        default=None,
        metavar="DECAY",
        help="keep an EMA of the generator weights (e.g. 0.99); grids and generator.keras use it",
    )
    train.add_argument("--seed", type=int, default=0, help="random seed")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    sample = sub.add_parser("sample", help="write a grid of generated faces")
    sample.add_argument("--model", type=Path, required=True, help="a generator .keras file")
    sample.add_argument("--num", type=int, default=16, help="number of faces")
    sample.add_argument("--out", type=Path, default=Path("grid.png"), help="PNG or JPEG path")
    sample.add_argument("--seed", type=int, default=0, help="latent seed")
    sample.add_argument("--rows", type=int, default=None, help="grid rows (default: square)")
    sample.add_argument(
        "--rank",
        action="store_true",
        help="rank faces by the discriminator and write the worst/best two-row sheet",
    )
    sample.add_argument(
        "--discriminator",
        type=Path,
        default=None,
        help="discriminator .keras for --rank (default: discriminator.keras beside --model)",
    )
    sample.add_argument("--top-k", type=int, default=10, help="faces per row with --rank")

    morph = sub.add_parser("morph", help="write a morphing GIF between two faces")
    source = morph.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=Path, help="a generator .keras file")
    source.add_argument("--hub", metavar="HANDLE", help="a TF-Hub ProGAN handle or folder")
    morph.add_argument("--from", dest="start", required=True, help="hex code or integer seed")
    morph.add_argument("--to", dest="end", required=True, help="hex code or integer seed")
    morph.add_argument("--steps", type=int, default=25, help="frames (default: 25)")
    morph.add_argument(
        "--method",
        choices=("hypersphere", "slerp", "lerp", "line"),
        default="hypersphere",
        help="interpolation (default: hypersphere)",
    )
    morph.add_argument("--duration", type=int, default=80, help="milliseconds per frame")
    morph.add_argument("--out", type=Path, default=Path("morph.gif"), help="GIF path")

    code = sub.add_parser("code", help="encode, decode or average hex face codes")
    code_sub = code.add_subparsers(dest="code_command", metavar="ACTION", required=True)
    encode = code_sub.add_parser("encode", help="latent numbers in [-1, 1] -> hex code")
    encode.add_argument("values", nargs="+", type=float, help="latent coordinates")
    decode = code_sub.add_parser("decode", help="hex code -> latent numbers")
    decode.add_argument("code", help="hex code")
    average = code_sub.add_parser("average", help="byte-wise average of hex codes")
    average.add_argument("codes", nargs="+", help="hex codes of equal length")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``keras-facegen`` command.

    Args:
        argv: Command-line arguments without the program name; defaults to ``sys.argv[1:]``.

    Returns:
        The process exit status (0 on success, 2 on bad input).
    """
    # TensorFlow's C++ start-up chatter (CUDA probes on CPU machines) buries the output.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    handler = _COMMANDS[args.command]
    try:
        handler(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"keras-facegen {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


def _print_json(value: Any) -> None:
    print(json.dumps(value))


def _cmd_code(args: argparse.Namespace) -> None:
    from keras_facegen import latent

    if args.code_command == "encode":
        print(latent.encode_hex(args.values))
    elif args.code_command == "decode":
        _print_json([round(float(v), 6) for v in latent.decode_hex(args.code)])
    else:
        print(latent.average_codes(args.codes))


def _cmd_train(args: argparse.Namespace) -> None:
    import keras

    from keras_facegen import models, training

    # --seed fixes the whole run: initial weights, data order, latents.
    keras.utils.set_random_seed(args.seed)
    preset = models.get_preset(args.preset)
    batch_size = args.batch_size or preset["batch_size"]
    resolution = args.resolution or preset["resolution"]
    images = training.training_images(args.data, resolution, args.num_images, args.seed)
    gan = models.gan_from_preset(
        preset,
        matching=not args.no_matching,
        resolution=resolution,
        ema_decay=args.ema,
        seed=args.seed,
    )
    result = training.train(
        gan,
        images,
        args.out,
        steps=args.steps,
        batch_size=batch_size,
        resume=args.resume,
        sample_every=args.sample_every,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        info={"preset": args.preset, "data": args.data, "matching": not args.no_matching},
    )
    print(f"trained {result.steps} steps; wrote {result.generator_path}, {result.samples_path}")


def _run_info(model_path: Path) -> dict[str, Any]:
    """Reads the ``facegen.json`` that ``train`` writes beside its models (empty if absent)."""
    from keras_facegen.training import RUN_INFO_FILE

    info_path = model_path.parent / RUN_INFO_FILE
    if info_path.is_file():
        return json.loads(info_path.read_text())
    return {}


def _load_model(path: Path, argument: str) -> Any:
    import keras

    import keras_facegen.layers  # noqa: F401  (registers the custom layers for loading)
    import keras_facegen.models  # noqa: F401

    if not path.is_file():
        raise FileNotFoundError(f"{argument}: no model file at {str(path)!r}")
    return keras.saving.load_model(path, compile=False)


def _latent_from(value: str, latent_dim: int, distribution: str, argument: str) -> Any:
    """A latent from a hex code or an integer seed."""
    from keras_facegen import latent

    if value.lstrip("-").isdigit():
        return latent.sample_latents(1, latent_dim, distribution, seed=int(value))[0]
    try:
        return latent.decode_hex(value, latent_dim=latent_dim)
    except ValueError as error:
        raise ValueError(
            f"{argument}={value!r} is neither an integer seed nor a valid hex code: {error}"
        ) from None


def _cmd_sample(args: argparse.Namespace) -> None:
    from keras_facegen import latent, sampling

    generator = _load_model(args.model, "--model")
    info = _run_info(args.model)
    distribution = info.get("latent_distribution", "normal")
    _, latent_dim = latent.as_generator(generator)
    if args.rank:
        disc_path = args.discriminator or args.model.parent / "discriminator.keras"
        discriminator = _load_model(disc_path, "--discriminator")
        ranking = sampling.rank_by_discriminator(
            generator,
            discriminator,
            num_samples=args.num,
            top_k=args.top_k,
            seed=args.seed,
            distribution=distribution,
        )
        path = sampling.save_ranked_sheet(ranking, args.out, top_k=args.top_k)
        lowest = ", ".join(f"{s:.3f}" for s in ranking.lowest_scores)
        highest = ", ".join(f"{s:.3f}" for s in ranking.highest_scores)
        print(f"lowest 'real' probabilities: {lowest}")
        print(f"highest 'real' probabilities: {highest}")
    else:
        z = latent.sample_latents(args.num, latent_dim, distribution, seed=args.seed)
        images = latent.generate_images(generator, z)
        rows = args.rows or max(1, int(round(args.num**0.5)))
        path = sampling.save_image(sampling.image_grid(images, rows=rows), args.out)
    print(f"wrote {path}")


def _cmd_morph(args: argparse.Namespace) -> None:
    from keras_facegen import latent, sampling

    if args.hub:
        from keras_facegen import hub

        generator = hub.load_progan(args.hub)
        distribution = "normal"
    else:
        generator = _load_model(args.model, "--model")
        distribution = _run_info(args.model).get("latent_distribution", "normal")
    _, latent_dim = latent.as_generator(generator)
    start = _latent_from(args.start, latent_dim, distribution, "--from")
    end = _latent_from(args.end, latent_dim, distribution, "--to")
    path_latents = latent.morph_path(start, end, args.steps, method=args.method)
    frames = latent.generate_images(generator, path_latents)
    path = sampling.save_gif(frames, args.out, duration=args.duration)
    print(f"wrote {path} ({len(frames)} frames, method={args.method})")


_COMMANDS = {
    "code": _cmd_code,
    "morph": _cmd_morph,
    "sample": _cmd_sample,
    "train": _cmd_train,
}


if __name__ == "__main__":
    sys.exit(main())
