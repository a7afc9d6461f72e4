"""``keras-facegen train``: a DCGAN or a progressive GAN, resumable, into a run folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from keras_facegen.cli._args import CommandError, command_parser, decay, positive_int, seed_int
from keras_facegen.cli._paths import check_output_folder
from keras_facegen.cli._processes import add_arguments as add_process_arguments
from keras_facegen.cli._processes import check as check_processes
from keras_facegen.cli._processes import join, launch_local
from keras_facegen.cli._runs import read_run_info, run_settings, settings_for_resume

NAME = "train"

#: The preset each model family uses when ``--preset`` is not given.
DEFAULT_PRESETS = {"dcgan": "face96", "pggan": "pggan64_small"}


#: The presets by family, as ``--help`` lists them (written out so that ``--help`` answers
#: without importing Keras; tests/cli/test_train.py checks it against ``models.PRESETS``).
PRESETS_BY_FAMILY = {
    "dcgan": ("dcgan64", "face96", "face64_small"),
    "pggan": ("pggan64_small", "pggan128"),
}


def _presets_text() -> str:
    listed = "; ".join(
        f"--model {family}: {', '.join(names)}" for family, names in PRESETS_BY_FAMILY.items()
    )
    defaults = ", ".join(f"{name} for {family}" for family, name in DEFAULT_PRESETS.items())
    return f"Presets ({listed}); default {defaults}."


def add_parser(subparsers: Any) -> None:
    """Adds ``train`` and its options."""
    train = command_parser(
        subparsers,
        NAME,
        help="train a DCGAN or a progressive GAN on synthetic faces or an image folder",
        description=(
            "Train a GAN from a preset: a fixed-size DCGAN (--model dcgan, --steps steps) or a "
            "progressive GAN grown 4x4 -> --resolution (--model pggan). The run folder (--out) "
            "gets checkpoints, sample grids, generator.keras, discriminator.keras and "
            "facegen.json (every setting that shapes the run; --resume rebuilds the GAN from it)."
        ),
    )
    train.add_argument(
        "--model",
        choices=("dcgan", "pggan"),
        default="dcgan",
        help="dcgan: a fixed-size GAN trained --steps steps; pggan: a progressive GAN grown "
        "4x4 -> --resolution, --phase-images images per fade and per stable phase",
    )
    train.add_argument(
        "--preset",
        default=None,
        help=f"model preset. {_presets_text()}",
    )
    train.add_argument(
        "--phase-images",
        type=positive_int,
        default=None,
        metavar="N",
        help="pggan: images per fade-in and per stable phase (default: the preset's)",
    )
    train.add_argument(
        "--data",
        default="synthetic",
        help=(
            "'synthetic' for the built-in procedural faces, a folder of images (decoded into "
            "memory), or a cache folder written by `keras-facegen prepare` (streamed from disk)"
        ),
    )
    train.add_argument("--steps", type=positive_int, default=2000, help="total training steps")
    train.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        help="images per step (default: the preset's)",
    )
    train.add_argument(
        "--resolution", type=positive_int, default=None, help="image size (default: the preset's)"
    )
    train.add_argument("--out", type=Path, default=Path("runs/facegen"), help="run folder")
    existing = train.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out with the settings in its facegen.json",
    )
    existing.add_argument(
        "--overwrite",
        action="store_true",
        help="delete the run already in --out (checkpoint, grids, models) and start afresh",
    )
    train.add_argument(
        "--no-matching",
        action="store_true",
        help="train without feature matching and mean-image matching",
    )
    train.add_argument(
        "--sample-every",
        type=positive_int,
        default=None,
        help="steps between sample grids (default: --checkpoint-every)",
    )
    train.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=None,
        help="steps between checkpoints (default: min(steps, 200))",
    )
    train.add_argument(
        "--num-images", type=positive_int, default=10000, help="synthetic faces to draw"
    )
    train.add_argument(
        "--ema",
        type=decay,
        default=None,
        metavar="DECAY",
        help="keep an EMA of the generator weights (e.g. 0.999); grids and generator.keras use it",
    )
    train.add_argument(
        "--seed", type=seed_int, default=0, help="random seed (weights, data order, latents)"
    )
    train.add_argument(
        "--augment",
        choices=AUGMENTS,
        default=None,
        help="augment what the discriminator sees: ada (adaptive strength), diffaugment, none "
        "(default: ada for an image folder or cache, none for the synthetic faces)",
    )
    train.add_argument(
        "--ada-target",
        type=ada_target,
        default=None,
        metavar="R",
        help="--augment ada: the target of r_t = E[sign(D(real))] (default 0.6)",
    )
    train.add_argument(
        "--mirror", action="store_true", help="also flip each real face left-right at random"
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    add_process_arguments(train)
    train.set_defaults(handler=run, before_framework=before_framework)


#: ``--augment`` choices (see ``keras_facegen.augment``).
AUGMENTS = ("ada", "diffaugment", "none")


def ada_target(text: str) -> float:
    """An argument type accepting ADA's target in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], e.g. 0.6; got {text!r}")
    return value


