"""A resumable training run: data, ``GAN.fit``, sample grids, checkpoints and final models.

:func:`train` is what ``keras-facegen train`` and ``examples/train_dcgan.py`` call; use it
from Python to get the same run folder::

    out/
      checkpoint/checkpoint.npz   exact-resume state (written atomically)
      samples/step_0000500.png    grids of fixed latents
      samples.png                 the final grid
      generator.keras             the trained generator alone (its EMA weights, if kept)
      discriminator.keras         the trained discriminator alone
      facegen.json                preset, latent size and distribution, steps, backend
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_facegen import __version__, distributed
from keras_facegen._validation import check_int
from keras_facegen.callbacks import CHECKPOINT_FILE, GANCheckpoint, SampleGrid, resume_from
from keras_facegen.data import is_cache, load_images, open_cache, synthetic_faces
from keras_facegen.data.batches import ShuffledBatches
from keras_facegen.latent import sample_latents
from keras_facegen.sampling import image_grid, save_image

__all__ = [
    "RUN_INFO_FILE",
    "TrainResult",
    "clear_run",
    "ema_generator",
    "run_outputs",
    "train",
    "train_progressive",
    "training_images",
]

#: Metadata written beside the models (read by ``keras-facegen sample`` and ``morph``).
RUN_INFO_FILE = "facegen.json"

#: What :func:`train_progressive` writes besides what :func:`train` writes.
PROGRESSION_FILE = "progression.png"

#: What :func:`train` and :func:`train_progressive` write into a run folder
#: (``overwrite=True`` deletes exactly these).
RUN_OUTPUTS = (
    RUN_INFO_FILE,
    "checkpoint",
    "samples",
    "samples.png",
    "generator.keras",
    "discriminator.keras",
    PROGRESSION_FILE,
)


def run_outputs(out: str | os.PathLike) -> list[Path]:
    """The outputs of an earlier :func:`train` or :func:`train_progressive` run in a folder.

    Args:
        out: A run folder (it need not exist).

    Returns:
        The existing paths among :data:`RUN_OUTPUTS`, in that order (empty if none).

    Example:
        >>> run_outputs("/nonexistent/run")
        []
    """
    out = Path(out)
    return [out / name for name in RUN_OUTPUTS if (out / name).exists()]


def clear_run(out: str | os.PathLike) -> list[Path]:
    """Deletes an earlier run's outputs from a folder (and nothing else).

    Args:
        out: A run folder.

    Returns:
        The paths deleted.

    Raises:
        OSError: If one cannot be deleted.

    Example:
        >>> clear_run("/nonexistent/run")
        []
    """
    removed = run_outputs(out)
    for path in removed:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return removed


def _prepare_run_folder(gan: keras.Model, out: Path, resume: bool, overwrite: bool) -> None:
    """Readies ``out`` for a run: refuses or clears an earlier run, or resumes from it.

    Creates nothing: the caller creates ``out`` once every other argument has been checked.
    Across processes only process 0 checks and clears (the others never touch the folder);
    every process resumes from the same checkpoint.
    """
    if distributed.is_writer() and not resume and run_outputs(out):
        if not overwrite:
            names = ", ".join(path.name for path in run_outputs(out))
            raise FileExistsError(
                f"{str(out)!r} already holds a run ({names}); pass resume=True to continue it "
                "or overwrite=True to replace it."
            )
        clear_run(out)
    if resume:
        checkpoint_dir = out / "checkpoint"
        if not (checkpoint_dir / CHECKPOINT_FILE).is_file():
            raise FileNotFoundError(
                f"--resume: no checkpoint at {str(checkpoint_dir / CHECKPOINT_FILE)!r}; "
                "start without resume, or point `out` at an earlier run."
            )
        resume_from(gan, checkpoint_dir)


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What :func:`train` wrote and measured.

    Attributes:
        out: The run folder.
        generator_path: The final generator ``.keras`` file.
        discriminator_path: The final discriminator ``.keras`` file.
        samples_path: The final sample grid.
        steps: Train steps done in total (including those before a resume).
        history: Per-epoch logs of this call (``d_loss``, ``g_loss``, one per term).
    """

    out: Path
    generator_path: Path
    discriminator_path: Path
    samples_path: Path
    steps: int
    history: dict[str, list[float]]


