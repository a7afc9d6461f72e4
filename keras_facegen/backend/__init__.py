"""Backend-specific code: the only package that imports TensorFlow, JAX or PyTorch.

Everything else in keras-facegen is written once with ``keras.ops``. What cannot be (taking
gradients, the GAN train step) lives in one module per backend, ``backend/<name>/``, and is picked
here from ``keras.backend.backend()`` when first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import keras

SUPPORTED_BACKENDS = ("tensorflow", "jax", "torch")


def backend_module(name: str | None = None) -> ModuleType:
    """Returns the keras-facegen module implementing a Keras backend.

    Args:
        name: A Keras backend name; defaults to the active one (``keras.backend.backend()``).

    Returns:
        The module ``keras_facegen.backend.<name>``.

    Raises:
        ValueError: If the backend is not one keras-facegen supports.
    """
    name = name or keras.backend.backend()
    if name not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"Unsupported Keras backend: backend={name!r}. "
            f"keras-facegen supports {', '.join(SUPPORTED_BACKENDS)}."
        )
    return importlib.import_module(f"{__name__}.{name}")


def input_gradients(fn: Callable[[Any], Any], x: Any) -> Any:
    """Gradient of ``sum(fn(x))`` with respect to ``x``, itself differentiable.

    Use it inside a loss that is differentiated again (gradient penalty, R1): the result stays on
    the outer gradient computation's tape / graph / trace. ``fn`` must be free of side effects on
    JAX (call Keras models through ``stateless_call`` there).

    Args:
        fn: Maps a batch tensor to a tensor (e.g. discriminator logits).
        x: The batch to differentiate at.

    Returns:
        A tensor shaped like ``x``.
    """
    return backend_module().autodiff.input_gradients(fn, x)


def value_and_grad(fn: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, Any]]:
    """Wraps a scalar function of one tensor so that it returns ``(value, gradient)``.

    Meant for optimisation outside ``fit`` (e.g. projecting images into latent space).

    Args:
        fn: Maps a tensor to a scalar tensor.

    Returns:
        A function ``x -> (fn(x), d fn / d x)``.
    """
    return backend_module().autodiff.value_and_grad(fn)


def gan_trainer() -> type:
    """Returns the ``GANTrainer`` mixin of the active Keras backend.

    ``keras_facegen.models.GAN`` inherits from it (picked once, when ``models.gan`` is
    imported), the way ``keras.Model`` inherits the trainer of its backend.

    Returns:
        The class ``keras_facegen.backend.<backend>.gan_trainer.GANTrainer``.

    Raises:
        ValueError: If the active backend is not supported.

    Example:
        >>> from keras_facegen.backend import gan_trainer
        >>> gan_trainer().__name__
        'GANTrainer'
    """
    return backend_module().gan_trainer.GANTrainer