def _resolve_augment(args: argparse.Namespace, recorded: dict[str, Any]) -> None:
    """Fills in ``--augment`` / ``--ada-target`` defaults (after a resume took the recorded ones).

    A run recorded before these flags existed trained without augmentation: it resumes so.
    """
    if args.augment is None:
        if args.resume and recorded and "augment" not in recorded:
            args.augment = "none"
        else:
            args.augment = "none" if args.data == "synthetic" else "ada"
    if args.augment == "ada":
        args.ada_target = 0.6 if args.ada_target is None else args.ada_target
    elif "ada_target" in args._given:
        raise CommandError(f"--ada-target applies to --augment ada only (not {args.augment})")


def _augment_layer(args: argparse.Namespace) -> Any:
    """The ``augment=`` argument of the GAN the flags describe."""
    from keras_facegen import augment

    if args.augment == "ada":
        return augment.ADA(target=args.ada_target, mirror=args.mirror, seed=args.seed)
    if args.augment == "diffaugment":
        return augment.Augment("diffaugment", mirror=args.mirror, seed=args.seed)
    return augment.Augment("none", mirror=True, seed=args.seed) if args.mirror else None


def _check_run_folder(args: argparse.Namespace) -> None:
    """Refuses a run folder that cannot be used as asked, before anything is made."""
    from keras_facegen import distributed, training

    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {str(out)!r} is a file; expected a run folder")
    recorded: dict[str, Any] = {}
    if args.resume:
        recorded = read_run_info(out / training.RUN_INFO_FILE)
        settings_for_resume(args, recorded)
        checkpoint = out / "checkpoint" / "checkpoint.npz"
        if not checkpoint.is_file():
            raise FileNotFoundError(
                f"--resume: no checkpoint at {str(checkpoint)!r}; start without --resume, or "
                "point --out at an earlier run"
            )
    elif distributed.is_writer():  # across processes only process 0 looks at the folder
        existing = training.run_outputs(out)
        if existing and not args.overwrite:
            names = ", ".join(p.name + ("/" if p.is_dir() else "") for p in existing)
            raise CommandError(
                f"--out {str(out)!r} already holds a run ({names}); continue it with --resume "
                "or replace it with --overwrite"
            )
    if distributed.is_writer():
        check_output_folder(out, "--out")
    _resolve_augment(args, recorded)


def before_framework(args: argparse.Namespace) -> bool:
    """What ``train`` does before Keras is imported: option checks, ``--local-processes``.

    Several processes on PyTorch and job options next to ``--local-processes`` are refused at
    once; ``--local-processes N`` starts its ``N`` workers (each imports the framework, the
    launcher does not).

    Returns:
        Whether the command is done (the workers ran); else :func:`run` follows.
    """
    check_processes(args)
    if args.local_processes is not None and args.local_processes > 1:
        launch_local(args)
        return True
    return False


