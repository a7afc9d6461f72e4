"""Writing the multi-resolution image cache: :func:`prepare_cache` (read back by ``cache.py``)."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from keras_facegen._validation import check_int
from keras_facegen.data.batches import halve
from keras_facegen.data.cache import (
    CACHE_VERSION,
    FORMAT_NAME,
    MANIFEST_FILE,
    ImageCache,
    cache_resolutions,
    level_dir,
)
from keras_facegen.data.image_folder import (
    _DECODE_ERRORS,
    IMAGE_EXTENSIONS,
    _decode_image,
    _none_readable,
    _warn_skipped,
    list_image_files,
)

__all__ = ["prepare_cache"]

# Default shard size: about this many bytes per shard file, at every level.
_SHARD_BYTES = 128 * 2**20
# Skipped files named in the manifest (the count is always complete).
_NAMES_IN_MANIFEST = 20


def prepare_cache(
    folder: str | os.PathLike,
    out: str | os.PathLike,
    resolution: int,
    *,
    shard_size: int | None = None,
    num_workers: int | None = None,
    overwrite: bool = False,
) -> ImageCache:
    """Decodes a folder of images once into a multi-resolution cache on disk.

    Images are read in the sorted order of :func:`~keras_facegen.data.list_image_files`,
    decoded by a thread pool a few at a time and appended to the shard files, so memory stays
    at a few dozen images whatever the folder's size. Unreadable files are skipped, counted in
    the manifest (``skipped``, with the first names in ``skipped_files``) and reported in one
    ``UserWarning``. Every shard is written to a temporary name and renamed when complete, and
    the manifest last, so an interrupted run never leaves a folder that opens as a cache; run
    it again on the same ``out`` to start over.

    Args:
        folder: A folder of images (jpg, jpeg, png, webp, bmp, any case), searched recursively.
        out: The cache folder: missing, empty, or a cache to replace with ``overwrite=True``.
        resolution: Top resolution, a power of two >= 4; every power of two from 4 up to it is
            stored.
        shard_size: Images per shard file at the top resolution; level ``r`` puts
            ``shard_size * (resolution // r) ** 2`` images in each shard, so every shard has
            about the same size. Default: about 128 MiB per shard.
        num_workers: Decoding threads; defaults to ``min(8, os.cpu_count())``.
        overwrite: Replace a cache already in ``out``.

    Returns:
        The new cache, opened.

    Raises:
        ValueError: If ``folder`` is missing, not a folder, holds no image file or no readable
            one; if ``resolution``, ``shard_size`` or ``num_workers`` is invalid; or if ``out``
            is a file, a folder with other contents, or a cache and ``overwrite`` is false.

    Example:
        >>> cache = prepare_cache("faces/", "new-cache/", 64)
        >>> cache.resolutions
        [4, 8, 16, 32, 64]
    """
    resolutions = cache_resolutions(resolution)
    row_bytes = resolution * resolution * 3
    if shard_size is None:
        shard_size = max(1, _SHARD_BYTES // row_bytes)
    shard_size = check_int(shard_size, "shard_size")
    if num_workers is None:
        num_workers = min(8, os.cpu_count() or 1)
    num_workers = check_int(num_workers, "num_workers")
    root = Path(folder).expanduser()
    files = list_image_files(root)
    if not files:
        raise ValueError(
            f"`folder` {str(folder)!r} holds no image files (looked recursively for "
            f"{', '.join(IMAGE_EXTENSIONS)} in any case)."
        )
    out = Path(out).expanduser()
    _make_room(out, overwrite)

    writers = {
        r: _LevelWriter(out / level_dir(r), r, shard_size * (resolution // r) ** 2)
        for r in resolutions
    }
    bad: list[str] = []
    # A bounded window of decodes in flight: the pool stays busy while the main thread writes,
    # and memory holds at most `window` decoded images.
    window = 4 * num_workers
    with ThreadPoolExecutor(num_workers, thread_name_prefix="facegen-prepare") as pool:
        queue: deque[tuple[Path, Future]] = deque()
        remaining = iter(files)
        for file in remaining:
            queue.append((file, pool.submit(_pyramid, file, resolutions)))
            if len(queue) >= window:
                break
        while queue:
            file, future = queue.popleft()
            for following in remaining:
                queue.append((following, pool.submit(_pyramid, following, resolutions)))
                break
            levels = future.result()
            if levels is None:
                bad.append(file.relative_to(root).as_posix())
                continue
            for r, image in zip(resolutions, levels, strict=True):
                writers[r].append(image)
    num_images = len(files) - len(bad)
    if num_images == 0:
        for writer in writers.values():
            writer.discard()
        raise _none_readable("folder", folder, bad)
    levels_info = {}
    for r, writer in writers.items():
        shards = writer.finish()
        levels_info[str(r)] = {
            "directory": level_dir(r),
            "shard_size": writer.shard_size,
            "shards": [{"file": name, "count": count} for name, count in shards],
        }
    manifest = {
        "format": FORMAT_NAME,
        "version": CACHE_VERSION,
        "resolution": resolution,
        "resolutions": resolutions,
        "num_images": num_images,
        "channels": 3,
        "dtype": "uint8",
        "source": str(root),
        "skipped": len(bad),
        "skipped_files": bad[:_NAMES_IN_MANIFEST],
        "levels": levels_info,
    }
    temporary = out / (MANIFEST_FILE + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=1) + "\n")
    os.replace(temporary, out / MANIFEST_FILE)
    if bad:
        _warn_skipped(folder, len(files), bad, stacklevel=3)
    return ImageCache(out)


def _pyramid(file: Path, resolutions: list[int]) -> list[np.ndarray] | None:
    """One file decoded at every resolution (ascending), or ``None`` if it cannot be read."""
    try:
        top = _decode_image(file, resolutions[-1])
    except _DECODE_ERRORS:
        return None
    levels = [top]
    image = top
    for _ in resolutions[:-1]:
        image = halve(image)
        levels.append(np.rint(image).clip(0, 255).astype(np.uint8))
    return levels[::-1]


def _npy_header(count: int, resolution: int) -> bytes:
    buffer = io.BytesIO()
    header = {"descr": "|u1", "fortran_order": False, "shape": (count, resolution, resolution, 3)}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


class _LevelWriter:
    """Appends images of one resolution to shard files, each renamed into place when complete."""

    def __init__(self, directory: Path, resolution: int, shard_size: int) -> None:
        self.directory = directory
        self.resolution = resolution
        self.shard_size = shard_size
        self.shards: list[tuple[str, int]] = []
        self._file: Any = None
        self._count = 0
        self._header_bytes = 0
        directory.mkdir(parents=True, exist_ok=True)

    def _names(self) -> tuple[Path, Path]:
        final = self.directory / f"{len(self.shards):05d}.npy"
        return final, final.with_name(final.name + ".tmp")

    def append(self, image: np.ndarray) -> None:
        if self._file is None:
            _, temporary = self._names()
            self._file = open(temporary, "wb")  # noqa: SIM115  (closed in _close)
            header = _npy_header(self.shard_size, self.resolution)
            self._file.write(header)
            self._header_bytes = len(header)
            self._count = 0
        self._file.write(np.ascontiguousarray(image, dtype=np.uint8).data)
        self._count += 1
        if self._count == self.shard_size:
            self._close()

    def _close(self) -> None:
        final, temporary = self._names()
        file, self._file = self._file, None
        if self._count != self.shard_size:
            header = _npy_header(self._count, self.resolution)
            if len(header) == self._header_bytes:
                file.seek(0)
                file.write(header)
            else:  # a NumPy without header growth room: copy behind a header of the right size
                file.close()
                with open(temporary, "rb") as source, open(final, "wb") as target:
                    source.seek(self._header_bytes)
                    target.write(header)
                    shutil.copyfileobj(source, target)
                temporary.unlink()
                self.shards.append((final.name, self._count))
                return
        file.close()
        os.replace(temporary, final)
        self.shards.append((final.name, self._count))

    def finish(self) -> list[tuple[str, int]]:
        if self._file is not None:
            self._close()
        return self.shards

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        shutil.rmtree(self.directory, ignore_errors=True)


def _make_room(out: Path, overwrite: bool) -> None:
    """Makes ``out`` an empty folder (or one with only an interrupted cache's shard folders)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"`out` must be a folder for the cache, got the file {str(out)!r}.")
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST_FILE
    if manifest.is_file():
        if not overwrite:
            raise ValueError(
                f"`out` {str(out)!r} already holds an image cache; pass overwrite=True "
                "(--overwrite) to replace it, or choose another folder."
            )
        manifest.unlink()  # first: from here on the folder is no longer a valid cache
    others = [p.name for p in out.iterdir() if not (p.is_dir() and p.name.startswith("res-"))]
    others = [name for name in others if name != MANIFEST_FILE + ".tmp"]
    if others:
        raise ValueError(
            f"`out` {str(out)!r} is not empty (it holds {', '.join(sorted(others)[:3])}); "
            "give a new or empty folder for the cache."
        )
    for level in out.iterdir():
        if level.is_dir():
            shutil.rmtree(level)
