"""``EvaluateQuality``: sample-quality figures on a held-out real set during ``GAN.fit``.

Re-exported as ``keras_facegen.callbacks.EvaluateQuality``.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_facegen import distributed
from keras_facegen._validation import check_int
from keras_facegen.metrics._checks import as_images
from keras_facegen.metrics.frechet import extract_features, frechet_distance, kernel_distance
from keras_facegen.metrics.ms_ssim import mean_ms_ssim
from keras_facegen.metrics.swd import sliced_wasserstein_distance

__all__ = ["EvaluateQuality", "METRIC_NAMES", "RESOLUTION_MODES"]

#: Metrics :class:`EvaluateQuality` knows, and what they log.
METRIC_NAMES = ("swd", "ms_ssim", "fid", "kid")
#: Where :class:`EvaluateQuality` compares a generator with smaller images than the reals.
RESOLUTION_MODES = ("full", "stage")
#: The smallest images MS-SSIM's five scales take.
_MS_SSIM_MIN_SIZE = 16


def _resize_to(images: np.ndarray, size: int, argument: str) -> np.ndarray:
    """Nearest-upsamples or average-pools square images by a power-of-two factor."""
    current = int(images.shape[1])
    if current == size:
        return images
    big, small = max(current, size), min(current, size)
    factor = big // small
    if big % small or factor & (factor - 1):
        raise ValueError(
            f"EvaluateQuality compares {argument} of {current}x{current} with {size}x{size} "
            "images only by a power-of-two factor."
        )
    if current < size:
        return images.repeat(factor, axis=1).repeat(factor, axis=2)
    n, _, _, c = images.shape
    return images.reshape(n, size, factor, size, factor, c).mean(axis=(2, 4), dtype=np.float32)


def _step_of(model: Any) -> int | None:
    """The GAN's own train-step counter, if it keeps one."""
    reader = getattr(model, "counter_values", None)
    if callable(reader):
        return int(reader()["iterations"])
    counter = getattr(model, "iterations", None)
    if counter is not None and not callable(counter):
        return int(np.asarray(keras.ops.convert_to_numpy(counter)))
    return None


