"""Loading a trained generator or discriminator from a file or a pretrained name.

Each loader checks what it read: a missing file, a file that is not a Keras model (a picture,
a damaged or truncated ``.keras``) and a model of the wrong kind (a discriminator passed as a
generator) are each a one-sentence error naming the argument, the value and what was expected.
``keras-facegen sample``, ``morph``, ``serve`` and ``evaluate`` load their ``--model`` with
:func:`load_generator` and their ``--discriminator`` with :func:`load_discriminator`.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

from keras_facegen.models.pretrained import (
    DISCRIMINATOR_FILE,
    GENERATOR_FILE,
    pretrained_dir,
    pretrained_names,
)

__all__ = ["MODEL_SUFFIXES", "load_discriminator", "load_generator", "resolve_model"]

#: Model file extensions the loaders accept.
MODEL_SUFFIXES = (".keras", ".h5")

Shape = tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class _Role:
    """What a loader expects: the file beside a pretrained name, and the model's shapes."""

    file: str
    expected: str
    fits: Callable[[Shape, Shape], bool]
    mismatch: Callable[[Shape, Shape], str]


def _shape_text(shape: Shape) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"


_GENERATOR = _Role(
    file=GENERATOR_FILE,
    expected="a generator .keras file (latent vector in, image out), e.g. generator.keras",
    fits=lambda inputs, outputs: len(inputs) == 2 and len(outputs) == 4 and outputs[-1] in (1, 3),
    mismatch=lambda inputs, outputs: f"maps {_shape_text(inputs)} to {_shape_text(outputs)}",
)
_DISCRIMINATOR = _Role(
    file=DISCRIMINATOR_FILE,
    expected="a discriminator .keras file (image in, score out)",
    fits=lambda inputs, outputs: len(inputs) == 4,
    mismatch=lambda inputs, outputs: f"takes {_shape_text(inputs)} inputs",
)


def resolve_model(model: str | os.PathLike, file: str = GENERATOR_FILE) -> Path:
    """A model given as a path or a pretrained name, as the file to load.

    An existing file wins over a name; anything else is returned as a path (and reported
    missing by the loaders).

    Args:
        model: A ``.keras`` file or a name from
            :func:`~keras_facegen.models.pretrained_names`.
        file: Which of a pretrained model's files a name stands for: ``"generator.keras"``
            or ``"discriminator.keras"``.

    Returns:
        The file to load.

    Example:
        >>> resolve_model("face64_synthetic").name
        'generator.keras'
        >>> resolve_model("runs/demo/generator.keras").as_posix()
        'runs/demo/generator.keras'
    """
    path = Path(model)
    if not path.is_file() and str(model) in pretrained_names():
        return pretrained_dir(str(model)) / file
    return path


def load_generator(model: str | os.PathLike, *, argument: str = "model") -> keras.Model:
    """Loads a generator from a ``.keras`` file or a pretrained name, checking its shapes.

    Args:
        model: A generator ``.keras`` file (latent vectors ``(N, latent_dim)`` in, images
            ``(N, H, W, 1 or 3)`` out) or a pretrained name, e.g. ``"face64_synthetic"``.
        argument: The name errors give the value (the CLI passes ``"--model"``).

    Returns:
        The Keras model, uncompiled.

    Raises:
        FileNotFoundError: If there is no such file and no pretrained model of that name.
        ValueError: If the file is not a Keras model, cannot be loaded, or is not a generator
            (e.g. a discriminator).

    Example:
        >>> load_generator("face64_synthetic").output_shape
        (None, 64, 64, 3)
    """
    return _load(model, argument, _GENERATOR)


def load_discriminator(model: str | os.PathLike, *, argument: str = "model") -> keras.Model:
    """Loads a discriminator from a ``.keras`` file or a pretrained name, checking its input.

    Args:
        model: A discriminator ``.keras`` file (images ``(N, H, W, C)`` in) or a pretrained
            name, e.g. ``"face64_synthetic"`` (its shipped discriminator).
        argument: The name errors give the value (the CLI passes ``"--discriminator"``).

    Returns:
        The Keras model, uncompiled.

    Raises:
        FileNotFoundError: If there is no such file and no pretrained model of that name.
        ValueError: If the file is not a Keras model, cannot be loaded, or does not take
            images (e.g. a generator).

    Example:
        >>> load_discriminator("face64_synthetic").input_shape
        (None, 64, 64, 3)
    """
    return _load(model, argument, _DISCRIMINATOR)


def _load(model: str | os.PathLike, argument: str, role: _Role) -> keras.Model:
    path = resolve_model(model, role.file)
    network = _load_file(path, argument, role.expected)
    inputs, outputs = _io_shapes(network)
    if not role.fits(inputs, outputs):
        raise ValueError(
            f"{argument} {str(path)!r} {role.mismatch(inputs, outputs)}; expected {role.expected}"
        )
    return network


def _load_file(path: Path, argument: str, expected: str) -> keras.Model:
    import keras_facegen.layers  # noqa: F401  (registers the custom layers for loading)

    if not path.is_file():
        what = "a folder" if path.is_dir() else "no model file"
        raise FileNotFoundError(
            f"{argument}: {what} at {str(path)!r}; expected a .keras file or a pretrained name "
            f"({', '.join(pretrained_names()) or 'none shipped'})"
        )
    suffix = path.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise ValueError(f"{argument} {str(path)!r} is not a Keras model file; expected {expected}")
    if suffix == ".keras" and not zipfile.is_zipfile(path):
        # Keras's own message for this case reads "File not found", which misleads.
        raise ValueError(
            f"{argument} {str(path)!r} could not be loaded: the file exists but is not a zip "
            f"archive, as every .keras file is (damaged, truncated or another kind of file "
            f"renamed); expected {expected}"
        )
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for a damaged or foreign file
        reason = " ".join(str(error).split())[:200]
        raise ValueError(
            f"{argument} {str(path)!r} could not be loaded ({reason}); expected {expected}"
        ) from None


def _io_shapes(model: Any) -> tuple[Shape, Shape]:
    def first(shape: Any) -> Shape:
        if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return tuple(shape) if isinstance(shape, (tuple, list)) else ()

    try:
        return first(model.input_shape), first(model.output_shape)
    except (AttributeError, ValueError, RuntimeError):
        return (), ()
