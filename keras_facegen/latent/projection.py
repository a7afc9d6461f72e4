"""Recovering latents for target images by gradient descent through the generator."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from keras_facegen import backend as facegen_backend
from keras_facegen.latent._arrays import as_float_array
from keras_facegen.latent.distributions import sample_latents
from keras_facegen.latent.generators import as_generator, check_latents


class _Adam:
    """Adam (Kingma & Ba) on one NumPy array, with bias correction; exact and backend-free."""

    def __init__(self, learning_rate: float, beta_1: float, beta_2: float, epsilon: float):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.m: np.ndarray | float = 0.0
        self.v: np.ndarray | float = 0.0
        self.iterations = 0

    def step(self, params: np.ndarray, grad: np.ndarray) -> np.ndarray:
        self.iterations += 1
        self.m = self.beta_1 * self.m + (1.0 - self.beta_1) * grad
        self.v = self.beta_2 * self.v + (1.0 - self.beta_2) * grad * grad
        m_hat = self.m / (1.0 - self.beta_1**self.iterations)
        v_hat = self.v / (1.0 - self.beta_2**self.iterations)
        return params - self.learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)


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
    **kwargs: Any,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Finds latents whose generated images match target images.

    Minimises ``sum |G(z) - x| + norm_weight * | |z| - target_norm |`` per image with Adam on
    the latents (the TF-Hub ProGAN tutorial: Adam(0.01), 200 steps, ``target_norm =
    sqrt(latent_dim)``; the tutorial's ``MeanAbsoluteError(reduction="sum")`` averages over the
    C channels first, so ``norm_weight=C`` reproduces its balance). Gradients come from
    :func:`keras_facegen.backend.value_and_grad`, so a Keras generator works on TensorFlow,
    JAX and PyTorch. The images of a batch are optimised together but independently (the loss
    is a sum and Adam is per coordinate).

    If ``generator`` has its own ``project`` method (e.g. the TF-Hub ProGAN wrapper), the call is
    delegated to ``generator.project(images, steps=..., learning_rate=..., norm_weight=...,
    target_norm=..., initial_latents=..., seed=..., return_history=..., beta_1=..., beta_2=...,
    epsilon=..., **kwargs)`` and its result returned as is.

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
        **kwargs: Only forwarded to a delegated ``generator.project``.

    Returns:
        float32 latents ``(N, D)``; with ``return_history``, ``(latents, history)`` where
        ``history`` is a float32 array ``(steps,)`` of summed losses.

    Raises:
        ValueError: On bad images or settings, unknown ``kwargs`` without a delegate, or when the
            latent size cannot be determined.

    Example:
        >>> z = project(generator, targets, steps=200)  # doctest: +SKIP
    """
    delegate = getattr(generator, "project", None)
    if callable(delegate):
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
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer; received steps={steps!r}.")
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

    value_and_grad = facegen_backend.value_and_grad(loss_fn)
    adam = _Adam(learning_rate, float(beta_1), float(beta_2), epsilon)
    params = z.astype(np.float64)
    history = np.zeros(int(steps), dtype=np.float32)
    for step in range(int(steps)):
        value, grad = value_and_grad(params.astype(np.float32))
        history[step] = float(ops.convert_to_numpy(value))
        params = adam.step(params, np.asarray(ops.convert_to_numpy(grad), dtype=np.float64))
    latents = params.astype(np.float32)
    return (latents, history) if return_history else latents
