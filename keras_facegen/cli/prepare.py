"""``keras-facegen prepare``: an image folder decoded once into a multi-resolution cache."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from keras_facegen.cli._args import command_parser, positive_int

NAME = "prepare"


def add_parser(subparsers: Any) -> None:
    """Adds ``prepare`` and its options."""
    prepare = command_parser(
        subparsers,
        NAME,
        help="decode an image folder once into a multi-resolution cache for training",
        description=(
            "Decode every image under PATH once (centre crop, area resize, RGB) and write every "
            "power-of-two resolution from 4 up to --resolution as sharded .npy files plus a "
            "manifest. `train --data CACHE` then streams batches from disk, for datasets that "
            "do not fit in memory. Unreadable files are skipped and counted."
        ),
    )
    prepare.add_argument("path", type=Path, help="folder of images (searched recursively)")
    prepare.add_argument("--out", type=Path, required=True, help="cache folder (new or empty)")
    prepare.add_argument(
        "--resolution",
        type=positive_int,
        required=True,
        help="top resolution, a power of two >= 4 (e.g. 256)",
    )
    prepare.add_argument(
        "--shard-size",
        type=positive_int,
        default=None,
        help="images per shard file at --resolution (default: about 128 MiB per file)",
    )
    prepare.add_argument(
        "--workers", type=positive_int, default=None, help="decoding threads (default: CPUs, <= 8)"
    )
    prepare.add_argument(
        "--overwrite", action="store_true", help="replace a cache already in --out"
    )
    prepare.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    """Writes the cache and prints its size."""
    from keras_facegen.data import prepare_cache

    cache = prepare_cache(
        args.path,
        args.out,
        args.resolution,
        shard_size=args.shard_size,
        num_workers=args.workers,
        overwrite=args.overwrite,
    )
    size = sum(path.stat().st_size for r in cache.resolutions for path in cache.shard_files(r))
    skipped = f"; skipped {cache.skipped} unreadable file(s)" if cache.skipped else ""
    print(
        f"wrote {cache.path}: {cache.num_images} images at {cache.resolutions[0]}.."
        f"{cache.resolution} px ({len(cache.resolutions)} levels, {size / 2**20:.1f} MiB)"
        f"{skipped}"
    )
