"""Discriminator penalties: terms of kind ``"discriminator"``, added to the discriminator loss.

Each term returns a float32 scalar that is already weighted; its ``name`` is the key it is
logged under. The input-gradient penalties differentiate ``realness(discriminator(x))`` with
respect to ``x`` through :func:`keras_facegen.backend.input_gradients`, which stays
differentiable so the train step can back-propagate through the penalty into the
discriminator's weights.

A caveat shared by all input-gradient penalties: they treat samples as independent. A
discriminator with batch normalization in training mode mixes samples, so the gradient of the
summed outputs is not the per-sample gradient; use layer normalization or none with them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from keras_facegen.backend import input_gradients
from keras_facegen.losses.base import Term, TermInputs, realness

__all__ = ["Drift", "GradientPenalty", "R1Penalty"]

# Keeps the derivative of the gradient norm finite where the gradient is exactly zero.
_NORM_EPSILON = 1e-12


def _check_non_negative(value: float, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(
            f"{argument} must be a non-negative number; received {argument}={value!r} of type "
            f"{type(value).__name__}."
        )
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{argument} must be a finite number >= 0; received {argument}={value!r}.")
    return float(value)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string; received name={name!r}.")
    return name


def _require_discriminator(inputs: TermInputs, term: Term) -> Callable[[Any], Any]:
    if inputs.discriminator is None:
        raise ValueError(
            f"{term!r} needs TermInputs.discriminator (a pure images -> logits function) to "
            "take input gradients; received discriminator=None."
        )
    return inputs.discriminator


def _per_sample_axes(x: Any) -> list[int]:
    return list(range(1, len(x.shape)))


def _realness_gradients(discriminator: Callable[[Any], Any], x: Any) -> Any:
    grads = input_gradients(lambda images: realness(discriminator(images)), x)
    return ops.cast(grads, "float32")


@keras.saving.register_keras_serializable(package="keras_facegen")
class GradientPenalty(Term):
    """The WGAN-GP gradient penalty (Gulrajani et al., 2017).

    For each sample, ``eps ~ U(0, 1)`` (from ``inputs.seed_generator``) mixes a real and a
    generated image, ``x = eps * real + (1 - eps) * fake``; with ``g`` the gradient of the
    discriminator's realness at ``x``, the value is ``weight * mean((||g||_2 - target)^2)``.
    Progressive GAN used ``weight=10`` and ``target=1`` with the Wasserstein loss.

    Args:
        weight: The penalty's weight (λ), ``>= 0``.
        target: The gradient norm the penalty pulls towards, ``>= 0``.
        name: The log key.

    Raises:
        ValueError: If ``weight`` or ``target`` is negative or not a number.

    Example:
        >>> penalty = GradientPenalty(weight=10.0)
        >>> penalty.name, penalty.kind
        ('gradient_penalty', 'discriminator')
    """

    kind = "discriminator"

    def __init__(
        self, weight: float = 10.0, target: float = 1.0, name: str = "gradient_penalty"
    ) -> None:
        self.weight = _check_non_negative(weight, "weight")
        self.target = _check_non_negative(target, "target")
        self.name = _check_name(name)

    def __call__(self, inputs: TermInputs) -> Any:
        """Returns the weighted penalty for one step.

        Args:
            inputs: The step's :class:`TermInputs`; needs ``discriminator`` and
                ``seed_generator``.

        Returns:
            A float32 scalar.

        Raises:
            ValueError: If ``inputs`` lacks a discriminator or a seed generator.
        """
        discriminator = _require_discriminator(inputs, self)
        if inputs.seed_generator is None:
            raise ValueError(
                f"{self!r} samples interpolation weights and needs TermInputs.seed_generator "
                "(a keras.random.SeedGenerator); received seed_generator=None."
            )
        real = ops.cast(inputs.real_images, "float32")
        fake = ops.cast(inputs.fake_images, "float32")
        eps_shape = (ops.shape(real)[0],) + (1,) * (len(real.shape) - 1)
        eps = keras.random.uniform(eps_shape, 0.0, 1.0, dtype="float32", seed=inputs.seed_generator)
        mixed = eps * real + (1.0 - eps) * fake
        grads = _realness_gradients(discriminator, mixed)
        norms = ops.sqrt(ops.sum(ops.square(grads), axis=_per_sample_axes(grads)) + _NORM_EPSILON)
        return self.weight * ops.mean(ops.square(norms - self.target))

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {"weight": self.weight, "target": self.target, "name": self.name}


@keras.saving.register_keras_serializable(package="keras_facegen")
class R1Penalty(Term):
    """The R1 penalty (Mescheder et al., 2018) on real images.

    ``gamma / 2 * mean over the batch of sum(g^2)``, with ``g`` the gradient of the
    discriminator's realness with respect to the real images.

    ``every = k > 1`` is StyleGAN2's lazy regularisation: the penalty is computed only in the
    train steps whose counter (``GAN.iterations`` before the step) is a multiple of ``k``, and
    weighted ``k`` times there, so that its average over ``k`` steps is the same; the other
    steps skip its double backpropagation (``keras.ops.cond``) and log 0. With ``d_steps > 1``
    every discriminator step of a chosen train step is penalised.

    Args:
        gamma: The penalty's weight (γ), ``>= 0``.
        every: Compute it every ``every`` train steps (an integer ``>= 1``; 16 in StyleGAN2).
        name: The log key.

    Raises:
        ValueError: If ``gamma`` is negative or not a number, or ``every`` is not an integer
            ``>= 1``.

    Example:
        >>> R1Penalty(gamma=5.0).get_config()
        {'gamma': 5.0, 'every': 1, 'name': 'r1_penalty'}
        >>> R1Penalty(gamma=10.0, every=16).every
        16
    """

    kind = "discriminator"

    def __init__(self, gamma: float = 10.0, every: int = 1, name: str = "r1_penalty") -> None:
        self.gamma = _check_non_negative(gamma, "gamma")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"R1Penalty: every={every!r}; expected an integer >= 1.")
        self.every = every
        self.name = _check_name(name)

    def _penalty(self, discriminator: Callable[[Any], Any], real: Any) -> Any:
        grads = _realness_gradients(discriminator, real)
        squared_norms = ops.sum(ops.square(grads), axis=_per_sample_axes(grads))
        return 0.5 * self.gamma * ops.mean(squared_norms)

    def __call__(self, inputs: TermInputs) -> Any:
        """Returns the weighted penalty for one step.

        Args:
            inputs: The step's :class:`TermInputs`; needs ``discriminator``, and ``step`` when
                ``every > 1``.

        Returns:
            A float32 scalar.

        Raises:
            ValueError: If ``inputs`` lacks a discriminator, or lacks ``step`` while
                ``every > 1``.
        """
        discriminator = _require_discriminator(inputs, self)
        # Real images are data: no gradient should flow back into whatever produced them.
        real = ops.stop_gradient(ops.cast(inputs.real_images, "float32"))
        if self.every == 1:
            return self._penalty(discriminator, real)
        if inputs.step is None:
            raise ValueError(
                f"{self.name}: every={self.every} needs the train step's counter "
                "(TermInputs.step); a GAN's train step provides it."
            )
        due = ops.equal(ops.mod(ops.cast(inputs.step, "int32"), self.every), 0)
        return ops.cond(
            due,
            lambda: float(self.every) * self._penalty(discriminator, real),
            lambda: ops.zeros((), "float32"),
        )

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {"gamma": self.gamma, "every": self.every, "name": self.name}


@keras.saving.register_keras_serializable(package="keras_facegen")
class Drift(Term):
    """Progressive GAN's drift penalty: ``epsilon * mean(realness(real_logits)^2)``.

    Keeps a Wasserstein critic's outputs from drifting far from zero.

    Args:
        epsilon: The penalty's weight, ``>= 0`` (0.001 in Progressive GAN).
        name: The log key.

    Raises:
        ValueError: If ``epsilon`` is negative or not a number.

    Example:
        >>> Drift().get_config()
        {'epsilon': 0.001, 'name': 'drift'}
    """

    kind = "discriminator"

    def __init__(self, epsilon: float = 0.001, name: str = "drift") -> None:
        self.epsilon = _check_non_negative(epsilon, "epsilon")
        self.name = _check_name(name)

    def __call__(self, inputs: TermInputs) -> Any:
        """Returns the weighted penalty for one step.

        Args:
            inputs: The step's :class:`TermInputs`.

        Returns:
            A float32 scalar.
        """
        return self.epsilon * ops.mean(ops.square(realness(inputs.real_logits)))

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments."""
        return {"epsilon": self.epsilon, "name": self.name}
