"""Adversarial losses as pure functions in the TF-GAN style (the classes are in ``adversarial``).

Every function returns a float32 scalar averaged over the batch. One-logit losses accept
discriminator outputs of shape ``(N,)`` or ``(N, 1)`` (and ``(N, 2)`` two-class outputs, read
through :func:`~keras_facegen.losses.realness` as ``l1 - l0``); the two-class softmax loss needs
``(N, 2)`` with class 1 = real.

Families (``r`` = real logits, ``f`` = fake logits):

==================  =============================================  ==========================
name                discriminator loss                             generator loss
==================  =============================================  ==========================
non_saturating      ``mean(softplus(-r)) + mean(softplus(f))``     ``mean(softplus(-f))``
two_class_softmax   ``mean CE(r -> 1) + mean CE(f -> 0)``          ``mean CE(f -> 1)``
wasserstein         ``mean(f) - mean(r)``                          ``-mean(f)``
hinge               ``mean(relu(1 - r)) + mean(relu(1 + f))``      ``-mean(f)``
least_squares       ``0.5 mean((r - 1)^2) + 0.5 mean(f^2)``        ``0.5 mean((f - 1)^2)``
==================  =============================================  ==========================
"""

from __future__ import annotations

from typing import Any

from keras import ops

from keras_facegen.losses.base import realness

__all__ = [
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "non_saturating_discriminator_loss",
    "non_saturating_generator_loss",
    "two_class_softmax_discriminator_loss",
    "two_class_softmax_generator_loss",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
]


def non_saturating_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """Sigmoid cross-entropy of the discriminator (Goodfellow et al., 2014).

    ``mean(softplus(-real)) + mean(softplus(fake))``, i.e. ``-log D(real) - log(1 - D(fake))``
    written with softplus so that large logits neither overflow nor lose precision.

    Args:
        real_logits: Discriminator outputs on real images, ``(N,)`` or ``(N, 1)``.
        fake_logits: Discriminator outputs on generated images, same shape convention.

    Returns:
        A float32 scalar.

    Raises:
        ValueError: If the logits are not ``(N,)``, ``(N, 1)`` or ``(N, 2)``.

    Example:
        >>> float(non_saturating_discriminator_loss([0.0], [0.0]))  # 2 * log(2)
        1.386...
    """
    real, fake = realness(real_logits), realness(fake_logits)
    return ops.mean(ops.softplus(-real)) + ops.mean(ops.softplus(fake))


def non_saturating_generator_loss(fake_logits: Any) -> Any:
    """The non-saturating generator loss: ``mean(softplus(-fake)) = -mean(log D(fake))``.

    Args:
        fake_logits: Discriminator outputs on generated images, ``(N,)`` or ``(N, 1)``.

    Returns:
        A float32 scalar.

    Raises:
        ValueError: If the logits are not ``(N,)``, ``(N, 1)`` or ``(N, 2)``.

    Example:
        >>> float(non_saturating_generator_loss([0.0, 0.0]))  # log(2)
        0.693...
    """
    return ops.mean(ops.softplus(-realness(fake_logits)))


def _two_class_log_probs(logits: Any, argument: str) -> Any:
    logits = ops.cast(logits, "float32")
    shape = tuple(logits.shape)
    if len(shape) != 2 or shape[-1] != 2:
        raise ValueError(
            f"The two_class_softmax loss needs two logits per sample, shape (N, 2) with class "
            f"1 = real; received {argument} of shape {shape}. Build the discriminator with "
            f"logits=2 or use a one-logit loss such as 'non_saturating'."
        )
    return ops.log_softmax(logits, axis=-1)


def two_class_softmax_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """Softmax cross-entropy of a two-logit discriminator (class 1 = real, class 0 = fake).

    ``mean CE(real -> 1) + mean CE(fake -> 0)``, computed with log-softmax. This is the loss of
    the classic 96x96 face DCGAN (sugyan's dcgan-tensorflow).

    Args:
        real_logits: Discriminator outputs on real images, ``(N, 2)``.
        fake_logits: Discriminator outputs on generated images, ``(N, 2)``.

    Returns:
        A float32 scalar.

    Raises:
        ValueError: If either input is not of shape ``(N, 2)``.

    Example:
        >>> float(two_class_softmax_discriminator_loss([[0.0, 0.0]], [[0.0, 0.0]]))
        1.386...
    """
    real = _two_class_log_probs(real_logits, "real_logits")
    fake = _two_class_log_probs(fake_logits, "fake_logits")
    return -ops.mean(real[:, 1]) - ops.mean(fake[:, 0])