def training_images(
    source: str | os.PathLike, resolution: int, num_images: int = 10000, seed: int = 0
) -> Any:
    """The images a run trains on: built-in synthetic faces, a folder of images or a cache.

    Args:
        source: ``"synthetic"`` for :func:`~keras_facegen.data.synthetic_faces`; a cache
            folder written by :func:`~keras_facegen.data.prepare_cache` (it has a manifest),
            read from disk batch by batch; otherwise a folder read into memory with
            :func:`~keras_facegen.data.load_images`.
        resolution: Image height and width.
        num_images: How many synthetic faces to draw (ignored for a folder).
        seed: Seed of the synthetic faces.

    Returns:
        ``(N, resolution, resolution, 3)`` images: float32 in [-1, 1] (synthetic), uint8
        (a folder; :class:`ShuffledBatches` converts each batch), or a cache's
        :class:`~keras_facegen.data.CachedImages` level (uint8, read on indexing).

    Raises:
        ValueError: If the folder is missing, empty or has no readable image, or the cache
            does not hold ``resolution``.

    Example:
        >>> training_images("synthetic", 64, num_images=8).shape
        (8, 64, 64, 3)
    """
    if str(source) == "synthetic":
        images, _ = synthetic_faces(num_images, resolution=resolution, seed=seed)
        return images
    if is_cache(source):
        return open_cache(source).at(resolution)
    return load_images(source, resolution)


def ema_generator(gan: keras.Model) -> keras.Model:
    """A copy of a GAN's generator carrying its EMA weights (for saving or sampling).

    Args:
        gan: A :class:`~keras_facegen.models.GAN` built with ``ema_decay``.

    Returns:
        A new generator model: the EMA trainable weights, the live non-trainable ones
        (e.g. batch-norm statistics).

    Raises:
        ValueError: If the GAN keeps no EMA.

    Example:
        >>> ema_generator(gan).save("generator_ema.keras")
    """
    if getattr(gan, "ema_decay", None) is None:
        raise ValueError("ema_generator needs a GAN built with ema_decay=...; it has none.")
    gan.sync_state()
    clone = keras.models.clone_model(gan.generator)
    for target, source in zip(clone.trainable_variables, gan.ema_weights):
        target.assign(source.value)
    for target, source in zip(clone.non_trainable_variables, gan.generator.non_trainable_variables):
        target.assign(source.value)
    return clone


def _steps_done(gan: keras.Model) -> int:
    return int(gan.counter_values()["iterations"])


