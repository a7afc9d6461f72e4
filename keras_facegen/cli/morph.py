"""``keras-facegen morph``: a GIF morphing between two faces given as hex codes or seeds."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from keras_facegen.cli._args import command_parser, positive_int
from keras_facegen.cli._models import load_source
from keras_facegen.cli._paths import check_output_file

NAME = "morph"

_ENDPOINT_HELP = (
    "a hex code (two hex digits per latent coordinate: 32 for a 16-d generator, even if all "
    "digits) or a seed written seed:N (a bare integer of another length is read as a seed too)"
)


def add_parser(subparsers: Any) -> None:
    """Adds ``morph`` and its options."""
    morph = command_parser(
        subparsers,
        NAME,
        help="write a morphing GIF between two faces",
        description=(
            "Write a GIF morphing between two faces. Each end is a hex code (exactly "
            "2 x latent_dim hex digits, e.g. from `keras-facegen code encode`) or a seed "
            "(seed:42)."
        ),
    )
    source = morph.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model",
        type=Path,
        help="a generator .keras file or a pretrained name (e.g. face64_synthetic)",
    )
    source.add_argument("--hub", metavar="HANDLE", help="a TF-Hub ProGAN handle or folder")
    morph.add_argument("--from", dest="start", required=True, metavar="CODE|seed:N",
                       help=_ENDPOINT_HELP)  # fmt: skip
    morph.add_argument("--to", dest="end", required=True, metavar="CODE|seed:N",
                       help=_ENDPOINT_HELP)  # fmt: skip
    morph.add_argument("--steps", type=positive_int, default=25, help="frames")
    morph.add_argument(
        "--method",
        choices=("hypersphere", "slerp", "lerp", "line"),
        default="hypersphere",
        help="interpolation",
    )
    morph.add_argument("--duration", type=positive_int, default=80, help="milliseconds per frame")
    morph.add_argument("--out", type=Path, default=Path("morph.gif"), help="GIF path")
    morph.set_defaults(handler=run)


def latent_from(value: str, latent_dim: int, distribution: str, argument: str) -> np.ndarray:
    """A latent from a hex code (exactly ``2 * latent_dim`` digits) or a seed (``seed:N``).

    A string of the code's length is always a code, even if all its digits are decimal. For
    backward compatibility a bare integer of another length is read as a seed.

    Args:
        value: The text given on the command line.
        latent_dim: The generator's latent size.
        distribution: The latent distribution seeds draw from.
        argument: The option's name, for messages.

    Returns:
        float32 latent ``(latent_dim,)``.

    Raises:
        ValueError: Naming the option, if ``value`` is neither.
    """
    from keras_facegen import latent

    text = value.strip()
    seed_text = text[5:] if text.lower().startswith("seed:") else None
    if seed_text is None and len(text) != 2 * latent_dim and text.isdigit():
        seed_text = text
    if seed_text is not None:
        if not seed_text.isdigit():
            raise ValueError(
                f"{argument}={value!r}: a seed must be seed:N with N a non-negative integer"
            )
        return np.asarray(
            latent.sample_latents(1, latent_dim, distribution, seed=int(seed_text))[0]
        )
    try:
        return np.asarray(latent.decode_hex(text, latent_dim=latent_dim))
    except ValueError as error:
        raise ValueError(
            f"{argument}={value!r} is neither a hex code ({2 * latent_dim} hex digits for this "
            f"{latent_dim}-d generator) nor a seed (seed:N): {error}"
        ) from None


def run(args: argparse.Namespace) -> None:
    """Writes the morph GIF ``args`` ask for."""
    from keras_facegen import latent, sampling

    check_output_file(args.out, "--out", (".gif",))
    source = load_source(args)
    start = latent_from(args.start, source.latent_dim, source.latent_distribution, "--from")
    end = latent_from(args.end, source.latent_dim, source.latent_distribution, "--to")
    path_latents = latent.morph_path(start, end, args.steps, method=args.method)
    frames = latent.generate_images(source.generator, path_latents)
    path = sampling.save_gif(frames, args.out, duration=args.duration)
    print(f"wrote {path} ({len(frames)} frames, method={args.method})")
