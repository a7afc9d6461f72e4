"""Ranking generated faces by the discriminator, image grids, and PNG/JPEG/GIF writers.

The face DCGAN's ranking: generate a batch, score each image by the discriminator's "real"
probability, and show the lowest and highest scoring faces as two rows of one image.

Images are float arrays in ``[-1, 1]`` or uint8 arrays, channels last, with 1 or 3 channels.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np
from PIL import Image

from keras_facegen._images import as_rgb_batch as _as_rgb_batch
from keras_facegen._images import image_grid, to_uint8
from keras_facegen._validation import check_int
from keras_facegen.latent.distributions import sample_latents
from keras_facegen.latent.generators import (
    as_generator,
    check_batch_size,
    check_latents,
    generate_images,
)
from keras_facegen.losses.base import realness

IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


@dataclasses.dataclass(frozen=True)
class Ranking:
    """Generated samples sorted by the discriminator's "real" probability (ascending).

    Attributes:
        images: float32 ``(N, H, W, C)`` images, lowest score first.
        latents: float32 ``(N, D)`` latents in the same order.
        scores: float32 ``(N,)`` "real" probabilities, ascending.
        top_k: How many samples :attr:`lowest` and :attr:`highest` hold.
    """

    images: np.ndarray
    latents: np.ndarray
    scores: np.ndarray
    top_k: int

    @property
    def lowest_images(self) -> np.ndarray:
        """The ``top_k`` lowest-scoring images, lowest first."""
        return self.images[: self.top_k]

    @property
    def lowest_latents(self) -> np.ndarray:
        """The latents of :attr:`lowest_images`."""
        return self.latents[: self.top_k]

    @property
    def lowest_scores(self) -> np.ndarray:
        """The scores of :attr:`lowest_images`."""
        return self.scores[: self.top_k]

    @property
    def highest_images(self) -> np.ndarray:
        """The ``top_k`` highest-scoring images, highest first."""
        return self.images[::-1][: self.top_k]

    @property
    def highest_latents(self) -> np.ndarray:
        """The latents of :attr:`highest_images`."""
        return self.latents[::-1][: self.top_k]

    @property
    def highest_scores(self) -> np.ndarray:
        """The scores of :attr:`highest_images`."""
        return self.scores[::-1][: self.top_k]


def _call_discriminator(discriminator: Any, images: np.ndarray) -> Any:
    if isinstance(discriminator, keras.layers.Layer):
        outputs = discriminator(images, training=False)
    elif callable(discriminator):
        outputs = discriminator(images)
    else:
        raise ValueError(
            "discriminator must be a keras.Model or a callable images -> logits; received "
            f"discriminator={discriminator!r}."
        )
    # Discriminators that also return features put the logits first.
    if isinstance(outputs, (list, tuple)):
        outputs = outputs[0]
    return outputs


def score_images(discriminator: Any, images: Any, batch_size: int = 64) -> np.ndarray:
    """The discriminator's "real" probability for each image: ``sigmoid(realness(logits))``.

    One-logit discriminators give ``sigmoid(logit)``; two-logit (softmax, class 1 = real)
    discriminators give the softmax probability of "real".

    Args:
        discriminator: A Keras model or callable mapping images ``(N, H, W, C)`` in ``[-1, 1]``
            to logits ``(N,)``, ``(N, 1)`` or ``(N, 2)``.
        images: ``(N, H, W, C)`` images in the discriminator's range.
        batch_size: Images per discriminator call.

    Returns:
        float32 ``(N,)`` probabilities in ``[0, 1]``.

    Raises:
        ValueError: If ``images`` is not a non-empty 4-d batch or the logits have another shape.

    Example:
        >>> score_images(discriminator, images[:4]).shape
        (4,)
    """
    images = np.asarray(keras.ops.convert_to_numpy(images), dtype=np.float32)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(
            f"images must be a non-empty batch (N, H, W, C); received shape {images.shape}."
        )
    batch_size = check_batch_size(batch_size)
    scores = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        logits = realness(_call_discriminator(discriminator, batch))
        probabilities = keras.ops.convert_to_numpy(keras.ops.sigmoid(logits))
        if probabilities.shape != (len(batch),):
            raise ValueError(
                f"The discriminator returned {probabilities.shape[0]} scores for {len(batch)} "
                "images."
            )
        scores.append(np.asarray(probabilities, dtype=np.float32))
    return np.concatenate(scores)


def rank_by_discriminator(
    generator: Any,
    discriminator: Any,
    num_samples: int | None = None,
    top_k: int = 10,
    seed: int | None = None,
    latents: Any = None,
    batch_size: int = 64,
    distribution: str | None = None,
) -> Ranking:
    """Generates faces and sorts them by the discriminator's "real" probability.

    Args:
        generator: A generator model, a GAN (``.generator``) or a callable ``z -> images``
            (see :func:`keras_facegen.latent.as_generator`).
        discriminator: A model or callable ``images -> logits`` (1 or 2 logits, see
            :func:`score_images`).
        num_samples: How many faces to generate; may be omitted when ``latents`` is given.
        top_k: How many lowest / highest samples the result exposes (``<= num_samples``).
        seed: Seed of the random latents (ignored when ``latents`` is given).
        latents: Latents ``(N, D)`` to use instead of random ones.
        batch_size: Samples per generator / discriminator call.
        distribution: ``"normal"`` or ``"uniform"`` (``[-1, 1]``, the hex-code box) for random
            latents; defaults to the generator's ``latent_distribution`` attribute if it has
            one (the TF-Hub wrapper does), else ``"normal"``.

    Returns:
        A :class:`Ranking` sorted by ascending score (stable for ties).

    Raises:
        ValueError: If neither ``num_samples`` nor ``latents`` is given, they disagree,
            ``top_k > num_samples``, the generator's latent size is unknown, or on bad shapes.

    Example:
        >>> ranking = rank_by_discriminator(generator, discriminator, 100, 10, seed=0)
        >>> ranking.highest_images.shape
        (10, 64, 64, 3)
    """
    _, latent_dim = as_generator(generator)
    if latents is not None:
        latents = check_latents(latents, latent_dim, "latents")
        if num_samples is not None and check_int(num_samples, "num_samples") != len(latents):
            raise ValueError(
                f"num_samples={num_samples} does not match the {len(latents)} latents given."
            )
        num_samples = len(latents)
    else:
        if num_samples is None:
            raise ValueError("Pass num_samples (how many faces to generate) or latents.")
        num_samples = check_int(num_samples, "num_samples")
        if latent_dim is None:
            raise ValueError(
                "Cannot tell the generator's latent size: give it a latent_dim attribute or "
                "pass latents."
            )
        if distribution is None:
            distribution = getattr(generator, "latent_distribution", None) or "normal"
        latents = sample_latents(num_samples, latent_dim, distribution, seed=seed)
    top_k = check_int(top_k, "top_k")
    if top_k > num_samples:
        raise ValueError(
            f"top_k must be at most num_samples; received top_k={top_k} with "
            f"num_samples={num_samples}."
        )
    images = generate_images(generator, latents, batch_size=batch_size)
    scores = score_images(discriminator, images, batch_size=batch_size)
    order = np.argsort(scores, kind="stable")
    return Ranking(images[order], latents[order], scores[order], top_k)


def _prepare_path(path: str | os.PathLike, allowed: dict[str, str]) -> tuple[Path, str]:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise ValueError(f"path must end in one of {sorted(allowed)}; received path={str(path)!r}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path, allowed[suffix]


def save_image(
    image_or_images: Any,
    path: str | os.PathLike,
    rows: int = 1,
    padding: int = 2,
    pad_value: int = 0,
    quality: int = 95,
) -> Path:
    """Writes one image, or a batch as a grid, to a PNG or JPEG file.

    The format follows the extension (``.png``, ``.jpg``, ``.jpeg``); parent folders are
    created.

    Args:
        image_or_images: ``(H, W, C)`` or ``(N, H, W, C)``, floats in ``[-1, 1]`` or uint8. A
            batch of more than one image is tiled with :func:`image_grid`.
        path: Output file.
        rows: Grid rows for a batch.
        padding: Grid padding for a batch.
        pad_value: Grid padding grey level.
        quality: JPEG quality (1-95).

    Returns:
        The path written.

    Raises:
        ValueError: On an unsupported extension or bad image shapes.

    Example:
        >>> save_image(np.zeros((8, 8, 3)), "black.png")
        PosixPath('black.png')
    """
    path, image_format = _prepare_path(path, IMAGE_FORMATS)
    batch = _as_rgb_batch(image_or_images, "image_or_images")
    if len(batch) == 1:
        picture = batch[0]
    else:
        picture = image_grid(batch, rows=rows, padding=padding, pad_value=pad_value)
    options = {"quality": int(quality)} if image_format == "JPEG" else {}
    Image.fromarray(picture).save(path, format=image_format, **options)
    return path


def save_gif(
    images: Any, path: str | os.PathLike, duration: int | list[int] = 100, loop: int | None = 0
) -> Path:
    """Writes frames to an animated GIF (e.g. a morph or a hypersphere walk).

    GIF stores frame times in hundredths of a second, so durations are rounded to 10 ms by
    Pillow. Pillow merges consecutive identical frames (adding their durations).

    Args:
        images: Frames ``(T, H, W, C)`` or a list of ``(H, W, C)``, floats in ``[-1, 1]`` or
            uint8.
        path: Output file ending in ``.gif``; parent folders are created.
        duration: Milliseconds per frame (one positive number, or one per frame).
        loop: Number of repeats, 0 = forever, ``None`` = play once.

    Returns:
        The path written.

    Raises:
        ValueError: On a path not ending in ``.gif``, bad frames or durations, or a negative
            loop.

    Example:
        >>> save_gif(frames, "walk.gif", duration=80)
        PosixPath('walk.gif')
    """
    path, _ = _prepare_path(path, {".gif": "GIF"})
    frames = _as_rgb_batch(images)
    durations = np.atleast_1d(np.asarray(duration))
    if durations.ndim != 1 or len(durations) not in (1, len(frames)):
        raise ValueError(
            f"duration must be one number or one per frame ({len(frames)}); received "
            f"duration={duration!r}."
        )
    if durations.dtype.kind not in "iuf" or not np.all(durations > 0):
        raise ValueError(f"duration must be positive milliseconds; received duration={duration!r}.")
    if loop is not None:
        check_int(loop, "loop", minimum=0)
    pictures = [Image.fromarray(frame) for frame in frames]
    options: dict[str, Any] = {
        "save_all": True,
        "append_images": pictures[1:],
        "duration": int(durations[0]) if len(durations) == 1 else [int(d) for d in durations],
    }
    if loop is not None:
        options["loop"] = loop
    pictures[0].save(path, format="GIF", **options)
    return path


def ranked_sheet(
    source: Any,
    discriminator: Any = None,
    top_k: int = 10,
    num_samples: int = 100,
    seed: int | None = None,
    padding: int = 2,
    pad_value: int = 0,
    labels: bool = False,
    **rank_kwargs: Any,
) -> np.ndarray:
    """The two-row sheet of the worst and best faces: row 1 lowest scores, row 2 highest.

    With ``labels``, a left column names the rows ("worst", "best") and each face has its
    "real" probability printed under it (three decimals).

    Args:
        source: A :class:`Ranking`, or a generator (then ``discriminator`` is required and
            :func:`rank_by_discriminator` is run).
        discriminator: The discriminator when ``source`` is a generator.
        top_k: Faces per row (at most the ranking's sample count).
        num_samples: Faces to generate when ranking here.
        seed: Seed of the latents when ranking here.
        padding: Grid padding in pixels.
        pad_value: Grid padding grey level.
        labels: Add the row names and each face's score.
        **rank_kwargs: More :func:`rank_by_discriminator` arguments (``latents``, ...).

    Returns:
        uint8 ``(H', W', 3)`` image: lowest first in row 1, highest first in row 2. Without
        labels it is :func:`image_grid` of the ``2 * top_k`` faces.

    Raises:
        ValueError: If a generator is given without a discriminator, or ``top_k`` is larger
            than the number of ranked samples.

    Example:
        >>> sheet = ranked_sheet(generator, discriminator, num_samples=32, top_k=4)
        >>> sheet.dtype, sheet.shape[-1]
        (dtype('uint8'), 3)
    """
    top_k = check_int(top_k, "top_k")
    if isinstance(source, Ranking):
        if top_k > len(source.scores):
            raise ValueError(
                f"top_k must be at most the {len(source.scores)} ranked samples; received "
                f"top_k={top_k}."
            )
        ranking = source
    else:
        if discriminator is None:
            raise ValueError("ranked_sheet needs a discriminator when source is a generator.")
        # Given latents set the number of samples themselves.
        count = None if "latents" in rank_kwargs else num_samples
        ranking = rank_by_discriminator(
            source, discriminator, count, top_k, seed=seed, **rank_kwargs
        )
    lowest = ranking.images[:top_k]
    highest = ranking.images[::-1][:top_k]
    if labels:
        rows = [
            ("worst", to_uint8(lowest), ranking.scores[:top_k]),
            ("best", to_uint8(highest), ranking.scores[::-1][:top_k]),
        ]
        return _labelled_rows(rows, padding, pad_value)
    return image_grid(
        np.concatenate([to_uint8(lowest), to_uint8(highest)]),
        rows=2,
        padding=padding,
        pad_value=pad_value,
    )


def _labelled_rows(
    rows: list[tuple[str, np.ndarray, np.ndarray]], padding: int, pad_value: int
) -> np.ndarray:
    """Rows of faces with a name column on the left and a score under each face."""
    from PIL import ImageDraw, ImageFont

    check_int(padding, "padding", minimum=0)
    font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def text_size(text: str) -> tuple[int, int]:
        left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
        return int(right - left), int(bottom)

    _, height, width, _ = rows[0][1].shape
    cols = max(len(images) for _, images, _ in rows)
    decimals = 3 if text_size("0.000")[0] <= width else 2
    label_width = max(text_size(name)[0] for name, _, _ in rows) + 2 * padding + 4
    text_height = max(text_size("0.123")[1], text_size("worst")[1]) + 2
    row_height = height + text_height + padding
    canvas = np.full(
        (padding + len(rows) * row_height, label_width + cols * (width + padding) + padding, 3),
        pad_value,
        dtype=np.uint8,
    )
    placed = []
    for r, (name, images, scores) in enumerate(rows):
        top = padding + r * row_height
        for c, image in enumerate(images):
            left = label_width + padding + c * (width + padding)
            canvas[top : top + height, left : left + width] = image
            placed.append((f"{float(scores[c]):.{decimals}f}", left, width, top + height + 1))
        placed.append((name, padding, None, top + (height - text_size(name)[1]) // 2))
    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    ink = (0, 0, 0) if pad_value >= 128 else (255, 255, 255)
    for text, left, cell_width, top in placed:
        if cell_width is not None:  # centred under its face
            left += max(0, (cell_width - text_size(text)[0]) // 2)
        draw.text((left, top), text, fill=ink, font=font)
    return np.asarray(picture)


def save_ranked_sheet(
    source: Any, path: str | os.PathLike, discriminator: Any = None, **kwargs: Any
) -> Path:
    """Writes :func:`ranked_sheet` to a PNG or JPEG file.

    Args:
        source: A :class:`Ranking` or a generator.
        path: Output ``.png`` / ``.jpg`` / ``.jpeg`` file (parent folders are created).
        discriminator: The discriminator when ``source`` is a generator.
        **kwargs: More :func:`ranked_sheet` arguments (``top_k``, ``num_samples``, ``seed``,
            ``labels``).

    Returns:
        The path written.

    Raises:
        ValueError: As :func:`ranked_sheet` and :func:`save_image`.

    Example:
        >>> ranking = rank_by_discriminator(generator, discriminator, 32, 4, seed=0)
        >>> save_ranked_sheet(ranking, "ranked.png")
        PosixPath('ranked.png')
    """
    _prepare_path(path, IMAGE_FORMATS)
    return save_image(ranked_sheet(source, discriminator, **kwargs), path)
