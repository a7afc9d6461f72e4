"""``keras-facegen evaluate``: a generator measured against real faces, as a table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from keras_facegen.cli._args import (
    CommandError,
    command_parser,
    positive_int,
    seed_int,
)
from keras_facegen.cli._models import load_model_source

NAME = "evaluate"

#: The metrics ``--metrics`` accepts.
METRICS = ("swd", "ms_ssim", "fid")


def add_parser(subparsers: Any) -> None:
    """Adds ``evaluate`` and its options."""
    evaluate = command_parser(
        subparsers,
        NAME,
        help="measure a generator against real faces (SWD, MS-SSIM, optional FID)",
    )
    evaluate.add_argument(
        "--model",
        type=Path,
        required=True,
        help="a generator .keras file (or a pretrained name, e.g. face64_synthetic)",
    )
    evaluate.add_argument(
        "--data",
        default="synthetic",
        help="'synthetic' for held-out built-in faces (seed --data-seed), or a folder of images",
    )
    evaluate.add_argument(
        "--num", type=positive_int, default=2048, help="real and generated faces (each, >= 2)"
    )
    evaluate.add_argument(
        "--metrics",
        default="swd,ms_ssim",
        help="comma-separated: swd, ms_ssim, fid (fid needs --fid-weights)",
    )
    evaluate.add_argument("--seed", type=seed_int, default=0, help="latent and metric seed")
    evaluate.add_argument(
        "--data-seed",
        type=seed_int,
        default=1000,
        help="seed of the synthetic faces (train uses --seed, 0 by default: keep them apart)",
    )
    evaluate.add_argument(
        "--projections",
        type=positive_int,
        default=128,
        help="SWD directions per repeat (128 as the reference code; the paper's 512 is 4x slower)",
    )
    evaluate.add_argument(
        "--floor",
        action="store_true",
        help=(
            "also measure real faces against a second, disjoint set of --num real faces "
            "(synthetic: seed --data-seed + 1; a folder: the next --num images, so it needs "
            "2 x --num): the score of a perfect generator, which is not 0 for SWD and FID"
        ),
    )
    evaluate.add_argument(
        "--fid-weights",
        type=Path,
        default=None,
        help="InceptionV3 (include_top=False) weights file for FID; nothing is downloaded",
    )
    evaluate.set_defaults(handler=run)


def _metric_names(args: argparse.Namespace) -> list[str]:
    names = [m.strip() for m in args.metrics.split(",") if m.strip()]
    unknown = sorted(set(names) - set(METRICS))
    if not names or unknown:
        raise CommandError(
            f"--metrics {args.metrics!r}: unknown {unknown}; choose from {', '.join(METRICS)}"
        )
    if "fid" in names and args.fid_weights is None:
        raise CommandError(
            "--metrics fid needs --fid-weights PATH (InceptionV3 weights, include_top=False); "
            'nothing is downloaded. Save them once where there is internet: python -c "import '
            "keras; keras.applications.InceptionV3(include_top=False, pooling='avg')"
            ".save_weights('inception_v3_notop.weights.h5')\""
        )
    return names


def _real_faces(args: argparse.Namespace, resolution: int) -> tuple[Any, Any, str]:
    """The real faces, a disjoint second set for ``--floor`` (else ``None``), a description."""
    if str(args.data) == "synthetic":
        from keras_facegen.data import synthetic_faces

        real, _ = synthetic_faces(args.num, resolution=resolution, seed=args.data_seed)
        other = None
        if args.floor:
            other, _ = synthetic_faces(args.num, resolution=resolution, seed=args.data_seed + 1)
        return real, other, f"synthetic faces (seed {args.data_seed})"
    from keras_facegen.data import load_images

    images = load_images(args.data, resolution)
    needed = 2 * args.num if args.floor else args.num
    if len(images) < needed:
        floor = " with --floor (two disjoint sets)" if args.floor else ""
        raise CommandError(
            f"--data {str(args.data)!r} holds {len(images)} images; --num {args.num}{floor} "
            f"needs at least {needed} (pass a smaller --num)"
        )
    faces = images[:needed].astype("float32") / 127.5 - 1.0
    other = faces[args.num :] if args.floor else None
    return faces[: args.num], other, f"{args.data} ({args.num} images)"


def run(args: argparse.Namespace) -> None:
    """Prints the metrics table ``args`` ask for."""
    from keras_facegen import latent, metrics

    names = _metric_names(args)
    if args.num < 2:
        raise CommandError(f"--num {args.num}: expected at least 2 faces (metrics compare sets)")
    source = load_model_source(args.model)
    generator = source.generator
    resolution = int(generator.output_shape[1])
    real, other, described = _real_faces(args, resolution)
    z = latent.sample_latents(
        args.num, source.latent_dim, source.latent_distribution, seed=args.seed
    )
    fake = latent.generate_images(generator, z)
    rows: list[tuple[str, str, str]] = []
    if "swd" in names:
        swd = metrics.sliced_wasserstein_distance(
            real, fake, num_projections=args.projections, seed=args.seed
        )
        for res, value in swd.per_level.items():
            rows.append((f"SWD {res}x{res} (x1e3)", f"{value:.3f}", "lower is better"))
        rows.append(("SWD mean (x1e3)", f"{swd.mean:.3f}", "lower is better"))
    if other is not None and "swd" in names:
        floor = metrics.sliced_wasserstein_distance(
            real, other, num_projections=args.projections, seed=args.seed
        )
        rows.append(("SWD mean, real vs real (x1e3)", f"{floor.mean:.3f}", "the floor"))
    if "ms_ssim" in names:
        pairs = min(1000, args.num * 4)
        rows.append(
            (
                "MS-SSIM generated",
                f"{metrics.mean_ms_ssim(fake, num_pairs=pairs, seed=args.seed):.4f}",
                "diversity: near the real figure is best",
            )
        )
        rows.append(
            (
                "MS-SSIM real",
                f"{metrics.mean_ms_ssim(real, num_pairs=pairs, seed=args.seed):.4f}",
                "reference",
            )
        )
    if "fid" in names:
        fid = metrics.frechet_inception_distance(real, fake, weights=args.fid_weights)
        rows.append(("FID (Keras InceptionV3)", f"{fid:.3f}", "lower is better"))
        if other is not None:
            fid = metrics.frechet_inception_distance(real, other, weights=args.fid_weights)
            rows.append(("FID, real vs real", f"{fid:.3f}", "the floor"))
    print(f"{source.path} vs {described}: {args.num} faces each, {resolution}x{resolution}")
    print("| metric | value | note |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
