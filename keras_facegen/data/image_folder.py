"""Face images from a folder on disk, as NumPy arrays or a batched ``tf.data.Dataset``.

This module is the documented exception to "only ``keras_facegen.backend`` imports TensorFlow":
``image_folder`` builds a ``tf.data`` pipeline, which Keras ``fit`` accepts on every backend.
TensorFlow is imported inside that function only, so ``load_images`` and the rest of
``keras_facegen.data`` never load it.

Decoding happens once, up front: every file is opened, decoded, centre-cropped and area-resized
with Pillow in a thread pool, and the results are kept in memory as uint8. That finds corrupt
files before training starts (one warning, not a crash in epoch 3), and afterwards each batch is a
cheap gather from RAM instead of a JPEG decode per image per epoch. The cost is memory:
``num_images * resolution**2 * 3`` bytes, e.g. 70,000 faces at 128×128 take 3.4 GB.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from keras_facegen._validation import check_int

__all__ = ["IMAGE_EXTENSIONS", "image_folder", "list_image_files", "load_images"]

#: File name endings (compared case-insensitively) that count as images.
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".webp", ".bmp")

# How many unreadable file names the warning spells out before "and N more".
_NAMES_IN_WARNING = 5

# Exceptions Pillow raises for files it cannot decode: unknown formats (UnidentifiedImageError is
# an OSError), truncated data (OSError), broken headers and chunks (ValueError, SyntaxError,
# struct.error, zlib.error), and decompression bombs.
_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    zlib.error,
    Image.DecompressionBombError,
)


def list_image_files(path: str | os.PathLike) -> list[Path]:
    """Lists the image files under a folder, recursively, in a stable sorted order.

    Args:
        path: A folder (``~`` is expanded). Files ending in one of :data:`IMAGE_EXTENSIONS`
            (any case) count, in subfolders too; other files are ignored.

    Returns:
        The image paths, sorted by their path relative to ``path``.

    Raises:
        ValueError: If ``path`` does not exist or is not a folder.

    Example:
        >>> files = list_image_files("faces/")
        >>> len(files), files[0].name
        (8, 'face0.png')
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise ValueError(f"`path` must be an existing folder of images, got {str(path)!r}.")
    if not root.is_dir():
        raise ValueError(f"`path` must be a folder, got the file {str(path)!r}.")
    files = [f for f in root.rglob("*") if f.suffix.lower() in IMAGE_EXTENSIONS and f.is_file()]
    return sorted(files, key=lambda f: f.relative_to(root).as_posix())


def load_images(
    path: str | os.PathLike, resolution: int, *, num_workers: int | None = None
) -> np.ndarray:
    """Loads every image under a folder as square uint8 RGB arrays.

    Each image is centre-cropped to a square (the shorter side), area-resized to ``resolution``
    (Pillow's box filter: each output pixel is the mean of the input pixels it covers; JPEGs are
    first decoded at the smallest DCT scale still at least that large), and converted to RGB:
    grayscale is repeated over the channels, palettes are expanded, and transparency is
    composited over white. EXIF orientation is applied. Unreadable files are skipped with one
    ``UserWarning`` naming how many and the first few.

    Args:
        path: A folder of images (jpg, jpeg, png, webp, bmp, any case), searched recursively.
        resolution: Output height and width in pixels, an int >= 1.
        num_workers: Decoding threads; defaults to ``min(8, os.cpu_count())``.

    Returns:
        uint8 array of shape ``(num_images, resolution, resolution, 3)``, in the sorted order of
        :func:`list_image_files`. ``images / 127.5 - 1`` gives the [-1, 1] range the models use.

    Raises:
        ValueError: If ``path`` is missing or not a folder, holds no image files, or none of
            them can be read; or if ``resolution`` or ``num_workers`` is not a positive int.

    Example:
        >>> images = load_images("faces/", 64)
        >>> images.shape, images.dtype
        ((8, 64, 64, 3), dtype('uint8'))
    """
    images, _ = _decode_folder(path, resolution, num_workers)
    return images


