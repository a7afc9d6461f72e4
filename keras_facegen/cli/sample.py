"""``keras-facegen sample``: a grid of generated faces, or the discriminator's ranked sheet."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from keras_facegen.cli._args import CommandError, command_parser, positive_int, seed_int
from keras_facegen.cli._models import discriminator_for, load_model_source
from keras_facegen.cli._paths import check_output_file

NAME = "sample"


def add_parser(subparsers: Any) -> None:
    """Adds ``sample`` and its options."""
    sample = command_parser(subparsers, NAME, help="write a grid of generated faces")
    sample.add_argument(
        "--model",
        type=Path,
        required=True,
        help=(
            "a generator .keras file (latent vector in, image out), e.g. "
            "runs/x/generator.keras, or a pretrained name, e.g. face64_synthetic"
        ),
    )
    sample.add_argument("--num", type=positive_int, default=16, help="number of faces")
    sample.add_argument("--out", type=Path, default=Path("grid.png"), help="PNG or JPEG path")
    sample.add_argument("--seed", type=seed_int, default=0, help="latent seed")
    sample.add_argument(
        "--rows", type=positive_int, default=None, help="grid rows (default: square)"
    )
    sample.add_argument(
        "--rank",
        action="store_true",
        help="rank faces by the discriminator and write the labelled worst/best two-row sheet",
    )
    sample.add_argument(
        "--discriminator",
        type=Path,
        default=None,
        help="discriminator .keras for --rank (default: discriminator.keras beside --model)",
    )
    sample.add_argument("--top-k", type=positive_int, default=10, help="faces per row with --rank")
    sample.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    """Writes the grid (or the ranked sheet) ``args`` ask for."""
    from keras_facegen import latent, sampling

    check_output_file(args.out, "--out", tuple(sampling.IMAGE_FORMATS))
    if args.rank and args.top_k > args.num:
        raise CommandError(f"--top-k {args.top_k} is more than --num {args.num} faces")
    if args.rows and args.rows > args.num:
        raise CommandError(f"--rows {args.rows} is more than --num {args.num} faces")
    source = load_model_source(args.model)
    if args.rank:
        discriminator = discriminator_for(source, args.discriminator, required=True)
        ranking = sampling.rank_by_discriminator(
            source.generator,
            discriminator,
            num_samples=args.num,
            top_k=args.top_k,
            seed=args.seed,
            distribution=source.latent_distribution,
        )
        path = sampling.save_ranked_sheet(ranking, args.out, top_k=args.top_k, labels=True)
        lowest = ", ".join(f"{s:.3f}" for s in ranking.lowest_scores)
        highest = ", ".join(f"{s:.3f}" for s in ranking.highest_scores)
        print(f"lowest 'real' probabilities: {lowest}")
        print(f"highest 'real' probabilities: {highest}")
    else:
        distribution = source.latent_distribution
        z = latent.sample_latents(args.num, source.latent_dim, distribution, seed=args.seed)
        images = latent.generate_images(source.generator, z)
        rows = args.rows or max(1, int(round(args.num**0.5)))
        path = sampling.save_image(sampling.image_grid(images, rows=rows), args.out)
    print(f"wrote {path}")
