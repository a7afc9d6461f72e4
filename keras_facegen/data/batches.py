"""Seeded, resumable batches of an in-memory image array, as a ``keras.utils.PyDataset``."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from keras_facegen._validation import check_int

__all__ = ["ShuffledBatches"]


class ShuffledBatches(keras.utils.PyDataset):
    """An endless stream of image batches whose order is fixed by the seed, for exact resume.

    Pass ``p`` over the data is the permutation ``numpy.random.default_rng([seed, p])``, cut
    into ``N // batch_size`` batches (the last partial batch of a pass is dropped, so every
    batch is full); pass after pass they form one endless stream. Item ``i`` of the dataset is
    stream batch ``start + i``. The dataset holds no epoch state (Keras peeks at batches and
    calls the epoch hooks on its own schedule), so fit it with ``steps_per_epoch`` and
    ``shuffle=False``: a run resumed after ``k`` steps with ``ShuffledBatches(..., start=k)``
    then sees exactly the batches the uninterrupted run would have seen, on every backend.

    Args:
        images: ``(N, H, W, C)`` images: floats in [-1, 1], or uint8 in [0, 255] (converted
            batch by batch, so a large uint8 dataset stays small in memory).
        batch_size: Images per batch (at most ``N``).
        seed: Seed of the shuffling.
        start: Index of the first batch in the stream (the steps already trained).
        **kwargs: ``keras.utils.PyDataset`` arguments (``workers``, ...).

    Raises:
        ValueError: On a bad shape, batch size or start.

    Example:
        >>> images, _ = synthetic_faces(1000, 64)
        >>> batches = ShuffledBatches(images, batch_size=64, seed=0)
        >>> gan.fit(batches, steps_per_epoch=100, epochs=5, shuffle=False)  # doctest: +SKIP
    """

    def __init__(
        self,
        images: Any,
        batch_size: int,
        seed: int = 0,
        start: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        images = np.asarray(images)
        if images.ndim != 4:
            raise ValueError(
                f"Expected `images` of shape (N, H, W, C); received shape {images.shape}."
            )
        batch_size = check_int(batch_size, "batch_size", 1)
        if batch_size > len(images):
            raise ValueError(
                f"batch_size={batch_size} is larger than the {len(images)} images available; "
                "use a smaller batch size or more images."
            )
        self.images = images
        self.batch_size = batch_size
        self.seed = int(seed)
        self.batches_per_pass = len(images) // batch_size
        self.start = check_int(start, "start", 0)
        self._pass: tuple[int, np.ndarray] | None = None

    def _permutation(self, index: int) -> np.ndarray:
        if self._pass is None or self._pass[0] != index:
            order = np.random.default_rng([self.seed, index]).permutation(len(self.images))
            self._pass = (index, order)
        return self._pass[1]

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

    @property
    def num_batches(self) -> None:
        """``None``: the stream is endless (``fit`` needs ``steps_per_epoch``)."""
        return None

    def __getitem__(self, index: int) -> np.ndarray:
        """Returns stream batch ``start + index`` as float32 in [-1, 1]."""
        if index < 0:
            raise IndexError(f"batch index {index} must be >= 0.")
        batch = self.images[self.batch_indices(self.start + index)]
        if batch.dtype == np.uint8:
            return batch.astype("float32") / 127.5 - 1.0
        return batch.astype("float32", copy=False)
