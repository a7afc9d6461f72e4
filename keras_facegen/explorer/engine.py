"""The explorer's model side: page state -> latents -> images, safe under concurrent requests.

The HTTP layer (:mod:`keras_facegen.explorer.app`) only validates shapes and types; every
fact about latents (codes, seeds, directions, offsets, morphs, ranking) is computed here with
the library's own tools. Every generator call goes through one worker thread that merges
concurrent requests into one batch (:class:`~keras_facegen.explorer.worker.BatchedGenerator`,
in :mod:`keras_facegen.explorer.worker`); the default slider directions of a large latent come
from :func:`~keras_facegen.explorer.directions.principal_directions`.

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

import base64
import io
import math
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
from keras_facegen.explorer.directions import principal_directions
from keras_facegen.explorer.worker import BatchedGenerator, GeneratorError
from keras_facegen.latent.distributions import LATENT_DISTRIBUTIONS
from keras_facegen.latent.generators import check_latents

__all__ = [
    "MAX_MORPH_STEPS",
    "MAX_RANK_SAMPLES",
    "MAX_SEED",
    "MORPH_METHODS",
    "BatchedGenerator",
    "FaceEngine",
    "GeneratorError",
    "NoDiscriminatorError",
    "principal_directions",
]

#: The morph paths the API offers (``"line"`` only for a low-dimensional latent).
MORPH_METHODS = ("line", "lerp", "slerp", "hypersphere")
#: Largest seed the page and API accept (seeds are NumPy ``default_rng`` seeds).
MAX_SEED = 2**32 - 1
#: Most frames of a morph the API accepts (an engine may be set lower; ``/api/info`` tells).
MAX_MORPH_STEPS = 64
#: Most samples one ranking may generate (an engine may be set lower; ``/api/info`` tells).
MAX_RANK_SAMPLES = 256


class NoDiscriminatorError(LookupError):
    """Raised when a ranking is asked of an explorer that has no discriminator.

    Example:
        >>> issubclass(NoDiscriminatorError, LookupError)
        True
    """


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
        max_morph_steps: Most frames of a morph (2 to :data:`MAX_MORPH_STEPS`).
        max_rank_samples: Most samples a ranking may generate (1 to
            :data:`MAX_RANK_SAMPLES`).
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
        max_morph_steps: int = MAX_MORPH_STEPS,
        max_rank_samples: int = MAX_RANK_SAMPLES,
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
        for value, low, high, argument in (
            (max_morph_steps, 2, MAX_MORPH_STEPS, "max_morph_steps"),
            (max_rank_samples, 1, MAX_RANK_SAMPLES, "max_rank_samples"),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(
                    f"{argument} must be an integer in [{low}, {high}]; received {value!r}."
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
            self.directions: np.ndarray | None = None
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
        assert self.directions is not None  # set in "directions" mode
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
            encoded = latent.encode_hex(np.clip(values, -1.0, 1.0))
            codes = encoded if isinstance(encoded, list) else [encoded]
            seeds = [int(seed)] * num_samples
        else:
            codes = [str(latent.encode_hex(np.zeros(self.num_sliders)))] * num_samples
            # Consecutive seeds, wrapping past MAX_SEED so every one is a seed the API accepts.
            seeds = [(int(seed) + i) % (MAX_SEED + 1) for i in range(num_samples)]
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
            "max_seed": MAX_SEED,
            "morph_methods": [m for m in MORPH_METHODS if m != "line" or self.mode == "latent"],
            "default_morph_method": "line" if self.mode == "latent" else "slerp",
        }

    def close(self) -> None:
        """Stops the generator worker thread."""
        self.generator.close()