def _segments(done: int, steps: int, every: int) -> list[tuple[int, int]]:
    """``(steps_per_epoch, epochs)`` runs from step ``done`` to ``steps``, aligned to ``every``."""
    segments = []
    boundary = min(steps, -(-done // every) * every)
    if boundary > done:
        segments.append((boundary - done, 1))
    full, rest = divmod(steps - boundary, every)
    if full:
        segments.append((every, full))
    if rest:
        segments.append((rest, 1))
    return segments


def train(
    gan: keras.Model,
    images: Any,
    out: str | os.PathLike,
    steps: int,
    batch_size: int,
    *,
    resume: bool = False,
    sample_every: int | None = None,
    checkpoint_every: int | None = None,
    num_samples: int = 64,
    seed: int = 0,
    verbose: int | str = "auto",
    info: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> TrainResult:
    """Trains a compiled GAN for exactly ``steps`` steps, resumably, and saves the results.

    Training runs in epochs of ``checkpoint_every`` steps over :class:`ShuffledBatches` (the
    last one shorter if needed); a checkpoint is written at the end of each, so
    ``resume=True`` continues from the step counter of the last one with the same data order
    and random state as an uninterrupted run.

    Args:
        gan: A compiled :class:`~keras_facegen.models.GAN`.
        images: Training images ``(N, H, W, 3)``, floats in [-1, 1] or uint8.
        out: The run folder (created if missing).
        steps: Total train steps of the run (a resumed run counts the earlier ones).
        batch_size: Images per step.
        resume: Continue from ``out/checkpoint``; it must exist.
            If the GAN keeps a generator EMA, grids and the saved generator use it.
        sample_every: Steps between sample grids; default ``checkpoint_every``.
        checkpoint_every: Steps between checkpoints; default ``min(steps, 200)``.
        num_samples: Faces per sample grid.
        seed: Seed of the data order and of the sample latents.
        verbose: ``fit``'s verbosity (1 = progress bar).
        info: Extra entries for ``facegen.json`` (e.g. the preset name). The file is
            written when training starts (``steps`` = steps done) and again at the end, so an
            interrupted run keeps the settings it needs to resume.
        overwrite: Delete an earlier run's outputs in ``out`` first (see :func:`clear_run`);
            without it (and without ``resume``) a folder holding a run is refused.

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError: On bad counts, or a resumed run already past ``steps``.
        FileNotFoundError: If ``resume`` is set and ``out`` has no checkpoint.
        FileExistsError: If ``out`` holds an earlier run and neither ``resume`` nor
            ``overwrite`` is set.

    Example:
        >>> result = train(gan, images, "runs/demo", steps=2, batch_size=16, verbose=0)
        >>> result.steps, result.samples_path.name
        (2, 'samples.png')
    """
    steps = check_int(steps, "steps")
    batch_size = check_int(batch_size, "batch_size")
    checkpoint_every = check_int(checkpoint_every or min(steps, 200), "checkpoint_every")
    sample_every = check_int(sample_every or checkpoint_every, "sample_every")
    out = Path(out)
    checkpoint_dir = out / "checkpoint"
    writer = distributed.is_writer()  # across processes, process 0 alone writes
    _prepare_run_folder(gan, out, resume, overwrite)
    done = _steps_done(gan) if resume else 0
    if done > steps:
        raise ValueError(
            f"The checkpoint in {str(checkpoint_dir)!r} is {done} steps in, already past "
            f"steps={steps}."
        )
    ema = getattr(gan, "ema_decay", None) is not None
    if writer:
        out.mkdir(parents=True, exist_ok=True)
    _write_run_info(out, gan, images, done, batch_size, info)
    distributed.barrier("keras_facegen.train: run folder ready")
    verbose = verbose if writer else 0
    callbacks = [
        SampleGrid(
            out / "samples",
            every_n_steps=sample_every,
            num_images=num_samples,
            seed=seed,
            ema=ema,
        ),
        GANCheckpoint(checkpoint_dir),
    ]
    history: dict[str, list[float]] = {}
    # Epochs end (and checkpoints are written) at multiples of checkpoint_every, whatever step
    # a resumed run starts from; the data stream is indexed by step, so it lines up too.
    start = done
    for steps_per_epoch, epochs in _segments(done, steps, checkpoint_every):
        batches = ShuffledBatches(images, batch_size, seed=seed, start=start)
        # The stream fixes the batch order; steps_per_epoch cuts it into checkpoint intervals.
        fitted = gan.fit(
            batches,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,
        )
        for key, values in fitted.history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
        start += steps_per_epoch * epochs

    generator_path = out / "generator.keras"
    discriminator_path = out / "discriminator.keras"
    samples_path = out / "samples.png"
    # Every process computes what is saved (across processes on JAX the networks run on all of
    # them at once); process 0 writes it.
    final_generator = ema_generator(gan) if ema else gan.generator
    latents = sample_latents(num_samples, gan.latent_dim, gan.latent_distribution, seed=seed)
    samples = gan.generate(latents, ema=ema)
    if writer:
        out.mkdir(parents=True, exist_ok=True)
        final_generator.save(generator_path)
        gan.discriminator.save(discriminator_path)
        save_image(image_grid(samples, rows=max(1, round(math.sqrt(num_samples)))), samples_path)
    total = _steps_done(gan)
    _write_run_info(out, gan, images, total, batch_size, info)
    distributed.barrier("keras_facegen.train: run finished")
    return TrainResult(out, generator_path, discriminator_path, samples_path, total, history)


def _write_run_info(
    out: Path, gan: keras.Model, images: Any, steps: int, batch_size: int, info: Any
) -> None:
    if not distributed.is_writer():
        return
    run_info = {
        "latent_dim": gan.latent_dim,
        "latent_distribution": gan.latent_distribution,
        "resolution": int(np.shape(images)[1]),
        "steps": steps,
        "batch_size": batch_size,
        "processes": distributed.process_count(),
        "global_batch_size": batch_size,
        "ema_decay": getattr(gan, "ema_decay", None),
        "backend": keras.backend.backend(),
        "keras_facegen_version": __version__,
        **(info or {}),
    }
    (out / RUN_INFO_FILE).write_text(json.dumps(run_info, indent=2) + "\n")


# === Progressive runs ===


def _ema_network(gan: keras.Model) -> keras.Model:
    """The full-resolution functional generator of a ProgressiveGAN, with its EMA weights."""
    gan.sync_state()
    network = gan.generator.network
    clone = keras.models.clone_model(network)
    clone.set_weights([v.value for v in network.weights])
    if getattr(gan, "ema_decay", None) is not None:
        for target, source in zip(clone.trainable_variables, gan.ema_weights):
            target.assign(source.value)
    return clone


def _upsample_to(images: np.ndarray, size: int) -> np.ndarray:
    factor = size // images.shape[1]
    return images.repeat(factor, axis=1).repeat(factor, axis=2)


def train_progressive(
    gan: keras.Model,
    images: Any,
    out: str | os.PathLike,
    *,
    resume: bool = False,
    checkpoint_every: int = 200,
    num_samples: int = 64,
    progression_samples: int = 8,
    seed: int = 0,
    verbose: int | str = "auto",
    info: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> TrainResult:
    """Trains a compiled ProgressiveGAN through its whole schedule, resumably.

    The run folder gets what :func:`train` writes, with one grid per stage::

        out/
          checkpoint/checkpoint.npz        exact resume, also mid-stage and mid-fade
          samples/stage_04x04.png          each stage's last grid (upsampled to the final size)
          samples/stage_04x04.npy          ... and its first samples (uint8), for the next file
          progression.png                  every stage's last samples side by side (a row per
                                           face, a column per stage)
          samples.png                      the final grid
          generator.keras                  the full-resolution generator (EMA weights, if kept)
          discriminator.keras              the full-resolution discriminator
          facegen.json                     settings, images shown, steps, backend

    Args:
        gan: A compiled :class:`~keras_facegen.models.ProgressiveGAN`.
        images: Training images (anything its ``fit`` takes) at the target resolution or a
            power-of-two multiple of it.
        out: The run folder.
        resume: Continue from ``out/checkpoint``.
        checkpoint_every: Train steps between checkpoints (also written at every phase end).
        num_samples: Faces per grid.
        progression_samples: Faces (rows) of ``progression.png``.
        seed: Seed of the data order and of the sample latents.
        verbose: 0 silent, otherwise one progress bar (stage, resolution, alpha, images/s).
        info: Extra entries for ``facegen.json``.
        overwrite: Delete an earlier run's outputs in ``out`` first.

    Returns:
        A :class:`TrainResult` (``steps``: train steps run in total).

    Raises:
        ValueError: On bad counts.
        FileNotFoundError: If ``resume`` is set and ``out`` has no checkpoint.
        FileExistsError: If ``out`` holds a run and neither ``resume`` nor ``overwrite``.

    Example:
        >>> from keras_facegen.data import halve
        >>> from keras_facegen.models import progressive_gan_from_preset
        >>> gan = progressive_gan_from_preset("pggan64_small", resolution=8, phase_images=32)
        >>> images = halve(synthetic_faces(32, 16)[0])  # 8x8 faces
        >>> result = train_progressive(gan, images, "runs/pggan", num_samples=4, verbose=0)
        >>> result.steps, result.samples_path.name
        (3, 'samples.png')
    """
    from keras_facegen.models.progressive import phases  # models sit on a lower floor

    checkpoint_every = check_int(checkpoint_every, "checkpoint_every")
    num_samples = check_int(num_samples, "num_samples")
    progression_samples = check_int(progression_samples, "progression_samples")
    out = Path(out)
    checkpoint_dir = out / "checkpoint"
    writer = distributed.is_writer()  # across processes, process 0 alone writes
    _prepare_run_folder(gan, out, resume, overwrite)
    ema = getattr(gan, "ema_decay", None) is not None
    schedule = gan.schedule
    final = schedule.resolution
    info = {"model": "pggan", **(info or {}), "schedule": schedule.get_config()}
    samples_dir = out / "samples"
    if writer:
        out.mkdir(parents=True, exist_ok=True)
        samples_dir.mkdir(exist_ok=True)
    _write_run_info(out, gan, images, _steps_done(gan), schedule.stages[-1].batch_size, info)
    distributed.barrier("keras_facegen.train_progressive: run folder ready")
    verbose = verbose if writer else 0
    latents = sample_latents(num_samples, gan.latent_dim, gan.latent_distribution, seed=seed)
    rows = max(1, round(math.sqrt(num_samples)))
    callbacks = [GANCheckpoint(checkpoint_dir)]
    history: dict[str, list[float]] = {}
    stage_ends: dict[int, int] = {}
    for phase in phases(schedule):
        stage_ends[phase.stage.resolution] = phase.end
    for stage in schedule.stages:
        tag = f"{stage.resolution:02d}x{stage.resolution:02d}"
        end = stage_ends[stage.resolution]
        if gan.counter_values()["images_seen"] < end:
            fitted = gan.fit(
                images,
                until=end,
                steps_per_epoch=checkpoint_every,
                callbacks=callbacks,
                verbose=verbose,
                data_seed=seed,
            )
            for key, values in fitted.history.items():
                history.setdefault(key, []).extend(values)
        grid_path = samples_dir / f"stage_{tag}.png"
        # Rendered in every process (the same computations everywhere), written once.
        samples = gan.generate(latents, ema=ema, resolution=stage.resolution)
        if writer and not grid_path.exists():
            save_image(image_grid(_upsample_to(samples, final), rows=rows), grid_path)
            first = np.round((samples[:progression_samples] + 1.0) * 127.5).astype("uint8")
            np.save(samples_dir / f"stage_{tag}.npy", first)

    network = _ema_network(gan)
    samples = gan.generate(latents, ema=ema, resolution=final)
    generator_path = out / "generator.keras"
    discriminator_path = out / "discriminator.keras"
    samples_path = out / "samples.png"
    total = _steps_done(gan)
    info["images_seen"] = gan.counter_values()["images_seen"]
    if not writer:
        distributed.barrier("keras_facegen.train_progressive: run finished")
        return TrainResult(out, generator_path, discriminator_path, samples_path, total, history)

    # Every stage's last samples side by side: a row per face, a column per stage.
    columns = []
    for stage in schedule.stages:
        tag = f"{stage.resolution:02d}x{stage.resolution:02d}"
        stage_samples = np.load(samples_dir / f"stage_{tag}.npy").astype("float32") / 127.5 - 1
        columns.append(_upsample_to(stage_samples, final))
    progression = np.stack(columns, axis=1).reshape(-1, final, final, columns[0].shape[-1])
    save_image(image_grid(progression, rows=len(columns[0])), out / PROGRESSION_FILE)

    network.save(generator_path)
    gan.discriminator.network.save(discriminator_path)
    save_image(image_grid(samples, rows=rows), samples_path)
    _write_run_info(out, gan, images, total, schedule.stages[-1].batch_size, info)
    distributed.barrier("keras_facegen.train_progressive: run finished")
    return TrainResult(out, generator_path, discriminator_path, samples_path, total, history)
