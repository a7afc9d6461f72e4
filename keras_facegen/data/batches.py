"""Seeded, resumable batches of images in memory or on disk, as a ``keras.utils.PyDataset``."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import keras
import numpy as np

from keras_facegen import distributed
from keras_facegen._validation import check_int

__all__ = ["ShuffledBatches", "halve"]


def halve(images: np.ndarray) -> np.ndarray:
    """Halves the height and width of images by averaging each 2×2 block (a box filter).

    The same step as the reference ProGAN dataset tool: ``(x[0::2, 0::2] + x[0::2, 1::2] +
    x[1::2, 0::2] + x[1::2, 1::2]) * 0.25`` in float32, over the two axes before the last.

    Args:
        images: ``(..., H, W, C)`` array with even ``H`` and ``W``.

    Returns:
        float32 array ``(..., H // 2, W // 2, C)``.

    Raises:
        ValueError: If ``H`` or ``W`` is odd or the array has fewer than three axes.

    Example:
        >>> halve(np.arange(4.0).reshape(2, 2, 1))[..., 0]
        array([[1.5]], dtype=float32)
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim < 3 or images.shape[-3] % 2 or images.shape[-2] % 2:
        raise ValueError(
            f"halve needs `images` of shape (..., H, W, C) with even H and W; received shape "
            f"{images.shape}."
        )
    return (
        images[..., 0::2, 0::2, :]
        + images[..., 0::2, 1::2, :]
        + images[..., 1::2, 0::2, :]
        + images[..., 1::2, 1::2, :]
    ) * np.float32(0.25)


class ShuffledBatches(keras.utils.PyDataset):
    """An endless stream of image batches whose order is fixed by the seed, for exact resume.

    Pass ``p`` over the data is the permutation ``numpy.random.default_rng([seed, p])``, cut
    into ``N // batch_size`` batches (the last partial batch of a pass is dropped, so every
    batch is full); pass after pass they form one endless stream. Item ``i`` of the dataset is
    stream batch ``start + i``. The dataset holds no epoch state (Keras peeks at batches and
    calls the epoch hooks on its own schedule), so fit it with ``steps_per_epoch`` and
    ``shuffle=False``: a run resumed after ``k`` steps with ``ShuffledBatches(..., start=k)``
    then sees exactly the batches the uninterrupted run would have seen, on every backend.

    The images may live on disk: an :class:`~keras_facegen.data.ImageCache` (or one of its
    :meth:`~keras_facegen.data.ImageCache.at` views) is read batch by batch, never whole.
    Because a batch depends only on its position, the next ``prefetch`` batches are read and
    converted ahead of time by a small thread pool (file reads and NumPy copies release the
    GIL), without changing a single value.

    Across several processes (:mod:`keras_facegen.distributed`), ``batch_size`` is the global
    batch and each process serves only its share of it: process ``i`` of ``P`` gets rows
    ``[i * batch_size / P, (i + 1) * batch_size / P)`` of :meth:`batch_indices` (and reads only
    those from disk), so the processes' batches together are exactly the one-process batch,
    and a resumed run (``start``) lines up in every process.

    Args:
        images: ``(N, H, W, C)`` images: floats in [-1, 1], or uint8 in [0, 255] (converted
            batch by batch, so a large uint8 dataset stays small in memory); or an
            :class:`~keras_facegen.data.ImageCache` or any array-like with ``shape`` and
            NumPy-style integer-array indexing (kept as it is, not loaded).
        batch_size: Images per batch (at most ``N``).
        seed: Seed of the shuffling.
        start: Index of the first batch in the stream (the steps already trained).
        resolution: Serve images at this size instead of ``H``: an ``ImageCache`` reads its
            stored level; an array is halved (:func:`halve`, then rounded to uint8 if the
            array is uint8, exactly as the cache stores its levels) ``log2(H / resolution)``
            times per batch. ``None`` keeps ``H`` (a cache: its largest resolution).
        prefetch: Batches prepared ahead by as many threads; ``None`` means 0 for an in-memory
            ``numpy.ndarray`` and 2 for anything else (disk).
        num_shards: Processes sharing each batch; default
            :func:`keras_facegen.distributed.process_count` (1 when alone).
        shard_index: This process's share, in ``[0, num_shards)``; default
            :func:`keras_facegen.distributed.process_index`.
        **kwargs: ``keras.utils.PyDataset`` arguments (``workers``, ...).

    Raises:
        ValueError: On a bad shape, batch size, start, resolution or prefetch.

    Example:
        >>> from keras_facegen.data import synthetic_faces
        >>> images, _ = synthetic_faces(64, 64)
        >>> batches = ShuffledBatches(images, batch_size=16, seed=0)
        >>> batches[0].shape
        (16, 64, 64, 3)
        >>> ShuffledBatches(images, batch_size=8, resolution=16)[0].shape
        (8, 16, 16, 3)
        >>> history = gan.fit(batches, steps_per_epoch=2, epochs=1, shuffle=False, verbose=0)
        >>> ShuffledBatches(images, batch_size=16, num_shards=2, shard_index=1)[0].shape
        (8, 64, 64, 3)
    """

    def __init__(
        self,
        images: Any,
        batch_size: int,
        seed: int = 0,
        start: int = 0,
        *,
        resolution: int | None = None,
        prefetch: int | None = None,
        num_shards: int | None = None,
        shard_index: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.halvings = 0
        stored_level = getattr(images, "_batches_level", None)
        if stored_level is not None:
            # An ImageCache or one of its views (cache.py, which imports this module, so the
            # classes are not named here): read the stored level, not the top one halved.
            images = stored_level(resolution)
        elif not (hasattr(images, "shape") and hasattr(images, "__getitem__")):
            images = np.asarray(images)
        shape = tuple(images.shape)
        if len(shape) != 4:
            raise ValueError(f"Expected `images` of shape (N, H, W, C); received shape {shape}.")
        if resolution is not None and resolution != shape[1]:
            self.halvings = _halvings(shape, resolution)
        batch_size = check_int(batch_size, "batch_size", 1)
        if batch_size > shape[0]:
            raise ValueError(
                f"batch_size={batch_size} is larger than the {shape[0]} images available; "
                "use a smaller batch size or more images."
            )
        if prefetch is None:
            prefetch = 0 if isinstance(images, np.ndarray) else 2
        num_shards = distributed.process_count() if num_shards is None else num_shards
        num_shards = check_int(num_shards, "num_shards", 1)
        shard_index = distributed.process_index() if shard_index is None else shard_index
        shard_index = check_int(shard_index, "shard_index", 0)
        if shard_index >= num_shards:
            raise ValueError(
                f"Expected 0 <= shard_index < num_shards={num_shards}; received "
                f"shard_index={shard_index}."
            )
        if batch_size % num_shards:
            raise ValueError(
                f"batch_size={batch_size} must be a multiple of num_shards={num_shards}: each "
                "process serves an equal share of every (global) batch."
            )
        self.num_shards = num_shards
        self.shard_index = shard_index
        self.images = images
        self.num_images = shape[0]
        self.resolution = shape[1] >> self.halvings
        self.batch_size = batch_size
        self.seed = int(seed)
        self.batches_per_pass = shape[0] // batch_size
        self.start = check_int(start, "start", 0)
        self.prefetch = check_int(prefetch, "prefetch", 0)
        self._pass: tuple[int, np.ndarray] | None = None
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[int, Future] = {}

    def _permutation(self, index: int) -> np.ndarray:
        current = self._pass
        if current is None or current[0] != index:
            order = np.random.default_rng([self.seed, index]).permutation(self.num_images)
            current = self._pass = (index, order)
        return current[1]

    def batch_indices(self, position: int) -> np.ndarray:
        """Row indices of batch ``position`` of the stream (sorted).

        Args:
            position: Index of the batch in the whole stream.

        Returns:
            ``batch_size`` row indices into ``images``.
        """
        pass_index, offset = divmod(position, self.batches_per_pass)
        order = self._permutation(pass_index)
        return np.sort(order[offset * self.batch_size : (offset + 1) * self.batch_size])

    def shard_indices(self, position: int) -> np.ndarray:
        """Row indices this process serves for batch ``position`` (its share of the batch).

        Args:
            position: Index of the batch in the whole stream.

        Returns:
            ``batch_size // num_shards`` row indices into ``images``.
        """
        share = self.batch_size // self.num_shards
        rows = self.batch_indices(position)
        return rows[self.shard_index * share : (self.shard_index + 1) * share]

    @property
    def num_batches(self) -> None:
        """``None``: the stream is endless (``fit`` needs ``steps_per_epoch``)."""
        return None

    def __getitem__(self, index: int) -> np.ndarray:
        """Returns stream batch ``start + index`` as float32 in [-1, 1]."""
        if index < 0:
            raise IndexError(f"batch index {index} must be >= 0.")
        if not self.prefetch:
            return self._batch(index)
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.prefetch, thread_name_prefix="facegen-data")
            future = self._pending.pop(index, None)
            # Only the batches right after this one are worth keeping (Keras reads in order,
            # after peeking at the first few).
            for stale in [i for i in self._pending if not index < i <= index + self.prefetch]:
                self._pending.pop(stale).cancel()
            for ahead in range(index + 1, index + self.prefetch + 1):
                if ahead not in self._pending:
                    self._pending[ahead] = self._pool.submit(self._batch, ahead)
        return future.result() if future is not None else self._batch(index)

    def _batch(self, index: int) -> np.ndarray:
        batch = self.images[self.shard_indices(self.start + index)]
        quantized = batch.dtype == np.uint8
        if self.halvings:
            for _ in range(self.halvings):
                batch = halve(batch)
            if quantized:
                batch = np.rint(batch).clip(0, 255).astype(np.uint8)
        if quantized:  # in place: one float32 batch in memory, values exactly u8 / 127.5 - 1
            batch = batch.astype("float32")
            np.divide(batch, np.float32(127.5), out=batch)
            np.subtract(batch, np.float32(1.0), out=batch)
            return batch
        return batch.astype("float32", copy=False)

    def close(self) -> None:
        """Stops the prefetching threads (they restart on the next item)."""
        with self._lock:
            pool, self._pool = self._pool, None
            for future in self._pending.values():
                future.cancel()
            self._pending.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def __del__(self) -> None:
        if getattr(self, "_lock", None) is not None and getattr(self, "_pool", None) is not None:
            self.close()

    def __getstate__(self) -> dict[str, Any]:
        # Threads, futures and locks stay behind (Keras' multiprocessing workers pickle this).
        state = self.__dict__.copy()
        state.update(_lock=None, _pool=None, _pending={}, _pass=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def _halvings(shape: tuple[int, ...], resolution: Any) -> int:
    """How many halvings take square ``shape``'s images to ``resolution``."""
    resolution = check_int(resolution, "resolution", 1)
    height, width = shape[1], shape[2]
    halvings = 0
    size = height
    while size > resolution and size % 2 == 0:
        size //= 2
        halvings += 1
    if height != width or size != resolution:
        raise ValueError(
            f"resolution={resolution} cannot be reached from images of shape {shape}: it must "
            "be the (square) image size divided by a power of two."
        )
    return halvings
