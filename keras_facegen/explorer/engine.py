"""The explorer's model side: page state -> latents -> images, safe under concurrent requests.

The HTTP layer (:mod:`keras_facegen.explorer.app`) only validates shapes and types; every
fact about latents (codes, seeds, directions, offsets, morphs, ranking) is computed here with
the library's own tools, and every generator call goes through one worker thread that merges
concurrent requests into one batch (:class:`BatchedGenerator`).

Two slider modes:

* ``"latent"`` (models with at most ``max_sliders`` latent coordinates, e.g. the 16-d face
  DCGAN): one slider per coordinate, the state is the latent's hex code
  (:func:`keras_facegen.latent.encode_hex`), ``z = byte / 127.5 - 1``.
* ``"directions"`` (e.g. ProGAN's 512-d normal latent): the state is a random ``seed`` plus one
  slider per direction (principal directions of the generated images by default, or the
  attribute directions you pass); the hex code holds the sliders' bytes, and
  ``z = base(seed) + sum_k spread * (byte_k / 127.5 - 1) * direction_k``.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import io
import math
import queue
import secrets
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
from PIL import Image

from keras_facegen import latent, sampling
from keras_facegen.latent.distributions import LATENT_DISTRIBUTIONS
from keras_facegen.latent.generators import check_latents

__all__ = ["BatchedGenerator", "FaceEngine", "NoDiscriminatorError", "principal_directions"]

MORPH_METHODS = ("line", "lerp", "slerp", "hypersphere")
#: Largest seed the page and API accept (seeds are NumPy ``default_rng`` seeds).
MAX_SEED = 2**32 - 1


class NoDiscriminatorError(LookupError):
    """Raised when a ranking is asked of an explorer that has no discriminator.

    Example:
        >>> issubclass(NoDiscriminatorError, LookupError)
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
        self._queue: queue.Queue = queue.Queue()
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
            RuntimeError: If the generator was closed.
        """
        return np.concatenate([future.result() for future in self.submit(z)])

    async def generate_async(self, z: Any) -> np.ndarray:
        """:meth:`__call__` for ``asyncio`` code: waits without holding a thread.

        Args:
            z: ``(N, latent_dim)`` latents.

        Returns:
            float32 images ``(N, H, W, C)``.

        Raises:
            ValueError: On latents of the wrong shape.
            RuntimeError: If the generator was closed.
        """
        parts = [await asyncio.wrap_future(future) for future in self.submit(z)]
        return np.concatenate(parts)

    def submit(self, z: Any) -> list[concurrent.futures.Future]:
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
            future: concurrent.futures.Future = concurrent.futures.Future()
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

    def _run(self) -> None:
        backlog: list[tuple[np.ndarray, concurrent.futures.Future]] = []
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
            self._serve(batch, rows)

    def _serve(self, batch: list, rows: int) -> None:
        z = np.concatenate([latents for latents, _ in batch])
        padded = self.padded_size(rows)
        if padded > rows:
            z = np.concatenate([z, np.zeros((padded - rows, z.shape[1]), z.dtype)])
        try:
            images = np.asarray(keras.ops.convert_to_numpy(self._call(z)), dtype=np.float32)
            if images.ndim != 4 or len(images) != len(z):
                raise ValueError(
                    f"The generator returned shape {images.shape} for {len(z)} latents; "
                    "expected images (N, H, W, C)."
                )
        except Exception as error:  # every waiting caller gets the error, the worker lives on
            for _, future in batch:
                future.set_exception(error)
            return
        start = 0
        for latents, future in batch:
            future.set_result(images[start : start + len(latents)])
            start += len(latents)


def principal_directions(
    generator: Any,
    latent_dim: int,
    distribution: str = "normal",
    num_directions: int = 8,
    num_samples: int = 128,
    seed: int = 0,
    pool: int = 16,
) -> np.ndarray:
    """Latent directions along which the generated images vary most.

    Draws ``num_samples`` latents, generates their images, shrinks them to ``pool x pool`` and
    takes the principal components of the pixels; each direction is the least-squares map from
    the (centred) latents to one component's scores, normalised to unit length. Sliders along
    them change the face a lot where one latent coordinate of a 512-d model changes little.

    Args:
        generator: Anything :func:`keras_facegen.latent.generate_images` accepts.
        latent_dim: The latent size.
        distribution: ``"normal"`` or ``"uniform"``: how the sample latents are drawn.
        num_directions: How many directions (at most ``min(num_samples, latent_dim)``).
        num_samples: How many images the components are computed from.
        seed: Seed of the sample latents.
        pool: Side of the shrunk images (a divisor of the resolution works best).

    Returns:
        float32 ``(num_directions, latent_dim)`` unit vectors, most varying first.

    Raises:
        ValueError: On a count out of range or an unknown distribution.

    Example:
        >>> principal_directions(generator, 16, "uniform", num_directions=4, num_samples=32).shape
        (4, 16)
    """
    if not 1 <= num_directions <= min(num_samples, latent_dim):
        raise ValueError(
            f"num_directions must be in [1, min(num_samples, latent_dim)] = "
            f"[1, {min(num_samples, latent_dim)}]; received num_directions={num_directions}."
        )
    z = latent.sample_latents(num_samples, latent_dim, distribution, seed=seed).astype(np.float64)
    images = latent.generate_images(generator, z).astype(np.float64)
    shrunk = np.stack(
        [
            np.asarray(
                Image.fromarray(sampling.to_uint8(image)).resize((pool, pool), Image.BILINEAR),
                dtype=np.float64,
            ).reshape(-1)
            for image in images
        ]
    )
    shrunk -= shrunk.mean(axis=0)
    _, _, components = np.linalg.svd(shrunk, full_matrices=False)
    scores = shrunk @ components[:num_directions].T
    centred = z - z.mean(axis=0)
    weights, *_ = np.linalg.lstsq(centred, scores, rcond=None)
    directions = weights.T
    directions /= np.maximum(np.linalg.norm(directions, axis=1, keepdims=True), 1e-12)
    return directions.astype(np.float32)


def _png(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


class FaceEngine:
    """Turns the explorer page's state into images, codes, offsets, morphs and rankings.

    Args:
        generator: A generator (Keras model, GAN, :class:`~keras_facegen.models.PretrainedGAN`,
            TF-Hub generator or callable with ``latent_dim``).
        discriminator: A discriminator for ranking samples, or ``None``. Defaults to the
            generator's ``.discriminator`` when it has one.
        name: The model's name shown on the page.
        latent_distribution: ``"uniform"`` or ``"normal"``; defaults to the generator's
            ``latent_distribution`` attribute, else ``"normal"``.
        directions: Named latent directions for the sliders (``{name: (latent_dim,)}``); forces
            the ``"directions"`` mode. By default models with more than ``max_sliders``
            coordinates get :func:`principal_directions`.
        max_sliders: Largest latent size that gets one slider per coordinate.
        num_directions: How many principal directions to compute in ``"directions"`` mode.
        direction_spread: How far (in latent units) a direction slider reaches each way.
        max_batch: Most latents per request and per model call.
        max_morph_steps: Most frames of a morph.
        max_rank_samples: Most samples a ranking may generate.
        warm_up: Run every padded batch shape once now, so no request waits for a backend
            to trace or compile a new shape.

    Raises:
        ValueError: On an unknown distribution, bad directions or counts.

    Example:
        >>> engine = FaceEngine(generator, latent_distribution="uniform")
        >>> engine.mode, engine.num_sliders
        ('latent', 16)
        >>> engine.render_codes(["80" * 16])[1:4]
        b'PNG'
    """

    def __init__(
        self,
        generator: Any,
        discriminator: Any = None,
        *,
        name: str | None = None,
        latent_distribution: str | None = None,
        directions: Mapping[str, Any] | None = None,
        max_sliders: int = 64,
        num_directions: int = 8,
        direction_spread: float = 3.0,
        max_batch: int = 64,
        max_morph_steps: int = 64,
        max_rank_samples: int = 256,
        warm_up: bool = True,
    ) -> None:
        if discriminator is None:
            discriminator = getattr(generator, "discriminator", None)
        distribution = latent_distribution or getattr(generator, "latent_distribution", None)
        distribution = distribution or "normal"
        if distribution not in LATENT_DISTRIBUTIONS:
            raise ValueError(
                f"latent_distribution must be one of {LATENT_DISTRIBUTIONS}; received "
                f"latent_distribution={distribution!r}."
            )
        if not math.isfinite(direction_spread) or direction_spread <= 0:
            raise ValueError(
                f"direction_spread must be a positive number; received {direction_spread!r}."
            )
        self.generator = BatchedGenerator(generator, max_batch=max_batch)
        self.discriminator = discriminator
        self._discriminator_lock = threading.Lock()
        self.latent_dim = self.generator.latent_dim
        self.latent_distribution = distribution
        self.name = name or getattr(generator, "name", None) or type(generator).__name__
        self.max_batch = max_batch
        self.max_morph_steps = max_morph_steps
        self.max_rank_samples = max_rank_samples
        self.direction_spread = float(direction_spread)
        # One call at the centre: the image shape, and the compiled batch-of-one path warm.
        probe = self.generator(np.zeros((1, self.latent_dim), np.float32))
        _, self.resolution, width, self.channels = probe.shape
        self.width = int(width)
        if warm_up:
            self.generator.warm_up()
        # Latents a client may send: the hex-code box, or a generous band of a Gaussian.
        self.z_bound = 1.0 if distribution == "uniform" else 10.0
        if directions is None and self.latent_dim <= max_sliders:
            self.mode = "latent"
            self.slider_names = [f"z{i}" for i in range(self.latent_dim)]
            self.directions = None
        else:
            self.mode = "directions"
            if directions is None:
                matrix = principal_directions(
                    self.generator,
                    self.latent_dim,
                    distribution,
                    num_directions=min(num_directions, self.latent_dim),
                )
                names = [f"pc{i + 1}" for i in range(len(matrix))]
            else:
                names = [str(key) for key in directions]
                matrix = self._direction_matrix(directions)
            self.slider_names = names
            self.directions = np.asarray(matrix, np.float64)

    # === State -> latents ===

    @property
    def num_sliders(self) -> int:
        """Sliders on the page (latent coordinates or directions)."""
        return len(self.slider_names)

    def _direction_matrix(self, directions: Mapping[str, Any]) -> np.ndarray:
        if not directions:
            raise ValueError("directions must name at least one direction; received an empty one.")
        rows = []
        for key, value in directions.items():
            vector = np.asarray(keras.ops.convert_to_numpy(value), np.float64)
            if vector.shape != (self.latent_dim,) or not np.all(np.isfinite(vector)):
                raise ValueError(
                    f"directions[{key!r}] must be a finite vector of shape ({self.latent_dim},); "
                    f"received shape {vector.shape}."
                )
            rows.append(vector)
        return np.stack(rows)

    def code_latents(self, codes: Sequence[str], seeds: Sequence[int] | None = None) -> np.ndarray:
        """The latents of page states: hex codes (and seeds in ``"directions"`` mode).

        Args:
            codes: Hex codes of ``num_sliders`` bytes each.
            seeds: One seed per code (``"directions"`` mode; default 0 for all).

        Returns:
            float32 ``(N, latent_dim)``.

        Raises:
            ValueError: On an invalid code or a seed count that differs from the code count.
        """
        values = np.atleast_2d(latent.decode_hex(list(codes), latent_dim=self.num_sliders))
        if self.mode == "latent":
            return values.astype(np.float32)
        seeds = [0] * len(codes) if seeds is None else list(seeds)
        if len(seeds) != len(codes):
            raise ValueError(
                f"Send one seed per code; received {len(seeds)} seeds for {len(codes)} codes."
            )
        base = np.stack([self.base_latent(seed) for seed in seeds])
        return (base + self.direction_spread * values @ self.directions).astype(np.float32)

    def base_latent(self, seed: int) -> np.ndarray:
        """The latent a seed draws (``"directions"`` mode's starting point)."""
        return latent.sample_latents(1, self.latent_dim, self.latent_distribution, seed=seed)[0]

    def check_z(self, z: Any) -> np.ndarray:
        """Validates raw latents sent by a client.

        Args:
            z: ``(latent_dim,)`` or ``(N, latent_dim)`` numbers.

        Returns:
            float32 ``(N, latent_dim)``.

        Raises:
            ValueError: On a wrong size, non-finite values, a coordinate outside
                ``[-z_bound, z_bound]`` or more than ``max_batch`` latents.
        """
        array = check_latents(z, self.latent_dim)
        worst = float(np.max(np.abs(array)))
        if worst > self.z_bound:
            raise ValueError(
                f"z coordinates must lie in [-{self.z_bound:g}, {self.z_bound:g}] for this "
                f"{self.latent_distribution} latent; received max |z| = {worst:g}."
            )
        self.check_count(len(array), "z")
        return array

    def check_count(self, count: int, argument: str) -> None:
        """Refuses batches larger than ``max_batch``."""
        if count > self.max_batch:
            raise ValueError(
                f"{argument} holds {count} latents; at most {self.max_batch} per request."
            )

    # === Images ===

    def render(self, z: np.ndarray, rows: int | None = None) -> bytes:
        """PNG bytes of the images of ``z``: one image, or a grid for a batch.

        Args:
            z: ``(N, latent_dim)`` latents (already validated).
            rows: Grid rows for a batch (default: about square).

        Returns:
            The PNG file's bytes.

        Raises:
            ValueError: If ``rows`` is not in ``[1, N]``.
        """
        return self.encode_png(self.generator(z), rows)

    def encode_png(self, images: np.ndarray, rows: int | None = None) -> bytes:
        """PNG bytes of generated images: one image, or a grid for a batch.

        Args:
            images: ``(N, H, W, C)`` images in ``[-1, 1]``.
            rows: Grid rows for a batch (default: about square).

        Returns:
            The PNG file's bytes.

        Raises:
            ValueError: If ``rows`` is not in ``[1, N]``.
        """
        if len(images) == 1:
            picture = sampling.to_uint8(images[0])
        else:
            rows = rows or max(1, round(math.sqrt(len(images))))
            picture = sampling.image_grid(images, rows=rows)
        if picture.shape[-1] == 1:
            picture = np.repeat(picture, 3, axis=-1)
        return _png(picture)

    def render_codes(self, codes: Sequence[str], seeds: Sequence[int] | None = None) -> bytes:
        """PNG bytes for page states (see :meth:`code_latents`)."""
        self.check_count(len(codes), "codes")
        return self.render(self.code_latents(codes, seeds))

    # === Random draws, offsets ===

    def random_state(
        self, seed: int | None = None, offset: Any = None, scale: float = 1.0
    ) -> dict[str, Any]:
        """A random page state, optionally moved by a good-minus-bad offset.

        ``"latent"`` mode draws a latent (clipped into the code box) from ``seed``;
        ``"directions"`` mode takes ``seed`` as the new base and centres the sliders. The
        offset (in slider units, see :meth:`offset`) is added with
        :func:`keras_facegen.latent.apply_offset`, clipped to the box.

        Args:
            seed: Seed of the draw; ``None`` picks a fresh one (returned).
            offset: ``(num_sliders,)`` offset to add, or ``None``.
            scale: Multiplier of the offset.

        Returns:
            ``{"code": ..., "seed": ...}``.

        Raises:
            ValueError: On an offset of the wrong size or non-finite values.
        """
        if seed is None:
            seed = secrets.randbelow(MAX_SEED + 1)
        if self.mode == "latent":
            values = latent.sample_latents(1, self.latent_dim, self.latent_distribution, seed=seed)
            values = np.clip(values[0], -1.0, 1.0)
        else:
            values = np.zeros(self.num_sliders, np.float32)
        if offset is not None:
            offset = np.asarray(offset, np.float64)
            if offset.shape != (self.num_sliders,):
                raise ValueError(
                    f"offset must have {self.num_sliders} numbers (one per slider); received "
                    f"{offset.shape[0] if offset.ndim == 1 else offset.shape}."
                )
            values = latent.apply_offset(values, offset, scale=scale, clip=1.0)
        return {"code": latent.encode_hex(values, clip=True), "seed": int(seed)}

    def offset(self, good: Sequence[str], bad: Sequence[str]) -> dict[str, Any]:
        """The good-minus-bad offset of marked codes (in slider units).

        Args:
            good: Hex codes of faces marked good (at least one).
            bad: Hex codes of faces marked bad (at least one).

        Returns:
            ``{"offset": [...], "good": len(good), "bad": len(bad), "code": ...}`` where
            ``code`` is the average good code (:func:`keras_facegen.latent.average_codes`).

        Raises:
            ValueError: If a list is empty or a code is invalid.
        """
        if not good or not bad:
            raise ValueError(
                "Mark at least one good and one bad face; received "
                f"{len(good)} good and {len(bad)} bad."
            )
        for codes, argument in ((good, "good"), (bad, "bad")):
            try:
                latent.decode_hex(list(codes), latent_dim=self.num_sliders)
            except ValueError as error:
                raise ValueError(f"{argument}: {error}") from None
        vector = latent.offset_vector(list(good), list(bad))
        return {
            "offset": [round(float(v), 6) for v in vector],
            "good": len(good),
            "bad": len(bad),
            "average_good": latent.average_codes(list(good)),
        }

    # === Morphs ===

    def morph_latents(
        self,
        start: str,
        end: str,
        steps: int,
        method: str,
        seeds: tuple[int, int] = (0, 0),
    ) -> np.ndarray:
        """The latents of a morph between two page states.

        Args:
            start: Hex code of the first face.
            end: Hex code of the last face.
            steps: Frames (2 to ``max_morph_steps``).
            method: ``"line"`` (the face DCGAN's: the chord of the code box through both faces;
                ``"latent"`` mode only), ``"lerp"``, ``"slerp"`` or ``"hypersphere"``.
            seeds: The two faces' seeds (``"directions"`` mode).

        Returns:
            float32 ``(steps, latent_dim)``.

        Raises:
            ValueError: On invalid codes, counts or methods, or equal ends for ``"line"``.
        """
        if not 2 <= steps <= self.max_morph_steps:
            raise ValueError(
                f"steps must be in [2, {self.max_morph_steps}]; received steps={steps}."
            )
        if method not in MORPH_METHODS:
            raise ValueError(f"method must be one of {MORPH_METHODS}; received {method!r}.")
        if method == "line" and self.mode != "latent":
            raise ValueError(
                "method='line' follows the code box of a low-dimensional latent; use 'slerp', "
                "'lerp' or 'hypersphere' for this model."
            )
        a, b = self.code_latents([start, end], list(seeds))
        return latent.morph_path(a, b, steps, method=method)

    def morph_gif(self, z: np.ndarray, duration: int) -> bytes:
        """GIF bytes of the frames of ``z`` (written by :func:`keras_facegen.sampling.save_gif`)."""
        frames = self.generator(z)
        with tempfile.TemporaryDirectory(prefix="keras-facegen-morph-") as folder:
            path = sampling.save_gif(frames, Path(folder) / "morph.gif", duration=duration)
            return path.read_bytes()

    # === Ranking ===

    def _score(self, images: Any) -> Any:
        # One discriminator call at a time: Keras models are not re-entrant across threads.
        with self._discriminator_lock:
            if isinstance(self.discriminator, keras.Model):
                return self.discriminator.predict_on_batch(np.asarray(images))
            return self.discriminator(np.asarray(images))

    def rank(self, num_samples: int, top_k: int, seed: int | None) -> dict[str, Any]:
        """Random faces ranked by the discriminator's "real" probability.

        Args:
            num_samples: Faces to generate (``top_k`` to ``max_rank_samples``).
            top_k: How many of the best and of the worst to return.
            seed: Seed of the draw (``None``: a fresh one, returned).

        Returns:
            ``{"seed": ..., "best": [...], "worst": [...]}``; each entry has ``code``, ``seed``,
            ``score`` and ``image`` (a PNG data URL), best first / worst first.

        Raises:
            NoDiscriminatorError: If no discriminator is loaded.
            ValueError: If a count is out of range.
        """
        if self.discriminator is None:
            raise NoDiscriminatorError("No discriminator is loaded, so samples cannot be ranked.")
        if not 1 <= top_k <= num_samples <= self.max_rank_samples:
            raise ValueError(
                f"Need 1 <= top_k <= num_samples <= {self.max_rank_samples}; received "
                f"top_k={top_k}, num_samples={num_samples}."
            )
        if seed is None:
            seed = secrets.randbelow(MAX_SEED + 1 - num_samples)
        if self.mode == "latent":
            values = latent.sample_latents(
                num_samples, self.latent_dim, self.latent_distribution, seed
            )
            codes = latent.encode_hex(np.clip(values, -1.0, 1.0))
            seeds = [int(seed)] * num_samples
        else:
            codes = [latent.encode_hex(np.zeros(self.num_sliders))] * num_samples
            seeds = [int(seed) + i for i in range(num_samples)]
        z = self.code_latents(codes, seeds)
        ranking = sampling.rank_by_discriminator(
            self.generator, self._score, latents=z, top_k=top_k, batch_size=self.max_batch
        )
        # rank_by_discriminator sorts the latents; find each one's index to return its state.
        index = {row.tobytes(): i for i, row in enumerate(z)}

        def entries(images: np.ndarray, latents: np.ndarray, scores: np.ndarray) -> list:
            result = []
            for image, vector, score in zip(images, latents, scores):
                i = index[np.asarray(vector, np.float32).tobytes()]
                result.append(
                    {
                        "code": codes[i],
                        "seed": seeds[i],
                        "score": round(float(score), 6),
                        "image": "data:image/png;base64,"
                        + base64.b64encode(_png(sampling.to_uint8(image))).decode(),
                    }
                )
            return result

        return {
            "seed": int(seed),
            "best": entries(
                ranking.highest_images, ranking.highest_latents, ranking.highest_scores
            ),
            "worst": entries(ranking.lowest_images, ranking.lowest_latents, ranking.lowest_scores),
        }

    # === Info ===

    def info(self) -> dict[str, Any]:
        """What the page needs to know about the model (``GET /api/info``)."""
        return {
            "name": self.name,
            "latent_dim": self.latent_dim,
            "latent_distribution": self.latent_distribution,
            "resolution": int(self.resolution),
            "channels": int(self.channels),
            "mode": self.mode,
            "sliders": list(self.slider_names),
            "code_length": 2 * self.num_sliders,
            "direction_spread": self.direction_spread if self.mode == "directions" else None,
            "z_bound": self.z_bound,
            "has_discriminator": self.discriminator is not None,
            "max_batch": self.max_batch,
            "max_morph_steps": self.max_morph_steps,
            "max_rank_samples": self.max_rank_samples,
            "morph_methods": [m for m in MORPH_METHODS if m != "line" or self.mode == "latent"],
            "default_morph_method": "line" if self.mode == "latent" else "slerp",
        }

    def close(self) -> None:
        """Stops the generator worker thread."""
        self.generator.close()
