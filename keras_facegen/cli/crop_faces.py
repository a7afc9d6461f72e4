"""``keras-facegen crop-faces``: aligned face crops from photos (see ``data.crop_faces``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from keras_facegen.cli._args import CommandError, command_parser, positive_int

NAME = "crop-faces"


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 1.0 <= value <= 16.0:
        raise argparse.ArgumentTypeError(f"expected eye distances in [1, 16]; got {text!r}")
    return value


def add_parser(subparsers: Any) -> None:
    """Adds ``crop-faces`` and its options."""
    crop = command_parser(
        subparsers,
        NAME,
        help="turn photos into aligned square face crops for training",
        description=(
            "Find the faces in PHOTOS (files or folders, searched recursively) with OpenCV's "
            "Haar cascades, level the eyes, scale by the eye distance and write one PNG crop "
            "per photo (the largest face; --all-faces for every face) named after the photo. "
            "Photos without a face are skipped and counted; crops already in --out are kept, "
            "so an interrupted run continues. Needs the [faces] extra (OpenCV)."
        ),
    )
    crop.add_argument("photos", type=Path, nargs="+", help="photo files or folders of photos")
    crop.add_argument("--out", type=Path, required=True, help="folder for the crops")
    crop.add_argument(
        "--resolution", type=positive_int, default=128, help="side of the crops in pixels"
    )
    crop.add_argument(
        "--all-faces", action="store_true", help="write every face, not only the largest"
    )
    crop.add_argument(
        "--scale",
        type=_scale,
        default=4.0,
        help="side of the crop in eye distances (4: FFHQ-like, hair and chin included)",
    )
    crop.add_argument(
        "--min-size", type=positive_int, default=32, help="smallest face searched, in pixels"
    )
    crop.add_argument("--quiet", action="store_true", help="no progress bar")
    crop.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    """Writes the crops and prints what was done."""
    from keras_facegen.data import crop_faces

    if args.out.exists() and not args.out.is_dir():
        raise CommandError(f"--out {str(args.out)!r} is a file; expected a folder")
    progress = None
    if not args.quiet:
        import keras

        bar: list[Any] = []

        def progress(done: int, total: int) -> None:
            if not bar:
                bar.append(keras.utils.Progbar(total, unit_name="photo"))
            bar[0].update(done)

    try:
        report = crop_faces(
            args.photos,
            args.resolution,
            args.out,
            all_faces=args.all_faces,
            scale=args.scale,
            min_size=args.min_size,
            progress=progress,
        )
    except ImportError as error:
        raise CommandError(str(error)) from None
    parts = [f"wrote {len(report.written)} crop(s) to {args.out}"]
    if report.existing:
        parts.append(f"kept {len(report.existing)} already there")
    parts.append(f"{len(report.no_face)} photo(s) without a face")
    if report.unreadable:
        parts.append(f"{len(report.unreadable)} unreadable file(s)")
    print("; ".join(parts))