class EvaluateQuality(keras.callbacks.Callback):
    """Measures generated images against held-out real images every ``every_n_steps`` steps.

    At each evaluation the generator draws ``num_images`` faces from fixed latents (the same
    every time) and the chosen metrics compare them with ``real_images``:

    * ``"swd"``: :func:`~keras_facegen.metrics.sliced_wasserstein_distance`; logs
      ``swd_<resolution>`` per pyramid level and ``swd`` (their mean), x1e3.
    * ``"ms_ssim"``: :func:`~keras_facegen.metrics.mean_ms_ssim` of the generated images
      (diversity; lower is more varied); logs ``ms_ssim``. Like ``tf.image.ssim_multiscale``
      it clips negative terms at 0 and averages over colour channels, unlike the MS-SSIM
      script the Progressive GAN paper used: compare it with figures from this library only.
    * ``"fid"`` / ``"kid"``: Fréchet / kernel distance on ``feature_extractor`` features; logs
      ``fid`` / ``kid``.

    Figures go to :attr:`history` (one dict per evaluation, with ``step`` and ``seconds``), to
    ``csv_path`` (one row per evaluation) and into the Keras logs at the end of each epoch
    (the latest figures), so ``fit(...).history`` has them too. The step is the GAN's own
    counter (``iterations``, continuing across resumed runs) when it has one, else the
    batches this callback has seen.

    A generator whose images are smaller than the reals (a
    :class:`~keras_facegen.models.ProgressiveGAN` before its last stage) is compared at
    ``resolution="full"`` (default) by nearest-upsampling its images to the reals' size, as the
    reference's snapshots do (the figures keep their names); at ``resolution="stage"`` the reals
    are average-pooled to the generated size instead and every name gets ``_stage``
    (``swd_stage``, ``swd_stage_16``, ``ms_ssim_stage``, ...). A metric that needs larger
    images than a stage has (SWD: ``smallest_level``, 16 by default; MS-SSIM: 16) skips that
    stage, with one printed line. Rows of a smaller generator also record ``resolution``.

    Args:
        real_images: Held-out real images ``(N, H, W, C)`` in [-1, 1] (not the training set).
        every_n_steps: Interval in train steps.
        metrics: Names from :data:`METRIC_NAMES`.
        num_images: Generated images per evaluation; default ``len(real_images)`` (SWD needs
            the same number as the real set; the real set is cut to this number).
        seed: Seed of the fixed latents and of the metrics' own randomness.
        ema: Generate with the GAN's EMA weights.
        csv_path: Optional CSV file (appended to, header written once).
        feature_extractor: A Keras model or callable ``images -> features`` for ``"fid"`` and
            ``"kid"``.
        swd_kwargs: Extra :func:`sliced_wasserstein_distance` arguments (default
            ``{"num_projections": 128}``: the reference code's per-repeat count, 4x faster than
            the paper's 512).
        ms_ssim_pairs: Pairs for ``"ms_ssim"``.
        evaluate_at_end: Also evaluate when training ends (if the last step was not measured).
        verbose: Print one line per evaluation.
        resolution: ``"full"`` (upsample smaller generated images to the reals' size) or
            ``"stage"`` (pool the reals to the generated size).

    Raises:
        ValueError: On unknown metrics, a bad interval or count, NaN in the real images,
            ``"fid"`` / ``"kid"`` without a feature extractor, or an unknown ``resolution``.

    Example:
        >>> from keras_facegen.data import synthetic_faces
        >>> held_out, _ = synthetic_faces(32, resolution=64, seed=1)
        >>> quality = EvaluateQuality(held_out, every_n_steps=2, csv_path="quality.csv")
        >>> history = gan.fit(images, epochs=1, verbose=0, callbacks=[quality])
        >>> quality.history[-1]["step"], quality.history[-1]["swd"] > 0
        (2, True)
    """

    def __init__(
        self,
        real_images: Any,
        every_n_steps: int,
        metrics: Sequence[str] = ("swd",),
        num_images: int | None = None,
        seed: int = 0,
        ema: bool = False,
        csv_path: str | os.PathLike | None = None,
        feature_extractor: Any = None,
        swd_kwargs: dict[str, Any] | None = None,
        ms_ssim_pairs: int = 200,
        evaluate_at_end: bool = True,
        verbose: int = 0,
        resolution: str = "full",
    ) -> None:
        super().__init__()
        if resolution not in RESOLUTION_MODES:
            raise ValueError(
                f"resolution must be one of {RESOLUTION_MODES}; received resolution={resolution!r}."
            )
        self.resolution = resolution
        if isinstance(metrics, str):
            metrics = (metrics,)
        metrics = tuple(metrics)
        unknown = [m for m in metrics if m not in METRIC_NAMES]
        if not metrics or unknown:
            raise ValueError(
                f"metrics must be a non-empty list of {METRIC_NAMES}; received metrics={metrics!r}."
            )
        if {"fid", "kid"} & set(metrics) and feature_extractor is None:
            raise ValueError(
                "metrics 'fid' and 'kid' need feature_extractor=<a Keras model or callable>; "
                "received feature_extractor=None."
            )
        self.real_images = as_images(real_images, "real_images", min_images=2).astype(np.float32)
        self.every_n_steps = check_int(every_n_steps, "every_n_steps")
        self.num_images = (
            len(self.real_images) if num_images is None else check_int(num_images, "num_images")
        )
        if self.num_images < 2 or self.num_images > len(self.real_images):
            raise ValueError(
                f"num_images must be between 2 and the {len(self.real_images)} real images; "
                f"received num_images={num_images!r}."
            )
        self.real_images = self.real_images[: self.num_images]
        self.metrics = metrics
        self.seed = int(seed)
        self.ema = bool(ema)
        self.csv_path = None if csv_path is None else Path(csv_path)
        self.feature_extractor = feature_extractor
        self.swd_kwargs = {"num_projections": 128, **(swd_kwargs or {})}
        self.ms_ssim_pairs = check_int(ms_ssim_pairs, "ms_ssim_pairs")
        self.evaluate_at_end = bool(evaluate_at_end)
        self.verbose = int(verbose)
        self.history: list[dict[str, float]] = []
        #: ``(metric, size)`` pairs skipped because the images were too small.
        self.skipped: list[tuple[str, int]] = []
        self._latents: np.ndarray | None = None
        self._real_features: dict[int, np.ndarray] = {}
        self._batches = 0
        self._start = 0
        self._last_step: int | None = None
        self._evaluated_step: int | None = None

    # === Keras hooks ===

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Fixes the latents and the step the run starts from."""
        if self.ema and getattr(self.model, "ema_decay", None) is None:
            raise ValueError(
                "EvaluateQuality(ema=True) needs a GAN built with ema_decay=...; received ema=True."
            )
        rng = np.random.default_rng(self.seed)
        shape = (self.num_images, self.model.latent_dim)
        if getattr(self.model, "latent_distribution", "normal") == "uniform":
            self._latents = rng.uniform(-1.0, 1.0, shape).astype("float32")
        else:
            self._latents = rng.standard_normal(shape).astype("float32")
        start = _step_of(self.model)
        self._start = self._batches if start is None else start
        self._last_step = self._start

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Evaluates when the step counter passes a multiple of ``every_n_steps``."""
        self._batches += 1  # over every fit call, for models without a step counter
        step = _step_of(self.model)
        if step is None:
            step = self._batches
        last = step if self._last_step is None else self._last_step
        if step // self.every_n_steps > last // self.every_n_steps:
            self.evaluate(step)
        self._last_step = step

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Puts the latest figures into the epoch's logs (and so into ``History``)."""
        if logs is not None and self.history:
            skip = ("step", "seconds", "resolution")
            logs.update({k: v for k, v in self.history[-1].items() if k not in skip})

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Evaluates the final state unless the last step was just measured."""
        last = self._last_step
        measured = last in (None, self._evaluated_step, self._start)
        if self.evaluate_at_end and last is not None and not measured:
            self.evaluate(last)

    # === Evaluation ===

    def generated_images(self) -> np.ndarray:
        """The generator's images for the fixed latents, now.

        Returns:
            float32 ``(num_images, H, W, C)``.
        """
        if self._latents is None:
            raise ValueError("generated_images() is available once training has begun.")
        generate = getattr(self.model, "generate", None)
        if callable(generate):
            return np.asarray(generate(self._latents, ema=self.ema), dtype=np.float32)
        return np.asarray(keras.ops.convert_to_numpy(self.model(self._latents)), np.float32)

    def compute(self, fake: Any) -> dict[str, float]:
        """The configured metrics of generated images against the real set.

        Args:
            fake: ``(num_images, h, w, C)`` generated images; ``h`` may be smaller than the
                reals' by a power-of-two factor (see ``resolution``).

        Returns:
            ``{name: value}`` for every logged figure (skipped metrics left out).
        """
        fake = np.asarray(fake, dtype=np.float32)
        size = int(fake.shape[1])
        real = self.real_images
        suffix = ""
        if self.resolution == "full":
            fake = _resize_to(fake, int(real.shape[1]), "generated images")
        else:
            real = _resize_to(real, size, "real images")
            suffix = "_stage"
        figures: dict[str, float] = {}
        if "swd" in self.metrics and self._fits("swd", fake):
            result = sliced_wasserstein_distance(real, fake, seed=self.seed, **self.swd_kwargs)
            figures.update(result.as_dict("swd" + suffix))
        if "ms_ssim" in self.metrics and self._fits("ms_ssim", fake):
            figures["ms_ssim" + suffix] = mean_ms_ssim(
                fake, num_pairs=self.ms_ssim_pairs, seed=self.seed
            )
        if {"fid", "kid"} & set(self.metrics):
            key = int(real.shape[1])
            if key not in self._real_features:
                self._real_features[key] = extract_features(self.feature_extractor, real)
            fake_features = extract_features(self.feature_extractor, fake)
            if "fid" in self.metrics:
                figures["fid" + suffix] = frechet_distance(self._real_features[key], fake_features)
            if "kid" in self.metrics:
                kid = kernel_distance(self._real_features[key], fake_features, seed=self.seed)
                figures["kid" + suffix] = kid if isinstance(kid, float) else kid[0]
        return figures

    def _fits(self, metric: str, images: np.ndarray) -> bool:
        """Whether ``metric`` can measure images of this size; prints one line per skip."""
        if metric == "swd":
            needed = int(self.swd_kwargs.get("smallest_level", 16))
        else:
            needed = _MS_SSIM_MIN_SIZE
        size = int(images.shape[1])
        if size >= needed:
            return True
        if (metric, size) not in self.skipped:
            self.skipped.append((metric, size))
            print(
                f"EvaluateQuality: {metric} skipped at {size}x{size} (it needs images of at "
                f"least {needed}x{needed}; resolution={self.resolution!r})."
            )
        return False

    def evaluate(self, step: int) -> dict[str, float]:
        """Generates, measures, records (history, CSV) and returns the figures at ``step``.

        Args:
            step: The step number recorded with the figures.

        Returns:
            ``{"step": step, <figures>..., "seconds": time taken}``.
        """
        started = time.perf_counter()
        fake = self.generated_images()
        figures = self.compute(fake)
        row: dict[str, float] = {"step": int(step)}
        if fake.shape[1] != self.real_images.shape[1]:
            row["resolution"] = int(fake.shape[1])
        row.update(figures)
        row["seconds"] = time.perf_counter() - started
        self.history.append(row)
        self._evaluated_step = int(step)
        # Every process computes (the generator runs on all of them); process 0 records.
        if self.csv_path is not None and distributed.is_writer():
            self._append_csv(row)
        if self.verbose and distributed.is_writer():
            shown = ", ".join(f"{k}={v:.4g}" for k, v in figures.items())
            print(f"EvaluateQuality step {step}: {shown}")
        return row

    def _append_csv(self, row: dict[str, float]) -> None:
        path = self.csv_path
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        rows: list[dict[str, Any]] = []
        fields = list(row)
        rewrite = not path.is_file() or path.stat().st_size == 0
        if not rewrite:
            with path.open(newline="") as handle:
                reader = csv.DictReader(handle)
                fields = list(reader.fieldnames or [])
                if not set(row) <= set(fields):
                    # New figures (a later stage measures more): rewrite with every column.
                    rows, rewrite = list(reader), True
                    fields += [k for k in row if k not in fields]
        with path.open("w" if rewrite else "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, restval="")
            if rewrite:
                writer.writeheader()
                writer.writerows(rows)
            writer.writerow(row)
