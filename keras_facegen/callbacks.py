"""Training callbacks for ``keras_facegen.models.GAN``: sample grids and exact-resume checkpoints.

* :class:`SampleGrid` renders the same latents every N steps into a PNG grid, so progress can be
  compared frame by frame.
* :class:`GANCheckpoint` writes the complete training state (both networks, both optimizers,
  the generator EMA, the GAN's step and image counters and the random state) to one ``.npz``
  file, atomically; :func:`resume_from` loads it into a GAN and returns the epoch to continue
  ``fit`` from.

Checkpoints key every variable by a stable path (:func:`state_variables`), not by position: a
GAN that gained layers still loads what it shares with the checkpoint (``strict=False``), and a
mismatch names the missing and unexpected paths. Both callbacks count steps with the GAN's own
counter (``GAN.iterations``), so they name files by the real step also under
``steps_per_execution > 1`` (Keras calls ``on_train_batch_end`` once per execution then).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np
from PIL import Image

from keras_facegen import distributed
from keras_facegen._images import image_grid
from keras_facegen._validation import check_int
from keras_facegen.latent.distributions import sample_latents

CHECKPOINT_FILE = "checkpoint.npz"
_FORMAT_VERSION = 2


def _steps_done(model: keras.Model) -> int:
    """The GAN's train-step counter, read cheaply (also mid-``fit`` on JAX)."""
    return int(model.counter_values()["iterations"])


def _crossed(previous: int, current: int, every: int) -> bool:
    """Whether a multiple of ``every`` lies in ``(previous, current]``."""
    return current // every > previous // every


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG grid of images from fixed latents every ``every_n_steps`` train steps.

    Files are named ``step_<global step, 7 digits>.png``, the global step being the GAN's own
    counter (``GAN.iterations``), so it continues across resumed runs. A grid is drawn after
    every train call in which the counter passed a multiple of ``every_n_steps`` and is named
    by the counter's value then: under ``steps_per_execution > 1`` (several steps per call)
    choose an ``every_n_steps`` that is a multiple of it to draw exactly at the multiples.

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
        >>> grid = SampleGrid("runs/samples", every_n_steps=2, num_images=4)
        >>> history = gan.fit(images, batch_size=16, epochs=1, verbose=0, callbacks=[grid])
        >>> [path.name for path in grid.written]
        ['step_0000002.png', 'step_0000004.png']
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
        self.every_n_steps = check_int(every_n_steps, "every_n_steps")
        self.num_images = check_int(num_images, "num_images")
        self.rows = (
            max(1, round(math.sqrt(self.num_images))) if rows is None else check_int(rows, "rows")
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
        self._latents = sample_latents(
            self.num_images, self.model.latent_dim, self.model.latent_distribution, self.seed
        )
        self._step = _steps_done(self.model)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Writes a grid when the GAN's step counter passed a multiple of ``every_n_steps``."""
        step = _steps_done(self.model)
        if _crossed(self._step, step, self.every_n_steps):
            self.write(step)
        self._step = step

    def write(self, step: int) -> Path:
        """Renders the fixed latents now and saves the grid.

        Args:
            step: The global step used in the file name.

        Returns:
            The PNG path (written by process 0 only when several processes train).
        """
        # Every process renders (across processes the generator runs on all of them at once);
        # process 0 alone writes.
        images = self.model.generate(self._latents, ema=self.ema)
        path = self.directory / f"step_{step:07d}.png"
        if distributed.is_writer():
            self.directory.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image_grid(images, rows=self.rows)).save(path)
            self.written.append(path)
        return path


def _snake_case(name: str) -> str:
    # Keras' auto-naming rule (``keras.src.utils.naming.to_snake_case``).
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def _unique(key: str, used: set[str]) -> str:
    candidate, index = key, 1
    while candidate in used:
        candidate = f"{key}#{index}"
        index += 1
    used.add(candidate)
    return candidate


