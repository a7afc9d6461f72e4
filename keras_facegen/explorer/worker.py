"""The explorer's model worker: one thread runs the generator, merging concurrent calls.

Every generator call of the explorer goes through :class:`BatchedGenerator`: callers on any
thread (or ``asyncio`` task) queue latents and wait on futures; one worker thread takes what is
queued, runs the model once on the merged, padded batch and hands each caller its rows. The
worker outlives anything one request does: a cancelled caller is skipped, a model that raises
on a merged batch is retried one request at a time (so only the request that breaks it fails),
and a request whose images are not finite fails alone with :class:`GeneratorError`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from typing import Any

import keras
import numpy as np

from keras_facegen import latent
from keras_facegen.latent.generators import check_latents

__all__ = ["BatchedGenerator", "GeneratorError"]

_LOG = logging.getLogger(__name__)

_Item = tuple[np.ndarray, "concurrent.futures.Future[np.ndarray]"]


class GeneratorError(RuntimeError):
    """Raised to a caller whose latents the generator failed on (a server fault, not bad input).

    The generator raised, returned something other than one image per latent, or returned
    non-finite pixels for the caller's latents.

    Example:
        >>> issubclass(GeneratorError, RuntimeError)
        True
    """


class BatchedGenerator:
    """Runs a generator from one worker thread, merging concurrent calls into one batch.

    Calls from any thread queue their latents; the worker takes everything queued (up to
    ``max_batch`` rows), pads the batch to a bucket size (:meth:`padded_size`: 1, 2, 4, 8, then
    multiples of 8, so a compiled backend sees a handful of shapes, all traced by
    :meth:`warm_up`), runs the model once and hands each caller its rows.
    Keras models run through ``predict_on_batch`` (compiled once per shape by every backend);
    other callables (a TF-Hub generator) are called directly.

    One request cannot stop the worker or fail the others merged with it: cancelled calls are
    skipped, a merged batch the model raises on is run again one call at a time, and a call
    whose images are not finite gets :class:`GeneratorError` while the others get theirs.

    Args:
        generator: A Keras model, an object with a ``.generator`` model, or a callable
            ``z -> images`` (see :func:`keras_facegen.latent.as_generator`).
        max_batch: Most latents per model call (a multiple of 8 is best).

    Raises:
        ValueError: If the generator's latent size cannot be read, or ``max_batch`` < 1.

    Example:
        >>> batched = BatchedGenerator(generator)
        >>> batched(np.zeros((2, batched.latent_dim), "float32")).shape
        (2, 64, 64, 3)
        >>> batched.close()
    """

    def __init__(self, generator: Any, max_batch: int = 64) -> None:
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"max_batch must be a positive integer; received {max_batch!r}.")
        fn, latent_dim = latent.as_generator(generator)
        if latent_dim is None:
            raise ValueError(
                "The explorer needs the generator's latent size: give it a latent_dim "
                f"attribute or a Keras input shape; received generator={generator!r}."
            )
        model = getattr(generator, "generator", generator)
        # Keras models run compiled, one trace per batch shape; other callables as they are.
        self.compiled = isinstance(model, keras.Model)
        self._call = model.predict_on_batch if self.compiled else fn
        self.latent_dim = int(latent_dim)
        self.max_batch = max_batch
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._closed = False
        self._worker = threading.Thread(
            target=self._run, name="keras-facegen-explorer-generator", daemon=True
        )
        self._worker.start()

    def __call__(self, z: Any) -> np.ndarray:
        """Generates images for latents, from any thread.

        Args:
            z: ``(N, latent_dim)`` latents (``N`` may exceed ``max_batch``: it is split).

        Returns:
            float32 images ``(N, H, W, C)``.

        Raises:
            ValueError: On latents of the wrong shape.
            GeneratorError: If the generator failed on these latents.
            RuntimeError: If the generator was closed.
        """
        return np.concatenate([future.result() for future in self.submit(z)])

    async def generate_async(self, z: Any) -> np.ndarray:
        """:meth:`__call__` for ``asyncio`` code: waits without holding a thread.

        Cancelling the awaiting task cancels the queued chunks (the worker skips them).

        Args:
            z: ``(N, latent_dim)`` latents.

        Returns:
            float32 images ``(N, H, W, C)``.

        Raises:
            ValueError: On latents of the wrong shape.
            GeneratorError: If the generator failed on these latents.
            RuntimeError: If the generator was closed.
        """
        futures = self.submit(z)
        try:
            parts = [await asyncio.wrap_future(future) for future in futures]
        except asyncio.CancelledError:
            for future in futures:
                future.cancel()
            raise
        return np.concatenate(parts)

    def submit(self, z: Any) -> list[concurrent.futures.Future[np.ndarray]]:
        """Queues latents for the worker; one future per ``max_batch`` chunk.

        Args:
            z: ``(N, latent_dim)`` latents.

        Returns:
            Futures of the chunks' images, in order.

        Raises:
            ValueError: On latents of the wrong shape.
            RuntimeError: If the generator was closed.
        """
        z = check_latents(z, self.latent_dim)
        if self._closed:
            raise RuntimeError("The explorer's generator worker was closed.")
        futures = []
        for start in range(0, len(z), self.max_batch):
            future: concurrent.futures.Future[np.ndarray] = concurrent.futures.Future()
            self._queue.put((z[start : start + self.max_batch], future))
            futures.append(future)
        return futures

    def padded_size(self, rows: int) -> int:
        """The batch size ``rows`` latents run at: a power of two up to 8, then a multiple of 8.

        Args:
            rows: Latents in the batch (``1 <= rows <= max_batch``).

        Returns:
            The padded size (at most ``max_batch``).
        """
        size = 1 << (rows - 1).bit_length() if rows <= 8 else -(-rows // 8) * 8
        return min(size, self.max_batch)

    def warm_up(self) -> None:
        """Runs every padded batch shape once, so compiled models trace them up front.

        Does nothing for callables that are not Keras models (they are not compiled here).
        """
        if not self.compiled:
            return
        for size in sorted({self.padded_size(rows) for rows in range(1, self.max_batch + 1)}):
            self(np.zeros((size, self.latent_dim), np.float32))

    def close(self) -> None:
        """Stops the worker thread (pending calls are finished first)."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._worker.join(timeout=30)

    # === The worker thread ===

    def _run(self) -> None:
        backlog: list[_Item | None] = []
        while True:
            item = backlog.pop(0) if backlog else self._queue.get()
            if item is None:
                return
            batch = [item]
            rows = len(item[0])
            while True:
                try:
                    extra = self._queue.get_nowait()
                except queue.Empty:
                    break
                if extra is None or rows + len(extra[0]) > self.max_batch:
                    backlog.append(extra)
                    break
                batch.append(extra)
                rows += len(extra[0])
            try:
                self._serve(batch)
            except BaseException as error:  # the worker outlives anything one batch does
                _LOG.exception("The explorer's generator worker failed on a batch.")
                for _, future in batch:
                    _settle(future, error=GeneratorError(f"The generator worker failed: {error}"))
                if not isinstance(error, Exception):
                    raise

    def _serve(self, batch: list[_Item]) -> None:
        # Futures cancelled while queued are dropped; the others can no longer be cancelled.
        live = [item for item in batch if item[1].set_running_or_notify_cancel()]
        if not live:
            return
        try:
            images = self._generate(np.concatenate([latents for latents, _ in live]))
        except Exception as error:
            if len(live) > 1:  # find the request that breaks the model: each runs alone
                for item in live:
                    self._serve_alone(item)
                return
            _LOG.error("The generator failed on a request's latents.", exc_info=error)
            _settle(live[0][1], error=_as_generator_error(error))
            return
        start = 0
        for latents, future in live:
            self._hand_over(future, images[start : start + len(latents)])
            start += len(latents)

    def _serve_alone(self, item: _Item) -> None:
        latents, future = item
        try:
            images = self._generate(latents)
        except Exception as error:
            _LOG.error("The generator failed on a request's latents.", exc_info=error)
            _settle(future, error=_as_generator_error(error))
            return
        self._hand_over(future, images)

    def _generate(self, z: np.ndarray) -> np.ndarray:
        rows = len(z)
        padded = self.padded_size(rows)
        if padded > rows:
            z = np.concatenate([z, np.zeros((padded - rows, z.shape[1]), z.dtype)])
        images = np.asarray(keras.ops.convert_to_numpy(self._call(z)), dtype=np.float32)
        if images.ndim != 4 or len(images) != len(z):
            raise GeneratorError(
                f"The generator returned shape {images.shape} for {len(z)} latents; "
                "expected images (N, H, W, C)."
            )
        return images[:rows]

    @staticmethod
    def _hand_over(future: concurrent.futures.Future[np.ndarray], images: np.ndarray) -> None:
        if np.all(np.isfinite(images)):
            _settle(future, result=images)
            return
        bad = int(np.sum(~np.all(np.isfinite(images.reshape(len(images), -1)), axis=1)))
        _LOG.error(
            "The generator returned non-finite pixels for %d of %d latents.", bad, len(images)
        )
        _settle(
            future,
            error=GeneratorError(
                f"The generator returned non-finite pixels (NaN or infinity) for {bad} of "
                f"{len(images)} latents."
            ),
        )


def _as_generator_error(error: Exception) -> GeneratorError:
    if isinstance(error, GeneratorError):
        return error
    wrapped = GeneratorError(f"The generator raised {type(error).__name__}: {error}")
    wrapped.__cause__ = error
    return wrapped


def _settle(
    future: concurrent.futures.Future[np.ndarray],
    result: np.ndarray | None = None,
    error: BaseException | None = None,
) -> None:
    """Sets a future's outcome unless it already has one (e.g. it was cancelled)."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]
    except concurrent.futures.InvalidStateError:
        pass