def two_class_softmax_generator_loss(fake_logits: Any) -> Any:
    """Softmax cross-entropy of generated images against the "real" class: ``mean CE(fake -> 1)``.

    Args:
        fake_logits: Discriminator outputs on generated images, ``(N, 2)``.

    Returns:
        A float32 scalar.

    Raises:
        ValueError: If ``fake_logits`` is not of shape ``(N, 2)``.

    Example:
        >>> float(two_class_softmax_generator_loss([[0.0, 0.0]]))
        0.693...
    """
    return -ops.mean(_two_class_log_probs(fake_logits, "fake_logits")[:, 1])


def wasserstein_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """The Wasserstein critic loss (Arjovsky et al., 2017): ``mean(fake) - mean(real)``.

    Pair it with :class:`~keras_facegen.losses.GradientPenalty` (WGAN-GP) and usually
    :class:`~keras_facegen.losses.Drift`.

    Args:
        real_logits: Critic outputs on real images, ``(N,)`` or ``(N, 1)``.
        fake_logits: Critic outputs on generated images.

    Returns:
        A float32 scalar.

    Raises:
        ValueError: If the logits are not ``(N,)``, ``(N, 1)`` or ``(N, 2)``.

    Example:
        >>> float(wasserstein_discriminator_loss([2.0], [0.5]))
        -1.5
    """
    return ops.mean(realness(fake_logits)) - ops.mean(realness(real_logits))


def wasserstein_generator_loss(fake_logits: Any) -> Any:
    """The Wasserstein generator loss: ``-mean(fake)``.

    Args:
        fake_logits: Critic outputs on generated images, ``(N,)`` or ``(N, 1)``.

    Returns:
        A float32 scalar.

    Raises:
        ValueError: If the logits are not ``(N,)``, ``(N, 1)`` or ``(N, 2)``.

    Example:
        >>> float(wasserstein_generator_loss([0.5, 1.5]))
        -1.0
    """
    return -ops.mean(realness(fake_logits))


def hinge_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """The hinge discriminator loss: ``mean(relu(1 - real)) + mean(relu(1 + fake))``.

    Args:
        real_logits: Discriminator outputs on real images, ``(N,)`` or ``(N, 1)``.
        fake_logits: Discriminator outputs on generated images.

    Returns:
        A float32 scalar.

    Raises:
        ValueError: If the logits are not ``(N,)``, ``(N, 1)`` or ``(N, 2)``.

    Example:
        >>> float(hinge_discriminator_loss([0.5], [-2.0]))
        0.5
    """
    real, fake = realness(real_logits), realness(fake_logits)
    return ops.mean(ops.relu(1.0 - real)) + ops.mean(ops.relu(1.0 + fake))


def hinge_generator_loss(fake_logits: Any) -> Any:
    """The hinge generator loss: ``-mean(fake)``.

    Args:
        fake_logits: Discriminator outputs on generated images, ``(N,)`` or ``(N, 1)``.

    Returns:
        A float32 scalar.

    Raises:
        ValueError: If the logits are not ``(N,)``, ``(N, 1)`` or ``(N, 2)``.

    Example:
        >>> float(hinge_generator_loss([0.5, 1.5]))
        -1.0
    """
    # The same formula as wasserstein_generator_loss; kept so that every family has its pair.
    return -ops.mean(realness(fake_logits))


def least_squares_discriminator_loss(real_logits: Any, fake_logits: Any) -> Any:
    """The LSGAN discriminator loss (Mao et al., 2017): ``0.5 mean((real-1)^2) + 0.5 mean(fake^2)``.

    Args:
        real_logits: Discriminator outputs on real images, ``(N,)`` or ``(N, 1)``.
        fake_logits: Discriminator outputs on generated images.

    Returns:
        A float32 scalar.

    Raises:
        ValueError: If the logits are not ``(N,)``, ``(N, 1)`` or ``(N, 2)``.

    Example:
        >>> float(least_squares_discriminator_loss([1.0], [1.0]))
        0.5
    """
    real, fake = realness(real_logits), realness(fake_logits)
    return 0.5 * ops.mean(ops.square(real - 1.0)) + 0.5 * ops.mean(ops.square(fake))


def least_squares_generator_loss(fake_logits: Any) -> Any:
    """The LSGAN generator loss: ``0.5 mean((fake - 1)^2)``.

    Args:
        fake_logits: Discriminator outputs on generated images, ``(N,)`` or ``(N, 1)``.

    Returns:
        A float32 scalar.

    Raises:
        ValueError: If the logits are not ``(N,)``, ``(N, 1)`` or ``(N, 2)``.

    Example:
        >>> float(least_squares_generator_loss([3.0]))
        2.0
    """
    return 0.5 * ops.mean(ops.square(realness(fake_logits) - 1.0))
