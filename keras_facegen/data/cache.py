"""Reading the multi-resolution image cache on disk, for datasets that do not fit in memory.

:func:`~keras_facegen.data.prepare_cache` (in :mod:`~keras_facegen.data.cache_writer`) decodes a
folder of images once (the same crop, area-resize and colour handling as
:func:`~keras_facegen.data.load_images`) and writes every power-of-two resolution from 4×4 up to
the target, as the reference ProGAN dataset tool does: level ``R`` is the decoded image, each
lower level the 2×2 box average of the one above it (computed in float32 from the top level,
rounded to uint8 per level). Each level is a folder of shards, plain uint8 ``.npy`` files of
about the same size, so any of them opens with ``numpy.load(path, mmap_mode="r")``. A JSON
manifest (:data:`MANIFEST_FILE`) lists levels, shards and counts; it is written last, so a
folder holds a usable cache exactly when it holds a manifest::

    cache/
      facegen-cache.json          version, resolutions, counts, shard sizes, skipped files
      res-0004/00000.npy ...      (n, 4, 4, 3) uint8
      ...
      res-0256/00000.npy ...      (n, 256, 256, 3) uint8

:class:`ImageCache` reads images back by index with positional reads (``os.preadv``) straight
into the output array: nothing is mapped or loaded up front, so memory stays at one batch
whatever the cache's size, and reads from several threads run in parallel.
:meth:`ImageCache.batches` serves a level as a seeded, resumable
:class:`~keras_facegen.data.ShuffledBatches` stream with read-ahead threads.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from keras_facegen.data.batches import ShuffledBatches

__all__ = [
    "CACHE_VERSION",
    "MANIFEST_FILE",
    "CachedImages",
    "ImageCache",
    "cache_resolutions",
    "is_cache",
    "open_cache",
]

#: Name of the manifest that marks a folder as an image cache.
MANIFEST_FILE = "facegen-cache.json"
#: Format version written to (and required in) the manifest.
CACHE_VERSION = 1

FORMAT_NAME = "keras-facegen image cache"
# Caches with more shards per level than this open a file per read instead of keeping one open.
_MAX_OPEN_SHARDS = 256


def cache_resolutions(resolution: int) -> list[int]:
    """The resolutions a cache of top resolution ``resolution`` stores: 4, 8, ..., ``resolution``.

    Args:
        resolution: A power of two >= 4.

    Returns:
        The powers of two from 4 to ``resolution``, ascending.

    Raises:
        ValueError: If ``resolution`` is not a power of two >= 4.

    Example:
        >>> cache_resolutions(32)
        [4, 8, 16, 32]
    """
    if (
        isinstance(resolution, bool)
        or not isinstance(resolution, (int, np.integer))
        or resolution < 4
        or resolution & (resolution - 1)
    ):
        raise ValueError(
            f"resolution must be a power of two >= 4 (4, 8, ..., 1024); received "
            f"resolution={resolution!r}."
        )
    return [2**k for k in range(2, int(resolution).bit_length())]


def is_cache(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder holding an image cache (it has a manifest).

    Args:
        path: Any path.

    Returns:
        ``True`` if ``path/facegen-cache.json`` exists.

    Example:
        >>> is_cache("faces/"), is_cache("faces-cache/")
        (False, True)
    """
    return (Path(path).expanduser() / MANIFEST_FILE).is_file()


def open_cache(path: str | os.PathLike) -> ImageCache:
    """Opens an image cache written by :func:`prepare_cache`.

    Args:
        path: The cache folder.

    Returns:
        ``ImageCache(path)``.

    Raises:
        ValueError: If ``path`` has no manifest, or the manifest or a shard is damaged.

    Example:
        >>> cache = open_cache("faces-cache/")
        >>> cache.at(64)[:8].shape
        (8, 64, 64, 3)
    """
    return ImageCache(path)


