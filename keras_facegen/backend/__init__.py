"""Backend-specific code: the only package that imports TensorFlow, JAX or PyTorch.

Everything else in keras-facegen is written once with ``keras.ops``. What cannot be (taking
gradients, the GAN train step) lives in one module per backend, ``backend/<name>/``, and is picked
here from ``keras.backend.backend()`` when first used.
"""

from __future__ import annotations

import importlib
import operator
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


def replica_position() -> tuple[Any, int]:
    """Where this replica's rows sit in a distributed train step's global batch.

    Random draws that must match a one-process run (latents, augmentation parameters) are made
    for the global batch from a shared seed; each replica keeps rows
    ``[index * n, (index + 1) * n)`` of them.

    Returns:
        ``(index, count)``: this replica's index (a tensor under ``tf.distribute``) and the
        number of replicas in sync; ``(0, 1)`` on JAX (its step sees the global batch) and
        outside a distributed step.
    """
    return backend_module().distributed.replica_position()


def replica_sum(x: Any) -> Any:
    """Sums a per-replica statistic over every replica of a distributed train step.

    Under ``tf.distribute`` each replica runs the step on its share of the batch, so a sum over
    the batch is that share's; this all-reduces it. On JAX the step sees the global batch (the
    sum is global already) and PyTorch trains in one process: ``x`` is returned unchanged.

    Args:
        x: A tensor computed from this replica's images.

    Returns:
        The sum over all replicas (``x`` itself with one replica).
    """
    return backend_module().distributed.replica_sum(x)


def _threads_module() -> ModuleType:
    """``keras_facegen.backend.<active backend>.threads``."""
    return importlib.import_module(f"{backend_module().__name__}.threads")


def configure_threads(num_threads: int | None = None, force: bool = False) -> int | None:
    """Sets the active backend's CPU threads so that training holds up on a shared CPU.

    ``keras-facegen train`` (every command) calls it once Keras is imported. PyTorch: one
    intra-op thread per physical core (at most 4) and one inter-op thread (``OMP_WAIT_POLICY=
    PASSIVE`` is set by the command before PyTorch loads); TensorFlow: the same counts, applied
    only before its runtime starts; JAX: XLA's pool is kept as it is. A thread count the user
    set in the environment (``OMP_NUM_THREADS``, ``TF_NUM_INTRAOP_THREADS``, ...) wins unless
    ``force``. The measurements behind these defaults: docs/benchmarks.md, "Training on a
    shared CPU".

    Args:
        num_threads: Intra-op threads; defaults to ``min(physical cores, 4)``.
        force: Apply even if the environment names a thread count.

    Returns:
        The intra-op thread count now in effect, or ``None`` where the user's or the
        framework's setting was kept.

    Raises:
        ValueError: If ``num_threads`` is not a positive integer.
    """
    result: int | None = _threads_module().configure_threads(num_threads, force=force)
    return result


def thread_settings() -> dict[str, int | str]:
    """The active backend's CPU thread settings now in effect.

    Returns:
        Per backend: PyTorch ``intra_op``, ``inter_op``, ``wait_policy``; TensorFlow
        ``intra_op``, ``inter_op`` (``0``: one per CPU); JAX ``physical_cores``,
        ``logical_cpus``, ``xla_flags``.

    Example:
        >>> isinstance(thread_settings(), dict)
        True
    """
    settings: dict[str, int | str] = _threads_module().thread_settings()
    return settings


def assert_divisible(value: Any, divisor: Any, message: str) -> Any:
    """Checks that an integer (e.g. a batch size) is a multiple of ``divisor``.

    Static values (Python ints: eager code, shapes under JAX ``jit``, PyTorch) are checked at
    once and raise ``ValueError(message)``. A value only known when a TensorFlow graph runs
    (an unknown batch size) gets a graph assertion that fails with ``message`` when it runs
    (TensorFlow reports it as ``tf.errors.InvalidArgumentError``, its runtime error type).

    Args:
        value: An int or a scalar integer tensor.
        divisor: An int or a scalar integer tensor (> 0).
        message: The error message.

    Returns:
        ``value`` (in a TensorFlow graph: the value behind the assertion; use it so that the
        check runs before whatever depends on it).

    Raises:
        ValueError: If both are static and ``value % divisor != 0``.

    Example:
        >>> assert_divisible(8, 4, "8 is a multiple of 4")
        8
    """
    static_value, static_divisor = _static_int(value), _static_int(divisor)
    if static_value is not None and static_divisor is not None:
        if static_value % static_divisor:
            raise ValueError(message)
        return value
    return backend_module().checks.assert_divisible(value, divisor, message)


def _static_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


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
