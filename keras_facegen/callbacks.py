"""Training callbacks for ``keras_facegen.models.GAN``: sample grids and exact-resume checkpoints.

* :class:`SampleGrid` renders the same latents every N steps into a PNG grid, so progress can be
  compared frame by frame.
* :class:`GANCheckpoint` writes the complete training state (both networks, both optimizers,
  the generator EMA, the step counter and the random state) to one ``.npz`` file, atomically;
  :func:`resume_from` loads it into a GAN and returns the epoch to continue ``fit`` from.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import keras
import numpy as np
from PIL import Image

from keras_facegen._validation import check_int

CHECKPOINT_FILE = "checkpoint.npz"
_FORMAT_VERSION = 1


def _positive_int(value: Any, argument: str, allow_none: bool = False) -> int | None:
    return None if value is None and allow_none else check_int(value, argument)


def _grid_uint8(images: np.ndarray, rows: int, padding: int = 2) -> np.ndarray:
    images = np.clip(np.round((np.asarray(images, "float32") + 1.0) * 127.5), 0, 255)
    images = images.astype("uint8")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    num, height, width, channels = images.shape
    cols = math.ceil(num / rows)
    grid = np.zeros(
        (rows * (height + padding) + padding, cols * (width + padding) + padding, channels),
        "uint8",
    )
    for i, image in enumerate(images):
        top = padding + (i // cols) * (height + padding)
        left = padding + (i % cols) * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG grid of images from fixed latents every ``every_n_steps`` train steps.

    Files are named ``step_<global step, 7 digits>.png``; the global step continues across
    resumed runs (it is read from the generator optimizer's iteration counter).

    Args:
        directory: Folder for the PNG files (created if missing).
        every_n_steps: Interval in train steps.
        num_images: Images per grid.
        seed: Seed of the fixed latents (NumPy, the same on every backend).
        ema: Render with the generator EMA weights.
        rows: Grid rows; default ``round(sqrt(num_images))``.

    Raises:
        ValueError: For non-positive counts or intervals.

    Example:
        >>> gan.fit(images, callbacks=[SampleGrid("runs/samples", every_n_steps=500)])
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        every_n_steps: int,
        num_images: int = 16,
        seed: int = 0,
        ema: bool = False,
        rows: int | None = None,
    ) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.every_n_steps = _positive_int(every_n_steps, "every_n_steps")
        self.num_images = _positive_int(num_images, "num_images")
        self.rows = _positive_int(rows, "rows", allow_none=True) or max(
            1, round(math.sqrt(self.num_images))
        )
        if self.rows > self.num_images:
            raise ValueError(
                f"Expected `rows` <= num_images={self.num_images}; received rows={self.rows}."
            )
        self.seed = seed
        self.ema = ema
        self.written: list[Path] = []
        self._latents: np.ndarray | None = None
        self._step = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Fixes the latents and reads the current global step."""
        if self.ema and getattr(self.model, "ema_decay", None) is None:
            raise ValueError(
                "SampleGrid(ema=True) needs a GAN built with ema_decay=...; received ema=True."
            )
        rng = np.random.default_rng(self.seed)
        shape = (self.num_images, self.model.latent_dim)
        if self.model.latent_distribution == "uniform":
            self._latents = rng.uniform(-1.0, 1.0, shape).astype("float32")
        else:
            self._latents = rng.standard_normal(shape).astype("float32")
        self._step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Writes a grid when the global step is a multiple of ``every_n_steps``."""
        self._step += 1
        if self._step % self.every_n_steps == 0:
            self.write(self._step)

    def write(self, step: int) -> Path:
        """Renders the fixed latents now and saves the grid.

        Args:
            step: The global step used in the file name.

        Returns:
            The PNG path.
        """
        images = self.model.generate(self._latents, ema=self.ema)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"step_{step:07d}.png"
        Image.fromarray(_grid_uint8(images, self.rows)).save(path)
        self.written.append(path)
        return path


def _state_variables(gan: keras.Model) -> list[Any]:
    optimizer = getattr(gan, "optimizer", None)
    if optimizer is None:
        raise ValueError("Checkpoints need a compiled GAN (its optimizers are part of the state).")
    return list(gan.variables) + list(optimizer.variables)


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    # A temporary file in the same folder, then os.replace: readers see the old checkpoint
    # or the new one, never a partial file, even if the process dies mid-write.
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def save_checkpoint(gan: keras.Model, directory: str | os.PathLike, epoch: int) -> Path:
    """Writes a GAN's complete training state to ``<directory>/checkpoint.npz`` atomically.

    Args:
        gan: A compiled ``GAN``.
        directory: Folder of the checkpoint (created if missing).
        epoch: The epoch ``fit`` should continue from when resuming.

    Returns:
        The checkpoint path.

    Raises:
        ValueError: If the GAN is not compiled.

    Example:
        >>> save_checkpoint(gan, "runs/ckpt", epoch=3)
        PosixPath('runs/ckpt/checkpoint.npz')
    """
    gan.sync_state()
    variables = _state_variables(gan)
    arrays = {f"v{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(variables)}
    arrays["paths"] = np.array([v.path for v in variables])
    arrays["epoch"] = np.array(epoch, "int64")
    arrays["step"] = np.array(int(keras.ops.convert_to_numpy(gan.optimizer.iterations)), "int64")
    arrays["format_version"] = np.array(_FORMAT_VERSION, "int64")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CHECKPOINT_FILE
    _atomic_savez(path, arrays)
    return path


def resume_from(gan: keras.Model, directory: str | os.PathLike) -> int:
    """Loads the checkpoint in ``directory`` into a compiled GAN; returns the epoch to resume.

    Use it as ``gan.fit(..., initial_epoch=resume_from(gan, directory))``. The networks, both
    optimizers, the EMA weights, the step counter and the seed-generator state are restored, so
    training continues exactly as if it had not stopped, provided the data order of an epoch
    does not depend on the process (``shuffle=False``, or a dataset shuffled by a seed per
    epoch) and the checkpoint was written at an epoch end (mid-epoch checkpoints restore the
    state exactly, but ``fit`` restarts that epoch's data from its first batch).

    Args:
        gan: A compiled GAN with the same architecture as the one that was saved.
        directory: The folder given to :class:`GANCheckpoint`.

    Returns:
        The ``initial_epoch`` for ``fit``.

    Raises:
        FileNotFoundError: If there is no checkpoint in ``directory`` (the message names the
            path).
        ValueError: If the checkpoint does not fit the GAN.

    Example:
        >>> gan.fit(images, epochs=10, initial_epoch=resume_from(gan, "runs/ckpt"))
    """
    path = Path(directory) / CHECKPOINT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"No GAN checkpoint at {str(path)!r}.")
    variables = _state_variables(gan)
    with np.load(path) as data:
        count = sum(1 for key in data.files if key.startswith("v") and key[1:].isdigit())
        if count != len(variables):
            raise ValueError(
                f"The checkpoint {str(path)!r} holds {count} variables; this GAN has "
                f"{len(variables)}. Build the GAN (and compile it) as the saved one was."
            )
        values = [data[f"v{i}"] for i in range(count)]
        epoch = int(data["epoch"])
    for variable, value in zip(variables, values):
        if tuple(variable.shape) != tuple(value.shape):
            raise ValueError(
                f"Checkpoint {str(path)!r}: variable {variable.path!r} has shape "
                f"{tuple(variable.shape)} here but {tuple(value.shape)} in the file."
            )
    gan.sync_state()
    for variable, value in zip(variables, values):
        variable.assign(value)
    return epoch


class GANCheckpoint(keras.callbacks.Callback):
    """Writes exact-resume checkpoints of a GAN during ``fit``.

    The checkpoint is one file, ``<directory>/checkpoint.npz``, replaced atomically each time
    (temporary file in the same folder, then ``os.replace``), holding every variable of the
    GAN (both networks, EMA weights, seed-generator state) and of both optimizers (including
    the step counter). Resume with :func:`resume_from`.

    Args:
        directory: Folder of the checkpoint.
        every_n_steps: Also write every N train steps (``None``: only at epoch ends).
        save_on_epoch_end: Write at the end of every epoch (the exact-resume points).

    Raises:
        ValueError: For a non-positive interval.

    Example:
        >>> ckpt = GANCheckpoint("runs/ckpt")
        >>> start = resume_from(gan, "runs/ckpt") if ckpt.exists() else 0
        >>> gan.fit(images, epochs=10, initial_epoch=start, shuffle=False, callbacks=[ckpt])
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        every_n_steps: int | None = None,
        save_on_epoch_end: bool = True,
    ) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.every_n_steps = _positive_int(every_n_steps, "every_n_steps", allow_none=True)
        self.save_on_epoch_end = bool(save_on_epoch_end)
        self._epoch = 0
        self._step = 0

    @property
    def path(self) -> Path:
        """The checkpoint file."""
        return self.directory / CHECKPOINT_FILE

    def exists(self) -> bool:
        """Whether a checkpoint has been written to ``directory``."""
        return self.path.is_file()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Reads the global step the run starts from."""
        self._step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Remembers the epoch (a mid-epoch checkpoint resumes at its start)."""
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Writes a checkpoint every ``every_n_steps`` global steps."""
        self._step += 1
        if self.every_n_steps and self._step % self.every_n_steps == 0:
            save_checkpoint(self.model, self.directory, epoch=self._epoch)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Writes a checkpoint that resumes at the next epoch."""
        if self.save_on_epoch_end:
            save_checkpoint(self.model, self.directory, epoch=epoch + 1)