class ImageCache:
    """A multi-resolution image cache on disk, read image by image (see :func:`prepare_cache`).

    Images come back as uint8 from :meth:`read`, :meth:`at` and indexing (``cache[i]`` reads
    the top level), and as float32 batches in [-1, 1] from :meth:`batches`. Reads are
    positional, so one cache serves many threads; a cache pickles (Keras' multiprocessing
    workers) and reopens its files on the other side.

    Args:
        path: The cache folder.

    Attributes:
        path: The cache folder.
        resolution: The top resolution.
        resolutions: Every stored resolution, ascending (4, 8, ..., ``resolution``).
        num_images: Images per level.
        skipped: Unreadable files skipped by :func:`prepare_cache`.
        manifest: The parsed manifest.

    Raises:
        ValueError: If ``path`` has no manifest, or the manifest or a shard is damaged.

    Example:
        >>> cache = ImageCache("faces-cache/")
        >>> batches = cache.batches(64, batch_size=4, seed=0)
        >>> history = gan.fit(batches, steps_per_epoch=2, shuffle=False, verbose=0)
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path).expanduser()
        manifest_path = self.path / MANIFEST_FILE
        if not manifest_path.is_file():
            hint = ""
            if self.path.is_dir() and any(self.path.glob("res-*")):
                hint = " (it has shards: an interrupted prepare_cache? run it again)"
            raise ValueError(
                f"`path` {str(path)!r} is not an image cache: no {MANIFEST_FILE}{hint}. "
                "Write one with prepare_cache(folder, out, resolution) or "
                "`keras-facegen prepare FOLDER --out CACHE --resolution R`."
            )
        try:
            manifest = json.loads(manifest_path.read_text())
            version = manifest["version"]
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"{str(manifest_path)!r} is not a valid cache manifest: {error!r}"
            ) from None
        if version != CACHE_VERSION:
            raise ValueError(
                f"{str(manifest_path)!r} has cache version {version!r}; this keras-facegen "
                f"reads version {CACHE_VERSION}. Prepare the cache again."
            )
        self.manifest: dict[str, Any] = manifest
        try:
            self.resolution = int(manifest["resolution"])
            self.resolutions = [int(r) for r in manifest["resolutions"]]
            self.num_images = int(manifest["num_images"])
            self.skipped = int(manifest["skipped"])
            levels = {r: manifest["levels"][str(r)] for r in self.resolutions}
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"{str(manifest_path)!r} is not a valid cache manifest: missing or bad {error!r}"
            ) from None
        self._levels = {r: _Level(self.path, r, info) for r, info in levels.items()}
        for level in self._levels.values():
            if level.num_images != self.num_images:
                raise ValueError(
                    f"Damaged cache {str(self.path)!r}: level {level.resolution} holds "
                    f"{level.num_images} images, the manifest says {self.num_images}."
                )

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(num_images, resolution, resolution, 3)`` of the top level."""
        return (self.num_images, self.resolution, self.resolution, 3)

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __len__(self) -> int:
        return self.num_images

    def __getitem__(self, key: Any) -> np.ndarray:
        """Top-level images, as ``self.at()[key]`` (so the cache is itself an array-like)."""
        return self.at()[key]

    def __repr__(self) -> str:
        return (
            f"ImageCache({str(self.path)!r}, num_images={self.num_images}, "
            f"resolutions={self.resolutions})"
        )

    def _level(self, resolution: int | None) -> _Level:
        if resolution is None:
            resolution = self.resolution
        if isinstance(resolution, bool) or resolution not in self._levels:
            raise ValueError(
                f"resolution={resolution!r} is not in the cache {str(self.path)!r}; it holds "
                f"{self.resolutions}. Prepare it with a larger --resolution for bigger images."
            )
        return self._levels[int(resolution)]

    def shard_files(self, resolution: int) -> list[Path]:
        """The shard files of one level, in image order (each opens with ``numpy.load``).

        Args:
            resolution: A stored resolution.

        Returns:
            Paths of ``.npy`` files of uint8 images ``(n, resolution, resolution, 3)``.

        Raises:
            ValueError: If ``resolution`` is not stored.
        """
        return list(self._level(resolution).paths)

    def read(self, resolution: int, indices: Any) -> np.ndarray:
        """Reads images by index from one level.

        Args:
            resolution: A stored resolution.
            indices: Image indices (ints in ``[-num_images, num_images)``, any order, repeats
                allowed), or one int.

        Returns:
            uint8 ``(len(indices), resolution, resolution, 3)``, or one image for an int.

        Raises:
            ValueError: If ``resolution`` is not stored.
            IndexError: If an index is out of range.
        """
        return self._level(resolution).read(indices)

    def at(self, resolution: int | None = None) -> CachedImages:
        """One level as an array-like that reads on indexing (``view[i]``, ``view[a:b]``, ...).

        Args:
            resolution: A stored resolution; ``None`` for the top one.

        Returns:
            A :class:`CachedImages` of shape ``(num_images, resolution, resolution, 3)``.

        Raises:
            ValueError: If ``resolution`` is not stored.
        """
        return CachedImages(self, self._level(resolution).resolution)

    def _batches_level(self, resolution: int | None) -> CachedImages:
        """The level :class:`~keras_facegen.data.ShuffledBatches` reads for ``resolution``."""
        return self.at(resolution)

    def batches(
        self,
        resolution: int | None = None,
        batch_size: int = 32,
        seed: int = 0,
        start: int = 0,
        *,
        prefetch: int = 2,
        **kwargs: Any,
    ) -> ShuffledBatches:
        """A seeded, endless, resumable stream of float32 batches in [-1, 1] from one level.

        Exactly :class:`~keras_facegen.data.ShuffledBatches` over ``self.at(resolution)``:
        batch ``i`` is the same as in-memory ``ShuffledBatches(images, batch_size, seed)[i]``
        over the same images, and ``start=k`` resumes after ``k`` steps.

        Args:
            resolution: A stored resolution; ``None`` for the top one.
            batch_size: Images per batch.
            seed: Seed of the shuffling.
            start: Index of the first batch in the stream (the steps already trained).
            prefetch: Batches read ahead by as many threads (0: read on demand).
            **kwargs: ``keras.utils.PyDataset`` arguments.

        Returns:
            A :class:`~keras_facegen.data.ShuffledBatches`.

        Raises:
            ValueError: If ``resolution`` is not stored, or on bad batch arguments.
        """
        return ShuffledBatches(
            self.at(resolution), batch_size, seed=seed, start=start, prefetch=prefetch, **kwargs
        )

    def close(self) -> None:
        """Closes the cache's open files (they reopen on the next read)."""
        for level in self._levels.values():
            level.close()

    def __enter__(self) -> ImageCache:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class CachedImages:
    """One level of an :class:`ImageCache` as a read-on-index uint8 array-like.

    Indexing with an int, a slice, or an integer array reads just those images; the first
    axis may be followed by NumPy indices for the others (``view[idx, :16]``).
    ``numpy.asarray(view)`` reads the whole level.

    Attributes:
        shape: ``(num_images, resolution, resolution, 3)``.
        dtype: ``uint8``.
        ndim: 4.
        resolution: The level's resolution.
        resolutions: The cache's resolutions (see :meth:`at`).

    Example:
        >>> view = open_cache("faces-cache/").at(64)
        >>> view[[3, 1]].shape
        (2, 64, 64, 3)
    """

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(self, cache: ImageCache, resolution: int) -> None:
        self._cache = cache
        self._level = cache._level(resolution)
        self.resolution = resolution
        self.resolutions = cache.resolutions
        self.shape = (self._level.num_images, resolution, resolution, 3)

    def at(self, resolution: int) -> CachedImages:
        """Another level of the same cache (as :meth:`ImageCache.at`)."""
        return self._cache.at(resolution)

    def _batches_level(self, resolution: int | None) -> CachedImages:
        """The stored level of ``resolution`` for ShuffledBatches, or this view to halve."""
        return self.at(resolution) if resolution in self.resolutions else self

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"CachedImages({str(self._level.directory)!r}, shape={self.shape})"

    def __getitem__(self, key: Any) -> np.ndarray:
        rest: tuple = ()
        if isinstance(key, tuple):
            key, rest = (key[0], key[1:]) if key else (slice(None), ())
        if isinstance(key, slice):
            key = np.arange(*key.indices(self.shape[0]))
        images = self._level.read(key)
        if not rest:
            return images
        if images.ndim == 3:
            return images[rest]
        index = (slice(None), *rest)
        return images[index]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        images = self._level.read(np.arange(self.shape[0]))
        return images if dtype is None else images.astype(dtype)