def run(args: argparse.Namespace) -> None:
    """Trains as ``args`` say; every input is checked before the run folder is created.

    :func:`before_framework` ran first (``main`` calls it before importing Keras): the
    process options are checked and ``--local-processes N`` never gets here. With
    ``--num-processes`` (or the environment) it first joins a job of several processes.
    """
    if str(args.data) != "synthetic" and not Path(args.data).is_dir():
        raise CommandError(
            f"--data {str(args.data)!r} is not a folder; expected 'synthetic', a folder of "
            "images or a cache written by keras-facegen prepare"
        )
    join(args)
    _check_run_folder(args)
    if args.model == "pggan":
        _train_pggan(args)
    else:
        _train_dcgan(args)


def _train_dcgan(args: argparse.Namespace) -> None:
    import keras

    from keras_facegen import distributed, models, training

    if args.phase_images is not None:
        raise CommandError("--phase-images applies to --model pggan only")
    args.preset = args.preset or DEFAULT_PRESETS["dcgan"]
    preset = models.get_preset(args.preset)  # an unknown name fails before the data is made
    if preset.get("family") == "pggan":
        raise CommandError(f"--preset {args.preset} is a progressive preset; add --model pggan")
    args.batch_size = args.batch_size or preset["batch_size"]
    args.resolution = args.resolution or preset["resolution"]
    # --seed fixes the whole run: initial weights, data order, latents.
    keras.utils.set_random_seed(args.seed)
    images = training.training_images(args.data, args.resolution, args.num_images, args.seed)
    gan = models.gan_from_preset(
        preset,
        matching=not args.no_matching,
        resolution=args.resolution,
        ema_decay=args.ema,
        seed=args.seed,
        augment=_augment_layer(args),
    )
    result = training.train(
        gan,
        images,
        args.out,
        steps=args.steps,
        batch_size=args.batch_size,
        resume=args.resume,
        overwrite=args.overwrite,
        sample_every=args.sample_every,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        info=run_settings(args),
    )
    if distributed.is_writer():
        print(f"trained {result.steps} steps; wrote {result.generator_path}, {result.samples_path}")


def _train_pggan(args: argparse.Namespace) -> None:
    """``train --model pggan``: a progressive GAN grown stage by stage (see train_progressive)."""
    import keras

    from keras_facegen import distributed, models, training

    for dest, flag in (
        ("steps", "--steps"),
        ("batch_size", "--batch-size"),
        ("no_matching", "--no-matching"),
        ("sample_every", "--sample-every"),
    ):
        if dest in args._given:
            raise CommandError(
                f"{flag} does not apply to --model pggan (the schedule sets lengths and batch "
                "sizes; use --phase-images)"
            )
    args.preset = args.preset or DEFAULT_PRESETS["pggan"]
    preset = models.get_preset(args.preset)
    if preset.get("family") != "pggan":
        raise CommandError(
            f"--model pggan needs a progressive preset; --preset {args.preset} is not"
        )
    args.resolution = args.resolution or preset["resolution"]
    keras.utils.set_random_seed(args.seed)
    gan = models.progressive_gan_from_preset(  # bad --resolution fails before the data is made
        preset,
        resolution=args.resolution,
        phase_images=args.phase_images,
        ema_decay=args.ema,
        seed=args.seed,
        augment=_augment_layer(args),
    )
    images = training.training_images(args.data, args.resolution, args.num_images, args.seed)
    settings = run_settings(args)
    settings.update(model="pggan", ema_decay=gan.ema_decay, matching=False, batch_size=None)
    settings.pop("sample_every")
    result = training.train_progressive(
        gan,
        images,
        args.out,
        resume=args.resume,
        overwrite=args.overwrite,
        checkpoint_every=args.checkpoint_every or 200,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        info=settings,
    )
    seen = gan.counter_values()["images_seen"]
    if not distributed.is_writer():
        return
    print(
        f"trained {result.steps} steps ({seen:,} images, 4x4 -> {args.resolution}x"
        f"{args.resolution}); wrote {result.generator_path}, {result.samples_path}, "
        f"{args.out / training.PROGRESSION_FILE}"
    )