def image_folder(
    path: str | os.PathLike,
    resolution: int,
    batch_size: int = 32,
    *,
    shuffle: bool = True,
    seed: int | None = None,
    drop_remainder: bool = True,
    num_workers: int | None = None,
) -> Any:
    """A batched, shuffled, prefetched ``tf.data.Dataset`` of the images under a folder.

    Images are decoded once with :func:`load_images` (same cropping, resizing, colour handling
    and warning for unreadable files), kept in memory as uint8, and served as float32 in
    [-1, 1]. Keras ``fit`` accepts the dataset on the TensorFlow, JAX and PyTorch backends;
    ``dataset.as_numpy_iterator()`` gives NumPy batches.

    Args:
        path: A folder of images (jpg, jpeg, png, webp, bmp, any case), searched recursively.
        resolution: Output height and width in pixels, an int >= 1.
        batch_size: Images per batch, an int >= 1.
        shuffle: Whether to reshuffle the images every epoch (pass over the dataset).
        seed: Seed of the shuffle, for a reproducible order; ``None`` picks a fresh one.
        drop_remainder: Whether to drop the last, smaller batch. On by default because GAN
            layers such as ``MinibatchStdDev`` need batch sizes divisible by their group size.
        num_workers: Decoding threads; defaults to ``min(8, os.cpu_count())``.

    Returns:
        A ``tf.data.Dataset`` of float32 tensors ``(batch_size, resolution, resolution, 3)``
        in [-1, 1] (the last batch smaller if ``drop_remainder=False``), with known cardinality.

    Raises:
        ValueError: As :func:`load_images`; also if ``batch_size`` is not an int >= 1, or if
            ``drop_remainder`` is set and there are fewer readable images than ``batch_size``.

    Example:
        >>> dataset = image_folder("faces/", 64, batch_size=4, seed=0)
        >>> history = gan.fit(dataset, epochs=1, verbose=0)
    """
    _check_positive_int("batch_size", batch_size)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"`seed` must be an int or None, got {seed!r}.")
    images, _ = _decode_folder(path, resolution, num_workers)
    if drop_remainder and len(images) < batch_size:
        raise ValueError(
            f"`batch_size` is {batch_size} but {str(path)!r} has only {len(images)} readable "
            "images, so `drop_remainder=True` would leave no batch; use a smaller batch_size "
            "or drop_remainder=False."
        )

    import tensorflow as tf  # the documented tf.data exception; see the module docstring

    def gather(index: np.ndarray) -> np.ndarray:
        return images[index]

    def to_float(index: Any) -> Any:
        batch = tf.numpy_function(gather, [index], tf.uint8, stateful=False)
        batch.set_shape((None, resolution, resolution, 3))
        return tf.cast(batch, tf.float32) / 127.5 - 1.0

    # Indices, not pixels, go through the pipeline: the images stay one NumPy array, so there is
    # no 2 GB graph-constant limit and shuffling costs 8 bytes per image.
    dataset = tf.data.Dataset.range(len(images))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(to_float, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _check_positive_int(name: str, value: object) -> int:
    return check_int(value, name)


def _decode_folder(
    path: str | os.PathLike, resolution: int, num_workers: int | None
) -> tuple[np.ndarray, list[Path]]:
    """Decodes every readable image; warns once about the rest."""
    resolution = _check_positive_int("resolution", resolution)
    if num_workers is None:
        num_workers = min(8, os.cpu_count() or 1)
    num_workers = _check_positive_int("num_workers", num_workers)
    root = Path(path).expanduser()
    files = list_image_files(root)
    if not files:
        raise ValueError(
            f"`path` {str(path)!r} holds no image files (looked recursively for "
            f"{', '.join(IMAGE_EXTENSIONS)} in any case)."
        )

    images = np.empty((len(files), resolution, resolution, 3), dtype=np.uint8)

    def decode(i: int) -> bool:
        try:
            images[i] = _decode_image(files[i], resolution)
        except _DECODE_ERRORS:
            return False
        return True

    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        ok = np.fromiter(pool.map(decode, range(len(files))), dtype=bool, count=len(files))

    bad = [files[i].relative_to(root).as_posix() for i in np.flatnonzero(~ok)]
    if len(bad) == len(files):
        raise _none_readable("path", path, bad)
    if bad:
        _warn_skipped(path, len(files), bad, stacklevel=4)
        images = images[ok]
    return images, [f for f, good in zip(files, ok, strict=True) if good]


def _decode_image(file: Path, resolution: int) -> np.ndarray:
    """One file as a (resolution, resolution, 3) uint8 array: crop, area-resize, RGB."""
    with Image.open(file) as image:
        width, height = image.size
        side = min(width, height)
        # JPEG only: decode at a reduced DCT scale that still covers the crop at `resolution`,
        # a large speed-up for photos much bigger than the target.
        scale = resolution / side
        image.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
        image.load()
        image = ImageOps.exif_transpose(image)
        image = _to_rgb(image)
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.resize(
            (resolution, resolution),
            Image.Resampling.BOX,
            box=(left, top, left + side, top + side),
        )
        return np.asarray(image, dtype=np.uint8)


def _to_rgb(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _none_readable(argument: str, folder: Any, bad: list[str]) -> ValueError:
    """The error for a folder none of whose image files decodes (``bad`` names them)."""
    return ValueError(
        f"`{argument}` {str(folder)!r} has {len(bad)} image file(s) but none could be read "
        f"(first: {', '.join(bad[:_NAMES_IN_WARNING])})."
    )


def _warn_skipped(folder: Any, total: int, bad: list[str], stacklevel: int) -> None:
    """One ``UserWarning`` naming the first unreadable files of a folder (``bad``)."""
    more = len(bad) - _NAMES_IN_WARNING
    names = ", ".join(bad[:_NAMES_IN_WARNING]) + (f" and {more} more" if more > 0 else "")
    warnings.warn(
        f"Skipped {len(bad)} unreadable image file(s) of {total} in {str(folder)!r}: {names}.",
        UserWarning,
        stacklevel=stacklevel,
    )