class _Level:
    """The shards of one resolution: index arithmetic and positional reads."""

    def __init__(self, root: Path, resolution: int, info: dict[str, Any]) -> None:
        self.resolution = resolution
        self.directory = root / info["directory"]
        self.paths = [self.directory / shard["file"] for shard in info["shards"]]
        counts = np.array([int(shard["count"]) for shard in info["shards"]], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(counts)])
        self.num_images = int(self.starts[-1])
        self.image_shape = (resolution, resolution, 3)
        self.row_bytes = resolution * resolution * 3
        self.keep_open = len(self.paths) <= _MAX_OPEN_SHARDS and hasattr(os, "preadv")
        self._offsets = [0] * len(self.paths)
        self._fds: dict[int, int] = {}
        self._lock = threading.Lock()
        for shard, path in enumerate(self.paths):
            if not path.is_file():
                raise ValueError(f"Damaged cache: the shard {str(path)!r} is missing.")
            with open(path, "rb") as file:
                offset = self._header(shard, file)
            count = int(counts[shard])
            if path.stat().st_size != offset + count * self.row_bytes:
                raise ValueError(
                    f"Damaged cache: the shard {str(path)!r} does not hold exactly its {count} "
                    f"images ({path.stat().st_size} bytes)."
                )

    def _header(self, shard: int, file: Any) -> int:
        """Checks a shard's .npy header; returns the byte offset of its first image."""
        try:
            major, _ = np.lib.format.read_magic(file)
            read_header = (
                np.lib.format.read_array_header_1_0
                if major == 1
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran_order, dtype = read_header(file)
        except ValueError as error:
            raise ValueError(
                f"Damaged cache: {str(self.paths[shard])!r} is not a .npy file ({error})."
            ) from None
        count = int(self.starts[shard + 1] - self.starts[shard])
        if shape != (count, *self.image_shape) or fortran_order or dtype != np.uint8:
            raise ValueError(
                f"Damaged cache: {str(self.paths[shard])!r} holds {dtype} {shape}, "
                f"expected uint8 {(count, *self.image_shape)}."
            )
        offset = file.tell()
        self._offsets[shard] = offset
        return offset

    def _fd(self, shard: int) -> tuple[int, int]:
        with self._lock:
            fd = self._fds.get(shard)
            if fd is None:
                fd = os.open(self.paths[shard], os.O_RDONLY | getattr(os, "O_BINARY", 0))
                self._fds[shard] = fd
            return fd, self._offsets[shard]

    def read(self, indices: Any) -> np.ndarray:
        scalar = np.ndim(indices) == 0
        indices = np.atleast_1d(np.asarray(indices))
        if indices.size and not np.issubdtype(indices.dtype, np.integer):
            raise IndexError(f"Cache indices must be integers; received dtype {indices.dtype}.")
        indices = indices.astype(np.int64).ravel()
        bad = (indices < -self.num_images) | (indices >= self.num_images)
        if bad.any():
            raise IndexError(
                f"Index {int(indices[bad][0])} is out of range for a cache of "
                f"{self.num_images} images."
            )
        indices = indices % max(self.num_images, 1)
        out = np.empty((len(indices), *self.image_shape), dtype=np.uint8)
        if not len(indices):
            return out[0] if scalar else out
        shards = np.searchsorted(self.starts, indices, side="right") - 1
        rows = indices - self.starts[shards]
        # Runs of consecutive rows of one shard become one read.
        breaks = np.flatnonzero((np.diff(shards) != 0) | (np.diff(rows) != 1)) + 1
        begins = np.concatenate([[0], breaks]).tolist()
        ends = [*begins[1:], len(indices)]
        run_shards, run_rows = shards[begins].tolist(), rows[begins].tolist()
        # An ndarray is a buffer; NumPy's stubs declare __buffer__ only for Python >= 3.12.
        buffer = memoryview(out).cast("B")  # type: ignore[arg-type]
        size = self.row_bytes
        if self.keep_open:
            files = {shard: self._fd(shard) for shard in set(run_shards)}
            for begin, end, shard, row in zip(begins, ends, run_shards, run_rows):
                fd, offset = files[shard]
                view = buffer[begin * size : end * size]
                done = os.preadv(fd, [view], offset + row * size)
                if done != len(view):  # a short read (rare): finish it
                    _pread_into(fd, view[done:], offset + row * size + done, self.paths[shard])
        else:
            for begin, end, shard, row in zip(begins, ends, run_shards, run_rows):
                view = buffer[begin * size : end * size]
                with open(self.paths[shard], "rb", buffering=0) as file:
                    file.seek(self._offsets[shard] + row * size)
                    while view.nbytes:
                        done = file.readinto(view)
                        if not done:
                            raise ValueError(
                                f"Damaged cache: {str(self.paths[shard])!r} ends early."
                            )
                        view = view[done:]
        return out[0] if scalar else out

    def close(self) -> None:
        with self._lock:
            fds, self._fds = self._fds, {}
        for fd in fds.values():
            os.close(fd)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_fds={}, _lock=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def _pread_into(fd: int, view: memoryview, offset: int, path: Path) -> None:
    while view.nbytes:
        done = os.preadv(fd, [view], offset)
        if not done:
            raise ValueError(f"Damaged cache: {str(path)!r} ends early.")
        view = view[done:]
        offset += done


def level_dir(resolution: int) -> str:
    """The folder of one level inside a cache: ``res-0064`` for 64."""
    return f"res-{resolution:04d}"
