"""Recovering latents for target images by gradient descent through the generator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_facegen import backend as facegen_backend
from keras_facegen._validation import check_int
from keras_facegen.latent._arrays import as_float_array
from keras_facegen.latent.distributions import sample_latents
from keras_facegen.latent.generators import as_generator, check_latents


def minimize_latents(
    value_and_grad: Callable[[np.ndarray], tuple[Any, Any]],
    initial_latents: Any,
    steps: int,
    optimizer: keras.optimizers.Optimizer,
) -> tuple[np.ndarray, np.ndarray]:
    """Optimises latents with a Keras optimizer: the loop behind :func:`project`.

    The latents live in a ``keras.Variable``; each step calls ``value_and_grad`` on their
    current value (a float32 NumPy array) and applies the gradient with ``optimizer``, so it
    runs on every Keras backend whatever computes the gradient (Keras ``ops`` or TensorFlow for
    a TF-Hub module). ``optimizer`` is used as a template: a fresh copy (``from_config``) holds
    this call's moments, so one optimizer object can serve many calls.

    Args:
        value_and_grad: Maps latents ``(N, D)`` to ``(loss, gradient)``, the gradient shaped
            like the latents (tensors or arrays).
        initial_latents: Starting latents ``(N, D)``.
        steps: Optimizer steps.
        optimizer: A ``keras.optimizers.Optimizer``, e.g. ``keras.optimizers.Adam(0.01)``.

    Returns:
        ``(latents, history)``: float32 latents ``(N, D)`` after the last step and the float32
        loss ``(steps,)`` before every step.

    Raises:
        ValueError: If ``steps`` is not a positive integer or ``optimizer`` is not a Keras
            optimizer.

    Example:
        >>> target = np.array([[1.0, -2.0]], "float32")
        >>> def value_and_grad(z):
        ...     return float(np.sum((z - target) ** 2)), 2.0 * (z - target)
        >>> z, history = minimize_latents(
        ...     value_and_grad, np.zeros((1, 2)), 200, keras.optimizers.SGD(0.1))
        >>> np.round(z, 3).tolist(), float(history[0])
        ([[1.0, -2.0]], 5.0)
    """
    steps = check_int(steps, "steps")
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise ValueError(
            f"optimizer must be a keras.optimizers.Optimizer; received optimizer={optimizer!r}."
        )
    optimizer = optimizer.__class__.from_config(optimizer.get_config())
    start = np.asarray(initial_latents, dtype=np.float32)
    variable = keras.Variable(start, dtype="float32", trainable=True, name="latents")
    history = np.zeros(steps, dtype=np.float32)
    for step in range(steps):
        value, grad = value_and_grad(np.asarray(ops.convert_to_numpy(variable), np.float32))
        history[step] = float(ops.convert_to_numpy(value))
        gradient = np.asarray(ops.convert_to_numpy(grad), dtype=np.float32)
        optimizer.apply([ops.convert_to_tensor(gradient)], [variable])
    return np.asarray(ops.convert_to_numpy(variable), dtype=np.float32), history


def _check_positive(name: str, value: Any, allow_zero: bool = False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.number))
    ok = ok and np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        expected = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{name} must be {expected} finite number; received {name}={value!r}.")
    return float(value)


def projection_loss(
    generated: Any, targets: Any, latents: Any, norm_weight: float, target_norm: float
) -> Any:
    """The projection objective summed over the batch (``keras.ops``, differentiable).

    Per image: ``sum |G(z) - x| + norm_weight * | |z| - target_norm |``, the TF-Hub ProGAN
    tutorial's reconstruction error plus a prior keeping ``|z|`` near the typical norm of a
    Gaussian latent.

    Args:
        generated: Generated images ``G(z)``, ``(N, H, W, C)``.
        targets: Target images, same shape.
        latents: The latents ``z``, ``(N, D)``.
        norm_weight: Weight of the norm prior (0 disables it).
        target_norm: The norm the prior pulls toward.

    Returns:
        A scalar tensor.

    Example:
        >>> float(projection_loss(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 1, 1)),
        ...                       np.array([[3.0, 4.0]]), 1.0, 4.0))
        2.0
    """
    generated = ops.cast(generated, "float32")
    loss = ops.sum(ops.abs(generated - ops.cast(targets, "float32")))
    if norm_weight:
        latents = ops.cast(latents, "float32")
        # The tiny epsilon keeps the gradient finite at z = 0.
        norms = ops.sqrt(ops.sum(ops.square(latents), axis=-1) + 1e-12)
        loss = loss + norm_weight * ops.sum(ops.abs(norms - target_norm))
    return loss


def project(
    generator: Any,
    images: Any,
    steps: int = 200,
    learning_rate: float = 0.01,
    norm_weight: float = 1.0,
    target_norm: float | None = None,
    initial_latents: Any = None,
    seed: int | None = None,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
    return_history: bool = False,
    optimizer: keras.optimizers.Optimizer | None = None,
    **kwargs: Any,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Finds latents whose generated images match target images.

    Minimises ``sum |G(z) - x| + norm_weight * | |z| - target_norm |`` per image with
    ``keras.optimizers.Adam`` on the latents, or another Keras ``optimizer`` (the TF-Hub ProGAN
    tutorial: Adam(0.01), 200 steps, ``target_norm = sqrt(latent_dim)``; the tutorial's
    ``MeanAbsoluteError(reduction="sum")`` averages over the C channels first, so ``norm_weight=C``
    reproduces its balance). Gradients come from :func:`keras_facegen.backend.value_and_grad`, so a
    Keras generator works on TensorFlow, JAX and PyTorch. The images of a batch are optimised
    together but independently (the loss is a sum and Adam is per coordinate).

    If ``generator`` has its own ``project`` method (e.g. the TF-Hub ProGAN wrapper), the call is
    delegated to ``generator.project(images, steps=..., learning_rate=..., norm_weight=...,
    target_norm=..., initial_latents=..., seed=..., return_history=..., beta_1=..., beta_2=...,
    epsilon=..., **kwargs)`` (plus ``optimizer=...`` when one is given) and its result returned
    as is.

    Args:
        generator: A Keras generator model, a GAN (``.generator``) or a differentiable callable
            written in ``keras.ops`` (see :func:`keras_facegen.latent.as_generator`).
        images: Targets ``(N, H, W, C)`` or one image ``(H, W, C)``, in the generator's range
            (``[-1, 1]``).
        steps: Number of Adam steps.
        learning_rate: Adam step size.
        norm_weight: Weight of the norm prior; 0 disables it.
        target_norm: Norm the prior pulls toward; defaults to ``sqrt(latent_dim)``.
        initial_latents: Starting latents ``(N, D)``; defaults to standard Gaussian draws.
        seed: Seed of the initial draws.
        beta_1: Adam's first-moment decay.
        beta_2: Adam's second-moment decay.
        epsilon: Adam's denominator epsilon.
        return_history: Also return the total loss before each step.
        optimizer: A Keras optimizer to use instead of ``Adam(learning_rate, beta_1, beta_2,
            epsilon)`` (a template: each call works on a fresh copy).
        **kwargs: Only forwarded to a delegated ``generator.project``.

    Returns:
        float32 latents ``(N, D)``; with ``return_history``, ``(latents, history)`` where
        ``history`` is a float32 array ``(steps,)`` of summed losses.

    Raises:
        ValueError: On bad images or settings, unknown ``kwargs`` without a delegate, or when the
            latent size cannot be determined.

    Example:
        >>> targets = generator(np.full((2, 16), 0.5, "float32"))
        >>> z = project(generator, targets, steps=5)
        >>> z.shape
        (2, 16)
    """
    delegate = getattr(generator, "project", None)
    if callable(delegate):
        if optimizer is not None:
            kwargs["optimizer"] = optimizer
        return delegate(
            images,
            steps=steps,
            learning_rate=learning_rate,
            norm_weight=norm_weight,
            target_norm=target_norm,
            initial_latents=initial_latents,
            seed=seed,
            return_history=return_history,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            **kwargs,
        )
    if kwargs:
        raise ValueError(
            f"Unexpected keyword arguments {sorted(kwargs)}: they are only forwarded to a "
            "generator's own project method."
        )
    fn, latent_dim = as_generator(generator)
    targets = as_float_array(images, "images", dtype="float32")
    if targets.ndim == 3:
        targets = targets[None]
    if targets.ndim != 4 or targets.shape[0] == 0:
        raise ValueError(
            f"images must be one image (H, W, C) or a batch (N, H, W, C); received images with "
            f"shape {targets.shape}."
        )
    steps = check_int(steps, "steps")
    learning_rate = _check_positive("learning_rate", learning_rate)
    norm_weight = _check_positive("norm_weight", norm_weight, allow_zero=True)
    epsilon = _check_positive("epsilon", epsilon)
    for name, value in (("beta_1", beta_1), ("beta_2", beta_2)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1); received {name}={value!r}.")
    num = targets.shape[0]
    if initial_latents is not None:
        z = check_latents(initial_latents, latent_dim, "initial_latents")
        if z.shape[0] != num:
            raise ValueError(
                f"initial_latents must have one latent per image; received {z.shape[0]} "
                f"latents for {num} images."
            )
    elif latent_dim is None:
        raise ValueError(
            "Cannot tell the generator's latent size: give it a latent_dim attribute or pass "
            "initial_latents."
        )
    else:
        z = sample_latents(num, latent_dim, "normal", seed=seed)
    if target_norm is None:
        target_norm = float(np.sqrt(z.shape[1]))
    target_norm = _check_positive("target_norm", target_norm, allow_zero=True)

    target_tensor = ops.convert_to_tensor(targets)

    def loss_fn(latents: Any) -> Any:
        generated = fn(latents)
        if tuple(generated.shape) != tuple(targets.shape):
            raise ValueError(
                f"images have shape {targets.shape} but the generator makes images of shape "
                f"{tuple(generated.shape)}."
            )
        return projection_loss(generated, target_tensor, latents, norm_weight, target_norm)

    if optimizer is None:
        optimizer = keras.optimizers.Adam(
            learning_rate, beta_1=float(beta_1), beta_2=float(beta_2), epsilon=epsilon
        )
    latents, history = minimize_latents(
        facegen_backend.value_and_grad(loss_fn), z, steps, optimizer
    )
    return (latents, history) if return_history else latents