def _layer_variable_keys(model: keras.Layer, prefix: str, keys: dict[int, str]) -> None:
    """Adds ``id(variable) -> key`` for every variable of ``model``, walking its layers.

    A layer is named by its name, except names Keras generates (``<class>`` or
    ``<class>_<n>``, which depend on what the process built before): those are renumbered by
    order within the model, as a fresh process would name them.
    """
    used: set[str] = set()
    counts: dict[str, int] = {}
    for layer in getattr(model, "layers", []):
        base = _snake_case(type(layer).__name__)
        if re.fullmatch(rf"{re.escape(base)}(_\d+)?", layer.name):
            index = counts.get(base, 0)
            counts[base] = index + 1
            name = base if index == 0 else f"{base}_{index}"
        else:
            name = layer.name
        layer_prefix = f"{prefix}{_unique(name, used)}/"
        if getattr(layer, "layers", None):
            _layer_variable_keys(layer, layer_prefix, keys)
            continue
        weights = [w for w in layer.weights if id(w) not in keys]
        names = [w.name for w in weights]
        for position, weight in enumerate(weights):
            suffix = weight.name if names.count(weight.name) == 1 else f"{weight.name}_{position}"
            keys[id(weight)] = layer_prefix + suffix
    for weight in model.weights:
        if id(weight) not in keys:
            keys[id(weight)] = prefix + _unique(weight.name, used)


def _optimizer_keys(
    optimizer: keras.optimizers.Optimizer,
    prefix: str,
    player_variables: list[Any],
    keys: dict[int, str],
) -> None:
    # Slot variables are named after their model variable's path (which depends on the
    # process); they are keyed by that model variable's stable key instead.
    by_path = {v.path.replace("/", "_"): keys[id(v)].split("/", 1)[1] for v in player_variables}
    inner = getattr(optimizer, "inner_optimizer", None)
    inner_ids = {id(v) for v in inner.variables} if inner is not None else set()
    used: set[str] = set()
    for variable in optimizer.variables:
        if id(variable) in keys:
            continue
        scope = f"{prefix}inner/" if id(variable) in inner_ids else prefix
        name = variable.name
        match = max((p for p in by_path if name.startswith(p + "_")), key=len, default=None)
        if match is not None:
            name = f"{by_path[match]}/{name[len(match) + 1 :]}"
        keys[id(variable)] = _unique(scope + name, used)


