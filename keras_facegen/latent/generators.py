"""The generator protocol shared by the latent and sampling tools.

A ``generator`` argument may be:

* a ``keras.Model`` (or layer) mapping latents ``(N, D)`` to images in ``[-1, 1]``, channels last;
* an object with a ``.generator`` attribute holding such a model (a keras-facegen ``GAN``);
* any callable ``z -> images`` (e.g. a TF-Hub ProGAN wrapper returning NumPy).

The latent size comes from a ``latent_dim`` attribute (on the object or its ``.generator``) or
from a Keras model's ``input_shape[-1]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from keras_facegen._validation import check_int
from keras_facegen.latent._arrays import as_float_array

GeneratorFn = Callable[[Any], Any]


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0:
        return int(value)
    return None


def _model_latent_dim(model: Any) -> int | None:
    dim = _int_or_none(getattr(model, "latent_dim", None))
    if dim is not None:
        return dim
    try:
        shape = model.input_shape
    except (AttributeError, ValueError, RuntimeError):
        return None
    if isinstance(shape, tuple) and shape and not isinstance(shape[0], (tuple, list)):
        return _int_or_none(shape[-1])
    return None


def as_generator(generator: Any) -> tuple[GeneratorFn, int | None]:
    """Resolves anything that makes images from latents into ``(fn, latent_dim)``.

    Args:
        generator: A Keras model, an object with a ``.generator`` model (a GAN), or a callable
            ``z -> images``.

    Returns:
        ``fn`` maps a latent batch (NumPy or backend tensor) to images (backend tensor or
        NumPy); Keras models are called with ``training=False``. ``latent_dim`` is the latent
        size, or ``None`` when it cannot be read (a plain callable without ``latent_dim``).

    Raises:
        ValueError: If ``generator`` is none of the supported kinds.

    Example:
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(12)])
        >>> fn, latent_dim = as_generator(model)
        >>> latent_dim
        4
    """
    inner = getattr(generator, "generator", None)
    if inner is not None and inner is not generator:
        fn, inner_dim = as_generator(inner)
        return fn, _int_or_none(getattr(generator, "latent_dim", None)) or inner_dim
    if isinstance(generator, keras.layers.Layer):

        def call_model(z: Any) -> Any:
            return generator(z, training=False)

        return call_model, _model_latent_dim(generator)
    if callable(generator):
        return generator, _int_or_none(getattr(generator, "latent_dim", None))
    raise ValueError(
        "generator must be a keras.Model, an object with a .generator model (a GAN) or a "
        f"callable z -> images; received generator={generator!r} of type "
        f"{type(generator).__name__}."
    )


def check_latents(z: Any, latent_dim: int | None, name: str = "z") -> np.ndarray:
    """Validates a latent batch for a generator and returns it as float32 ``(N, D)``.

    Args:
        z: One latent ``(D,)`` (treated as a batch of one) or a batch ``(N, D)``.
        latent_dim: The generator's latent size, or ``None`` to accept any.
        name: The argument name used in error messages.

    Returns:
        float32 array ``(N, D)``.

    Raises:
        ValueError: On non-finite values, a wrong rank, an empty batch or a latent size other
            than ``latent_dim``.

    Example:
        >>> check_latents([0.0, 1.0], 2).shape
        (1, 2)
    """
    array = as_float_array(z, name, dtype="float32")
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"{name} must be a latent (D,) or a non-empty batch (N, D); received {name} with "
            f"shape {array.shape}."
        )
    if latent_dim is not None and array.shape[1] != latent_dim:
        raise ValueError(
            f"{name} has latent size {array.shape[1]} but the generator expects "
            f"latent_dim={latent_dim}; received {name} with shape {array.shape}."
        )
    return array


def check_batch_size(batch_size: Any) -> int:
    """Validates a batch size (a positive integer) and returns it as ``int``.

    Args:
        batch_size: The value to check.

    Returns:
        ``int(batch_size)``.

    Raises:
        ValueError: If it is not a positive integer.

    Example:
        >>> check_batch_size(8)
        8
    """
    return check_int(batch_size, "batch_size")


def generate_images(generator: Any, z: Any, batch_size: int = 64) -> np.ndarray:
    """Runs a generator on latents in batches and returns NumPy images.

    Args:
        generator: See :func:`as_generator`.
        z: One latent ``(D,)`` or a batch ``(N, D)``.
        batch_size: Latents per generator call.

    Returns:
        float32 array ``(N, H, W, C)`` of images (in ``[-1, 1]`` for a well-behaved generator).

    Raises:
        ValueError: On invalid latents (wrong size for the generator), a bad batch size, or a
            generator output that is not a batch of ``N`` images.

    Example:
        >>> from keras_facegen.latent import sample_latents
        >>> generate_images(gan, sample_latents(4, 16, "uniform", seed=0)).shape
        (4, 64, 64, 3)
    """
    fn, latent_dim = as_generator(generator)
    z = check_latents(z, latent_dim)
    batch_size = check_batch_size(batch_size)
    chunks = []
    for start in range(0, len(z), batch_size):
        batch = z[start : start + batch_size]
        images = np.asarray(keras.ops.convert_to_numpy(fn(batch)))
        if images.ndim != 4 or images.shape[0] != len(batch):
            raise ValueError(
                f"The generator must return images (N, H, W, C) for N latents; it returned shape "
                f"{images.shape} for {len(batch)} latents."
            )
        chunks.append(images.astype(np.float32))
    return np.concatenate(chunks)