def state_variables(gan: keras.Model) -> dict[str, Any]:
    """A compiled GAN's complete training state, keyed by stable variable paths.

    Keys: ``generator/<layer>/<variable>``, ``discriminator/...``, ``generator_ema/...`` (the EMA
    of the generator variable of the same path), ``gan/iterations``, ``gan/images_seen``,
    ``gan/...`` (the seed generator and any other GAN variable), and
    ``generator_optimizer/...`` / ``discriminator_optimizer/...`` (``iteration``,
    ``learning_rate``, slots as ``<layer>/<variable>/<slot>``; a ``LossScaleOptimizer``'s
    inner optimizer under ``inner/``). ``<layer>`` is the layer's name, except names Keras
    generated (``dense``, ``dense_3``...), which are renumbered within the model by order, so
    the keys do not depend on what the process built before.

    Args:
        gan: A compiled ``GAN``.

    Returns:
        An ordered ``{key: keras.Variable}`` dict.

    Raises:
        ValueError: If the GAN is not compiled.

    Example:
        >>> state = state_variables(gan)
        >>> state["gan/iterations"] is gan.iterations
        True
    """
    optimizer = getattr(gan, "optimizer", None)
    if optimizer is None:
        raise ValueError("Checkpoints need a compiled GAN (its optimizers are part of the state).")
    keys: dict[int, str] = {}
    _layer_variable_keys(gan.generator, "generator/", keys)
    _layer_variable_keys(gan.discriminator, "discriminator/", keys)
    for average, weight in zip(getattr(gan, "ema_weights", []), gan.generator.trainable_variables):
        keys[id(average)] = "generator_ema/" + keys[id(weight)].split("/", 1)[1]
    used = set(keys.values())
    keys[id(gan.iterations)] = _unique("gan/iterations", used)
    keys[id(gan.images_seen)] = _unique("gan/images_seen", used)
    for variable in gan.variables:
        if id(variable) not in keys:
            keys[id(variable)] = _unique(f"gan/{variable.name}", used)
    for role, player in (("generator", gan.generator), ("discriminator", gan.discriminator)):
        _optimizer_keys(
            getattr(gan, f"{role}_optimizer"),
            f"{role}_optimizer/",
            list(player.trainable_variables),
            keys,
        )
    state: dict[str, Any] = {}
    for variable in list(gan.variables) + list(optimizer.variables):
        state.setdefault(keys[id(variable)], variable)
    return state


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    # A temporary file in the same folder, then os.replace: readers see the old checkpoint
    # or the new one, never a partial file, even if the process dies mid-write.
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, allow_pickle=False, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def save_checkpoint(gan: keras.Model, directory: str | os.PathLike, epoch: int) -> Path:
    """Writes a GAN's complete training state to ``<directory>/checkpoint.npz`` atomically.

    Every variable of :func:`state_variables` is stored under its key (array ``keys`` holds
    the keys, array ``v<i>`` the value of key ``i``), with the epoch to resume from and the
    GAN's counters (``step``, ``images_seen``) as plain integers. Across several processes
    (:mod:`keras_facegen.distributed`) every process gathers the state (call it in all of
    them) and process 0 alone writes the file.

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
    state = state_variables(gan)
    gan.sync_state()
    arrays = {
        f"v{i}": np.asarray(keras.ops.convert_to_numpy(gan._live_value(v)))
        for i, v in enumerate(state.values())
    }
    arrays["keys"] = np.array(list(state), dtype=str)
    arrays["epoch"] = np.array(epoch, "int64")
    counters = gan.counter_values()
    arrays["step"] = np.array(counters["iterations"], "int64")
    arrays["images_seen"] = np.array(counters["images_seen"], "int64")
    arrays["format_version"] = np.array(_FORMAT_VERSION, "int64")
    directory = Path(directory)
    path = directory / CHECKPOINT_FILE
    if distributed.is_writer():
        directory.mkdir(parents=True, exist_ok=True)
        _atomic_savez(path, arrays)
    return path


def _listing(keys: list[str], limit: int = 12) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def _read_checkpoint(path: Path, gan: keras.Model) -> tuple[dict[str, np.ndarray], int]:
    with np.load(path) as data:
        epoch = int(data["epoch"])
        count = sum(1 for key in data.files if key.startswith("v") and key[1:].isdigit())
        values = [data[f"v{i}"] for i in range(count)]
        if "keys" in data.files:
            return dict(zip((str(k) for k in data["keys"]), values)), epoch
        step = int(data["step"])
    # Format 1 (before the GAN's own counters): variables by position, without the counters.
    counter_keys = ("gan/iterations", "gan/images_seen")
    keys = [k for k in state_variables(gan) if k not in counter_keys]
    if len(keys) != count:
        raise ValueError(
            f"The checkpoint {str(path)!r} (format 1, variables by position) holds {count} "
            f"variables; this GAN has {len(keys)}. Build the GAN (and compile it) as the saved "
            "one was."
        )
    warnings.warn(
        f"{str(path)!r} is a format-1 checkpoint: it stores no images_seen, which restarts at "
        f"0 (iterations is restored to {step}).",
        stacklevel=3,
    )
    loaded = dict(zip(keys, values))
    loaded["gan/iterations"] = np.array(step)
    loaded["gan/images_seen"] = np.array(0)
    return loaded, epoch


def resume_from(gan: keras.Model, directory: str | os.PathLike, strict: bool = True) -> int:
    """Loads the checkpoint in ``directory`` into a compiled GAN; returns the epoch to resume.

    Use it as ``gan.fit(..., initial_epoch=resume_from(gan, directory))``. The networks, both
    optimizers, the EMA weights, the GAN's counters and the seed-generator state are restored,
    so training continues exactly as if it had not stopped, provided the data order of an
    epoch does not depend on the process (``shuffle=False``, or a dataset shuffled by a seed
    per epoch) and the checkpoint was written at an epoch end (mid-epoch checkpoints restore
    the state exactly, but ``fit`` restarts that epoch's data from its first batch).

    Variables are matched by their :func:`state_variables` key. With ``strict=False`` a GAN
    that gained (or lost) variables since the checkpoint, e.g. a network grown by new layers,
    loads every variable it shares with the file; the others keep their current values and a
    warning names them.

    Args:
        gan: A compiled GAN with the same architecture as the one that was saved.
        directory: The folder given to :class:`GANCheckpoint`.
        strict: Refuse a checkpoint whose keys differ from the GAN's.

    Returns:
        The ``initial_epoch`` for ``fit``.

    Raises:
        FileNotFoundError: If there is no checkpoint in ``directory`` (the message names the
            path).
        ValueError: If the checkpoint does not fit the GAN: missing or unexpected keys
            (with ``strict``; the message names them) or a variable of another shape.

    Example:
        >>> path = save_checkpoint(gan, "runs/ckpt", epoch=1)
        >>> start = resume_from(gan, "runs/ckpt")
        >>> history = gan.fit(images, epochs=start + 1, initial_epoch=start, verbose=0)
        >>> start, gan.counter_values()["iterations"]
        (1, 2)
    """
    path = Path(directory) / CHECKPOINT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"No GAN checkpoint at {str(path)!r}.")
    state = state_variables(gan)
    loaded, epoch = _read_checkpoint(path, gan)
    missing = [k for k in state if k not in loaded]
    unexpected = [k for k in loaded if k not in state]
    if (missing or unexpected) and strict:
        raise ValueError(
            f"The checkpoint {str(path)!r} does not fit this GAN: missing variables "
            f"[{_listing(missing)}]; unexpected variables [{_listing(unexpected)}]. Build the "
            "GAN (and compile it) as the saved one was, or pass strict=False to load the "
            "variables they share."
        )
    for key, variable in state.items():
        if key in loaded and tuple(variable.shape) != tuple(np.shape(loaded[key])):
            raise ValueError(
                f"Checkpoint {str(path)!r}: variable {key!r} has shape "
                f"{tuple(variable.shape)} here but {tuple(np.shape(loaded[key]))} in the file."
            )
    if missing or unexpected:
        warnings.warn(
            f"resume_from({str(path)!r}, strict=False): kept the current values of "
            f"[{_listing(missing)}]; ignored [{_listing(unexpected)}].",
            stacklevel=2,
        )
    gan.sync_state()
    for key, variable in state.items():
        if key in loaded:
            variable.assign(np.asarray(loaded[key]).astype(variable.dtype))
    return epoch


class GANCheckpoint(keras.callbacks.Callback):
    """Writes exact-resume checkpoints of a GAN during ``fit``.

    The checkpoint is one file, ``<directory>/checkpoint.npz``, replaced atomically each time
    (temporary file in the same folder, then ``os.replace``), holding every variable of the
    GAN (both networks, EMA weights, step and image counters, seed-generator state) and of
    both optimizers, keyed by path (:func:`state_variables`). Resume with :func:`resume_from`.
    ``every_n_steps`` counts the GAN's own steps (``GAN.iterations``): a checkpoint is written
    after every train call in which that counter passed a multiple of it.

    Args:
        directory: Folder of the checkpoint.
        every_n_steps: Also write every N train steps (``None``: only at epoch ends).
        save_on_epoch_end: Write at the end of every epoch (the exact-resume points).

    Raises:
        ValueError: For a non-positive interval.

    Example:
        >>> ckpt = GANCheckpoint("runs/ckpt")
        >>> start = resume_from(gan, "runs/ckpt") if ckpt.exists() else 0
        >>> history = gan.fit(
        ...     images, epochs=1, initial_epoch=start, shuffle=False, verbose=0, callbacks=[ckpt]
        ... )
        >>> ckpt.exists()
        True
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        every_n_steps: int | None = None,
        save_on_epoch_end: bool = True,
    ) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.every_n_steps = (
            None if every_n_steps is None else check_int(every_n_steps, "every_n_steps")
        )
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
        self._step = _steps_done(self.model)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Remembers the epoch (a mid-epoch checkpoint resumes at its start)."""
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Writes a checkpoint when the GAN's step counter passed a multiple of the interval."""
        if not self.every_n_steps:
            return
        step = _steps_done(self.model)
        if _crossed(self._step, step, self.every_n_steps):
            save_checkpoint(self.model, self.directory, epoch=self._epoch)
        self._step = step

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Writes a checkpoint that resumes at the next epoch."""
        if self.save_on_epoch_end:
            save_checkpoint(self.model, self.directory, epoch=epoch + 1)


def __getattr__(name: str) -> Any:
    # EvaluateQuality lives in keras_facegen.metrics (a higher floor: it needs the metrics);
    # importing it on first use keeps this module free of that import.
    if name == "EvaluateQuality":
        from keras_facegen.metrics.callback import EvaluateQuality

        return EvaluateQuality
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
